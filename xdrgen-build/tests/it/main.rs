//! Integration tests of the front end: one binary (see ARCHITECTURE.md).

mod codegen;
mod corpus;
mod fixtures;
mod options;
mod robustness;

use std::path::{Path, PathBuf};

/// The workspace root.
pub(crate) fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// A fixture's arguments: a first line of the form `/* xdrgen: ARGS */`.
pub(crate) fn fixture_options(path: &Path) -> xdrgen_build::Options {
    let text = std::fs::read_to_string(path).unwrap();
    let args = xdrgen_testenv::fixture_args(&text);
    let mut options = xdrgen_build::Options::from_args(args).unwrap();
    options.resolve_paths(display_path(path).parent().unwrap());
    options
}

/// The path of a fixture as diagnostics should show it: relative to the
/// workspace root, so snapshots do not depend on where the clone lives.
pub(crate) fn display_path(path: &Path) -> PathBuf {
    let rel = path.strip_prefix(workspace()).unwrap();
    Path::new("..").join(rel)
}
