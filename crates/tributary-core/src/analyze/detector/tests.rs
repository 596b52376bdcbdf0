//! The detector's promises on small synthetic series: quiet on what is normal (noise, seasons,
//! constants, integers), one early alarm per incident of each kind, late readings, state formats.

use super::state::VERSION;
use super::*;
use crate::{AnomalyKind, ScoredValue};

const MIN: i64 = 60_000;
/// Midnight UTC, 2026-11-02.
const T0: i64 = 1_793_577_600_000;

/// A small deterministic noise source in [-0.5, 0.5) (SplitMix64 of `i`), so tests need no RNG
/// crate and consecutive draws are independent.
fn noise(i: u64) -> f64 {
    let mut z = i.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64 - 0.5
}

/// Roughly normal noise with σ ≈ 1 (sum of four uniforms).
fn gauss(i: u64) -> f64 {
    (0..4).map(|k| noise(i * 4 + k)).sum::<f64>() * 1.73
}

fn run(values: impl IntoIterator<Item = f64>, every: i64) -> Vec<ScoredValue> {
    let cfg = DetectorConfig::default().for_metric("m");
    let mut state = MetricState::new();
    values
        .into_iter()
        .enumerate()
        .map(|(i, x)| state.observe(x, T0 + i as i64 * every, &cfg))
        .collect()
}

fn alarms(scored: &[ScoredValue]) -> Vec<(usize, AnomalyKind)> {
    scored
        .iter()
        .enumerate()
        .filter(|(_, s)| s.anomaly)
        .map(|(i, s)| (i, s.kind.expect("a flagged value has a kind")))
        .collect()
}

const FIVE_MIN_DAY: usize = 288;

#[test]
fn scores_stay_in_zero_one_and_bands_hold_the_expected_value() {
    let scored = run((0..4000).map(|i| 50.0 + 5.0 * gauss(i)), 5 * MIN);
    for s in &scored[1..] {
        assert!((0.0..=1.0).contains(&s.score), "{s:?}");
        let (e, lo, hi) = (s.expected.unwrap(), s.lower.unwrap(), s.upper.unwrap());
        assert!(lo < e && e < hi, "{s:?}");
    }
}

#[test]
fn noisy_seasonal_signal_raises_no_alarm_and_a_spike_raises_one() {
    let day = |i: u64| {
        let phase = (i % FIVE_MIN_DAY as u64) as f64 / FIVE_MIN_DAY as f64;
        20.0 + 8.0 * (std::f64::consts::TAU * phase).sin() + 0.5 * gauss(i)
    };
    let mut values: Vec<f64> = (0..8 * FIVE_MIN_DAY as u64).map(day).collect();
    let quiet = alarms(&run(values.clone(), 5 * MIN));
    assert!(quiet.is_empty(), "{quiet:?}");
    values[5 * FIVE_MIN_DAY + 100] += 6.0;
    let found = alarms(&run(values, 5 * MIN));
    assert_eq!(found, vec![(5 * FIVE_MIN_DAY + 100, AnomalyKind::Spike)]);
}

#[test]
fn noise_free_periodic_signals_raise_no_alarm_after_their_first_period() {
    let square = (0..10 * FIVE_MIN_DAY).map(|i| {
        if (i + 37) % FIVE_MIN_DAY < 130 {
            3.0
        } else {
            11.0
        }
    });
    assert!(alarms(&run(square, 5 * MIN)).is_empty());
    let sine = (0..10 * FIVE_MIN_DAY)
        .map(|i| 100.0 * (std::f64::consts::TAU * i as f64 / FIVE_MIN_DAY as f64).sin());
    assert!(alarms(&run(sine, 5 * MIN)).is_empty());
    // A sawtooth drops at midnight: the ramp is carried on up to the edge, not interpolated
    // across it. A schedule steps through levels, idling at 0 at night. Both every minute too.
    for every in [MIN, 5 * MIN] {
        let per_day = (1440 * MIN / every) as usize;
        let sawtooth =
            (0..10 * per_day).map(|i| -20.0 + 60.0 * (i % per_day) as f64 / per_day as f64);
        let found = alarms(&run(sawtooth, every));
        assert!(found.iter().all(|(i, _)| *i < per_day), "{found:?}");
        let schedule = (0..10 * per_day)
            .map(|i| 40.0 * [0.0, 0.3, 1.0, 0.6, 0.3, 0.0][(i % per_day) * 6 / per_day]);
        let found = alarms(&run(schedule, every));
        assert!(found.iter().all(|(i, _)| *i < per_day), "{found:?}");
    }
}

#[test]
fn weekday_levels_are_learnt_so_weekends_stop_alarming_after_the_first_week() {
    // Business traffic, 5-minute readings from a Monday: weekends at 60% of weekdays.
    let day = |i: u64| (i / FIVE_MIN_DAY as u64) % 7;
    let values: Vec<f64> = (0..35 * FIVE_MIN_DAY as u64)
        .map(|i| {
            let phase = (i % FIVE_MIN_DAY as u64) as f64 / FIVE_MIN_DAY as f64;
            let profile = 0.25 + 0.75 * (0.5 - 0.5 * (std::f64::consts::TAU * phase).cos());
            let weekend = if day(i) >= 5 { 0.6 } else { 1.0 };
            1000.0 * profile * weekend * (1.0 + 0.05 * gauss(i))
        })
        .collect();
    // No alarm at the start of a day after the first week; one in 10,000 readings elsewhere is
    // what the threshold means.
    let found = alarms(&run(values, 5 * MIN));
    let at_day_starts = found
        .iter()
        .filter(|(i, _)| *i >= 8 * FIVE_MIN_DAY && i % FIVE_MIN_DAY < 24)
        .count();
    assert_eq!(at_day_starts, 0, "{found:?}");
    assert!(found.len() <= 2, "{found:?}");
}

#[test]
fn a_machine_idle_all_weekend_is_not_flagged_but_one_that_stops_midweek_is() {
    // Runs 8:00-18:00 on weekdays at ~50, idles at 2 otherwise; 5-minute readings from a Monday.
    let running = |i: usize| {
        let (day, phase) = (i / FIVE_MIN_DAY % 7, i % FIVE_MIN_DAY);
        day < 5 && (96..216).contains(&phase)
    };
    let mut values: Vec<f64> = (0..21 * FIVE_MIN_DAY)
        .map(|i| {
            if running(i) {
                50.0 + gauss(i as u64)
            } else {
                2.0
            }
        })
        .collect();
    assert!(alarms(&run(values.clone(), 5 * MIN)).is_empty());
    // Wednesday of the third week, 12:00: it stops.
    let stop = 16 * FIVE_MIN_DAY + 144;
    values[stop..stop + 30].fill(2.0);
    let found = alarms(&run(values, 5 * MIN));
    assert_eq!(found.len(), 1, "{found:?}");
    assert!((stop..stop + 5).contains(&found[0].0), "{found:?}");
}

#[test]
fn constant_metrics_raise_nothing_and_a_jump_after_a_flat_stretch_raises_one_alarm() {
    assert!(alarms(&run(std::iter::repeat_n(0.0, 3000), MIN)).is_empty());
    assert!(alarms(&run(std::iter::repeat_n(1013.25, 3000), MIN)).is_empty());
    let jump = (0..3000).map(|i| if i < 2000 { 5.0 } else { 8.0 });
    let found = alarms(&run(jump, MIN));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, 2000);
}

#[test]
fn integer_counts_are_judged_by_their_own_spread() {
    // A counter that is mostly 0-3: ordinary changes are quiet, a burst of 40 is not.
    let mut counts: Vec<f64> = (0..3000u64)
        .map(|i| ((noise(i) + 0.5) * 4.0).floor())
        .collect();
    assert!(alarms(&run(counts.clone(), MIN)).is_empty());
    counts[2500] = 40.0;
    let found = alarms(&run(counts, MIN));
    assert_eq!(found.iter().map(|a| a.0).collect::<Vec<_>>(), vec![2500]);
}

#[test]
fn a_small_level_shift_is_caught_as_a_shift_within_a_few_readings() {
    let values = (0..3000u64).map(|i| 10.0 + gauss(i) + if i >= 2000 { 3.0 } else { 0.0 });
    let found = alarms(&run(values, MIN));
    assert_eq!(found.len(), 1, "{found:?}");
    let (at, kind) = found[0];
    assert!((2000..2015).contains(&at), "{found:?}");
    assert!(
        matches!(kind, AnomalyKind::LevelShift | AnomalyKind::Drift),
        "{found:?}"
    );
}

#[test]
fn a_slow_drift_is_caught_before_it_goes_far() {
    let values = (0..3000u64).map(|i| {
        10.0 + gauss(i)
            + if i >= 2000 {
                (i - 2000) as f64 * 0.05
            } else {
                0.0
            }
    });
    let found = alarms(&run(values, MIN));
    let first = found.first().expect("the drift is caught");
    assert!((2000..2100).contains(&first.0), "{found:?}");
    assert!(
        matches!(first.1, AnomalyKind::Drift | AnomalyKind::LevelShift),
        "{found:?}"
    );
}

#[test]
fn a_stuck_sensor_is_caught_and_flagged_once() {
    let mut values: Vec<f64> = (0..3000u64).map(|i| 10.0 + gauss(i)).collect();
    let frozen = values[2000];
    values[2000..2100].fill(frozen);
    let found = alarms(&run(values, MIN));
    assert_eq!(found.len(), 1, "{found:?}");
    assert!((2000..2015).contains(&found[0].0), "{found:?}");
    assert_eq!(found[0].1, AnomalyKind::Stuck);
}

#[test]
fn a_value_far_outside_the_range_seen_is_out_of_range() {
    let mut values: Vec<f64> = (0..3000u64).map(|i| 10.0 + gauss(i)).collect();
    values[2500] = -500.0;
    assert_eq!(
        alarms(&run(values, MIN)),
        vec![(2500, AnomalyKind::OutOfRange)]
    );
}

#[test]
fn a_late_reading_is_not_flagged_for_being_late_and_changes_nothing() {
    let cfg = DetectorConfig::default().for_metric("m");
    let mut state = MetricState::new();
    for i in 0..3000u64 {
        state.observe(10.0 + gauss(i), T0 + 1440 * MIN + i as i64 * MIN, &cfg);
    }
    let before = state.clone();
    // An ordinary value, an hour late: not flagged, state untouched.
    let late = state.observe(10.2, T0 + 1440 * MIN + 2900 * MIN, &cfg);
    assert!(!late.anomaly, "{late:?}");
    assert_eq!(state, before);
    // A late value that is a spike by any standard is still a spike.
    let spike = state.observe(80.0, T0 + 1440 * MIN, &cfg);
    assert!(spike.anomaly, "{spike:?}");
}

#[test]
fn nothing_is_flagged_during_probation() {
    let values = (0..FIVE_MIN_DAY).map(|i| if i % 2 == 0 { 0.0 } else { 1000.0 });
    assert!(alarms(&run(values, 5 * MIN)).is_empty());
}

#[test]
fn state_round_trips_bit_for_bit_and_scores_the_same_after_reload() {
    let cfg = DetectorConfig::default().for_metric("m");
    let mut state = DeviceState::new();
    let name = crate::MetricName::parse("m").unwrap();
    let mut twin = None;
    for i in 0..2000u64 {
        let ts = crate::Timestamp::from_millis(T0 + i as i64 * 5 * MIN);
        if i == 1500 {
            let json = serde_json::to_string(&state).unwrap();
            assert!(json.len() <= 2048, "state is {} bytes", json.len());
            let back: DeviceState = serde_json::from_str(&json).unwrap();
            assert_eq!(back, state);
            twin = Some(back);
        }
        let x = 3.0 * gauss(i) + (i % 288) as f64 / 10.0;
        let a = crate::analyze::score_value(&mut state, &name, x, ts, &cfg);
        if let Some(t) = twin.as_mut() {
            let b = crate::analyze::score_value(t, &name, x, ts, &cfg);
            assert_eq!(a, b);
        }
    }
}

#[test]
fn first_detector_state_migrates_to_a_fresh_probation_keeping_its_spread() {
    let v1 = r#"{"temperature":{"n":500,"mean":70.0,"var":4.0}}"#;
    let state: DeviceState = serde_json::from_str(v1).unwrap();
    let m = &state.metrics[&crate::MetricName::parse("temperature").unwrap()];
    assert_eq!((m.v, m.n), (VERSION, 0));
    assert!((m.scale - 1.6).abs() < 1e-12);
    let saved = serde_json::to_value(&state).unwrap();
    assert_eq!(saved["temperature"]["v"], VERSION);
}

#[test]
fn version_2_state_with_plain_arrays_loads_and_saves_packed() {
    let cfg = DetectorConfig::default().for_metric("m");
    let mut state = MetricState::new();
    for i in 0..600u64 {
        state.observe(10.0 + gauss(i), T0 + i as i64 * 5 * MIN, &cfg);
    }
    // What version 2 stored: the same fields, bins as arrays of numbers, none of the new fields.
    let mut v2 = serde_json::to_value(&state).unwrap();
    let obj = v2.as_object_mut().unwrap();
    obj.insert("v".into(), 2.into());
    obj.insert("offsets".into(), serde_json::json!(state.offsets));
    obj.insert("spreads".into(), serde_json::json!(state.spreads));
    obj.insert("visits".into(), serde_json::json!(state.visits));
    obj.insert("idle".into(), serde_json::json!(state.idle));
    for new in [
        "idle_usual",
        "log_excess",
        "day",
        "day_start",
        "week_pending",
        "week",
        "week_seen",
    ] {
        obj.remove(new);
    }
    let stored = serde_json::json!({ "m": v2 }).to_string();
    let loaded: DeviceState = serde_json::from_str(&stored).unwrap();
    let m = &loaded.metrics[&crate::MetricName::parse("m").unwrap()];
    assert_eq!(
        (m.v, m.n, &m.offsets, &m.visits),
        (VERSION, state.n, &state.offsets, &state.visits)
    );
    let saved = serde_json::to_value(&loaded).unwrap();
    assert!(saved["m"]["offsets"].is_string(), "{saved}");
}

#[test]
fn stored_state_stays_under_two_kib_whatever_the_metric_does() {
    let cfg = DetectorConfig::default().for_metric("m");
    let series: [&dyn Fn(u64) -> f64; 4] = [
        // Noisy seasonal values with many digits.
        &|i| 1e6 / 7.0 + 12345.678 * (i as f64 / 288.0 * std::f64::consts::TAU).sin() + gauss(i),
        // A counter that idles at 0 at many phases.
        &|i| {
            if noise(i) > 0.2 {
                ((noise(i + 7) + 0.5) * 9.0).floor()
            } else {
                0.0
            }
        },
        // Heavy-tailed bursts.
        &|i| 100.0 / (noise(i) + 0.5001).powf(0.8),
        // Negative, tiny values.
        &|i| -1e-7 * (1.0 + gauss(i).abs()),
    ];
    for f in series {
        let mut state = DeviceState::new();
        let name = crate::MetricName::parse("m").unwrap();
        for i in 0..6000u64 {
            let ts = crate::Timestamp::from_millis(T0 + i as i64 * 5 * MIN);
            crate::analyze::score_value(&mut state, &name, f(i), ts, &cfg);
            if i % 500 == 499 {
                let json = serde_json::to_string(&state).unwrap();
                assert!(json.len() <= 2048, "{} bytes: {json}", json.len());
            }
        }
    }
}

#[test]
fn a_metric_that_is_off_keeps_no_state() {
    let mut cfg = DetectorConfig::default();
    cfg.metrics.insert(
        "m".into(),
        MetricOverride {
            off: true,
            ..Default::default()
        },
    );
    let mut state = DeviceState::new();
    let name = crate::MetricName::parse("m").unwrap();
    let s = crate::analyze::score_value(
        &mut state,
        &name,
        1.0,
        crate::Timestamp::from_millis(T0),
        &cfg.for_metric("m"),
    );
    assert_eq!(s, ScoredValue::plain(1.0, 0.0, false));
    assert!(state.metrics.is_empty());
}
