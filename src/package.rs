//! `tributary package`: assembles a deployable Azure Functions app folder — `host.json`, one folder per
//! function with its `function.json`, and this binary at the app root where `host.json` expects it —
//! plus a zip of it, which `func start --script-root DIR` and `func azure functionapp publish` accept.

use anyhow::{bail, Context};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Name of the binary inside the app (host.json's `defaultExecutablePath`).
pub const EXECUTABLE: &str = "tributary";

/// What was written.
#[derive(Debug)]
pub struct Package {
    pub dir: PathBuf,
    pub zip: Option<PathBuf>,
    pub functions: Vec<String>,
}

/// Copies the app from `app_root` (where `host.json` and `functions/` are) into `out`, with `binary`.
pub fn package(app_root: &Path, binary: &Path, out: &Path, zip: bool) -> anyhow::Result<Package> {
    let host = app_root.join("host.json");
    if !host.is_file() {
        bail!(
            "{} has no host.json; pass --app-root the repository (or app) folder",
            app_root.display()
        );
    }
    if out.exists() {
        fs::remove_dir_all(out).with_context(|| format!("clearing {}", out.display()))?;
    }
    fs::create_dir_all(out)?;
    fs::copy(&host, out.join("host.json"))?;
    let mut functions = Vec::new();
    for entry in fs::read_dir(app_root.join("functions")).context("reading functions/")? {
        let entry = entry?;
        let definition = entry.path().join("function.json");
        if !definition.is_file() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        fs::create_dir_all(out.join(&name))?;
        fs::copy(&definition, out.join(&name).join("function.json"))?;
        functions.push(name);
    }
    functions.sort();
    let target = out.join(EXECUTABLE);
    fs::copy(binary, &target).with_context(|| format!("copying {}", binary.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&target, fs::Permissions::from_mode(0o755))?;
    }
    let zip = if zip {
        Some(write_zip(out, &functions)?)
    } else {
        None
    };
    Ok(Package {
        dir: out.to_path_buf(),
        zip,
        functions,
    })
}

fn write_zip(dir: &Path, functions: &[String]) -> anyhow::Result<PathBuf> {
    let path = dir.with_extension("zip");
    let mut archive = zip::ZipWriter::new(fs::File::create(&path)?);
    let file = |mode: u32| zip::write::SimpleFileOptions::default().unix_permissions(mode);
    let mut entries = vec![
        ("host.json".to_owned(), 0o644),
        (EXECUTABLE.to_owned(), 0o755),
    ];
    entries.extend(
        functions
            .iter()
            .map(|f| (format!("{f}/function.json"), 0o644)),
    );
    for (name, mode) in entries {
        archive.start_file(name.as_str(), file(mode))?;
        archive.write_all(&fs::read(dir.join(&name))?)?;
    }
    archive.finish()?;
    Ok(path)
}
