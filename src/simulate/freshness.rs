//! Freshness sampling: after a 202, poll `/api/devices/{id}/latest` until the device's `lastSeen`
//! reaches the reading's `ts`, and record how long that took. The verifier cannot observe the past,
//! so this runs during the simulation and lands in the truth file.
//!
//! What it measures: from the 202 arriving at the simulator to the first poll *response* that shows
//! `lastSeen >= ts` (so it includes one poll's round trip; resolution is the poll interval). A later
//! reading of the same device becoming visible first would also satisfy the check; the sampler picks
//! the newest reading of a batch to make that rare.

use super::ledger::Acked;
use super::truth::FreshnessSample;
use serde::Deserialize;
use std::time::{Duration, Instant};
use tributary_core::Timestamp;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Latest {
    last_seen: Timestamp,
}

/// Polls every `poll` until the reading is visible or `give_up` has passed (then `None`).
pub async fn sample(
    client: reqwest::Client,
    target: String,
    acked: Acked,
    poll: Duration,
    give_up: Duration,
) -> Option<FreshnessSample> {
    let url = format!("{target}/api/devices/{}/latest", acked.device_id);
    let deadline = Instant::now() + give_up;
    loop {
        if let Ok(response) = client.get(&url).send().await {
            if response.status().is_success() {
                if let Ok(latest) = response.json::<Latest>().await {
                    if latest.last_seen.millis() >= acked.ts_ms {
                        let visible_at_ms = Timestamp::now().millis();
                        return Some(FreshnessSample {
                            device_id: acked.device_id.to_string(),
                            seq: acked.seq,
                            ts: acked.ts_ms,
                            acked_at_ms: acked.at_ms,
                            visible_at_ms,
                            freshness_ms: (visible_at_ms - acked.at_ms).max(0),
                        });
                    }
                }
            }
        }
        if Instant::now() >= deadline {
            tracing::debug!(device = %acked.device_id, seq = acked.seq, "freshness sample timed out");
            return None;
        }
        tokio::time::sleep(poll).await;
    }
}
