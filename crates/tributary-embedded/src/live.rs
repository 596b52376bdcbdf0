//! In-process latest-state cache and live feed. Neither is durable, by design: the cache refills from
//! new readings (and reads fall back to the result store); live updates are for whoever is listening.

use async_trait::async_trait;
use futures::stream::{BoxStream, StreamExt};
use std::collections::HashMap;
use std::sync::RwLock;
use tokio::sync::broadcast;
use tokio_stream::wrappers::BroadcastStream;
use tributary_core::ports::{CurrentWindows, LatestCache, LiveFeed};
use tributary_core::process::{DeviceLatest, WindowAggregate, WindowKey};
use tributary_core::{DeviceId, PortError, ScoredReading};

#[derive(Default)]
pub struct MemoryLatestCache {
    devices: RwLock<HashMap<DeviceId, DeviceLatest>>,
    windows: RwLock<HashMap<DeviceId, CurrentWindows>>,
}

fn poisoned() -> PortError {
    PortError::broken("memory cache", "a writer panicked")
}

#[async_trait]
impl LatestCache for MemoryLatestCache {
    async fn merge(&self, latest: &[DeviceLatest]) -> Result<(), PortError> {
        let mut devices = self.devices.write().map_err(|_| poisoned())?;
        for one in latest {
            match devices.get_mut(&one.device_id) {
                Some(existing) => existing.merge(one),
                None => {
                    devices.insert(one.device_id.clone(), one.clone());
                }
            }
        }
        Ok(())
    }

    async fn get(&self, id: &DeviceId) -> Result<Option<DeviceLatest>, PortError> {
        Ok(self
            .devices
            .read()
            .map_err(|_| poisoned())?
            .get(id)
            .cloned())
    }

    async fn merge_windows(
        &self,
        windows: &[(WindowKey, WindowAggregate)],
    ) -> Result<(), PortError> {
        let mut devices = self.windows.write().map_err(|_| poisoned())?;
        for (key, window) in windows {
            let current = devices.entry(key.device_id.clone()).or_default();
            // A later apply of the same window carries its newer merged state.
            if current
                .get(&key.metric)
                .is_none_or(|(start, _)| *start <= key.start)
            {
                current.insert(key.metric.clone(), (key.start, *window));
            }
        }
        Ok(())
    }

    async fn current_windows(&self, id: &DeviceId) -> Result<CurrentWindows, PortError> {
        let windows = self.windows.read().map_err(|_| poisoned())?;
        Ok(windows.get(id).cloned().unwrap_or_default())
    }
}

/// Fans live updates out to every subscriber of this process.
pub struct BroadcastLiveFeed {
    sender: broadcast::Sender<ScoredReading>,
}

impl BroadcastLiveFeed {
    /// `capacity`: updates a subscriber may fall behind before it skips ahead.
    pub fn new(capacity: usize) -> Self {
        Self {
            sender: broadcast::channel(capacity).0,
        }
    }
}

impl Default for BroadcastLiveFeed {
    fn default() -> Self {
        Self::new(4096)
    }
}

#[async_trait]
impl LiveFeed for BroadcastLiveFeed {
    async fn publish(&self, readings: &[ScoredReading]) -> Result<(), PortError> {
        for r in readings {
            // No subscriber is not an error.
            let _ = self.sender.send(r.clone());
        }
        Ok(())
    }

    fn subscribe(&self) -> BoxStream<'static, ScoredReading> {
        BroadcastStream::new(self.sender.subscribe())
            .filter_map(|r| async move { r.ok() })
            .boxed()
    }
}
