//! Settings fail loudly at start-up: a mistyped key in the environment or the file stops the binary
//! naming the key and its right spelling, and `run` refuses a backend left to its embedded default.

use std::process::{Output, Stdio};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

/// `tributary <args>` with a clean `TRIBUTARY_*` environment plus `env`; its output once it exits.
async fn tributary(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tributary"));
    for (name, _) in std::env::vars() {
        if name.starts_with("TRIBUTARY_") {
            command.env_remove(name);
        }
    }
    command
        .args(args)
        .envs(env.iter().copied())
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    tokio::time::timeout(Duration::from_secs(30), command.output())
        .await
        .expect("exits promptly")
        .expect("runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test]
async fn a_mistyped_environment_variable_stops_start_up_naming_it_and_the_right_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().to_str().expect("utf-8 path");
    let out = tributary(
        &[
            "run",
            "--stages",
            "query",
            "--port",
            "0",
            "--data-dir",
            data,
        ],
        &[
            ("TRIBUTARY_BACKENDS__RESULTSTORE", "postgres"),
            ("TRIBUTARY_BACKENDS__CACHE", "memory"),
        ],
    )
    .await;
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("unknown setting TRIBUTARY_BACKENDS__RESULTSTORE"),
        "{err}"
    );
    assert!(
        err.contains("did you mean TRIBUTARY_BACKENDS__RESULT_STORE?"),
        "{err}"
    );
    assert!(
        std::fs::read_dir(dir.path()).expect("dir").next().is_none(),
        "nothing was stored before failing"
    );
}

#[tokio::test]
async fn a_mistyped_key_in_the_file_stops_start_up_naming_it_and_the_right_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("tributary.toml");
    std::fs::write(
        &file,
        "[postgres]\nurl = \"postgres://db/x\"\nmax_conections = 4\n",
    )
    .expect("writes");
    let out = tributary(
        &[
            "dev",
            "--port",
            "0",
            "--config",
            file.to_str().expect("utf-8"),
        ],
        &[],
    )
    .await;
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("unknown setting postgres.max_conections"),
        "{err}"
    );
    assert!(err.contains("tributary.toml"), "{err}");
    assert!(
        err.contains("did you mean postgres.max_connections?"),
        "{err}"
    );
}

#[tokio::test]
async fn run_refuses_backends_left_to_their_embedded_default() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().to_str().expect("utf-8 path");
    let out = tributary(
        &[
            "run",
            "--stages",
            "process",
            "--port",
            "0",
            "--data-dir",
            data,
        ],
        &[("TRIBUTARY_BACKENDS__EVENT_LOG", "embedded")],
    )
    .await;
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("does not fall back to embedded storage"),
        "{err}"
    );
    assert!(err.contains("backends.result_store is not set"), "{err}");
    assert!(err.contains("TRIBUTARY_BACKENDS__CACHE"), "{err}");
    assert!(
        !err.contains("backends.event_log"),
        "named explicitly: {err}"
    );
    assert!(
        !err.contains("backends.reading_store"),
        "process does not use it: {err}"
    );
}

#[tokio::test]
async fn run_starts_on_embedded_backends_named_explicitly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_tributary"))
        .args([
            "run",
            "--stages",
            "ingest,query",
            "--port",
            "0",
            "--data-dir",
        ])
        .arg(dir.path())
        .env("RUST_LOG", "warn")
        .env("TRIBUTARY_BACKENDS__READING_STORE", "embedded")
        .env("TRIBUTARY_BACKENDS__RESULT_STORE", "embedded")
        .env("TRIBUTARY_BACKENDS__CACHE", "memory")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    // Logs share stdout with the banner; read until it shows.
    let banner = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.expect("stdout") {
            if line.contains("dashboard at") {
                return line;
            }
        }
        panic!("exited without a banner");
    })
    .await
    .expect("a banner in time");
    assert!(banner.contains("Tributary run: dashboard at"), "{banner}");
}
