//! `tributary simulate` then `tributary verify` against the dev pipeline over the network (library
//! calls, not the CLI): a faulty fleet arrives exactly once, and verify cannot pass vacuously.

use crate::helpers::{eventually, spawn_app, TestApp};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tributary::simulate::truth::{TruthLine, TruthReading};
use tributary::simulate::{self, FleetConfig, SimulateConfig, Simulated};
use tributary::verify::compare::Mismatch;
use tributary::verify::{self, VerifyConfig, VerifyReport};
use tributary_core::Timestamp;

const MINUTE: i64 = 60_000;

async fn simulate_into(app: &TestApp, fleet: FleetConfig, truth: &Path) -> Simulated {
    let cfg = SimulateConfig {
        truth: Some(truth.to_path_buf()),
        ..SimulateConfig::new(&app.base, fleet)
    };
    simulate::run(cfg, CancellationToken::new())
        .await
        .expect("simulate runs")
}

async fn verify_against(app: &TestApp, truth: &Path, timeout: Duration) -> VerifyReport {
    let cfg = VerifyConfig {
        quiet: Duration::from_secs(1),
        poll: Duration::from_millis(200),
        ..VerifyConfig::new(&app.base, truth, timeout)
    };
    verify::run(cfg).await.expect("verify runs")
}

fn names(mismatches: &[Mismatch], device: &str, metric: &str, ts: i64) -> bool {
    let start = Timestamp::from_millis(ts).floor(MINUTE).millis();
    mismatches
        .iter()
        .any(|m| m.key.device_id == device && m.key.metric == metric && m.key.start_ms == start)
}

/// 20 devices for 30 s at 100 readings/s (5 per device per second), with duplicates, invalid and
/// late readings and anomalies injected.
#[tokio::test]
async fn a_simulated_fleet_with_faults_arrives_exactly_once_and_verify_passes() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let truth = dir.path().join("truth.ndjson");
    let fleet = FleetConfig {
        devices: 20,
        rate: 100.0,
        duration_ms: 30_000,
        duplicates: 0.02,
        anomalies: 0.003,
        invalid: 0.01,
        late: 0.02,
        seed: 42,
        tag: "exact".into(),
    };
    let simulated = simulate_into(&app, fleet, &truth).await;
    let s = &simulated.summary;
    assert_eq!(
        (s.readings_sent, s.acknowledged),
        (3_000, 3_000),
        "{simulated}"
    );
    assert_eq!((s.unacknowledged, s.failed_requests), (0, 0), "{simulated}");
    assert_eq!(
        (s.invalid_accepted, s.valid_rejected),
        (0, 0),
        "{simulated}"
    );
    assert!(s.invalid_sent > 0 && s.resent > 0, "{simulated}");
    assert_eq!(s.rejected, s.invalid_sent, "{simulated}");
    assert!(s.duplicates >= s.resent, "{simulated}");
    assert!(!simulated.freshness_ms.is_empty(), "{simulated}");

    let report = verify_against(&app, &truth, Duration::from_secs(20)).await;
    let w = &report.windows;
    assert!(report.passed(), "{report}");
    assert_eq!(
        (w.lost.len(), w.double_counted.len(), w.wrong.len()),
        (0, 0, 0)
    );
    assert_eq!(w.matched, w.expected_windows);
    assert_eq!((w.expected_readings, w.observed_readings), (9_000, 9_000));
    assert!(report.detection.episodes > 0, "{report}");
    assert!(report.freshness.is_some(), "{report}");
}

fn lines(truth: &Path) -> Vec<String> {
    std::fs::read_to_string(truth)
        .expect("truth file")
        .lines()
        .map(str::to_owned)
        .collect()
}

fn write(dir: &Path, name: &str, lines: &[String]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, lines.join("\n")).expect("write truth");
    path
}

fn reading_line(r: &TruthReading) -> String {
    serde_json::to_string(&TruthLine::Reading(r.clone())).expect("serialise")
}

#[tokio::test]
async fn verify_fails_and_names_the_window_when_the_truth_or_the_results_are_altered() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let truth = dir.path().join("truth.ndjson");
    let fleet = FleetConfig {
        devices: 5,
        rate: 50.0,
        duration_ms: 5_000,
        duplicates: 0.0,
        anomalies: 0.0,
        invalid: 0.0,
        late: 0.0,
        seed: 7,
        tag: "vacuous".into(),
    };
    simulate_into(&app, fleet, &truth).await;
    let timeout = Duration::from_secs(10);
    let report = verify_against(&app, &truth, timeout).await;
    assert!(
        report.passed(),
        "the untouched truth passes first: {report}"
    );

    let original = lines(&truth);
    let (at, r) = original
        .iter()
        .enumerate()
        .find_map(|(i, l)| match serde_json::from_str(l) {
            Ok(TruthLine::Reading(r)) => Some((i, r)),
            _ => None,
        })
        .expect("a reading line");
    let device = r.device_id.clone();

    // One acknowledged reading removed from the truth: the target holds one more than expected.
    let mut dropped = original.clone();
    dropped.remove(at);
    let report = verify_against(&app, &write(dir.path(), "dropped", &dropped), timeout).await;
    assert!(!report.passed());
    assert!(
        names(&report.windows.double_counted, &device, "vibration", r.ts),
        "{report}"
    );
    assert!(report.to_string().contains(&device), "{report}");

    // One value altered: the count agrees, the window does not.
    let mut altered = original.clone();
    let mut changed = r.clone();
    *changed.metrics.get_mut("pressure").expect("pressure") += 1.0;
    altered[at] = reading_line(&changed);
    let report = verify_against(&app, &write(dir.path(), "altered", &altered), timeout).await;
    assert!(!report.passed());
    assert!(
        names(&report.windows.wrong, &device, "pressure", r.ts),
        "{report}"
    );

    // A reading the target never saw: lost.
    let mut invented = original.clone();
    invented.push(reading_line(&TruthReading {
        seq: 1_000_000,
        ..r.clone()
    }));
    let report = verify_against(&app, &write(dir.path(), "invented", &invented), timeout).await;
    assert!(!report.passed());
    assert!(
        names(&report.windows.lost, &device, "temperature", r.ts),
        "{report}"
    );

    // One extra reading posted to the target: the untouched truth now fails, naming its window.
    let extra = json!([{"deviceId": device, "seq": 2_000_000, "ts": r.ts, "metrics": {"temperature": 1.0}}]);
    assert_eq!(app.post(&extra).await.0, 202);
    let start = Timestamp::from_millis(r.ts).floor(MINUTE).millis();
    let window = format!(
        "/api/devices/{device}/series?metric=temperature&from={start}&to={}",
        start + MINUTE
    );
    let expected_count = |lines: &[String]| {
        lines
            .iter()
            .filter_map(|l| match serde_json::from_str(l) {
                Ok(TruthLine::Reading(x)) if x.device_id == device => Some(x.ts),
                _ => None,
            })
            .filter(|ts| Timestamp::from_millis(*ts).floor(MINUTE).millis() == start)
            .count() as u64
    };
    let want = expected_count(&original) + 1;
    eventually("the extra reading is processed", timeout, || async {
        let (_, body) = app.get(&window).await;
        (body["points"][0]["count"].as_u64() == Some(want)).then_some(())
    })
    .await;
    let report = verify_against(&app, &truth, timeout).await;
    assert!(!report.passed());
    assert!(
        names(&report.windows.double_counted, &device, "temperature", r.ts),
        "{report}"
    );
    assert!(report.to_string().contains("FAIL"), "{report}");
}
