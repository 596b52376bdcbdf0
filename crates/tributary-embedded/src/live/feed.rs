//! `LiveFeed` in process: a broadcast to every subscriber, numbering each update and keeping the
//! last `capacity` of them, so a subscriber that fell behind or reconnects with the id of the last
//! update it saw is told how many it missed and resumes with the rest.

use async_trait::async_trait;
use futures::stream::{self, BoxStream, StreamExt};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use tokio_stream::wrappers::BroadcastStream;
use tributary_core::ports::{LiveFeed, LiveUpdate};
use tributary_core::{PortError, ScoredReading};

type Numbered = (u64, Arc<ScoredReading>);

pub struct BroadcastLiveFeed {
    /// Held while publishing and while subscribing, so a resume's replay and its live part meet
    /// exactly.
    recent: Mutex<Recent>,
    sender: broadcast::Sender<Numbered>,
}

struct Recent {
    /// The id of the first update this process published: ids below it are from an earlier one.
    first: u64,
    next: u64,
    kept: VecDeque<Numbered>,
    capacity: usize,
}

impl BroadcastLiveFeed {
    /// `capacity`: updates a subscriber may fall behind, and a reconnect may resume, before it
    /// skips ahead (at least one).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        // Ids start at the start time in microseconds, so an id from an earlier run is recognised.
        let first = u64::try_from(tributary_core::Timestamp::now().millis())
            .unwrap_or(0)
            .saturating_mul(1000);
        Self {
            recent: Mutex::new(Recent {
                first,
                next: first,
                kept: VecDeque::with_capacity(capacity),
                capacity,
            }),
            sender: broadcast::channel(capacity).0,
        }
    }
}

impl Default for BroadcastLiveFeed {
    fn default() -> Self {
        Self::new(4096)
    }
}

fn poisoned() -> PortError {
    PortError::broken("live feed", "a publisher panicked")
}

fn update((id, reading): Numbered) -> LiveUpdate {
    LiveUpdate::Reading {
        id: Some(id),
        reading: Box::new((*reading).clone()),
    }
}

impl Recent {
    /// What a subscriber resuming after `after` gets before the live updates: a gap, if updates
    /// after it are gone, and the kept ones after it.
    fn resume(&self, after: u64) -> Vec<LiveUpdate> {
        if after < self.first.saturating_sub(1) || after >= self.next {
            return vec![LiveUpdate::Missed(None)];
        }
        let oldest = self.kept.front().map_or(self.next, |(id, _)| *id);
        let mut out = Vec::new();
        if after + 1 < oldest {
            out.push(LiveUpdate::Missed(Some(oldest - after - 1)));
        }
        out.extend(
            self.kept
                .iter()
                .filter(|(id, _)| *id > after)
                .cloned()
                .map(update),
        );
        out
    }
}

#[async_trait]
impl LiveFeed for BroadcastLiveFeed {
    async fn publish(&self, readings: &[ScoredReading]) -> Result<(), PortError> {
        let mut recent = self.recent.lock().map_err(|_| poisoned())?;
        for r in readings {
            let numbered = (recent.next, Arc::new(r.clone()));
            recent.next += 1;
            if recent.kept.len() == recent.capacity {
                recent.kept.pop_front();
            }
            recent.kept.push_back(numbered.clone());
            // No subscriber is not an error.
            let _ = self.sender.send(numbered);
        }
        Ok(())
    }

    fn subscribe(&self, resume_after: Option<u64>) -> BoxStream<'static, LiveUpdate> {
        let (receiver, replay) = match self.recent.lock() {
            Ok(recent) => (
                self.sender.subscribe(),
                resume_after
                    .map(|after| recent.resume(after))
                    .unwrap_or_default(),
            ),
            Err(_) => (self.sender.subscribe(), vec![LiveUpdate::Missed(None)]),
        };
        let live = BroadcastStream::new(receiver).map(|item| match item {
            Ok(numbered) => update(numbered),
            Err(BroadcastStreamRecvError::Lagged(n)) => LiveUpdate::Missed(Some(n)),
        });
        stream::iter(replay).chain(live).boxed()
    }
}
