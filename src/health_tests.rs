//! The health registry: states, the lag threshold, liveness, readiness and draining.

use super::*;

#[test]
fn a_new_stage_is_running_and_the_process_live_and_ready() {
    let health = Health::new(100);
    health.stage("ingest");
    let report = health.report();
    assert!(report.live && report.ready && !report.draining);
    assert_eq!(report.stages["ingest"].state, "running");
}

#[test]
fn waiting_fails_readiness_until_the_stage_runs_again() {
    let health = Health::new(100);
    let process = health.stage("process");
    health.stage("query");
    process.waiting("PostgreSQL: relation \"windows\" does not exist");
    let report = health.report();
    assert!(report.live && !report.ready);
    assert_eq!(report.stages["process"].state, "waiting");
    assert!(report.stages["process"]
        .reason
        .as_deref()
        .is_some_and(|r| r.contains("windows")));
    assert_eq!(report.stages["query"].state, "running");
    process.running();
    assert!(health.report().ready);
}

#[test]
fn lagging_shows_from_the_threshold_on_and_keeps_readiness() {
    let health = Health::new(100);
    let analyze = health.stage("analyze");
    analyze.lagging(99);
    let report = health.report();
    let below = &report.stages["analyze"];
    assert_eq!((below.state, below.behind), ("running", Some(99)));
    analyze.lagging(100);
    let report = health.report();
    let at = &report.stages["analyze"];
    assert_eq!((at.state, at.behind), ("lagging", Some(100)));
    assert!(report.ready);
}

#[test]
fn dead_fails_liveness_and_is_final() {
    let health = Health::new(100);
    let process = health.stage("process");
    process.dead("panicked: boom");
    process.running();
    let report = health.report();
    assert!(!report.live && !report.ready);
    assert_eq!(report.stages["process"].state, "dead");
}

#[test]
fn the_state_changes_time_only_when_its_kind_changes() {
    let health = Health::new(10);
    let analyze = health.stage("analyze");
    analyze.waiting("first");
    let since = health.report().stages["analyze"].since;
    std::thread::sleep(std::time::Duration::from_millis(5));
    analyze.waiting("second");
    let report = health.report();
    let analyze = &report.stages["analyze"];
    assert_eq!(analyze.since, since);
    assert_eq!(analyze.reason.as_deref(), Some("second"));
}

#[test]
fn draining_fails_readiness_not_liveness() {
    let health = Health::new(10);
    health.stage("ingest");
    health.draining();
    let report = health.report();
    assert!(report.live && !report.ready && report.draining);
}
