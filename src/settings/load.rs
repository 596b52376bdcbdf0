//! Loading `Settings`: defaults, then the TOML file, then `TRIBUTARY_*` variables. A key no setting has,
//! or a value outside a setting's choices, is an error that names the key as the operator wrote it
//! (file key or variable name) and the closest valid spelling; nothing falls back to a default quietly.

use super::{NamedBackends, Settings};
use figment::error::Kind;
use figment::providers::{Env, Format, Toml};
use figment::Figment;
use std::path::Path;

/// Environment variable prefix; `__` separates a section from its key.
pub const ENV_PREFIX: &str = "TRIBUTARY_";

/// `TRIBUTARY_*` variables that are not settings (lowercased, without the prefix): the command-line
/// flags' variables and those of the scripts (deploy, tests) that may share an environment with the
/// binary. Every other `TRIBUTARY_*` variable must name a setting.
pub const ENV_NOT_SETTINGS: &[&str] = &[
    "config",
    "port",
    "host",
    "log_format",
    "stages",
    "env",
    "image",
    "ingress_url",
    "ingest_function_key",
    "test_python",
    "test_cosmos",
    "infra_venv",
    "test_settings_child",
    "test_tls_ca",
    "test_tls_pg_password",
    "test_tls_pg_port",
    "test_tls_redis_port",
    "test_tls_redis_user",
    "test_tls_token",
];

/// Why the settings could not be loaded. `Display` is the whole message for the operator.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// A key no setting has; `key` and `suggestion` are spelled as the source spells them
    /// (`backends.resultstore` in a file, `TRIBUTARY_BACKENDS__RESULTSTORE` in the environment).
    #[error("{message}")]
    UnknownKey {
        key: String,
        suggestion: Option<String>,
        message: String,
    },
    /// A value outside a setting's choices (a backend name, say).
    #[error("{message}")]
    UnknownValue {
        key: String,
        found: String,
        suggestion: Option<String>,
        message: String,
    },
    /// Anything else (a wrong type, an unreadable file), with where it came from.
    #[error("{0}")]
    Invalid(Box<figment::Error>),
}

impl Settings {
    /// Defaults, then `file` (TOML) if given, then the environment. Records which backends were
    /// named (`named_backends`).
    pub fn load(file: Option<&Path>) -> Result<Self, SettingsError> {
        let vars: Vec<(String, String)> = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        crate::settings_env::refuse_misread_escapes(vars.iter().map(|(k, v)| (&**k, &**v)))
            .map_err(SettingsError::Invalid)?;
        let mut figment = Figment::new();
        if let Some(file) = file {
            figment = figment.merge(Toml::file_exact(file));
        }
        let figment = figment.merge(
            Env::prefixed(ENV_PREFIX)
                .ignore(ENV_NOT_SETTINGS)
                .split("__"),
        );
        let mut settings: Settings = figment.extract().map_err(|e| explain(&figment, e))?;
        let named = |key: &str| figment.find_value(&format!("backends.{key}")).is_ok();
        settings.named_backends = NamedBackends {
            reading_store: named("reading_store"),
            event_log: named("event_log"),
            result_store: named("result_store"),
            cache: named("cache"),
        };
        Ok(settings)
    }
}

/// Turns figment's unknown-field and unknown-variant errors into ones that say where the key came
/// from and what was probably meant.
fn explain(figment: &Figment, error: figment::Error) -> SettingsError {
    match &error.kind {
        Kind::UnknownField(field, expected) => {
            // figment's path ends with the unknown key itself; the section is what precedes it.
            let mut section = error.path.clone();
            if section.last() == Some(field) {
                section.pop();
            }
            let mut path = section.clone();
            path.push(field.clone());
            let origin = Origin::of(figment, &path);
            let key = origin.spell(&path);
            let suggestion = closest(field, expected).map(|best| {
                let mut fixed = section.clone();
                fixed.push(best.to_owned());
                origin.spell(&fixed)
            });
            let section = match section.is_empty() {
                true => "at the top level".to_owned(),
                false => format!("in [{}]", section.join(".")),
            };
            let message = format!(
                "unknown setting {key} ({}){}; the settings {section} are: {}",
                origin.describe(),
                did_you_mean(&suggestion),
                expected.join(", ")
            );
            SettingsError::UnknownKey {
                key,
                suggestion,
                message,
            }
        }
        Kind::UnknownVariant(found, expected) => {
            let origin = Origin::of(figment, &error.path);
            let key = origin.spell(&error.path);
            let suggestion = closest(found, expected).map(str::to_owned);
            let message = format!(
                "{key} ({}) is `{found}`, which is not one of: {}{}",
                origin.describe(),
                expected.join(", "),
                did_you_mean(&suggestion)
            );
            SettingsError::UnknownValue {
                key,
                found: found.clone(),
                suggestion,
                message,
            }
        }
        _ => SettingsError::Invalid(Box::new(error)),
    }
}

fn did_you_mean(suggestion: &Option<String>) -> String {
    match suggestion {
        Some(s) => format!(": did you mean {s}?"),
        None => String::new(),
    }
}

/// Where a key's value came from, so the error spells it the way the operator wrote it.
enum Origin {
    File(String),
    Environment,
    Unknown,
}

impl Origin {
    fn of(figment: &Figment, path: &[String]) -> Self {
        match figment.find_metadata(&path.join(".")) {
            Some(m) if m.name.contains("environment") => Origin::Environment,
            Some(m) => match &m.source {
                Some(figment::Source::File(file)) => Origin::File(file.display().to_string()),
                _ => Origin::Unknown,
            },
            None => Origin::Unknown,
        }
    }

    fn spell(&self, path: &[String]) -> String {
        match self {
            Origin::Environment => {
                format!("{ENV_PREFIX}{}", path.join("__").to_ascii_uppercase())
            }
            _ => path.join("."),
        }
    }

    fn describe(&self) -> String {
        match self {
            Origin::File(file) => format!("in {file}"),
            Origin::Environment => "an environment variable".to_owned(),
            Origin::Unknown => "in the settings".to_owned(),
        }
    }
}

/// The valid name nearest to `wrong` by edit distance (ignoring case), if near enough to be a typo:
/// at most 2 edits, or a third of the name.
pub fn closest<'a>(wrong: &str, valid: &[&'a str]) -> Option<&'a str> {
    let wrong = wrong.to_ascii_lowercase();
    valid
        .iter()
        .map(|v| (edit_distance(&wrong, &v.to_ascii_lowercase()), *v))
        .filter(|(d, v)| *d <= 2 || *d * 3 <= v.len())
        .min_by_key(|(d, _)| *d)
        .map(|(_, v)| v)
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (diagonal + usize::from(ca != *cb))
                .min(above + 1)
                .min(row[j] + 1);
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
#[path = "load_tests.rs"]
mod tests;
