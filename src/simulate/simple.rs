//! `tributary dev --simulate N`: a few simple devices POSTing one reading each per second, with a
//! rare temperature spike, so the dashboard shows something at once. No truth file, no faults: the
//! full fleet simulator is [`super::run`] (`tributary simulate`).

use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tributary_core::Timestamp;

/// Chance per reading that the temperature spikes.
const SPIKE_CHANCE: f64 = 0.002;

pub async fn feed_simple(target: String, devices: usize, shutdown: CancellationToken) {
    let client = reqwest::Client::new();
    let url = format!("{target}/api/telemetry");
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        (rng >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let now = Timestamp::now();
        // Seconds since the epoch: unique per tick, and still unique after a restart.
        let seq = now.millis() / 1000;
        let phase = (now.millis() as f64 / 300_000.0) * std::f64::consts::TAU;
        let batch: Vec<serde_json::Value> = (0..devices)
            .map(|d| {
                let mut temperature = 60.0 + d as f64 + 5.0 * phase.sin() + (next() - 0.5);
                if next() < SPIKE_CHANCE {
                    temperature += 40.0;
                }
                serde_json::json!({
                    "deviceId": format!("sim-{d:04}"),
                    "ts": now,
                    "seq": seq,
                    "metrics": {"temperature": temperature, "vibration": 0.02 + next() * 0.005},
                    "tags": {"source": "simulate"}
                })
            })
            .collect();
        if let Err(e) = client.post(&url).json(&batch).send().await {
            tracing::warn!(error = %e, "simulated devices could not post");
        }
    }
}
