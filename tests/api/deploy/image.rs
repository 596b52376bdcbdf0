//! The images build where deploy.sh builds them and run the binary: the Dockerfile uses no
//! BuildKit-only syntax (`az acr build` runs the classic builder), a root `.dockerignore` keeps
//! `target/` and `.git` out of the upload, each runtime stage starts from an image whose libraries are
//! vendored in `tests/fixtures/azure/runtime-libraries.tsv`, and the binary needs no shared library
//! that image lacks (ELF NEEDED, read with readelf).

use super::{dockerfile_stages, read, repository, root, run, tsv};
use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

/// Image repository -> the sonames it provides.
fn runtime_libraries() -> BTreeMap<String, BTreeSet<String>> {
    let mut images: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for row in tsv("runtime-libraries.tsv") {
        let [image, soname] = row.as_slice() else {
            panic!("runtime-libraries.tsv: bad row {row:?}")
        };
        images
            .entry(image.clone())
            .or_default()
            .insert(soname.clone());
    }
    images
}

/// The shared libraries the tributary binary cargo built for these tests needs (same features as
/// the release build).
fn needed() -> BTreeSet<String> {
    let dynamic = run(Command::new("readelf").args(["-d", env!("CARGO_BIN_EXE_tributary")]));
    dynamic
        .lines()
        .filter(|l| l.contains("(NEEDED)"))
        .filter_map(|l| Some(l.split_once('[')?.1.split_once(']')?.0.to_owned()))
        .chain(std::iter::once("ld-linux-x86-64.so.2".to_owned()))
        .collect()
}

#[test]
fn the_binary_needs_only_libraries_its_runtime_images_provide() {
    let images = runtime_libraries();
    let needed = needed();
    assert!(
        needed.contains("libc.so.6"),
        "readelf read the binary: {needed:?}"
    );
    println!("the binary needs: {needed:?}");
    for target in ["native", "functions"] {
        let stage = super::stage(target);
        let image = repository(&stage.from);
        let provided = images.get(image).unwrap_or_else(|| {
            panic!(
                "stage {target} runs on {image}, whose libraries are not vendored in \
                 tests/fixtures/azure/runtime-libraries.tsv: {:?}",
                images.keys()
            )
        });
        let missing: Vec<&String> = needed.difference(provided).collect();
        assert!(
            missing.is_empty(),
            "stage {target} ({image}) lacks {missing:?}, which the binary needs"
        );
    }
}

#[test]
fn the_dockerfile_builds_without_buildkit() {
    let text = read(&root().join("infra/docker/Dockerfile"));
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        assert!(
            !line.to_lowercase().starts_with("# syntax="),
            "line {}: a syntax directive needs BuildKit: {line}",
            n + 1
        );
    }
    for stage in dockerfile_stages() {
        for line in &stage.lines {
            let buildkit = ["--mount=", "--link", "--chmod=", "--exclude=", "<<"];
            assert!(
                !buildkit.iter().any(|b| line.contains(b)),
                "stage {}: BuildKit-only syntax (az acr build uses the classic builder): {line}",
                stage.name
            );
        }
    }
}

#[test]
fn the_build_context_leaves_out_target_and_git() {
    // The classic builder reads only the context root's .dockerignore, never Dockerfile.dockerignore.
    let ignore = read(&root().join(".dockerignore"));
    let patterns: Vec<&str> = ignore
        .lines()
        .map(|l| l.trim().trim_start_matches('/').trim_end_matches('/'))
        .collect();
    for needed in ["target", ".git"] {
        assert!(
            patterns.contains(&needed),
            ".dockerignore leaves out {needed}/"
        );
    }
}

#[test]
fn the_functions_image_is_on_the_current_host_line() {
    // `azure-functions/dotnet:4` is the in-process .NET 6 host on Debian 11 (glibc 2.31, OpenSSL 1.1),
    // and the in-process line does not carry the newer custom-handler options.
    let from = super::stage("functions").from;
    assert!(
        !repository(&from).ends_with("/azure-functions/dotnet"),
        "the functions stage is on the in-process host line: {from}"
    );
}
