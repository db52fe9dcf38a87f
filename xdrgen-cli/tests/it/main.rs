//! Integration tests of the `xdrgen` command as a process: one binary.

mod cli;
mod doors;
mod readme;

use std::path::{Path, PathBuf};

/// The workspace root.
pub(crate) fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Builds options from command-line style arguments (`-D`, `-I`,
/// `--import`, `--extern-type`), resolving paths against `base`.
pub(crate) fn options_from_args(args: &str, base: &Path) -> xdrgen_build::Options {
    let mut o = xdrgen_build::Options::new();
    let mut words = args.split_whitespace();
    while let Some(flag) = words.next() {
        let value = words
            .next()
            .unwrap_or_else(|| panic!("`{flag}` needs a value in `{args}`"));
        match flag {
            "-D" => match value.split_once('=') {
                Some((n, v)) => o.define(n, Some(v)),
                None => o.define(value, None),
            },
            "-I" => o.include_dir(base.join(value)),
            "--import" => match value.split_once('=') {
                Some((f, p)) => o.import(base.join(f), Some(p)),
                None => o.import(base.join(value), None),
            },
            "--extern-type" => {
                let (n, p) = value.split_once('=').expect("NAME=PATH");
                o.extern_type(n, p)
            }
            other => panic!("unknown argument `{other}` in `{args}`"),
        };
    }
    o
}

/// A fixture's arguments: a first line of the form `/* xdrgen: ARGS */`.
pub(crate) fn fixture_options(path: &Path) -> xdrgen_build::Options {
    let text = std::fs::read_to_string(path).unwrap();
    let first = text.lines().next().unwrap_or("");
    let args = first
        .strip_prefix("/* xdrgen:")
        .and_then(|r| r.strip_suffix("*/"))
        .unwrap_or("");
    options_from_args(args, display_path(path).parent().unwrap())
}

/// The path of a fixture as diagnostics should show it: relative to the
/// workspace root, so snapshots do not depend on where the clone lives.
pub(crate) fn display_path(path: &Path) -> PathBuf {
    let rel = path.strip_prefix(workspace()).unwrap();
    Path::new("..").join(rel)
}
