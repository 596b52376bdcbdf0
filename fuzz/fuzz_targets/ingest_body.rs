//! Fuzzes the ingest body path as the HTTP function runs it — gzip inflate, JSON / NDJSON split,
//! validation — and checks that every accepted reading is one every later stage can carry: it
//! round-trips through the stored JSON, scores finite, aggregates finite, and the scored message
//! round-trips too. The first byte picks the framing: bit 0 NDJSON, bit 1 gzip-decode the rest as
//! sent, bit 2 gzip it here first (so the parser behind gzip sees structured input).
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::io::Write;
use tributary_core::analyze::{score, DetectorConfig, DeviceState};
use tributary_core::ingest::{inflate, split_body, validate, BodyFormat, IngestLimits};
use tributary_core::process::WindowAggregate;
use tributary_core::{MetricName, Reading, ScoredReading, Timestamp};

/// 2026-12-01T00:00:00Z: a fixed clock, so a crash reproduces.
const NOW: Timestamp = Timestamp::from_millis(1_796_083_200_000);

fuzz_target!(|data: &[u8]| {
    let Some((&mode, body)) = data.split_first() else {
        return;
    };
    let limits = IngestLimits::default();
    let format = if mode & 1 == 1 {
        BodyFormat::Ndjson
    } else {
        BodyFormat::Json
    };
    let owned;
    let body = if mode & 4 == 4 {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(body).expect("in memory");
        let compressed = e.finish().expect("in memory");
        owned = match inflate(&compressed, &limits) {
            Ok(plain) => {
                assert_eq!(plain, body, "gzip round trip");
                plain
            }
            Err(e) => {
                assert!(e.is_too_large(), "our own gzip refused: {e}");
                return;
            }
        };
        &owned[..]
    } else if mode & 2 == 2 {
        match inflate(body, &limits) {
            Ok(plain) => {
                assert!(plain.len() <= limits.max_body_bytes);
                owned = plain;
                &owned[..]
            }
            Err(_) => return,
        }
    } else {
        body
    };
    let Ok(items) = split_body(body, format, &limits) else {
        return;
    };
    for wire in items.into_iter().flatten() {
        if let Ok(reading) = validate(wire, &limits, NOW) {
            carry(reading, &limits);
        }
    }
});

fn carry(reading: Reading, limits: &IngestLimits) {
    let ahead = i128::from(reading.ts.millis()) - i128::from(NOW.millis());
    assert!(ahead <= i128::from(limits.max_future_ms) && -ahead <= i128::from(limits.max_age_ms));
    // The reading store keeps the JSON; the change feed reads it back.
    let stored = serde_json::to_vec(&reading).expect("serialize");
    let back: Reading = serde_json::from_slice(&stored).expect("a stored reading reads back");
    assert_eq!(back, reading);
    // Analyze: score, and the scored message round-trips.
    let cfg = DetectorConfig::default();
    // Twice: a new state, then one that has already seen this reading.
    let mut state = DeviceState::new();
    for _ in 0..2 {
        let scored = score(reading.clone(), &mut state, &cfg);
        for (name, v) in &scored.metrics {
            assert!(v.score.is_finite(), "{name}: score {v:?}");
        }
        let message = serde_json::to_vec(&scored).expect("serialize");
        let back: ScoredReading = serde_json::from_slice(&message).expect("the message reads back");
        assert_eq!(back, scored);
        // Process: a window this value joins, even one already holding extreme sums.
        for (name, v) in &scored.metrics {
            let one = WindowAggregate::of(v.value, scored.ts, v.anomaly);
            let mut full = WindowAggregate::of(1e150, scored.ts, false);
            full.sum = 1e150 * 1e6;
            full.count = 1_000_000;
            let merged = one.merge(&full);
            assert!(
                merged.sum.is_finite() && merged.mean().is_finite(),
                "{name}"
            );
        }
    }
    let _: &MetricName = reading.metrics.keys().next().expect("at least one metric");
}
