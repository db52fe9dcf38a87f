//! What xdrgen's tests need from outside the clone: the real-world corpus
//! and peers in `../shared`, daemons started by `scripts/test.sh`, system
//! tools such as `rpcgen` or `virsh`.
//!
//! One rule for all of them. A test asks [`require`]; when the thing is
//! missing the test is skipped *loudly*: a line on the real standard error
//! (not libtest's captured output, which hides a passing test's stderr) and
//! a line in the skip log that `scripts/test.sh` summarises at the end.
//! With `XDRGEN_REQUIRE_PEERS=1` (the test script and CI set it) a missing
//! thing fails the test instead.

pub mod capture;

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The environment variable that turns every skip into a failure.
pub const REQUIRE_VAR: &str = "XDRGEN_REQUIRE_PEERS";

/// The environment variable naming the skip log (one line per skip).
pub const SKIP_LOG_VAR: &str = "XDRGEN_SKIP_LOG";

/// Whether missing things must fail rather than skip.
pub fn required() -> bool {
    std::env::var_os(REQUIRE_VAR).is_some_and(|v| !v.is_empty() && v != "0")
}

/// `Some(value)` when `what` is available; otherwise skips loudly (or
/// panics when required) and returns `None`.
///
/// `test` names the test or step that needs it, `what` the missing thing
/// and how to get it.
pub fn require<T>(test: &str, what: &str, value: Option<T>) -> Option<T> {
    if value.is_none() {
        skip(test, what);
    }
    value
}

/// Records that `test` cannot run because `what` is missing: panics when
/// required, else prints and logs the skip.
pub fn skip(test: &str, what: &str) {
    assert!(
        !required(),
        "{test}: {what} ({REQUIRE_VAR} is set, so a missing requirement fails)"
    );
    let line = format!("SKIPPED {test}: {what}");
    // Straight to the process's stderr: libtest captures `eprintln!`.
    let _ = writeln!(std::io::stderr(), "\n!!! {line}\n");
    log(&line);
}

/// The same for build scripts: a `cargo::warning` instead of a panic
/// message, and a failure when required.
pub fn skip_in_build_script(package: &str, what: &str, consequence: &str) {
    assert!(
        !required(),
        "{package}: {what} ({REQUIRE_VAR} is set, so a missing requirement fails)"
    );
    println!("cargo::warning={package}: SKIPPED: {what}; {consequence}");
    log(&format!(
        "SKIPPED {package} (build script): {what}; {consequence}"
    ));
}

fn log(line: &str) {
    let Some(path) = std::env::var_os(SKIP_LOG_VAR) else {
        return;
    };
    let written = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut file| writeln!(file, "{line}"));
    if let Err(e) = written {
        // The skip itself was already said on stderr; say the log missed it.
        let _ = writeln!(
            std::io::stderr(),
            "!!! the skip log {} could not be written: {e}",
            std::path::Path::new(&path).display()
        );
    }
}

/// `../shared` beside the clone whose workspace root is `workspace`, if it
/// is there.
pub fn shared(workspace: &Path) -> Option<PathBuf> {
    let dir = workspace.join("../shared");
    dir.is_dir().then_some(dir)
}

/// A path under `../shared` (for example `corpus/libvirt/remote_protocol.x`),
/// if it exists; otherwise the skip (or failure) is recorded for `test`.
pub fn shared_path(test: &str, workspace: &Path, rel: &str) -> Option<PathBuf> {
    let found = shared(workspace)
        .map(|dir| dir.join(rel))
        .filter(|path| path.exists());
    require(
        test,
        &format!("../shared/{rel} is not beside the clone"),
        found,
    )
}

/// The arguments a fixture gives itself on its first line,
/// `/* xdrgen: ARGS */` (empty when it has none), as command-line words.
pub fn fixture_args(text: &str) -> Vec<&str> {
    text.lines()
        .next()
        .and_then(|l| l.strip_prefix("/* xdrgen:"))
        .and_then(|l| l.strip_suffix("*/"))
        .unwrap_or("")
        .split_whitespace()
        .collect()
}

/// Whether `program` can be run (it answers `args`).
pub fn has_tool(program: &str, args: &[&str]) -> bool {
    std::process::Command::new(program)
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok()
}

/// Whether every tool `test` needs can be run; the first missing one is
/// skipped loudly (or fails under `XDRGEN_REQUIRE_PEERS`), named with the
/// Debian package that provides it. Each entry is `(program, args that
/// make it answer, package)`.
pub fn require_tools(test: &str, tools: &[(&str, &[&str], &str)]) -> bool {
    tools.iter().all(|&(program, args, package)| {
        require(
            test,
            &format!("{program} is not installed (Debian: {package})"),
            has_tool(program, args).then_some(()),
        )
        .is_some()
    })
}
