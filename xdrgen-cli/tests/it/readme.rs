//! Every command the README shows runs as written.
//!
//! Each line of a `sh` block runs through `sh -c`, from the clone's root
//! (`cargo` lines) or from a scratch directory that holds what a user of
//! the line would have beside them (`xdrgen` lines): the repository's
//! folders and the real `.x` files of `../shared/corpus`. The `xdrgen`
//! found on `PATH` is the one this test was built with.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Lines not run here, each with where it is covered instead.
const NOT_RUN: &[(&str, &str)] = &[
    ("bash scripts/test.sh", "the suite this test is part of"),
    (
        "cargo run -p example-libvirt-daemon &",
        "tests/tests/libvirt.rs starts the same daemon and drives it with virsh",
    ),
    (
        "virsh -c test+tcp://127.0.0.1:16510/default list --all",
        "tests/tests/libvirt.rs runs `virsh list --all` against the daemon",
    ),
    (
        "cargo run -p example-libvirt-cli -- -c test+tcp://127.0.0.1:16510/default list --all",
        "tests/tests/libvirt_cli.rs runs `xvirsh list --all` against libvirtd and compares it with virsh",
    ),
];

/// The commands of the README's `sh` blocks, comments removed.
fn commands(readme: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_sh = false;
    for line in readme.lines() {
        let trimmed = line.trim();
        if let Some(lang) = trimmed.strip_prefix("```") {
            in_sh = !in_sh && lang == "sh";
            continue;
        }
        if !in_sh {
            continue;
        }
        let command = match trimmed.find(" #") {
            Some(at) => trimmed[..at].trim_end(),
            None => trimmed,
        };
        if !command.is_empty() && !command.starts_with('#') {
            out.push(command.to_string());
        }
    }
    out
}

/// A directory like a user's: links to the clone's folders, and the real
/// `.x` files the README names (from `../shared/corpus`, flattened).
fn scratch(root: &Path, corpus: &Path) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("xdrgen-readme-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir(root).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name != "target" && !name.to_string_lossy().starts_with('.') {
            std::os::unix::fs::symlink(entry.path(), dir.join(&name)).unwrap();
        }
    }
    for family in std::fs::read_dir(corpus).unwrap() {
        let family = family.unwrap().path();
        if !family.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(&family).unwrap() {
            let file = file.unwrap().path();
            let target = dir.join(file.file_name().unwrap());
            if file.extension().is_some_and(|e| e == "x") && !target.exists() {
                std::fs::copy(&file, target).unwrap();
            }
        }
    }
    dir
}

#[test]
fn every_readme_command_runs_as_written() {
    let root = crate::workspace();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let all = commands(&readme);
    assert!(all.len() >= 5, "found only {all:?}");
    let Some(corpus) = xdrgen_testenv::shared_path(
        "readme::every_readme_command_runs_as_written",
        &root,
        "corpus",
    ) else {
        return;
    };
    let dir = scratch(&root, &corpus);
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_xdrgen")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let install_root = dir.join("installed");
    let mut ran = 0;
    for command in &all {
        if let Some((_, why)) = NOT_RUN.iter().find(|(c, _)| c == command) {
            println!("not run here: {command} ({why})");
            continue;
        }
        let cwd = if command.starts_with("cargo ") {
            root.clone()
        } else {
            dir.clone()
        };
        assert!(
            command.starts_with("cargo ") || command.starts_with("xdrgen "),
            "a README command this test does not know how to run: `{command}`; \
             run it here or list it in NOT_RUN with where it is covered"
        );
        let out = Command::new("sh")
            .args(["-c", command])
            .current_dir(&cwd)
            .env("PATH", &path)
            .env("NO_COLOR", "1")
            // Its own target directory: the outer cargo holds ours.
            .env("CARGO_TARGET_DIR", root.join("target/readme"))
            .env("CARGO_INSTALL_ROOT", &install_root)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "README command failed: `{command}` in {}\n{}\n{}",
            cwd.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        ran += 1;
    }
    assert!(
        install_root.join("bin/xdrgen").is_file(),
        "`cargo install --path xdrgen-cli` installs the `xdrgen` command"
    );
    println!("{ran} README commands ran");
    let _ = std::fs::remove_dir_all(&dir);
}
