//! `LatestCache` in memory, bounded: at most `max_devices` devices, the least recently updated
//! evicted first. An evicted device is read from the result store until new readings refill it.

use async_trait::async_trait;
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use tributary_core::ports::{CurrentWindows, LatestCache};
use tributary_core::process::{DeviceLatest, WindowAggregate, WindowKey};
use tributary_core::{DeviceId, PortError};

pub struct MemoryLatestCache {
    inner: Mutex<Lru>,
}

struct Lru {
    max_devices: usize,
    entries: HashMap<DeviceId, Entry>,
    /// Update tick -> device, oldest first.
    order: BTreeMap<u64, DeviceId>,
    tick: u64,
}

#[derive(Default)]
struct Entry {
    latest: Option<DeviceLatest>,
    windows: CurrentWindows,
    touched: u64,
}

/// The default bound when none is configured.
pub const DEFAULT_MAX_DEVICES: usize = 20_000;

impl Default for MemoryLatestCache {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_DEVICES)
    }
}

impl MemoryLatestCache {
    /// A cache of at most `max_devices` devices (at least one).
    pub fn new(max_devices: usize) -> Self {
        Self {
            inner: Mutex::new(Lru {
                max_devices: max_devices.max(1),
                entries: HashMap::new(),
                order: BTreeMap::new(),
                tick: 0,
            }),
        }
    }

    /// Devices cached now.
    pub fn len(&self) -> usize {
        self.inner.lock().map_or(0, |lru| lru.entries.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Lru {
    /// The device's entry, marked most recently updated (created if absent).
    fn touch(&mut self, id: &DeviceId) -> &mut Entry {
        self.tick += 1;
        let tick = self.tick;
        let entry = self.entries.entry(id.clone()).or_default();
        if entry.touched != 0 {
            self.order.remove(&entry.touched);
        }
        entry.touched = tick;
        self.order.insert(tick, id.clone());
        entry
    }

    fn evict(&mut self) {
        while self.entries.len() > self.max_devices {
            let Some((_, oldest)) = self.order.pop_first() else {
                return;
            };
            self.entries.remove(&oldest);
        }
    }
}

fn poisoned() -> PortError {
    PortError::broken("memory cache", "a writer panicked")
}

#[async_trait]
impl LatestCache for MemoryLatestCache {
    async fn merge(&self, latest: &[DeviceLatest]) -> Result<(), PortError> {
        let mut lru = self.inner.lock().map_err(|_| poisoned())?;
        for one in latest {
            let entry = lru.touch(&one.device_id);
            match &mut entry.latest {
                Some(existing) => existing.merge(one),
                None => entry.latest = Some(one.clone()),
            }
        }
        lru.evict();
        Ok(())
    }

    async fn get(&self, id: &DeviceId) -> Result<Option<DeviceLatest>, PortError> {
        let lru = self.inner.lock().map_err(|_| poisoned())?;
        Ok(lru.entries.get(id).and_then(|e| e.latest.clone()))
    }

    async fn merge_windows(
        &self,
        windows: &[(WindowKey, WindowAggregate)],
    ) -> Result<(), PortError> {
        let mut lru = self.inner.lock().map_err(|_| poisoned())?;
        for (key, window) in windows {
            let current = &mut lru.touch(&key.device_id).windows;
            // A later apply of the same window carries its newer merged state.
            if current
                .get(&key.metric)
                .is_none_or(|(start, _)| *start <= key.start)
            {
                current.insert(key.metric.clone(), (key.start, *window));
            }
        }
        lru.evict();
        Ok(())
    }

    async fn current_windows(&self, id: &DeviceId) -> Result<CurrentWindows, PortError> {
        let lru = self.inner.lock().map_err(|_| poisoned())?;
        Ok(lru
            .entries
            .get(id)
            .map(|e| e.windows.clone())
            .unwrap_or_default())
    }
}
