//! `LiveFeed` on Redis pub/sub, so `/api/stream` on any replica sees what process did on any other.
//! One subscription per process feeds a local broadcast; it reconnects by itself if Redis goes away.
//! Publishing also keeps the list of recent anomalies.

use crate::keys::Keys;
use crate::{error, RedisConnection, RedisSettings};
use async_trait::async_trait;
use futures::stream::{BoxStream, StreamExt};
use std::time::Duration;
use tokio::sync::broadcast;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use tokio_stream::wrappers::BroadcastStream;
use tributary_core::ports::{LiveFeed, LiveUpdate};
use tributary_core::process::anomalies_in;
use tributary_core::{PortError, ScoredReading};

pub struct RedisLiveFeed {
    connection: RedisConnection,
    keys: Keys,
    recent_anomalies: usize,
    local: broadcast::Sender<ScoredReading>,
}

impl RedisLiveFeed {
    pub fn new(connection: RedisConnection, settings: &RedisSettings) -> Self {
        let keys = Keys::new(&settings.prefix);
        let (local, _) = broadcast::channel(4096);
        tokio::spawn(relay(
            connection.clone(),
            keys.live_channel(),
            local.downgrade(),
        ));
        Self {
            connection,
            keys,
            recent_anomalies: settings.recent_anomalies,
            local,
        }
    }

    /// A feed on a connection of its own (password auth).
    pub async fn connect(settings: &RedisSettings) -> Result<Self, PortError> {
        Ok(Self::new(
            RedisConnection::connect(settings, None).await?,
            settings,
        ))
    }
}

/// Forwards the channel into the local broadcast; stops once the feed is dropped.
async fn relay(
    connection: RedisConnection,
    channel: String,
    local: broadcast::WeakSender<ScoredReading>,
) {
    while local.upgrade().is_some() {
        // The current client: after a token refresh, reconnects authenticate with the new token.
        match connection.client().get_async_pubsub().await {
            Ok(mut pubsub) => {
                if let Err(e) = pubsub.subscribe(&channel).await {
                    tracing::warn!(error = %e, "live feed subscription failed");
                } else {
                    let mut messages = pubsub.on_message();
                    while let Some(message) = messages.next().await {
                        let Ok(payload) = message.get_payload::<String>() else {
                            continue;
                        };
                        let Some(sender) = local.upgrade() else {
                            return;
                        };
                        if let Ok(reading) = serde_json::from_str::<ScoredReading>(&payload) {
                            let _ = sender.send(reading);
                        }
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "live feed cannot reach Redis; retrying"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

#[async_trait]
impl LiveFeed for RedisLiveFeed {
    async fn publish(&self, readings: &[ScoredReading]) -> Result<(), PortError> {
        if readings.is_empty() {
            return Ok(());
        }
        let channel = self.keys.live_channel();
        let mut pipe = redis::pipe();
        for r in readings {
            let json =
                serde_json::to_string(r).map_err(|e| PortError::broken(crate::BACKEND, e))?;
            pipe.cmd("PUBLISH").arg(&channel).arg(json).ignore();
        }
        let anomalies = anomalies_in(readings);
        if !anomalies.is_empty() {
            let list = self.keys.anomalies();
            for a in &anomalies {
                let json =
                    serde_json::to_string(a).map_err(|e| PortError::broken(crate::BACKEND, e))?;
                pipe.cmd("LPUSH").arg(&list).arg(json).ignore();
            }
            pipe.cmd("LTRIM")
                .arg(&list)
                .arg(0)
                .arg(self.recent_anomalies.saturating_sub(1))
                .ignore();
        }
        let mut connection = self.connection.manager();
        pipe.query_async::<()>(&mut connection).await.map_err(error)
    }

    /// Pub/sub keeps nothing, so a resume is answered with a gap of unknown size; a subscriber
    /// that falls behind the local fan-out is told how many it missed.
    fn subscribe(&self, resume_after: Option<u64>) -> BoxStream<'static, LiveUpdate> {
        let gap = resume_after.map(|_| LiveUpdate::Missed(None));
        let live = BroadcastStream::new(self.local.subscribe()).map(|item| match item {
            Ok(reading) => LiveUpdate::Reading {
                id: None,
                reading: Box::new(reading),
            },
            Err(BroadcastStreamRecvError::Lagged(n)) => LiveUpdate::Missed(Some(n)),
        });
        futures::stream::iter(gap).chain(live).boxed()
    }
}
