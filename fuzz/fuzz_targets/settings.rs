//! Fuzzes the settings loader (`Settings::load`) as `main` calls it: a TOML file, then environment
//! variables. Input: the file's text, a NUL byte, then `KEY=value` lines set as `TRIBUTARY_KEY`
//! for the one load. Any input must load or be refused with an error; nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::PathBuf;
use std::sync::OnceLock;
use tributary::settings::{Settings, ENV_PREFIX};

fn file() -> &'static PathBuf {
    static FILE: OnceLock<PathBuf> = OnceLock::new();
    FILE.get_or_init(|| {
        let dir = if std::path::Path::new("/dev/shm").is_dir() {
            PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        dir.join(format!(
            "tributary-fuzz-settings-{}.toml",
            std::process::id()
        ))
    })
}

fuzz_target!(|data: &[u8]| {
    let (toml, env) = match data.iter().position(|b| *b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    std::fs::write(file(), toml).expect("write the settings file");
    let mut set = Vec::new();
    for line in String::from_utf8_lossy(env).lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        // What an environment can hold: no '=' in names, no NUL anywhere.
        if key.is_empty() || key.contains(['=', '\0']) || value.contains('\0') {
            continue;
        }
        let name = format!("{ENV_PREFIX}{key}");
        std::env::set_var(&name, value);
        set.push(name);
    }
    let loaded = Settings::load(Some(file()));
    for name in set {
        std::env::remove_var(name);
    }
    if let Ok(settings) = loaded {
        let _ = format!("{settings:?}");
    }
});
