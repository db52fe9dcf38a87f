//! `Error`: why a run failed.

use std::fmt;
use std::path::PathBuf;

use crate::Diagnostics;

/// Why a run failed. `Debug` prints what `Display` prints, so a build
/// script's `fn main() -> Result<(), xdrgen_build::Error>` shows the
/// rendered diagnostics, not the source map behind them.
#[non_exhaustive]
pub enum Error {
    /// An input file could not be read.
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// An output file could not be written.
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// An option is malformed (a `-D` name that is not an identifier, a
    /// runtime path that is not a Rust path...); the message names it.
    Config(String),
    /// The `.x` input has errors.
    Source(Diagnostics),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { path, source } => write!(f, "cannot read `{}`: {source}", path.display()),
            Error::Write { path, source } => {
                write!(f, "cannot write `{}`: {source}", path.display())
            }
            Error::Config(msg) => write!(f, "invalid option: {msg}"),
            Error::Source(d) => {
                write!(f, "{d}")?;
                let n = d.error_count();
                write!(f, "{n} error{} found", if n == 1 { "" } else { "s" })
            }
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } | Error::Write { source, .. } => Some(source),
            _ => None,
        }
    }
}
