//! xdrgen compiles XDR (RFC 4506) and ONC RPC (RFC 5531) protocol
//! definitions — the `.x` files C `rpcgen` reads, in the dialect real
//! projects write — into Rust.
//!
//! The pipeline is: preprocess (a built-in subset of cpp, plus rpcgen's `%`
//! lines) → parse (spans on every node, errors accumulated) → lower and
//! resolve into a typed [`ir::Module`] → generate code. This crate is
//! sans-IO apart from reading the input files through a [`FileLoader`].
//!
//! Checking a file:
//!
//! ```no_run
//! let mut options = xdrgen::Options::new();
//! options
//!     .include_dir("proto")
//!     .define("VIR_UUID_BUFLEN", Some("16"));
//! match xdrgen::check("proto/remote_protocol.x", &options) {
//!     Ok(checked) => println!("{} types", checked.module.types.len()),
//!     Err(e) => eprintln!("{e}"),
//! }
//! ```
#![deny(missing_docs)]

mod consteval;
pub mod diagnostics;
pub mod ir;
pub mod source;
pub mod syntax;

#[cfg(feature = "cli")]
#[doc(hidden)]
pub mod cli;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use diagnostics::{Code, Diagnostic, Diagnostics, Severity};
pub use source::{FileLoader, FsLoader, MemoryLoader, SourceMap, Span};

use syntax::ast::{Define, DefineOrigin, Ident, Spec};
use syntax::preprocess::PpConfig;

/// Symbols defined before every input, as rpcgen's `cpp -DRPC_HDR` /
/// `-DRPC_XDR` runs do: xdrgen emits both the types (header) and their
/// codecs (XDR routines). `RPC_SVC`/`RPC_CLNT` are not defined: their
/// blocks hold C stub code only.
pub const PREDEFINED_SYMBOLS: &[&str] = &["RPC_HDR", "RPC_XDR"];

/// Another `.x` file whose types the input uses without re-emitting them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Import {
    /// The `.x` file.
    pub path: PathBuf,
    /// The Rust module its generated types live in (`crate::remote`).
    pub rust_path: Option<String>,
}

/// Front-end options, shared by the build-script API, the CLI and the
/// proc-macro. Setters take `&mut self` so configuration can be
/// conditional.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// Directories searched for `#include` (CLI `-I`).
    pub include_dirs: Vec<PathBuf>,
    /// Macros defined before the input (CLI `-D NAME[=VALUE]`); a missing
    /// value means `1`, as in cpp.
    pub defines: Vec<(String, Option<String>)>,
    /// `.x` files whose types the input uses (CLI `--import FILE[=PATH]`).
    pub imports: Vec<Import>,
    /// Types the user provides as Rust paths (CLI `--extern-type NAME=PATH`).
    pub extern_types: Vec<(String, String)>,
}

impl Options {
    /// Default options.
    pub fn new() -> Options {
        Options::default()
    }

    /// Adds an include directory (`-I DIR`).
    pub fn include_dir(&mut self, dir: impl Into<PathBuf>) -> &mut Self {
        self.include_dirs.push(dir.into());
        self
    }

    /// Defines a macro (`-D NAME[=VALUE]`).
    pub fn define(&mut self, name: impl Into<String>, value: Option<&str>) -> &mut Self {
        self.defines.push((name.into(), value.map(str::to_string)));
        self
    }

    /// Imports another `.x` file's types (`--import FILE[=RUST_PATH]`).
    pub fn import(&mut self, path: impl Into<PathBuf>, rust_path: Option<&str>) -> &mut Self {
        self.imports.push(Import {
            path: path.into(),
            rust_path: rust_path.map(str::to_string),
        });
        self
    }

    /// Maps an XDR type name to an existing Rust type
    /// (`--extern-type NAME=PATH`).
    pub fn extern_type(
        &mut self,
        name: impl Into<String>,
        rust_path: impl Into<String>,
    ) -> &mut Self {
        self.extern_types.push((name.into(), rust_path.into()));
        self
    }
}

/// Why a run failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// An input file could not be read.
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// An option is malformed (a `-D` name that is not an identifier...).
    Config(String),
    /// The `.x` input has errors.
    Source(Diagnostics),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { path, source } => write!(f, "cannot read `{}`: {source}", path.display()),
            Error::Config(msg) => write!(f, "invalid option: {msg}"),
            Error::Source(d) => {
                write!(f, "{d}")?;
                let n = d.error_count();
                write!(f, "{n} error{} found", if n == 1 { "" } else { "s" })
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// A valid input: its IR and any warnings.
#[derive(Debug)]
pub struct Checked {
    /// The resolved module.
    pub module: ir::Module,
    /// Warnings (never errors).
    pub warnings: Diagnostics,
    /// Every file read (input, includes, imports), for rebuild tracking.
    pub files_read: Vec<PathBuf>,
}

/// Checks a `.x` file from the file system.
pub fn check(path: impl AsRef<Path>, options: &Options) -> Result<Checked, Error> {
    check_with(&FsLoader, path.as_ref(), options)
}

/// Checks a `.x` file read through `loader`.
pub fn check_with(
    loader: &dyn FileLoader,
    path: &Path,
    options: &Options,
) -> Result<Checked, Error> {
    let mut sources = SourceMap::new();
    let (command_line, predefined) = command_line_defines(&mut sources, options)?;
    let root = load_root(&mut sources, loader, path)?;
    let config = PpConfig {
        loader,
        include_dirs: &options.include_dirs,
        predefined: &predefined,
    };
    let mut diags = Vec::new();
    let local = syntax::parse_spec(&mut sources, root, &config, &mut diags);
    let mut imports = Vec::new();
    for import in &options.imports {
        let id = load_root(&mut sources, loader, &import.path)?;
        imports.push(ir::Import {
            spec: syntax::parse_spec(&mut sources, id, &config, &mut diags),
            file: import.path.display().to_string(),
            rust_path: import.rust_path.clone(),
        });
    }
    let prelude_id = sources.add(
        ir::prelude::PRELUDE_NAME,
        None,
        ir::prelude::PRELUDE.to_string(),
    );
    let prelude = syntax::parse_spec(
        &mut sources,
        prelude_id,
        &PpConfig {
            loader,
            include_dirs: &[],
            predefined: &[],
        },
        &mut diags,
    );
    let files = sources.files().map(|(_, f)| f.name().to_string()).collect();
    let (module, more) = ir::lower(&ir::Inputs {
        local: &local,
        imports: &imports,
        prelude: &prelude,
        extern_types: &options.extern_types,
        files,
        command_line,
    });
    diags.extend(more);
    let files_read = sources
        .files()
        .filter_map(|(_, f)| f.path().map(Path::to_path_buf))
        .collect();
    let has_errors = diags.iter().any(Diagnostic::is_error);
    let all = Diagnostics::new(Arc::new(sources), diags);
    if has_errors {
        return Err(Error::Source(all));
    }
    Ok(Checked {
        module,
        warnings: all,
        files_read,
    })
}

fn load_root(
    sources: &mut SourceMap,
    loader: &dyn FileLoader,
    path: &Path,
) -> Result<source::FileId, Error> {
    if let Some(id) = sources.find_path(path) {
        return Ok(id);
    }
    let bytes = loader.load(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(sources.add(
        path.display().to_string(),
        Some(path.to_path_buf()),
        source::decode_text(bytes),
    ))
}

/// Puts `-D` definitions and rpcgen's symbols into a `<command line>` file
/// so diagnostics about them can point somewhere.
fn command_line_defines(
    sources: &mut SourceMap,
    options: &Options,
) -> Result<(Span, Vec<Define>), Error> {
    let mut text = String::new();
    let mut spans = Vec::new();
    for (name, value) in &options.defines {
        let ok = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ok {
            return Err(Error::Config(format!(
                "`-D {name}`: a macro name must be an identifier"
            )));
        }
        let value = value.as_deref().unwrap_or("1");
        if value.contains('\n') {
            return Err(Error::Config(format!(
                "`-D {name}`: the value must be one line"
            )));
        }
        text.push_str("-D ");
        let name_at = text.len();
        text.push_str(name);
        text.push('=');
        let value_at = text.len();
        text.push_str(value);
        spans.push((
            name.clone(),
            name_at,
            value_at,
            value.to_string(),
            DefineOrigin::CommandLine,
        ));
        text.push('\n');
    }
    for symbol in PREDEFINED_SYMBOLS {
        spans.push((
            (*symbol).to_string(),
            0,
            0,
            "1".to_string(),
            DefineOrigin::Builtin,
        ));
    }
    let id = sources.add("<command line>", None, text);
    let defines = spans
        .into_iter()
        .map(|(name, name_at, value_at, body, origin)| {
            let (name_span, body_span) = if origin == DefineOrigin::Builtin {
                (Span::new(id, 0, 0), Span::new(id, 0, 0))
            } else {
                (
                    Span::new(id, name_at, value_at - 1),
                    Span::new(id, value_at, value_at + body.len()),
                )
            };
            Define {
                name: Ident {
                    name,
                    span: name_span,
                },
                body,
                body_span,
                origin,
            }
        })
        .collect();
    Ok((Span::new(id, 0, 0), defines))
}

/// Parses a `.x` file into its syntax tree only (no resolution), for tools.
pub fn parse(path: impl AsRef<Path>, options: &Options) -> Result<(Spec, Diagnostics), Error> {
    let loader = FsLoader;
    let mut sources = SourceMap::new();
    let (_, predefined) = command_line_defines(&mut sources, options)?;
    let root = load_root(&mut sources, &loader, path.as_ref())?;
    let mut diags = Vec::new();
    let spec = syntax::parse_spec(
        &mut sources,
        root,
        &PpConfig {
            loader: &loader,
            include_dirs: &options.include_dirs,
            predefined: &predefined,
        },
        &mut diags,
    );
    Ok((spec, Diagnostics::new(Arc::new(sources), diags)))
}
