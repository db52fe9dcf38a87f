//! Integration tests of the `xdrgen` command as a process: one binary.

mod cli;
mod diff;
mod dissector;
mod doors;
mod dump;
mod readme;

use std::path::{Path, PathBuf};

/// The workspace root.
pub(crate) fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}
