//! `/readyz` against a real broken backend: a process stage pointed at a PostgreSQL database that was
//! never migrated reports `waiting` with PostgreSQL's reason (503), and `ready` once it is migrated.

use super::*;
use crate::helpers::eventually;
use tokio_util::sync::CancellationToken;
use tributary::startup::Application;

#[tokio::test]
async fn readyz_shows_process_waiting_on_an_unmigrated_database_until_it_is_migrated() {
    let db = Database::create_unmigrated().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut s = crate::helpers::settings(dir.path());
    s.backends.result_store = ResultStoreBackend::Postgres;
    s.postgres.url = db.url.clone().into();
    let shutdown = CancellationToken::new();
    let app = Application::build_dev(&s, shutdown.clone())
        .await
        .expect("builds (PostgreSQL connects lazily)");
    let base = format!("http://127.0.0.1:{}", app.port());
    let running = tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::new();
    let (client, base) = (&client, base.as_str());
    let body = eventually("process to wait", Duration::from_secs(20), || async {
        let (status, body) = readyz(client, base).await;
        (status == 503 && body["stages"]["process"]["state"] == "waiting").then_some(body)
    })
    .await;
    assert_eq!(body["status"], "waiting", "{body}");
    let reason = body["stages"]["process"]["reason"].as_str().unwrap_or("");
    assert!(reason.contains("does not exist"), "{body}");
    assert_eq!(body["stages"]["ingest"]["state"], "running", "{body}");

    db.store().await.migrate().await.expect("migrate");
    eventually(
        "readiness after migrate",
        Duration::from_secs(20),
        || async {
            let (status, body) = readyz(client, base).await;
            (status == 200 && body["stages"]["process"]["state"] == "running").then_some(())
        },
    )
    .await;
    shutdown.cancel();
    running.await.expect("joins").expect("stops cleanly");
}

async fn readyz(client: &reqwest::Client, base: &str) -> (u16, serde_json::Value) {
    let resp = client
        .get(format!("{base}/readyz"))
        .send()
        .await
        .expect("answers");
    let status = resp.status().as_u16();
    (status, resp.json().await.expect("JSON"))
}
