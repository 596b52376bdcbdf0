//! A record the change feed cannot read, stored by other means than ingest, is set aside with its
//! reason and the feed goes on for every device; `tributary dead-letters` lists it and replays what
//! has become readable, keeping what has not.

use crate::helpers::{eventually, reading, spawn_app_on};
use serde_json::{json, Value};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const SETTLE: Duration = Duration::from_secs(20);

/// Readings counted for `device` (summed over its one-minute windows of the last hour).
async fn counted(app: &crate::helpers::TestApp, device: &str) -> u64 {
    let (status, body) = app
        .get(&format!("/api/devices/{device}/series?metric=t"))
        .await;
    if status != 200 {
        return 0;
    }
    body["points"]
        .as_array()
        .map(|p| p.iter().map(|w| w["count"].as_u64().unwrap_or(0)).sum())
        .unwrap_or(0)
}

/// Writes straight into the embedded store's tables, as a foreign writer or an old bug would.
async fn write_raw(dir: &Path, sql: &str, binds: &[&str]) {
    let mut db = SqliteConnectOptions::new()
        .filename(dir.join("readings.sqlite"))
        .busy_timeout(Duration::from_secs(10))
        .connect()
        .await
        .expect("open readings.sqlite");
    let mut query = sqlx::query(sql);
    for bind in binds {
        query = query.bind(*bind);
    }
    query.execute(&mut db).await.expect("raw write");
    db.close().await.expect("close");
}

fn dead_letters(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tributary"))
        .arg("dead-letters")
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("tributary dead-letters runs");
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[tokio::test]
async fn an_unreadable_stored_reading_is_set_aside_and_the_feed_moves_on_for_everyone() {
    let dir = tempfile::tempdir().expect("temp dir");
    let app = spawn_app_on(dir.path()).await;
    for i in 0..5 {
        let (status, _) = app
            .post(&reading("before", 60_000 - i, json!({"t": 1})))
            .await;
        assert_eq!(status, 202);
    }
    eventually("the first readings", SETTLE, || async {
        (counted(&app, "before").await == 5).then_some(())
    })
    .await;
    // The hostile reading of the issue exactly as an older ingest stored it (its timestamp written
    // as a bare number, since no date can show it), or as another writer might.
    let poison = r#"{"deviceId":"x","id":"p","ts":"-9223372036854775808","metrics":{"t":1}}"#;
    write_raw(
        dir.path(),
        "INSERT INTO readings (device_id, reading_id, body) VALUES ('x', 'p', ?)",
        &[poison],
    )
    .await;
    for i in 0..5 {
        let (status, _) = app
            .post(&reading("after", 60_000 - i, json!({"t": 2})))
            .await;
        assert_eq!(status, 202);
    }
    eventually(
        "readings after the poison to be analysed and counted",
        SETTLE,
        || async { (counted(&app, "after").await == 5).then_some(()) },
    )
    .await;
    let metrics = app
        .client
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains(r#"tributary_set_aside_total{stage="analyze",place="quarantine"} 1"#),
        "{metrics}"
    );

    let (ok, listed) = dead_letters(dir.path(), &["list"]);
    assert!(ok);
    let records: Vec<Value> = listed
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(records.len(), 1, "{listed}");
    assert_eq!(records[0]["source"], "change_feed");
    assert_eq!(records[0]["record"], poison);
    assert!(
        records[0]["reason"]
            .as_str()
            .is_some_and(|r| r.starts_with("stored reading is unreadable")),
        "{listed}"
    );

    // A record an older version set aside that this one can read: replay analyses and counts it;
    // the poison stays set aside, and the command says so.
    let fixed = reading("replayed", 30_000, json!({"t": 3}));
    let fixed = json!({"deviceId": "replayed", "id": "fixed-1", "ts": fixed["ts"],
        "metrics": {"t": 3}, "receivedAt": fixed["ts"]});
    write_raw(
        dir.path(),
        "INSERT INTO set_aside (source, key, record, reason, set_aside_at) \
         VALUES ('change_feed', 'lsn:old', ?, 'unreadable by an older version', 0)",
        &[&fixed.to_string()],
    )
    .await;
    let (ok, summary) = dead_letters(dir.path(), &["replay"]);
    assert!(!ok, "a record that is still unreadable fails the replay");
    assert_eq!(summary.trim(), "1 replayed, 1 kept");
    eventually("the replayed reading to be counted", SETTLE, || async {
        (counted(&app, "replayed").await == 1).then_some(())
    })
    .await;
    let (_, listed) = dead_letters(dir.path(), &["list"]);
    assert_eq!(
        listed.lines().count(),
        1,
        "only the poison is left: {listed}"
    );
    app.stop().await;
}
