//! The ingest stage: split a request body into items, validate each into a [`Reading`] with its
//! identity, store the valid ones create-if-absent, and report accepted / duplicate / rejected.

mod body;
mod identity;
mod inflate;
mod unique_map;
mod validate;

pub use body::{split_body, BodyError, BodyFormat};
pub use identity::identity_of;
pub use inflate::{inflate, inflate_within};
pub use validate::{validate, WireReading};

use crate::ports::{Inserted, ReadingStore};
use crate::{PortError, Reading, Timestamp};
use serde::Serialize;
use std::collections::HashSet;

/// Ingest limits. Every one is configurable; the defaults are the documented contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, Serialize)]
#[serde(default, deny_unknown_fields, rename_all = "snake_case")]
pub struct IngestLimits {
    /// Largest body after decompression.
    pub max_body_bytes: usize,
    /// Largest decompressed/compressed ratio accepted for a compressed body.
    pub max_compression_ratio: usize,
    pub max_readings: usize,
    pub max_future_ms: i64,
    pub max_age_ms: i64,
}

impl Default for IngestLimits {
    fn default() -> Self {
        Self {
            max_body_bytes: 1024 * 1024,
            max_compression_ratio: 200,
            max_readings: 10_000,
            max_future_ms: 5 * 60 * 1000,
            max_age_ms: 7 * 24 * 60 * 60 * 1000,
        }
    }
}

/// One item that was not accepted, by its 0-based position in the request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejection {
    pub index: usize,
    pub error: String,
}

/// The response body of `POST /api/telemetry`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct IngestReport {
    pub accepted: usize,
    pub duplicates: usize,
    pub rejected: Vec<Rejection>,
}

impl IngestReport {
    /// At least one reading is now stored (new or already): the request succeeded.
    pub fn acknowledged_any(&self) -> bool {
        self.accepted + self.duplicates > 0
    }
}

/// Validates the items of one request and stores the valid ones. Returns only after the store has
/// made them durable; on a store error nothing is acknowledged and the client must retry the request
/// (a retry is harmless: identities make it a duplicate).
pub async fn ingest(
    items: Vec<Result<WireReading, String>>,
    limits: &IngestLimits,
    now: Timestamp,
    store: &dyn ReadingStore,
) -> Result<IngestReport, PortError> {
    let mut report = IngestReport::default();
    let mut valid: Vec<Reading> = Vec::with_capacity(items.len());
    let mut seen = HashSet::with_capacity(items.len());
    for (index, item) in items.into_iter().enumerate() {
        match item.and_then(|wire| validate(wire, limits, now)) {
            Ok(reading) => {
                // The same identity twice in one request: the second is a duplicate of the first.
                if seen.insert((reading.device_id.clone(), reading.id.clone())) {
                    valid.push(reading);
                } else {
                    report.duplicates += 1;
                }
            }
            Err(error) => report.rejected.push(Rejection { index, error }),
        }
    }
    if !valid.is_empty() {
        for outcome in store.insert_new(&valid).await? {
            match outcome {
                Inserted::New => report.accepted += 1,
                Inserted::Duplicate => report.duplicates += 1,
            }
        }
    }
    Ok(report)
}
