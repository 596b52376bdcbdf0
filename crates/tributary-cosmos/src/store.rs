//! `ReadingStore` on Cosmos DB. Each reading is created only if its identity is new: a device's
//! retry answers 409 and stays one document. Readings of one device go in as one transactional batch
//! (one round trip, one partition); if the batch is refused — a duplicate inside it, say — that
//! device's readings are created one by one, so each gets its own outcome. The change feed is read
//! in latest-version mode, one page per call, from a continuation the caller keeps.

use crate::document::ReadingDocument;
use crate::{error, CosmosDb, BACKEND};
use async_trait::async_trait;
use azure_data_cosmos::feed::{ContinuationToken, FeedRange, FeedScope};
use azure_data_cosmos::options::{
    BatchOptions, ChangeFeedOptions, ChangeFeedStartFrom, FeedOptions, ItemWriteOptions,
    MaxItemCountHint,
};
use azure_data_cosmos::TransactionalBatch;
use futures::{StreamExt, TryStreamExt};
use serde_json::value::RawValue;
use std::collections::BTreeMap;
use tributary_core::ports::{ChangePage, Continuation, Inserted, ReadingStore};
use tributary_core::{PortError, Reading};

/// At most this many operations go in one transactional batch (the service's limit).
const BATCH_LIMIT: usize = 100;

/// A continuation is `<feed range>~<SDK token>`: the SDK's token does not keep the scope it was read
/// with, so the range goes with it. An empty range is the whole container; an empty token, the start.
const SEPARATOR: char = '~';

/// The continuation at the start of one feed range (a lease's first).
pub(crate) fn range_start(range: &FeedRange) -> Continuation {
    Continuation(format!("{range}{SEPARATOR}"))
}

pub struct CosmosReadingStore {
    db: CosmosDb,
}

impl CosmosReadingStore {
    pub fn new(db: CosmosDb) -> Self {
        Self { db }
    }

    /// Creates one device's readings; outcomes in the order given.
    async fn insert_device(&self, readings: &[&Reading]) -> Result<Vec<Inserted>, PortError> {
        let device = readings[0].device_id.as_str();
        if readings.len() > 1 {
            let mut batch = TransactionalBatch::new(device.to_owned());
            for reading in readings {
                batch = batch
                    .create_item(ReadingDocument::of(reading))
                    .map_err(|e| error("encode reading", e))?;
            }
            let options =
                BatchOptions::default().with_operation_options(self.db.operation_options());
            let created = match self
                .db
                .readings
                .execute_transactional_batch(batch, Some(options))
                .await
            {
                Ok(response) => response
                    .into_model()
                    .map(|r| r.results().iter().all(|op| op.is_success()))
                    .unwrap_or(false),
                Err(e) if e.status().is_conflict() || e.status().is_bad_request() => false,
                Err(e) if e.status().status_code() == azure_core::http::StatusCode::MultiStatus => {
                    false
                }
                Err(e) => return Err(error(&format!("batch for device {device}"), e)),
            };
            if created {
                return Ok(vec![Inserted::New; readings.len()]);
            }
        }
        let mut outcomes = Vec::with_capacity(readings.len());
        for reading in readings {
            let doc = ReadingDocument::of(reading);
            let options =
                ItemWriteOptions::default().with_operation_options(self.db.operation_options());
            match self
                .db
                .readings
                .create_item(device.to_owned(), &doc.id, &doc, Some(options))
                .await
            {
                Ok(_) => outcomes.push(Inserted::New),
                Err(e) if e.status().is_conflict() => outcomes.push(Inserted::Duplicate),
                Err(e) => return Err(error(&format!("create {} of {device}", doc.id), e)),
            }
        }
        Ok(outcomes)
    }
}

#[async_trait]
impl ReadingStore for CosmosReadingStore {
    async fn insert_new(&self, readings: &[Reading]) -> Result<Vec<Inserted>, PortError> {
        let mut groups: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, reading) in readings.iter().enumerate() {
            groups
                .entry(reading.device_id.as_str())
                .or_default()
                .push(i);
        }
        let chunks: Vec<Vec<usize>> = groups
            .into_values()
            .flat_map(|idx| {
                idx.chunks(BATCH_LIMIT)
                    .map(<[usize]>::to_vec)
                    .collect::<Vec<_>>()
            })
            .collect();
        let written: Vec<(Vec<usize>, Vec<Inserted>)> = futures::stream::iter(chunks)
            .map(|idx| async move {
                let group: Vec<&Reading> = idx.iter().map(|&i| &readings[i]).collect();
                self.insert_device(&group)
                    .await
                    .map(|outcomes| (idx, outcomes))
            })
            .buffer_unordered(self.db.settings.write_concurrency.max(1))
            .try_collect()
            .await?;
        let mut outcomes = vec![Inserted::Duplicate; readings.len()];
        for (idx, result) in written {
            for (i, outcome) in idx.into_iter().zip(result) {
                outcomes[i] = outcome;
            }
        }
        Ok(outcomes)
    }

    async fn changes(&self, from: &Continuation, max: usize) -> Result<ChangePage, PortError> {
        let mut feed = FeedOptions::default().with_max_item_count(MaxItemCountHint::Limit(
            std::num::NonZeroU32::new(u32::try_from(max.clamp(1, 10_000)).unwrap_or(1000))
                .unwrap_or(std::num::NonZeroU32::MIN),
        ));
        let (range, token) = from
            .0
            .split_once(SEPARATOR)
            .unwrap_or(("", from.0.as_str()));
        let scoped: Option<FeedRange> = match range {
            "" => None,
            range => Some(range.parse().map_err(|e| {
                PortError::broken(BACKEND, format!("continuation with a bad feed range: {e}"))
            })?),
        };
        let scope = match &scoped {
            None => FeedScope::full_container(),
            Some(range) => FeedScope::range(range.clone()),
        };
        if !token.is_empty() {
            feed = feed.with_continuation_token(ContinuationToken::from_string(token.to_owned()));
        }
        let mut options = ChangeFeedOptions::default();
        options.feed = feed;
        options.operation = self.db.operation_options();
        let mut pages = self
            .db
            .readings
            .query_change_feed::<Box<RawValue>>(
                scope,
                ChangeFeedStartFrom::Beginning,
                Some(options),
            )
            .await
            .map_err(|e| error("change feed", e))?;
        // Each page comes from one physical partition, in turn; an empty one only says that
        // partition is caught up, so look at each (once) before calling the feed drained.
        let partitions = self
            .db
            .readings
            .read_feed_ranges(None)
            .await
            .map_err(|e| error("feed ranges", e))?
            .iter()
            .filter(|r| scoped.as_ref().is_none_or(|s| s.overlaps(r)))
            .count();
        let mut page = None;
        for _ in 0..partitions.max(1) {
            let next = match pages.next().await {
                Some(next) => next.map_err(|e| error("change feed page", e))?,
                None => return Err(PortError::unavailable(BACKEND, "change feed ended")),
            };
            let found = !next.items().is_empty();
            page = Some(next);
            if found {
                break;
            }
        }
        let Some(page) = page else {
            return Err(PortError::unavailable(BACKEND, "change feed ended"));
        };
        let continuation = pages
            .to_continuation_token()
            .map_err(|e| error("change feed continuation", e))?;
        let partition_lsn = page
            .headers()
            .session_token()
            .and_then(|t| session_lsn(t.as_str()));
        let mut readings = Vec::with_capacity(page.items().len());
        let mut unreadable = Vec::new();
        let mut last_lsn = None;
        for item in page.items() {
            let Some(raw) = item.current() else { continue };
            match crate::document::reading_from_raw(raw.get(), &mut last_lsn) {
                Ok(reading) => readings.push(reading),
                // Never stall the feed on one document: analyze sets it aside with the reason.
                Err(unreadable_document) => unreadable.push(unreadable_document),
            }
        }
        // The estimate Cosmos DB's own change-feed estimator makes: the partition's latest LSN (from the
        // session token) less the LSN of the last document read.
        let remaining = match (
            readings.is_empty() && unreadable.is_empty(),
            partition_lsn,
            last_lsn,
        ) {
            (true, _, _) => Some(0),
            (false, Some(now), Some(done)) => Some(now.saturating_sub(done)),
            _ => None,
        };
        Ok(ChangePage {
            readings,
            unreadable,
            continuation: Continuation(format!("{range}{SEPARATOR}{}", continuation.as_str())),
            remaining,
        })
    }
}

/// The global LSN in a session token, `<range>:<version>#<lsn>[#<region>=<lsn>…]` (several ranges
/// comma-separated; the largest counts).
fn session_lsn(token: &str) -> Option<u64> {
    token
        .split(',')
        .filter_map(|segment| segment.split_once(':')?.1.split('#').nth(1)?.parse().ok())
        .max()
}

#[cfg(test)]
mod tests {
    use super::session_lsn;

    #[test]
    fn session_tokens_give_their_largest_lsn() {
        assert_eq!(session_lsn("0:-1#42"), Some(42));
        assert_eq!(session_lsn("0:-1#42,1:-1#57"), Some(57));
        assert_eq!(session_lsn("0:1#9#3=4"), Some(9));
        assert_eq!(session_lsn("garbage"), None);
        assert_eq!(session_lsn(""), None);
    }
}
