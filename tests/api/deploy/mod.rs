//! What would stop a real deployment on Azure, checked here (issue 12): role ids against Microsoft's
//! built-in roles, the overlay `infra/overlay-values.sh` renders from sample Bicep outputs against
//! what the Bicep enforces, pod security against the images, and the images against the binary's
//! shared libraries. The vendored references live in `tests/fixtures/azure/`, each with its source
//! and the date it was read.

mod image;
mod overlay;
mod roles;

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures/azure").join(name)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Rows of a vendored TSV file (`#` lines are its source and date).
fn tsv(name: &str) -> Vec<Vec<String>> {
    read(&fixture(name))
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| l.split('\t').map(str::to_owned).collect())
        .collect()
}

/// Runs a command, panicking with its output if it fails; returns stdout.
fn run(command: &mut Command) -> String {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(
        out.status.success(),
        "{command:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// One `FROM … AS name` stage of the Dockerfile: its base image and instructions.
struct Stage {
    name: String,
    from: String,
    lines: Vec<String>,
}

/// The stages of `infra/docker/Dockerfile`, continuation lines joined.
fn dockerfile_stages() -> Vec<Stage> {
    let text = read(&root().join("infra/docker/Dockerfile")).replace("\\\n", " ");
    let mut stages: Vec<Stage> = Vec::new();
    for line in text.lines().map(str::trim) {
        let words: Vec<&str> = line.split_whitespace().collect();
        if words
            .first()
            .is_some_and(|w| w.eq_ignore_ascii_case("FROM"))
        {
            stages.push(Stage {
                from: words.get(1).map(|s| s.to_string()).unwrap_or_default(),
                name: match words.as_slice() {
                    [_, _, as_, name, ..] if as_.eq_ignore_ascii_case("AS") => name.to_string(),
                    _ => String::new(),
                },
                lines: Vec::new(),
            });
        } else if let Some(stage) = stages.last_mut() {
            stage.lines.push(line.to_owned());
        }
    }
    stages
}

fn stage(name: &str) -> Stage {
    dockerfile_stages()
        .into_iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("the Dockerfile has a stage {name}"))
}

/// `registry/repository` of an image reference, without tag or digest.
fn repository(image: &str) -> &str {
    let image = image.split('@').next().unwrap_or(image);
    match image.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => repo,
        _ => image,
    }
}
