//! Settings loading: precedence, and unknown keys and values named with a suggestion, from the file
//! and from the environment.
#![allow(clippy::result_large_err)] // figment::Jail's closure signature, not ours

use super::*;
use crate::settings::ResultStoreBackend;
use std::path::PathBuf;

fn load_err(file: Option<&str>) -> SettingsError {
    match Settings::load(file.map(Path::new)) {
        Ok(_) => panic!("settings with a typo loaded"),
        Err(e) => e,
    }
}

#[test]
fn environment_overrides_file_which_overrides_defaults() {
    figment::Jail::expect_with(|jail| {
        jail.create_file(
            "t.toml",
            "data_dir = \"/from/file\"\n[kafka]\nbrokers = \"file:9092\"\npartitions = 3\n",
        )?;
        jail.set_env("TRIBUTARY_KAFKA__BROKERS", "env:9092");
        jail.set_env("TRIBUTARY_BACKENDS__RESULT_STORE", "postgres");
        jail.set_env("TRIBUTARY_POSTGRES__URL", "postgres://u:hunter2@db/x");
        let s = Settings::load(Some(Path::new("t.toml"))).map_err(|e| e.to_string())?;
        assert_eq!(s.data_dir, PathBuf::from("/from/file"));
        assert_eq!(
            (s.kafka.brokers.as_str(), s.kafka.partitions),
            ("env:9092", 3)
        );
        assert_eq!(s.backends.result_store, ResultStoreBackend::Postgres);
        assert_eq!(s.http.port, 7071);
        assert!(
            !format!("{s:?}").contains("hunter2"),
            "secrets never show in Debug"
        );
        Ok(())
    });
}

#[test]
fn a_mistyped_environment_variable_is_named_with_the_right_spelling() {
    figment::Jail::expect_with(|jail| {
        jail.set_env("TRIBUTARY_BACKENDS__RESULTSTORE", "postgres");
        let e = load_err(None);
        let SettingsError::UnknownKey {
            key, suggestion, ..
        } = &e
        else {
            panic!("not an unknown key: {e}");
        };
        assert_eq!(key, "TRIBUTARY_BACKENDS__RESULTSTORE");
        assert_eq!(
            suggestion.as_deref(),
            Some("TRIBUTARY_BACKENDS__RESULT_STORE")
        );
        let text = e.to_string();
        assert!(text.contains("environment variable"), "{text}");
        assert!(text.contains("reading_store, event_log, result_store, cache"));
        Ok(())
    });
}

#[test]
fn a_mistyped_key_in_the_file_is_named_with_the_file_and_the_right_spelling() {
    figment::Jail::expect_with(|jail| {
        jail.create_file("t.toml", "[kafka]\nbroker = \"k:9092\"\n")?;
        let e = load_err(Some("t.toml"));
        let SettingsError::UnknownKey {
            key, suggestion, ..
        } = &e
        else {
            panic!("not an unknown key: {e}");
        };
        assert_eq!(key, "kafka.broker");
        assert_eq!(suggestion.as_deref(), Some("kafka.brokers"));
        assert!(e.to_string().contains("t.toml"), "{e}");
        Ok(())
    });
}

#[test]
fn mistyped_top_level_keys_and_sections_are_caught_too() {
    figment::Jail::expect_with(|jail| {
        jail.set_env("TRIBUTARY_ANALYSE_BATCH", "10");
        let e = load_err(None);
        assert!(
            e.to_string()
                .contains("did you mean TRIBUTARY_ANALYZE_BATCH?"),
            "{e}"
        );
        Ok(())
    });
    figment::Jail::expect_with(|jail| {
        jail.create_file("t.toml", "[backend]\nresult_store = \"postgres\"\n")?;
        let e = load_err(Some("t.toml"));
        assert!(e.to_string().contains("did you mean backends?"), "{e}");
        Ok(())
    });
}

#[test]
fn a_mistyped_backend_name_is_named_with_the_choices() {
    figment::Jail::expect_with(|jail| {
        jail.set_env("TRIBUTARY_BACKENDS__RESULT_STORE", "postgress");
        let e = load_err(None);
        let SettingsError::UnknownValue {
            key,
            found,
            suggestion,
            ..
        } = &e
        else {
            panic!("not an unknown value: {e}");
        };
        assert_eq!(key, "TRIBUTARY_BACKENDS__RESULT_STORE");
        assert_eq!(found, "postgress");
        assert_eq!(suggestion.as_deref(), Some("postgres"));
        Ok(())
    });
}

#[test]
fn flag_and_script_variables_are_not_settings() {
    figment::Jail::expect_with(|jail| {
        for name in ENV_NOT_SETTINGS {
            jail.set_env(format!("TRIBUTARY_{}", name.to_ascii_uppercase()), "1");
        }
        Settings::load(None).map_err(|e| e.to_string())?;
        Ok(())
    });
}

#[test]
fn load_records_which_backends_were_named() {
    figment::Jail::expect_with(|jail| {
        jail.create_file("t.toml", "[backends]\ncache = \"memory\"\n")?;
        jail.set_env("TRIBUTARY_BACKENDS__EVENT_LOG", "embedded");
        let s = Settings::load(Some(Path::new("t.toml"))).map_err(|e| e.to_string())?;
        let n = s.named_backends;
        assert!(n.cache && n.event_log && !n.result_store && !n.reading_store);
        Ok(())
    });
}

#[test]
fn closest_suggests_near_names_only() {
    let valid = ["reading_store", "event_log", "result_store", "cache"];
    assert_eq!(closest("resultstore", &valid), Some("result_store"));
    assert_eq!(closest("EVENTLOG", &valid), Some("event_log"));
    assert_eq!(closest("cahce", &valid), Some("cache"));
    assert_eq!(closest("postgres", &valid), None);
    assert_eq!(edit_distance("", "abc"), 3);
    assert_eq!(edit_distance("kitten", "sitting"), 3);
}

/// Regression (settings fuzz target, crash-7fbee607): figment panicked on this environment value
/// ("byte index is not a char boundary"); now start-up fails naming the variable.
#[test]
fn a_quoted_environment_value_figment_would_misread_fails_naming_the_variable() {
    figment::Jail::expect_with(|jail| {
        jail.set_env("TRIBUTARY_KAFKA__BROKERS", "\"ÞÌÅ\\T\"");
        let err = Settings::load(None).expect_err("refused").to_string();
        assert!(err.contains("TRIBUTARY_KAFKA__BROKERS"), "{err}");
        Ok(())
    });
}
