//! The function app's configuration files validate against their JSON schemas: SchemaStore's public
//! schemas, vendored verbatim under `schemas/vendor/schemastore/`, and for `host.json` a local wrapper
//! (`schemas/function-app/host.json`) that reuses SchemaStore's definitions property by property and
//! documents its exceptions in `schemas/vendor/schemastore/README.md`. Nothing is fetched over the
//! network: SchemaStore's URLs resolve to the vendored copies.

use std::path::{Path, PathBuf};

use jsonschema::{Draft, Retrieve, Uri, Validator};
use serde_json::{json, Value};

const SCHEMASTORE: &str = "https://json.schemastore.org/";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read_json(path: &Path) -> Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}

/// Resolves `https://json.schemastore.org/<name>` to `schemas/vendor/schemastore/<name>`, and refuses
/// everything else.
struct VendoredSchemaStore;

impl Retrieve for VendoredSchemaStore {
    fn retrieve(
        &self,
        uri: &Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let name = uri
            .as_str()
            .strip_prefix(SCHEMASTORE)
            .filter(|name| !name.contains('/') && !name.contains(".."))
            .ok_or_else(|| format!("{} is not a vendored SchemaStore schema", uri.as_str()))?;
        let path = root().join("schemas/vendor/schemastore").join(name);
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(serde_json::from_str(&text)?)
    }
}

fn validator(schema: &str) -> Validator {
    let schema = read_json(&root().join(schema));
    jsonschema::options()
        .with_draft(Draft::Draft4)
        .with_retriever(VendoredSchemaStore)
        .build(&schema)
        .expect("the schema compiles")
}

fn host_schema() -> Validator {
    validator("schemas/function-app/host.json")
}

fn function_schema() -> Validator {
    validator("schemas/vendor/schemastore/function.json")
}

fn local_settings_schema() -> Validator {
    validator("schemas/vendor/schemastore/local.settings.json")
}

/// Every validation error, one per line, with the instance path it is about.
fn errors(validator: &Validator, instance: &Value) -> Vec<String> {
    validator
        .iter_errors(instance)
        .map(|e| format!("at '{}': {e}", e.instance_path()))
        .collect()
}

fn assert_valid(validator: &Validator, file: &str) {
    let instance = read_json(&root().join(file));
    let errors = errors(validator, &instance);
    for error in &errors {
        eprintln!("{file}: {error}");
    }
    assert!(
        errors.is_empty(),
        "{file} does not validate:\n{}",
        errors.join("\n")
    );
}

#[test]
fn host_json_validates_against_schemastore_with_documented_exceptions() {
    assert_valid(&host_schema(), "host.json");
}

#[test]
fn every_function_json_validates_against_the_schemastore_schema() {
    let schema = function_schema();
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("functions"))
        .expect("functions/")
        .map(|entry| entry.expect("entry").path().join("function.json"))
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no functions/*/function.json found");
    let mut failures = Vec::new();
    for path in &files {
        let file = path
            .strip_prefix(root())
            .expect("under the root")
            .display()
            .to_string();
        for error in errors(&schema, &read_json(path)) {
            eprintln!("{file}: {error}");
            failures.push(format!("{file}: {error}"));
        }
    }
    assert!(
        failures.is_empty(),
        "function.json files do not validate:\n{}",
        failures.join("\n")
    );
}

#[test]
fn local_settings_json_validates_against_the_schemastore_schema() {
    assert_valid(&local_settings_schema(), "local.settings.json");
}

#[test]
fn a_host_json_whose_version_is_a_number_is_rejected() {
    let mut host = read_json(&root().join("host.json"));
    host["version"] = json!(2);
    let errors = errors(&host_schema(), &host);
    assert!(
        errors.iter().any(|e| e.starts_with("at '/version'")),
        "a numeric version was not rejected at /version: {errors:?}"
    );
}

#[test]
fn a_host_json_with_an_unknown_custom_handler_setting_is_rejected() {
    let mut host = read_json(&root().join("host.json"));
    host["customHandler"]["enableTeleportation"] = json!(true);
    assert!(
        !host_schema().is_valid(&host),
        "an unknown customHandler key was accepted"
    );
}

#[test]
fn a_function_json_binding_with_direction_sideways_is_rejected() {
    let mut function = read_json(&root().join("functions/Ingest/function.json"));
    function["bindings"][0]["direction"] = json!("sideways");
    let errors = errors(&function_schema(), &function);
    assert!(
        errors.iter().any(|e| e.starts_with("at '/bindings/0")),
        "direction \"sideways\" was not rejected at /bindings/0: {errors:?}"
    );
}

#[test]
fn a_local_settings_json_with_an_unknown_worker_runtime_is_rejected() {
    let mut settings = read_json(&root().join("local.settings.json"));
    settings["Values"]["FUNCTIONS_WORKER_RUNTIME"] = json!("cobol");
    let errors = errors(&local_settings_schema(), &settings);
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with("at '/Values/FUNCTIONS_WORKER_RUNTIME'")),
        "an unknown worker runtime was not rejected: {errors:?}"
    );
}

#[test]
fn schemastore_urls_outside_the_vendored_copies_are_refused() {
    let schema = json!({"$ref": "https://json.schemastore.org/not-vendored.json"});
    let built = jsonschema::options()
        .with_draft(Draft::Draft4)
        .with_retriever(VendoredSchemaStore)
        .build(&schema);
    assert!(built.is_err(), "an unvendored schema resolved");
}

/// Why `schemas/function-app/host.json` exists (exception 2 in the vendored README): SchemaStore's
/// host.json schema is a `oneOf` of `version-2` and `version-2-ext-5`, which differ only in
/// `extensions.serviceBus`, so a host.json without that key matches both and is rejected, even the
/// minimal `{"version": "2.0"}`. If this starts failing, SchemaStore fixed it and the wrapper can shrink.
#[test]
fn the_vendored_host_schema_alone_rejects_even_a_minimal_version_2_host_json() {
    let vendored = validator("schemas/vendor/schemastore/host.json");
    assert!(!vendored.is_valid(&json!({"version": "2.0"})));
    assert!(host_schema().is_valid(&json!({"version": "2.0"})));
}

/// Exception 1 in the vendored README: without `customHandler.enableProxyingHttpRequest`, our
/// host.json passes SchemaStore's `version-2-ext-5` definition unchanged.
#[test]
fn host_json_without_enable_proxying_http_request_passes_schemastores_own_definition() {
    let mut host = read_json(&root().join("host.json"));
    let proxying = host["customHandler"]
        .as_object_mut()
        .expect("customHandler")
        .remove("enableProxyingHttpRequest");
    assert_eq!(
        proxying,
        Some(json!(true)),
        "host.json no longer sets enableProxyingHttpRequest"
    );
    let definition = json!({
        "$ref": "https://json.schemastore.org/host.json#/definitions/version-2-ext-5"
    });
    let vendored = jsonschema::options()
        .with_draft(Draft::Draft4)
        .with_retriever(VendoredSchemaStore)
        .build(&definition)
        .expect("the definition compiles");
    let errors = errors(&vendored, &host);
    assert!(
        errors.is_empty(),
        "host.json fails SchemaStore's version-2-ext-5:\n{}",
        errors.join("\n")
    );
    // ...and with it, SchemaStore's definition rejects it, at /customHandler.
    let original = read_json(&root().join("host.json"));
    let errors = self::errors(&vendored, &original);
    assert!(
        errors.iter().any(|e| e.starts_with("at '/customHandler'")),
        "{errors:?}"
    );
}
