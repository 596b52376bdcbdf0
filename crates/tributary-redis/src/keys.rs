//! Every Redis key and channel name Tributary uses, built in one place.

use tributary_core::DeviceId;

#[derive(Debug, Clone)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
        }
    }

    /// Hash of a device's latest state: one field per metric, plus [`LAST_SEEN_FIELD`].
    pub fn latest(&self, device: &DeviceId) -> String {
        format!("{}:latest:{device}", self.prefix)
    }

    /// Hash of a device's current window per metric: `<start ms>|<json of the aggregate>`.
    pub fn windows(&self, device: &DeviceId) -> String {
        format!("{}:window:{device}", self.prefix)
    }

    /// List of recent anomalies, newest first (JSON).
    pub fn anomalies(&self) -> String {
        format!("{}:anomalies", self.prefix)
    }

    /// Pub/sub channel of processed readings (JSON of the scored reading).
    pub fn live_channel(&self) -> String {
        format!("{}:live", self.prefix)
    }
}

/// Field of the latest hash holding the device's last event time; `~` sorts after metric names and is
/// not allowed in them, so it never collides.
pub const LAST_SEEN_FIELD: &str = "~lastSeen";
