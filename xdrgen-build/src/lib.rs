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

pub mod codegen;
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

/// A part of the generated code that can be switched on alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Part {
    /// Constants, types and their codecs.
    Types,
    /// Per program and version: numbers and the `Procedure` enum.
    Programs,
    /// Per program and version: typed async `Client` and `BlockingClient`
    /// stubs (runtime feature `tokio` for the async one).
    Client,
    /// Per program and version: the `Service` trait and its `Dispatcher`
    /// for the runtime's server (runtime feature `tokio`).
    Server,
}

impl Part {
    /// The part's name on the command line and in the macro.
    pub fn name(self) -> &'static str {
        match self {
            Part::Types => "types",
            Part::Programs => "programs",
            Part::Client => "client",
            Part::Server => "server",
        }
    }
}

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
#[allow(clippy::struct_excessive_bools)] // independent switches
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
    /// Path of the runtime crate in generated code (CLI `--runtime-path`);
    /// default `::xdrgen_runtime`.
    pub runtime_path: Option<String>,
    /// Extra derives for every generated struct, enum and union
    /// (CLI `--derive PATH`), e.g. `serde::Serialize`.
    pub derives: Vec<String>,
    /// Extra attributes by XDR type name, `*` for every type
    /// (CLI `--type-attribute NAME=ATTR`).
    pub type_attributes: Vec<(String, String)>,
    /// Also generate `Random` impls for property tests (CLI `--random`;
    /// needs the runtime's `testing` feature).
    pub random: bool,
    /// Leave `.x` comments out of the rustdoc (CLI `--no-comments`).
    pub no_comments: bool,
    /// Decode variable-length opaques and strings without copying: they
    /// become `&'a [u8]` and `XdrStr<'a>` borrowed from the input, and the
    /// types holding them get a lifetime and implement
    /// `XdrDecodeBorrowed<'a>` (CLI `--zero-copy`).
    pub zero_copy: bool,
    /// Derive serde's `Serialize`/`Deserialize` on generated types, through
    /// the runtime (enable its `serde` feature) (CLI `--serde`).
    pub serde: bool,
    /// Derive `arbitrary::Arbitrary` on generated types, for fuzzing (CLI
    /// `--arbitrary`; the crate using the code depends on `arbitrary` and
    /// enables the runtime's `arbitrary` feature).
    pub arbitrary: bool,
    /// Which parts to generate (CLI `--emit PART`); empty means all.
    pub emit: Vec<Part>,
    /// The `.x` files [`Options::compile`] generates (the CLI's FILE).
    pub files: Vec<PathBuf>,
    /// Where [`Options::compile`] writes; default `OUT_DIR` (CLI `-o`).
    pub out_dir: Option<PathBuf>,
    /// Do not print `cargo:rerun-if-changed` lines from [`Options::compile`].
    ///
    /// By default every file read (inputs, `#include`s, imports) is printed,
    /// and then Cargo reruns the build script *only* when one of them
    /// changes: a build script that does other work must print its own
    /// `rerun-if-changed` lines, or set this.
    pub no_rerun_if_changed: bool,
}

/// The build-script facade: the same type as [`Options`], used as
/// `Builder::new().file("proto/x.x").define("N", Some("4")).compile()`.
pub type Builder = Options;

/// Generates `path` into `OUT_DIR/<stem>.rs` from a build script, printing
/// `cargo:rerun-if-changed` for every file read. Include the result with
/// `include!(concat!(env!("OUT_DIR"), "/<stem>.rs"))`.
#[cfg(feature = "format")]
pub fn compile(path: impl AsRef<Path>) -> Result<(), Error> {
    Options::new().file(path.as_ref()).compile()
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
    /// Sets the runtime crate's path (`--runtime-path`).
    pub fn runtime_path(&mut self, path: impl Into<String>) -> &mut Self {
        self.runtime_path = Some(path.into());
        self
    }

    /// Adds a derive to every generated type (`--derive`).
    pub fn derive(&mut self, path: impl Into<String>) -> &mut Self {
        self.derives.push(path.into());
        self
    }

    /// Adds an attribute to one type, or to all with `*` (`--type-attribute`).
    pub fn type_attribute(
        &mut self,
        xdr_name: impl Into<String>,
        attribute: impl Into<String>,
    ) -> &mut Self {
        self.type_attributes
            .push((xdr_name.into(), attribute.into()));
        self
    }

    /// Generates `Random` impls (`--random`).
    pub fn random(&mut self, on: bool) -> &mut Self {
        self.random = on;
        self
    }

    /// Drops `.x` comments from the rustdoc (`--no-comments`).
    pub fn no_comments(&mut self, on: bool) -> &mut Self {
        self.no_comments = on;
        self
    }

    /// Borrows opaque and string data from the input (`--zero-copy`).
    pub fn zero_copy(&mut self, on: bool) -> &mut Self {
        self.zero_copy = on;
        self
    }

    /// Derives serde's traits on generated types (`--serde`).
    pub fn serde(&mut self, on: bool) -> &mut Self {
        self.serde = on;
        self
    }

    /// Derives `arbitrary::Arbitrary` on generated types (`--arbitrary`).
    pub fn arbitrary(&mut self, on: bool) -> &mut Self {
        self.arbitrary = on;
        self
    }

    /// The command-line arguments that stand for these options (generate
    /// mode; the inverse of `cli::options_from_args`). Every option has a
    /// flag except `emit_rerun_if_changed`, which only build scripts use.
    pub fn to_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        let mut flag = |name: &str, value: String| {
            args.push(name.to_string());
            args.push(value);
        };
        for d in &self.include_dirs {
            flag("-I", d.display().to_string());
        }
        for (n, v) in &self.defines {
            flag(
                "-D",
                v.as_ref().map_or_else(|| n.clone(), |v| format!("{n}={v}")),
            );
        }
        for i in &self.imports {
            let f = i.path.display().to_string();
            flag(
                "--import",
                i.rust_path
                    .as_ref()
                    .map_or_else(|| f.clone(), |p| format!("{f}={p}")),
            );
        }
        for (n, p) in &self.extern_types {
            flag("--extern-type", format!("{n}={p}"));
        }
        if let Some(p) = &self.runtime_path {
            flag("--runtime-path", p.clone());
        }
        for d in &self.derives {
            flag("--derive", d.clone());
        }
        for (n, a) in &self.type_attributes {
            flag("--type-attribute", format!("{n}={a}"));
        }
        if let Some(d) = &self.out_dir {
            flag("--out-dir", d.display().to_string());
        }
        for part in &self.emit {
            flag("--emit", part.name().to_string());
        }
        let switches = [
            (self.random, "--random"),
            (self.no_comments, "--no-comments"),
            (self.zero_copy, "--zero-copy"),
            (self.serde, "--serde"),
            (self.arbitrary, "--arbitrary"),
        ];
        args.extend(
            switches
                .iter()
                .filter(|(on, _)| *on)
                .map(|(_, s)| (*s).to_string()),
        );
        args.extend(self.files.iter().map(|f| f.display().to_string()));
        args
    }

    /// Generates only the given parts (`--emit`; repeat for several).
    pub fn emit(&mut self, part: Part) -> &mut Self {
        self.emit.push(part);
        self
    }

    /// Adds a `.x` file for [`compile`](Options::compile).
    pub fn file(&mut self, path: impl Into<PathBuf>) -> &mut Self {
        self.files.push(path.into());
        self
    }

    /// Sets where [`compile`](Options::compile) writes (default `OUT_DIR`).
    pub fn out_dir(&mut self, dir: impl Into<PathBuf>) -> &mut Self {
        self.out_dir = Some(dir.into());
        self
    }

    /// Whether [`compile`](Options::compile) prints `cargo:rerun-if-changed`
    /// for every file it reads (default true).
    pub fn emit_rerun_if_changed(&mut self, on: bool) -> &mut Self {
        self.no_rerun_if_changed = !on;
        self
    }

    /// Generates every [`file`](Options::file) into the output directory as
    /// `<stem>.rs` (written only when it changed), for build scripts.
    /// Diagnostics go to stderr, which Cargo shows when the build fails;
    /// warnings also become `cargo:warning=` lines.
    #[cfg(feature = "format")]
    pub fn compile(&self) -> Result<(), Error> {
        let out_dir = self
            .out_dir
            .clone()
            .or_else(|| std::env::var_os("OUT_DIR").map(PathBuf::from))
            .ok_or_else(|| {
                Error::Config(
                    "OUT_DIR is not set: call compile() from build.rs, or set out_dir".into(),
                )
            })?;
        if self.files.is_empty() {
            return Err(Error::Config(
                "no .x file to compile: add one with file()".into(),
            ));
        }
        for file in &self.files {
            if !self.no_rerun_if_changed {
                // Even when the file has errors, fixing it must rerun us.
                println!("cargo:rerun-if-changed={}", file.display());
            }
            let generated = match generate(file, self) {
                Ok(g) => g,
                Err(e) => {
                    eprintln!("{e}");
                    return Err(e);
                }
            };
            for w in generated.checked.warnings.iter() {
                println!("cargo:warning={}: {}", file.display(), w.message);
            }
            if !self.no_rerun_if_changed {
                // The input itself was printed above; add what it pulled in.
                for read in generated.checked.files_read.iter().filter(|r| *r != file) {
                    println!("cargo:rerun-if-changed={}", read.display());
                }
            }
            let stem = file
                .file_stem()
                .map_or_else(|| "out".to_string(), |s| s.to_string_lossy().into_owned());
            generated.write_to(out_dir.join(format!("{stem}.rs")))?;
        }
        Ok(())
    }

    fn codegen(&self) -> Result<codegen::CodegenOptions, Error> {
        let tokens = |what: &str, text: &str| {
            text.parse::<proc_macro2::TokenStream>()
                .map_err(|e| Error::Config(format!("{what} `{text}` is not valid Rust: {e}")))
        };
        let runtime_path = tokens(
            "runtime path",
            self.runtime_path.as_deref().unwrap_or("::xdrgen_runtime"),
        )?;
        let derives = self
            .derives
            .iter()
            .map(|d| tokens("derive", d))
            .collect::<Result<_, _>>()?;
        let type_attributes = self
            .type_attributes
            .iter()
            .map(|(n, a)| Ok((n.clone(), tokens("attribute", a)?)))
            .collect::<Result<_, Error>>()?;
        Ok(codegen::CodegenOptions {
            runtime_path,
            derives,
            type_attributes,
            random: self.random,
            comments: !self.no_comments,
            zero_copy: self.zero_copy,
            serde: self.serde,
            arbitrary: self.arbitrary,
            types: self.emit.is_empty() || self.emit.contains(&Part::Types),
            programs: self.emit.is_empty() || self.emit.contains(&Part::Programs),
            client: self.emit.is_empty() || self.emit.contains(&Part::Client),
            server: self.emit.is_empty() || self.emit.contains(&Part::Server),
        })
    }
}

/// Generated Rust for one `.x` file.
#[derive(Debug)]
pub struct Generated {
    tokens: proc_macro2::TokenStream,
    source_name: String,
    /// The checked input the code was generated from.
    pub checked: Checked,
}

impl Generated {
    /// The input's file name, as the `@generated` header names it.
    pub fn source_name(&self) -> &str {
        &self.source_name
    }

    /// The generated items as tokens (for the proc-macro; unformatted).
    pub fn to_token_stream(&self) -> proc_macro2::TokenStream {
        self.tokens.clone()
    }

    /// The generated code as formatted source with its `@generated` header.
    #[cfg(feature = "format")]
    pub fn to_source(&self) -> String {
        codegen::render(&self.tokens, &self.source_name)
    }

    /// Writes the formatted source to `path`, only when it changed (so
    /// builds that depend on its timestamp do not rerun).
    #[cfg(feature = "format")]
    pub fn write_to(&self, path: impl AsRef<Path>) -> Result<bool, Error> {
        let path = path.as_ref();
        let text = self.to_source();
        if std::fs::read(path).is_ok_and(|old| old == text.as_bytes()) {
            return Ok(false);
        }
        let failed = |source| Error::Write {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(failed)?;
        }
        std::fs::write(path, text).map_err(failed)?;
        Ok(true)
    }
}

/// Generates Rust from a `.x` file.
pub fn generate(path: impl AsRef<Path>, options: &Options) -> Result<Generated, Error> {
    generate_with(&FsLoader, path.as_ref(), options)
}

/// Generates Rust from a `.x` file read through `loader`.
pub fn generate_with(
    loader: &dyn FileLoader,
    path: &Path,
    options: &Options,
) -> Result<Generated, Error> {
    let codegen = options.codegen()?;
    let checked = check_with(loader, path, options)?;
    let tokens = codegen::generate(&checked.module, &codegen);
    let source_name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    Ok(Generated {
        tokens,
        source_name,
        checked,
    })
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
    /// An output file could not be written.
    Write {
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

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } | Error::Write { source, .. } => Some(source),
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
        if !syntax::parser::is_identifier(name) {
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
