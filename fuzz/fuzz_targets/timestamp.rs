//! Fuzzes timestamps: RFC 3339 text and JSON (strings or epoch milliseconds) must either be refused
//! or give an instant that writes back and re-reads to itself; and the acceptance window, under any
//! clock and limits (the first 24 bytes), must accept exactly the instants inside it, never by overflow.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tributary_core::ingest::{validate, IngestLimits, WireReading};
use tributary_core::Timestamp;

fn round_trips(t: Timestamp) {
    assert!((Timestamp::MIN..=Timestamp::MAX).contains(&t), "{t:?}");
    let text = t.to_rfc3339();
    assert_eq!(Timestamp::parse_rfc3339(&text), Ok(t), "{text}");
    let json = serde_json::to_string(&t).expect("serialize");
    assert_eq!(
        serde_json::from_str::<Timestamp>(&json).expect("reads back"),
        t
    );
    for width in [60_000, 300_000, 3_600_000] {
        let start = t.floor(width);
        assert!(start <= t && t.millis() - start.millis() < width);
    }
}

fn i64_at(bytes: &[u8]) -> i64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&bytes[..8]);
    i64::from_le_bytes(b)
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(t) = Timestamp::parse_rfc3339(text) {
            round_trips(t);
        }
    }
    if let Ok(t) = serde_json::from_slice::<Timestamp>(data) {
        round_trips(t);
    }
    if data.len() < 24 {
        return;
    }
    let (head, ts) = data.split_at(24);
    let now = Timestamp::from_millis(i64_at(head));
    let limits = IngestLimits {
        max_future_ms: i64_at(&head[8..]),
        max_age_ms: i64_at(&head[16..]),
        ..IngestLimits::default()
    };
    let Ok(ts) = std::str::from_utf8(ts) else {
        return;
    };
    let json = format!(r#"{{"deviceId":"d","ts":{ts},"metrics":{{"t":1}}}}"#);
    let Ok(wire) = serde_json::from_str::<WireReading>(&json) else {
        return;
    };
    if let Ok(reading) = validate(wire, &limits, now) {
        round_trips(reading.ts);
        let ahead = i128::from(reading.ts.millis()) - i128::from(now.millis());
        assert!(ahead <= i128::from(limits.max_future_ms), "{ahead} ahead");
        assert!(-ahead <= i128::from(limits.max_age_ms), "{} old", -ahead);
    }
});
