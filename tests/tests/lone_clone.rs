//! A clone with nothing beside it builds and tests: the repository's
//! tracked files are copied to a directory with no `../shared` next to it,
//! and `cargo build --workspace` and `cargo test --workspace` must pass
//! there, every test that needs the corpus, a peer or a tool skipping
//! loudly and saying so in the skip log.
//!
//! The copy lives in `target/lone-clone/repo` (nothing is beside it there)
//! and builds into its own `target/`, kept between runs, so that paths
//! relative to the target directory (trybuild's) hold as in a real clone.
//! The first run builds the workspace a second time and takes minutes.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Set in the copy's own test run, so this test does not recurse.
const INSIDE: &str = "XDRGEN_INSIDE_LONE_CLONE";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap()
}

/// The files a clone has: what git tracks, as they are in the work tree.
fn tracked_files(root: &Path) -> Option<Vec<PathBuf>> {
    let out = Command::new("git")
        .args(["ls-files", "-z"])
        .current_dir(root)
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    Some(
        out.stdout
            .split(|b| *b == 0)
            .filter(|p| !p.is_empty())
            .map(|p| PathBuf::from(String::from_utf8_lossy(p).into_owned()))
            .collect(),
    )
}

fn copy_tree(from: &Path, files: &[PathBuf], to: &Path) {
    for rel in files {
        let src = from.join(rel);
        let dst = to.join(rel);
        std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
        let meta = std::fs::symlink_metadata(&src);
        match meta {
            Ok(m) if m.file_type().is_symlink() => {
                std::os::unix::fs::symlink(std::fs::read_link(&src).unwrap(), &dst).unwrap();
            }
            Ok(_) => {
                std::fs::copy(&src, &dst).unwrap();
            }
            // Deleted in the work tree but not yet in the index: a clone
            // of the next commit will not have it either.
            Err(_) => {}
        }
    }
}

fn cargo(dir: &Path, target: &Path, skip_log: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO"))
        .args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target)
        .env(INSIDE, "1")
        // Line tables only serve the backtraces of a failing run; without
        // them the copy's target directory, which sits beside the
        // workspace's own during the run, takes less of the disk.
        .env("CARGO_PROFILE_DEV_DEBUG", "false")
        .env(xdrgen_testenv::SKIP_LOG_VAR, skip_log)
        .env_remove(xdrgen_testenv::REQUIRE_VAR)
        .env_remove("XDRGEN_PEERS_STATE")
        .env_remove("CI")
        .env_remove("RUSTFLAGS")
        .output()
        .unwrap();
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn a_clone_with_nothing_beside_it_builds_and_tests() {
    if std::env::var_os(INSIDE).is_some() {
        return; // this is the copy's own run
    }
    let root = workspace();
    let Some(files) = xdrgen_testenv::require(
        "lone_clone",
        "git is not installed or this is not a git checkout",
        tracked_files(&root),
    ) else {
        return;
    };
    // `target/lone-clone/repo`, with no `shared` beside `repo`; everything
    // but its build output is replaced on each run.
    let base = root.join("target/lone-clone");
    let clone = base.join("repo");
    if let Ok(entries) = std::fs::read_dir(&clone) {
        for entry in entries {
            let path = entry.unwrap().path();
            if path.file_name().is_some_and(|n| n != "target") {
                let _ = std::fs::remove_dir_all(&path).or_else(|_| std::fs::remove_file(&path));
            }
        }
    }
    copy_tree(&root, &files, &clone);
    assert!(!base.join("shared").exists());
    let target = clone.join("target");
    let skip_log = base.join("skipped.log");
    let _ = std::fs::remove_file(&skip_log);

    let (built, log) = cargo(
        &clone,
        &target,
        &skip_log,
        &["build", "--workspace", "--locked", "--offline"],
    );
    assert!(
        built,
        "cargo build --workspace failed in a lone clone:\n{log}"
    );
    let (tested, log) = cargo(
        &clone,
        &target,
        &skip_log,
        &[
            "test",
            "--workspace",
            "--locked",
            "--offline",
            "--no-fail-fast",
        ],
    );
    let skipped = std::fs::read_to_string(&skip_log).unwrap_or_default();
    assert!(
        tested,
        "cargo test --workspace failed in a lone clone:\n{log}\nskipped:\n{skipped}"
    );
    // What needs ../shared said so, and the run shows it.
    assert!(
        skipped.contains("../shared/corpus"),
        "the corpus tests did not report their skip:\n{skipped}"
    );
    assert!(
        log.contains("!!! SKIPPED"),
        "skips must be visible in the test output"
    );
    let passed: usize = log
        .lines()
        .filter_map(|l| l.strip_prefix("test result: ok. "))
        .filter_map(|l| l.split(' ').next()?.parse::<usize>().ok())
        .sum();
    assert!(passed >= 100, "only {passed} tests ran in the lone clone");
    println!(
        "lone clone: {passed} tests passed, {} skipped:\n{skipped}",
        skipped.lines().count()
    );
}
