//! `FeedLeases` in the lease container: one document per feed range of the readings container,
//! id `<prefix>.<min>-<max>` (the range's effective-partition-key bounds), holding the owner, the
//! expiry and the change-feed continuation. A `Lease`'s `range` is the SDK's string form of the feed
//! range, from which the document id follows. Every write is conditional on the etag read, so two
//! instances can never both believe they took the same lease.

use crate::store::range_start;
use crate::{error, CosmosDb};
use async_trait::async_trait;
use azure_data_cosmos::feed::{FeedRange, FeedScope};
use azure_data_cosmos::options::{ItemWriteOptions, Precondition, QueryOptions};
use azure_data_cosmos::Query;
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};
use tributary_core::ports::{Continuation, FeedLeases, Lease};
use tributary_core::{PortError, Timestamp};

pub struct CosmosFeedLeases {
    db: CosmosDb,
}

/// A lease as stored.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LeaseDocument {
    id: String,
    /// The feed range, as the SDK writes it (base64 JSON of its bounds).
    range: String,
    #[serde(default)]
    owner: Option<String>,
    /// Milliseconds since the epoch.
    #[serde(default)]
    expires_at: i64,
    continuation: String,
    #[serde(rename = "_etag", default, skip_serializing)]
    etag: Option<String>,
}

impl LeaseDocument {
    fn into_lease(self) -> Lease {
        Lease {
            range: self.range,
            owner: self.owner,
            expires_at: Timestamp::from_millis(self.expires_at),
            continuation: Continuation(self.continuation),
            version: self.etag.unwrap_or_default(),
        }
    }
}

impl CosmosFeedLeases {
    pub fn new(db: CosmosDb) -> Self {
        Self { db }
    }

    fn lease_id(&self, range: &FeedRange) -> String {
        // Bounds are hex strings; the full range starts at the empty string.
        format!(
            "{}.{}-{}",
            self.db.settings.lease_prefix,
            range.min_inclusive(),
            range.max_exclusive()
        )
    }

    async fn stored(&self) -> Result<Vec<LeaseDocument>, PortError> {
        let prefix = format!("{}.", self.db.settings.lease_prefix);
        let query = Query::from("SELECT * FROM c WHERE STARTSWITH(c.id, @prefix)")
            .with_parameter("@prefix", &prefix)
            .map_err(|e| error("lease query", e))?;
        let options = QueryOptions::default().with_operation_options(self.db.operation_options());
        self.db
            .leases
            .query_items::<LeaseDocument>(query, FeedScope::full_container(), Some(options))
            .await
            .map_err(|e| error("lease query", e))?
            .try_collect()
            .await
            .map_err(|e| error("lease query", e))
    }
}

#[async_trait]
impl FeedLeases for CosmosFeedLeases {
    async fn leases(&self) -> Result<Vec<Lease>, PortError> {
        let mut stored = self.stored().await?;
        let ranges = self
            .db
            .readings
            .read_feed_ranges(None)
            .await
            .map_err(|e| error("feed ranges", e))?;
        let covered: Vec<FeedRange> = stored.iter().filter_map(|d| d.range.parse().ok()).collect();
        for range in ranges {
            // A range already covered by a lease (after a split, by its parent's) needs none: the
            // parent's continuation reads the children too.
            if covered.iter().any(|c| c.overlaps(&range)) {
                continue;
            }
            let doc = LeaseDocument {
                id: self.lease_id(&range),
                range: range.to_string(),
                owner: None,
                expires_at: 0,
                continuation: range_start(&range).0,
                etag: None,
            };
            let options =
                ItemWriteOptions::default().with_operation_options(self.db.operation_options());
            match self
                .db
                .leases
                .create_item(doc.id.clone(), &doc.id, &doc, Some(options))
                .await
            {
                Ok(_) => {}
                // Another instance created it at the same moment; read it back below.
                Err(e) if e.status().is_conflict() => {}
                Err(e) => return Err(error(&format!("create lease {}", doc.id), e)),
            }
            stored = self.stored().await?;
        }
        let mut leases: Vec<Lease> = stored.into_iter().map(LeaseDocument::into_lease).collect();
        leases.sort_by(|a, b| a.range.cmp(&b.range));
        Ok(leases)
    }

    async fn replace(&self, current: &Lease, next: Lease) -> Result<Option<Lease>, PortError> {
        let range: FeedRange = current.range.parse().map_err(|e| {
            PortError::broken(crate::BACKEND, format!("lease with a bad feed range: {e}"))
        })?;
        let doc = LeaseDocument {
            id: self.lease_id(&range),
            range: current.range.clone(),
            owner: next.owner,
            expires_at: next.expires_at.millis(),
            continuation: next.continuation.0,
            etag: None,
        };
        let options = ItemWriteOptions::default()
            .with_operation_options(self.db.operation_options())
            .with_precondition(Precondition::if_match(current.version.clone()));
        match self
            .db
            .leases
            .replace_item(doc.id.clone(), &doc.id, &doc, Some(options))
            .await
        {
            Ok(response) => {
                let etag = response
                    .headers()
                    .etag()
                    .map(|e| e.to_string())
                    .unwrap_or_default();
                Ok(Some(
                    LeaseDocument {
                        etag: Some(etag),
                        ..doc
                    }
                    .into_lease(),
                ))
            }
            Err(e) if e.status().is_precondition_failed() || e.status().is_not_found() => Ok(None),
            Err(e) => Err(error(&format!("replace lease {}", doc.id), e)),
        }
    }
}
