//! The pipeline, run once per input: options and files in, [`Checked`] or
//! [`Generated`] out. No I/O beyond reading inputs through a
//! [`FileLoader`]; writing is the build-script door's business.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use crate::syntax::ast::{Define, DefineOrigin, Ident, Spec};
use crate::syntax::preprocess::PpConfig;
use crate::{
    Code, Diagnostic, Diagnostics, Error, FileLoader, FsLoader, Options, SourceMap, Span, codegen,
    ir, source, syntax,
};

/// Symbols defined before every input, as rpcgen's `cpp -DRPC_HDR` /
/// `-DRPC_XDR` runs do: xdrgen emits both the types (header) and their
/// codecs (XDR routines). `RPC_SVC`/`RPC_CLNT` are not defined: their
/// blocks hold C stub code only.
pub const PREDEFINED_SYMBOLS: &[&str] = &["RPC_HDR", "RPC_XDR"];

/// Generated Rust for one `.x` file.
#[derive(Debug)]
pub struct Generated {
    /// The generated items as Rust source text (without the header).
    code: String,
    source_name: String,
    /// The checked input the code was generated from.
    pub checked: Checked,
}

impl Generated {
    /// The input's file name, as the `@generated` header names it.
    pub fn source_name(&self) -> &str {
        &self.source_name
    }

    /// The generated items as tokens (for the proc-macro), parsed from
    /// the same text [`to_source`](Self::to_source) writes.
    pub fn to_token_stream(&self) -> proc_macro2::TokenStream {
        match self.code.parse::<proc_macro2::TokenStream>() {
            Ok(tokens) => tokens,
            // Generated text always parses; if that ever breaks, the
            // compiler shows why instead of the macro panicking.
            Err(e) => {
                let message = format!("xdrgen generated Rust that does not parse: {e}");
                quote::quote!(::core::compile_error!(#message);)
            }
        }
    }

    /// The generated code as source with its `@generated` header.
    pub fn to_source(&self) -> String {
        codegen::render(&self.code, &self.source_name)
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
    // `codegen` validates the options.
    let codegen = options.codegen()?;
    let checked = check_validated(loader, path, options)?;
    let code = codegen::generate(&checked.module, &codegen);
    let source_name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    Ok(Generated {
        code,
        source_name,
        checked,
    })
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
    options.validate()?;
    check_validated(loader, path, options)
}

/// [`check_with`] for options already validated.
fn check_validated(
    loader: &dyn FileLoader,
    path: &Path,
    options: &Options,
) -> Result<Checked, Error> {
    let mut sources = SourceMap::new();
    let prelude = add_prelude(&mut sources);
    let command_line = command_line_file(&mut sources, options);
    let root = load_root(&mut sources, loader, path)?;
    let config = PpConfig {
        loader,
        include_dirs: options.include_dirs(),
        predefined: &command_line.defines,
    };
    let mut diags = Vec::new();
    let local = syntax::parse_spec(&mut sources, root, &config, &mut diags);
    let mut imports = Vec::new();
    for import in options.imports() {
        let id = load_root(&mut sources, loader, &import.path)?;
        imports.push(ir::Import {
            spec: syntax::parse_spec(&mut sources, id, &config, &mut diags),
            file: import.path.display().to_string(),
            rust_path: import.rust_path.clone(),
        });
    }
    let files = sources.files().map(|(_, f)| f.name().to_string()).collect();
    let (module, more) = ir::lower(&ir::Inputs {
        local: &local,
        imports: &imports,
        prelude,
        extern_types: options.extern_types(),
        files,
        command_line: command_line.whole,
        door: options.door(),
    });
    diags.extend(more);
    diags.extend(unknown_option_types(options, &module, &command_line));
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

/// Adds the prelude to an empty source map, as its first file, and returns
/// its syntax tree. The prelude never changes, so it is parsed once per
/// process: parsing it was most of the cost of checking a small file
/// (about 480k of 580k instructions for an empty one).
fn add_prelude(sources: &mut SourceMap) -> &'static Spec {
    static PRELUDE: OnceLock<Spec> = OnceLock::new();
    assert!(sources.files().next().is_none(), "the prelude comes first");
    let id = sources.add(
        ir::prelude::PRELUDE_NAME,
        None,
        ir::prelude::PRELUDE.to_string(),
    );
    PRELUDE.get_or_init(|| {
        // Its own source map gives it the same first-file id as `sources`.
        let mut own = SourceMap::new();
        let own_id = own.add(
            ir::prelude::PRELUDE_NAME,
            None,
            ir::prelude::PRELUDE.to_string(),
        );
        debug_assert_eq!(own_id, id);
        let mut diags = Vec::new();
        let spec = syntax::parse_spec(
            &mut own,
            own_id,
            &PpConfig {
                loader: &FsLoader,
                include_dirs: &[],
                predefined: &[],
            },
            &mut diags,
        );
        debug_assert!(diags.is_empty(), "the prelude parses cleanly: {diags:?}");
        spec
    })
}

/// Parses a `.x` file into its syntax tree only (no resolution), for tools.
pub fn parse(path: impl AsRef<Path>, options: &Options) -> Result<(Spec, Diagnostics), Error> {
    options.validate()?;
    let loader = FsLoader;
    let mut sources = SourceMap::new();
    let command_line = command_line_file(&mut sources, options);
    let root = load_root(&mut sources, &loader, path.as_ref())?;
    let mut diags = Vec::new();
    let spec = syntax::parse_spec(
        &mut sources,
        root,
        &PpConfig {
            loader: &loader,
            include_dirs: options.include_dirs(),
            predefined: &command_line.defines,
        },
        &mut diags,
    );
    Ok((spec, Diagnostics::new(Arc::new(sources), diags)))
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

/// The `<command line>` file: one line per `-D` definition, then one per
/// `--type-attribute` and `--extern-type`, so diagnostics about them can
/// point somewhere.
struct CommandLine {
    /// The whole file (where extern types are "defined").
    whole: Span,
    /// `-D` definitions, then rpcgen's symbols.
    defines: Vec<Define>,
    /// The line of each type-naming option, in `Options::named_types` order.
    named_types: Vec<Span>,
}

/// Builds the `<command line>` file (options are validated already).
fn command_line_file(sources: &mut SourceMap, options: &Options) -> CommandLine {
    let mut text = String::new();
    let mut spans = Vec::new();
    for (name, value) in options.defines() {
        let value = value.as_deref().unwrap_or("1");
        text.push_str("-D ");
        let name_at = text.len();
        text.push_str(name);
        text.push('=');
        let value_at = text.len();
        text.push_str(value);
        text.push('\n');
        spans.push((name.clone(), name_at, value_at, value.to_string()));
    }
    let mut named_types = Vec::new();
    for (_, spelled) in options.named_types() {
        let at = text.len();
        text.push_str(&spelled);
        named_types.push((at, text.len()));
        text.push('\n');
    }
    let id = sources.add("<command line>", None, text);
    let mut defines: Vec<Define> = spans
        .into_iter()
        .map(|(name, name_at, value_at, body)| Define {
            name: Ident {
                name,
                span: Span::new(id, name_at, value_at - 1),
            },
            body_span: Span::new(id, value_at, value_at + body.len()),
            body,
            origin: DefineOrigin::CommandLine,
        })
        .collect();
    defines.extend(PREDEFINED_SYMBOLS.iter().map(|symbol| Define {
        name: Ident {
            name: (*symbol).to_string(),
            span: Span::new(id, 0, 0),
        },
        body: "1".to_string(),
        body_span: Span::new(id, 0, 0),
        origin: DefineOrigin::Builtin,
    }));
    CommandLine {
        whole: Span::new(id, 0, 0),
        defines,
        named_types: named_types
            .into_iter()
            .map(|(start, end)| Span::new(id, start, end))
            .collect(),
    }
}

/// W0006 for each `--type-attribute` or `--extern-type` whose type the
/// module does not have: a misspelt name would otherwise do nothing.
fn unknown_option_types(
    options: &Options,
    module: &ir::Module,
    command_line: &CommandLine,
) -> Vec<Diagnostic> {
    options
        .named_types()
        .zip(&command_line.named_types)
        .filter(|((name, _), _)| module.type_by_name(name).is_none())
        .map(|((name, spelled), span)| {
            Diagnostic::new(
                Code::UnknownOptionType,
                format!("`{spelled}` names `{name}`, which is not a type of this input"),
            )
            .primary(*span, "no type by this name is defined or used")
            .help("check the spelling against the .x file; the option has no effect")
        })
        .collect()
}
