//! `tributary package`: the folder has the layout host.json expects, the zip holds the same, and the
//! packaged binary serves as a custom handler on the port the host gives it.

use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::time::Duration;
use tributary::app::ROUTES;

#[tokio::test]
async fn the_package_has_the_layout_the_host_expects_and_its_binary_serves() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("app");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_tributary"))
        .args(["package", "--app-root", env!("CARGO_MANIFEST_DIR"), "--out"])
        .arg(&out)
        .status()
        .expect("package runs");
    assert!(status.success());
    let host_json: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("host.json")).expect("host.json"))
            .expect("JSON");
    let executable = host_json["customHandler"]["description"]["defaultExecutablePath"]
        .as_str()
        .expect("executable");
    assert!(
        out.join(executable).is_file(),
        "the binary sits where host.json points"
    );
    for route in ROUTES {
        assert!(
            out.join(route.function).join("function.json").is_file(),
            "{} is packaged",
            route.function
        );
    }
    let zip = zip::ZipArchive::new(std::fs::File::open(dir.path().join("app.zip")).expect("zip"))
        .expect("a zip");
    let names: BTreeSet<&str> = zip.file_names().collect();
    assert!(
        names.contains("host.json")
            && names.contains(executable)
            && names.contains("Process/function.json"),
        "{names:?}"
    );

    // The packaged binary serves as a custom handler on the port the host gives it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let mut handler = tokio::process::Command::new(out.join(executable))
        .arg("serve")
        .env("FUNCTIONS_CUSTOMHANDLER_PORT", port.to_string())
        .env("TRIBUTARY_DATA_DIR", dir.path().join("data"))
        .env("RUST_LOG", "warn")
        .kill_on_drop(true)
        .spawn()
        .expect("serve starts");
    let client = reqwest::Client::new();
    let health =
        crate::helpers::eventually("the handler to answer", Duration::from_secs(20), || async {
            client
                .get(format!("http://127.0.0.1:{port}/healthz"))
                .send()
                .await
                .ok()
                .filter(|r| r.status() == 200)
        })
        .await;
    assert_eq!(
        health.json::<Value>().await.expect("json"),
        json!({"status": "ok"})
    );
    handler.start_kill().expect("stop");
}
