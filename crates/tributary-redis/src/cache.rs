//! `LatestCache` on Redis. Each metric's field holds `<order key>|<json>`; the merge script keeps a
//! value only if its order key (the core's rule for "latest", `LatestValue::order_key`) is greater
//! than the stored one, so out-of-order and replayed updates are harmless and every store agrees.

use crate::keys::{Keys, LAST_SEEN_FIELD};
use crate::{error, RedisConnection, RedisSettings};
use async_trait::async_trait;
use std::collections::{BTreeMap, HashMap};
use tributary_core::ports::{CurrentWindows, LatestCache};
use tributary_core::process::{DeviceLatest, LatestValue, WindowAggregate, WindowKey};
use tributary_core::{DeviceId, MetricName, PortError, Timestamp};

/// KEYS[1] latest hash; ARGV: ttl ms, lastSeen ms, then (metric, order key, json) triples. Order keys
/// are fixed-width lowercase hex, so string order is the rule's order; a stored value written before
/// order keys (another width) is replaced.
const MERGE: &str = r#"
local seen = redis.call('HGET', KEYS[1], '~lastSeen')
if (not seen) or tonumber(ARGV[2]) > tonumber(seen) then redis.call('HSET', KEYS[1], '~lastSeen', ARGV[2]) end
for i = 3, #ARGV, 3 do
  local old = redis.call('HGET', KEYS[1], ARGV[i])
  local newer = true
  if old then
    local sep = string.find(old, '|', 1, true)
    local key = string.sub(old, 1, sep - 1)
    newer = #key ~= #ARGV[i + 1] or ARGV[i + 1] > key
  end
  if newer then redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1] .. '|' .. ARGV[i + 2]) end
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
"#;

/// KEYS[1] windows hash; ARGV: ttl ms, then (metric, start, json) triples. A window replaces the stored
/// one if it starts at the same time or later (a later apply carries the newer merged state).
const MERGE_WINDOWS: &str = r#"
for i = 2, #ARGV, 3 do
  local old = redis.call('HGET', KEYS[1], ARGV[i])
  local keep = true
  if old then
    local sep = string.find(old, '|', 1, true)
    keep = tonumber(ARGV[i + 1]) >= tonumber(string.sub(old, 1, sep - 1))
  end
  if keep then redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1] .. '|' .. ARGV[i + 2]) end
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
"#;

pub struct RedisLatestCache {
    connection: RedisConnection,
    keys: Keys,
    ttl_ms: u64,
}

impl RedisLatestCache {
    pub fn new(connection: RedisConnection, settings: &RedisSettings) -> Self {
        Self {
            connection,
            keys: Keys::new(&settings.prefix),
            ttl_ms: settings.ttl_secs * 1000,
        }
    }

    /// A cache on a connection of its own.
    pub async fn connect(settings: &RedisSettings) -> Result<Self, PortError> {
        Ok(Self::new(
            RedisConnection::connect(settings, None).await?,
            settings,
        ))
    }
}

#[async_trait]
impl LatestCache for RedisLatestCache {
    #[tracing::instrument(skip_all, fields(devices = latest.len()), err)]
    async fn merge(&self, latest: &[DeviceLatest]) -> Result<(), PortError> {
        if latest.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        for device in latest {
            let cmd = pipe
                .cmd("EVAL")
                .arg(MERGE)
                .arg(1)
                .arg(self.keys.latest(&device.device_id))
                .arg(self.ttl_ms)
                .arg(device.last_seen.millis());
            for (metric, value) in &device.metrics {
                let json = serde_json::to_string(value)
                    .map_err(|e| PortError::broken(crate::BACKEND, e))?;
                cmd.arg(metric.as_str()).arg(value.order_key()).arg(json);
            }
            cmd.ignore();
        }
        let mut connection = self.connection.manager();
        pipe.query_async::<()>(&mut connection).await.map_err(error)
    }

    async fn get(&self, id: &DeviceId) -> Result<Option<DeviceLatest>, PortError> {
        let mut connection = self.connection.manager();
        let fields: HashMap<String, String> = redis::cmd("HGETALL")
            .arg(self.keys.latest(id))
            .query_async(&mut connection)
            .await
            .map_err(error)?;
        let Some(seen) = fields
            .get(LAST_SEEN_FIELD)
            .and_then(|s| s.parse::<i64>().ok())
        else {
            return Ok(None);
        };
        let mut metrics = BTreeMap::new();
        for (field, stored) in &fields {
            if field == LAST_SEEN_FIELD {
                continue;
            }
            let (Ok(metric), Some((_, json))) = (MetricName::parse(field), stored.split_once('|'))
            else {
                continue;
            };
            if let Ok(value) = serde_json::from_str::<LatestValue>(json) {
                metrics.insert(metric, value);
            }
        }
        Ok(Some(DeviceLatest {
            device_id: id.clone(),
            last_seen: Timestamp::from_millis(seen),
            metrics,
        }))
    }

    #[tracing::instrument(skip_all, fields(windows = windows.len()), err)]
    async fn merge_windows(
        &self,
        windows: &[(WindowKey, WindowAggregate)],
    ) -> Result<(), PortError> {
        let mut by_device: BTreeMap<&DeviceId, Vec<&(WindowKey, WindowAggregate)>> =
            BTreeMap::new();
        for w in windows {
            by_device.entry(&w.0.device_id).or_default().push(w);
        }
        if by_device.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        for (device, windows) in by_device {
            let cmd = pipe
                .cmd("EVAL")
                .arg(MERGE_WINDOWS)
                .arg(1)
                .arg(self.keys.windows(device))
                .arg(self.ttl_ms);
            for (key, window) in windows {
                let json = serde_json::to_string(window)
                    .map_err(|e| PortError::broken(crate::BACKEND, e))?;
                cmd.arg(key.metric.as_str())
                    .arg(key.start.millis())
                    .arg(json);
            }
            cmd.ignore();
        }
        let mut connection = self.connection.manager();
        pipe.query_async::<()>(&mut connection).await.map_err(error)
    }

    async fn current_windows(&self, id: &DeviceId) -> Result<CurrentWindows, PortError> {
        let mut connection = self.connection.manager();
        let fields: HashMap<String, String> = redis::cmd("HGETALL")
            .arg(self.keys.windows(id))
            .query_async(&mut connection)
            .await
            .map_err(error)?;
        let mut out = CurrentWindows::new();
        for (field, stored) in fields {
            let (Ok(metric), Some((start, json))) =
                (MetricName::parse(&field), stored.split_once('|'))
            else {
                continue;
            };
            if let (Ok(start), Ok(window)) = (
                start.parse::<i64>(),
                serde_json::from_str::<WindowAggregate>(json),
            ) {
                out.insert(metric, (Timestamp::from_millis(start), window));
            }
        }
        Ok(out)
    }
}
