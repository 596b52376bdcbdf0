//! The overlay `infra/overlay-values.sh` writes from sample Bicep outputs, rendered with kustomize,
//! loaded by the real settings loader (in a child process with only the rendered environment), and
//! checked against what the Bicep enforces: local auth off ⇒ `auth = "entra"`; TLS-only endpoints ⇒
//! TLS URLs; the Event Hubs tier ⇒ a compression the tier takes. And the pods' `runAsNonRoot` is
//! satisfiable: the kubelet only verifies a numeric user.

use super::{fixture, read, repository, root, run, stage};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

const CHILD: &str = "TRIBUTARY_TEST_SETTINGS_CHILD";

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let path = entry.expect("entry").path();
        let target = to.join(path.file_name().expect("name"));
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).expect("copy");
        }
    }
}

/// The manifests of `overlay` as deploy.sh renders them, from the sample outputs with `changes`.
fn render(overlay: &str, changes: &[(&str, Value)]) -> Vec<Value> {
    let dir = tempfile::tempdir().expect("temp dir");
    let k8s = dir.path().join("k8s");
    copy_dir(&root().join("infra/k8s"), &k8s);
    let mut outputs: Value =
        serde_json::from_str(&read(&fixture("bicep-outputs.json"))).expect("json");
    for (key, value) in changes {
        outputs[*key] = json!({ "value": value });
    }
    let outputs_file = dir.path().join("outputs.json");
    std::fs::write(&outputs_file, outputs.to_string()).expect("write outputs");
    run(Command::new("bash")
        .arg(root().join("infra/overlay-values.sh"))
        .arg(&outputs_file)
        .arg(&k8s)
        .env("IMAGE_TAG", "0123abc")
        .env("SCALER_TAG", "wi-main"));
    let yaml = run(Command::new("kubectl")
        .args(["kustomize"])
        .arg(k8s.join("overlays").join(overlay)));
    let rendered = dir.path().join("rendered.yaml");
    std::fs::write(&rendered, yaml).expect("write rendered");
    let as_json = run(Command::new("python3").arg("-c").arg(
        "import json, sys, yaml; json.dump([d for d in yaml.safe_load_all(open(sys.argv[1])) if d], sys.stdout)",
    ).arg(&rendered));
    serde_json::from_str(&as_json).expect("rendered manifests as JSON")
}

fn config_map<'a>(docs: &'a [Value], prefix: &str) -> &'a serde_json::Map<String, Value> {
    docs.iter()
        .find(|d| {
            d["kind"] == "ConfigMap"
                && d["metadata"]["name"]
                    .as_str()
                    .is_some_and(|n| n.starts_with(prefix))
        })
        .and_then(|d| d["data"].as_object())
        .unwrap_or_else(|| panic!("ConfigMap {prefix}"))
}

/// What the real loader makes of the rendered environment and TOML, from a child process whose
/// environment is exactly the rendered ConfigMap (plus the config file path).
fn loaded_settings(docs: &[Value]) -> Value {
    let env = config_map(docs, "tributary-env");
    let toml = config_map(docs, "tributary-config")["tributary.toml"]
        .as_str()
        .expect("tributary.toml");
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("tributary.toml");
    std::fs::write(&config, toml).expect("write toml");
    let stdout = run(Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "deploy::overlay::settings_child",
            "--ignored",
            "--nocapture",
        ])
        .env_clear()
        .envs(
            env.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned())),
        )
        .env("TRIBUTARY_CONFIG", &config)
        .env(CHILD, "1"));
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{CHILD}=")))
        .unwrap_or_else(|| panic!("the child printed the settings: {stdout}"));
    serde_json::from_str(line).expect("settings JSON")
}

#[test]
#[ignore = "the child process of the overlay tests: loads settings from its own environment"]
fn settings_child() {
    use secrecy::ExposeSecret;
    assert!(
        std::env::var_os(CHILD).is_some(),
        "run by the overlay tests only"
    );
    let config = std::env::var_os("TRIBUTARY_CONFIG").map(std::path::PathBuf::from);
    let s = tributary::settings::Settings::load(config.as_deref()).expect("the settings load");
    let summary = json!({
        "cosmos_auth": format!("{:?}", s.cosmos.auth).to_lowercase(),
        "postgres_auth": format!("{:?}", s.postgres.auth).to_lowercase(),
        "postgres_url": s.postgres.url.expose_secret(),
        "redis_auth": format!("{:?}", s.redis.auth).to_lowercase(),
        "redis_url": s.redis.url.expose_secret(),
        "compression": s.kafka.producer_property("compression.type"),
    });
    println!("{CHILD}={summary}");
}

/// The value of `name: value` in a Bicep module (the first such property).
fn bicep_property(module: &str, name: &str) -> String {
    let source = read(&root().join("infra/modules").join(module));
    source
        .lines()
        .find_map(|l| l.trim().strip_prefix(&format!("{name}:")))
        .map(|v| v.trim().trim_matches('\'').to_owned())
        .unwrap_or_else(|| panic!("{module} sets {name}"))
}

fn query(url: &str) -> BTreeMap<String, String> {
    url.split_once('?')
        .map(|(_, q)| q)
        .unwrap_or_default()
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

#[test]
fn the_rendered_settings_use_what_the_bicep_enforces() {
    for sku in ["Standard", "Premium"] {
        let docs = render("azure", &[("eventHubsSku", json!(sku))]);
        let s = loaded_settings(&docs);
        let entra = json!("entra");
        // cosmos.bicep: disableLocalAuth: true, so keys are refused.
        assert_eq!(bicep_property("cosmos.bicep", "disableLocalAuth"), "true");
        assert_eq!(s["cosmos_auth"], entra, "Cosmos DB has local auth off: {s}");
        // postgres.bicep: passwordAuth Disabled; flexible server requires TLS (require_secure_transport).
        assert_eq!(bicep_property("postgres.bicep", "passwordAuth"), "Disabled");
        assert_eq!(
            s["postgres_auth"], entra,
            "PostgreSQL has password auth off: {s}"
        );
        let pg = s["postgres_url"].as_str().expect("url");
        let sslmode = query(pg).get("sslmode").cloned().unwrap_or_default();
        assert!(
            ["require", "verify-ca", "verify-full"].contains(&sslmode.as_str()),
            "PostgreSQL takes TLS only: {pg}"
        );
        // redis.bicep: access keys off, clientProtocol Encrypted (TLS only, port from the outputs).
        assert_eq!(
            bicep_property("redis.bicep", "accessKeysAuthentication"),
            "Disabled"
        );
        assert_eq!(bicep_property("redis.bicep", "clientProtocol"), "Encrypted");
        assert_eq!(s["redis_auth"], entra, "Redis has access keys off: {s}");
        let redis = s["redis_url"].as_str().expect("url");
        assert!(
            redis.starts_with("rediss://") && redis.contains(":10000/"),
            "{redis}"
        );
        // Event Hubs takes Kafka compression only on Premium and Dedicated, and there only gzip
        // (learn.microsoft.com/azure/event-hubs/azure-event-hubs-apache-kafka-overview, "Compression").
        let allowed: &[&str] = if sku == "Standard" {
            &["none"]
        } else {
            &["none", "gzip"]
        };
        let compression = s["compression"].as_str().unwrap_or("none");
        assert!(
            allowed.contains(&compression),
            "Event Hubs {sku} refuses compression.type={compression}"
        );
    }
}

#[test]
fn the_sample_outputs_are_the_outputs_main_bicep_declares() {
    let main = read(&root().join("infra/main.bicep"));
    let declared: Vec<&str> = main
        .lines()
        .filter_map(|l| l.strip_prefix("output "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let sample: Value = serde_json::from_str(&read(&fixture("bicep-outputs.json"))).expect("json");
    let sample: Vec<&str> = sample
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    let mut declared_sorted = declared.clone();
    declared_sorted.sort();
    let mut sample_sorted = sample.clone();
    sample_sorted.sort();
    assert_eq!(
        sample_sorted, declared_sorted,
        "tests/fixtures/azure/bicep-outputs.json"
    );
}

/// The user a container runs as: its own or the pod's `runAsUser`, else the image's `USER`.
fn effective_user(pod: &Value, container: &Value) -> Option<String> {
    let field = |f: &str| {
        container["securityContext"][f]
            .as_i64()
            .or_else(|| pod["securityContext"][f].as_i64())
    };
    if let Some(uid) = field("runAsUser") {
        return Some(uid.to_string());
    }
    let image = container["image"].as_str().unwrap_or_default();
    let target = match repository(image).rsplit('/').next() {
        Some("tributary") => "native",
        Some("tributary-functions") => "functions",
        _ => return None,
    };
    let user = stage(target)
        .lines
        .iter()
        .rev()
        .find_map(|l| l.strip_prefix("USER ").map(|u| u.trim().to_owned()));
    // An image without USER runs as root.
    Some(user.unwrap_or_else(|| "0".into()))
}

#[test]
fn every_pod_that_must_not_run_as_root_has_a_numeric_user() {
    for overlay in ["azure", "functions-host"] {
        let docs = render(overlay, &[]);
        let mut checked = 0;
        for doc in &docs {
            let pod = &doc["spec"]["template"]["spec"];
            let containers = pod["containers"].as_array().into_iter().flatten();
            for container in
                containers.chain(pod["initContainers"].as_array().into_iter().flatten())
            {
                let non_root = container["securityContext"]["runAsNonRoot"]
                    .as_bool()
                    .or_else(|| pod["securityContext"]["runAsNonRoot"].as_bool())
                    .unwrap_or(false);
                if !non_root {
                    continue;
                }
                checked += 1;
                let user = effective_user(pod, container);
                let uid = user
                    .as_deref()
                    .and_then(|u| u.split(':').next()?.parse::<u32>().ok());
                assert!(
                    uid.is_some_and(|u| u != 0),
                    "{overlay}: {} {} container {}: runAsNonRoot needs a numeric non-root user, has {user:?}",
                    doc["kind"],
                    doc["metadata"]["name"],
                    container["name"]
                );
            }
        }
        // azure: the four roles and the migrate Job; functions-host: the scaler and the migrate Job
        // (the Functions host runs as root).
        let minimum = if overlay == "azure" { 5 } else { 2 };
        assert!(
            checked >= minimum,
            "{overlay}: containers checked: {checked}"
        );
    }
}
