//! xdrgen compiles XDR (RFC 4506) and ONC RPC (RFC 5531) protocol
//! definitions — the `.x` files C `rpcgen` reads, in the dialect real
//! projects write — into Rust.
//!
//! The pipeline is: preprocess (a built-in subset of cpp, plus rpcgen's `%`
//! lines) → parse (spans on every node, errors accumulated) → lower and
//! resolve into a typed [`ir::Module`] → generate code. This crate is
//! sans-IO apart from reading the input files through a [`FileLoader`]
//! and, for build scripts, [`compile`] writing into `OUT_DIR`.
//!
//! Checking a file:
//!
//! ```no_run
//! let mut options = xdrgen_build::Options::new();
//! options
//!     .include_dir("proto")
//!     .define("VIR_UUID_BUFLEN", Some("16"));
//! match xdrgen_build::check("proto/remote_protocol.x", &options) {
//!     Ok(checked) => println!("{} types", checked.module.types.len()),
//!     Err(e) => eprintln!("{e}"),
//! }
//! ```
#![deny(missing_docs)]

// The public API: the options, the driver's entry points and what they
// return (the IR, diagnostics, sources, `diff`'s report), and argument
// files for build scripts that keep their flags in one.
pub mod argument_file;
pub mod diagnostics;
pub mod ir;
pub mod source;
pub mod wire_diff;

mod codegen;
mod consteval;
mod driver;
mod error;
mod options;

#[cfg(feature = "format")]
mod build_script;

// The syntax tree `parse` returns: internal, no stability promise.
#[doc(hidden)]
pub mod syntax;

// `xdrgen dump`'s decoder: internal, no stability promise (tests and
// the fuzz targets use it).
#[doc(hidden)]
pub mod dump;

// `xdrgen dissector`'s generator: internal, no stability promise (tests
// use it).
#[doc(hidden)]
pub mod dissector;

/// The `xdrgen` command's implementation: internal, no stability promise
/// (only the `xdrgen-cli` package uses it).
#[cfg(feature = "cli")]
#[doc(hidden)]
pub mod cli;

pub use diagnostics::{Code, Diagnostic, Diagnostics, Severity};
/// Parses a `.x` file into its syntax tree only: internal, no stability
/// promise.
#[doc(hidden)]
pub use driver::parse;
pub use driver::{
    Checked, Generated, PREDEFINED_SYMBOLS, check, check_with, generate, generate_with,
};
pub use error::Error;
pub use options::{Door, Group, Import, OptionSpec, Options, Part};
pub use source::{FileLoader, FsLoader, MemoryLoader, SourceMap, Span};
pub use wire_diff::diff;

#[cfg(feature = "format")]
pub use build_script::compile;

/// The build-script facade: the same type as [`Options`], used as
/// `Builder::new().file("proto/x.x").define("N", Some("4")).compile()`.
pub type Builder = Options;
