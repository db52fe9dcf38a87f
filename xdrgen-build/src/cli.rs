//! The `xdrgen` command line: clap arguments mapped onto [`Options`].

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::diagnostics::Style;
use crate::{Error, Options};

/// XDR / ONC RPC protocol compiler: `.x` files to Rust.
///
/// `xdrgen FILE.x -o OUT.rs` generates Rust; `xdrgen check FILE.x...` only checks.
#[derive(Debug, Parser)]
#[command(
    name = "xdrgen",
    version,
    about,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    generate: GenerateArgs,
}

#[derive(Debug, Args)]
struct GenerateArgs {
    #[command(flatten)]
    frontend: FrontendArgs,
    #[command(flatten)]
    codegen: CodegenArgs,
    /// Where to write the Rust code; `-` for standard output (the default).
    #[arg(
        short = 'o',
        long = "output",
        value_name = "OUT.rs",
        conflicts_with = "out_dir"
    )]
    output: Option<PathBuf>,
    /// Write each FILE as DIR/<stem>.rs instead (several files allowed).
    #[arg(long = "out-dir", value_name = "DIR")]
    out_dir: Option<PathBuf>,
    /// The .x files to compile (one, unless --out-dir is given).
    #[arg(value_name = "FILE", required = true)]
    files: Vec<PathBuf>,
}

impl GenerateArgs {
    /// The options these arguments stand for (the same `Options` the
    /// build-script API and the proc-macro use).
    fn options(&self) -> Result<Options, String> {
        let mut options = self.frontend.options()?;
        self.codegen.apply(&mut options)?;
        for f in &self.files {
            options.file(f);
        }
        if let Some(dir) = &self.out_dir {
            options.out_dir(dir);
        }
        Ok(options)
    }
}

/// Parses generate-mode arguments (without the program name) into
/// [`Options`]: the inverse of [`Options::to_args`].
pub fn options_from_args<I: IntoIterator<Item = String>>(args: I) -> Result<Options, String> {
    let cli = Cli::try_parse_from(std::iter::once("xdrgen".to_string()).chain(args))
        .map_err(|e| e.to_string())?;
    if cli.command.is_some() {
        return Err("expected generate-mode arguments, not a subcommand".into());
    }
    cli.generate.options()
}

/// Code-generation options.
#[derive(Debug, Args)]
#[allow(clippy::struct_excessive_bools)] // one per flag
struct CodegenArgs {
    /// Path of the runtime crate in generated code.
    #[arg(long = "runtime-path", value_name = "PATH")]
    runtime_path: Option<String>,
    /// Add a derive to every generated type (e.g. `serde::Serialize`).
    #[arg(long = "derive", value_name = "PATH")]
    derives: Vec<String>,
    /// Add an attribute to one type, or to all with `*` (`nfs_fh3=#[derive(Hash)]`).
    #[arg(long = "type-attribute", value_name = "NAME=ATTR")]
    type_attributes: Vec<String>,
    /// Also generate `Random` impls for property tests (runtime feature `testing`).
    #[arg(long)]
    random: bool,
    /// Leave the .x comments out of the rustdoc.
    #[arg(long = "no-comments")]
    no_comments: bool,
    /// Borrow opaque and string data from the input instead of copying it.
    #[arg(long = "zero-copy")]
    zero_copy: bool,
    /// Derive serde's Serialize/Deserialize (runtime feature `serde`).
    #[arg(long)]
    serde: bool,
    /// Derive arbitrary::Arbitrary, for fuzzing (needs the `arbitrary` crate).
    #[arg(long)]
    arbitrary: bool,
    /// Generate only these parts (repeatable; default: all).
    #[arg(long = "emit", value_enum, value_name = "PART")]
    emit: Vec<crate::Part>,
}

impl CodegenArgs {
    fn apply(&self, o: &mut Options) -> Result<(), String> {
        if let Some(p) = &self.runtime_path {
            o.runtime_path(p);
        }
        for d in &self.derives {
            o.derive(d);
        }
        for a in &self.type_attributes {
            let Some((name, attr)) = a.split_once('=') else {
                return Err(format!("`--type-attribute {a}`: expected NAME=ATTRIBUTE"));
            };
            o.type_attribute(name, attr);
        }
        o.random(self.random)
            .no_comments(self.no_comments)
            .zero_copy(self.zero_copy)
            .serde(self.serde)
            .arbitrary(self.arbitrary);
        for part in &self.emit {
            o.emit(*part);
        }
        Ok(())
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check .x files: parse, resolve and report every problem.
    Check(CheckArgs),
}

/// Options every command that reads `.x` files takes.
#[derive(Debug, Args)]
struct FrontendArgs {
    /// Add a directory to search for `#include` files.
    #[arg(short = 'I', long = "include-dir", value_name = "DIR")]
    include_dirs: Vec<PathBuf>,
    /// Define a macro before the input, as a C header would (`VIR_UUID_BUFLEN=16`).
    #[arg(short = 'D', long = "define", value_name = "NAME[=VALUE]")]
    defines: Vec<String>,
    /// Use the types of another .x file without emitting them again.
    #[arg(long = "import", value_name = "FILE.x[=RUST_PATH]")]
    imports: Vec<String>,
    /// Map an XDR type name to an existing Rust type.
    #[arg(long = "extern-type", value_name = "NAME=RUST_PATH")]
    extern_types: Vec<String>,
    /// When to colour diagnostics.
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    color: Color,
}

#[derive(Debug, Args)]
struct CheckArgs {
    #[command(flatten)]
    frontend: FrontendArgs,
    /// Output: `text` prints diagnostics only; `json` also prints the resolved IR on stdout.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// The .x files to check.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Format {
    Text,
    Json,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

impl FrontendArgs {
    fn options(&self) -> Result<Options, String> {
        let mut o = Options::new();
        for d in &self.include_dirs {
            o.include_dir(d);
        }
        for d in &self.defines {
            match d.split_once('=') {
                Some((name, value)) => o.define(name, Some(value)),
                None => o.define(d.as_str(), None),
            };
        }
        for i in &self.imports {
            match i.split_once('=') {
                Some((file, path)) => o.import(file, Some(path)),
                None => o.import(i.as_str(), None),
            };
        }
        for e in &self.extern_types {
            let Some((name, path)) = e.split_once('=') else {
                return Err(format!("`--extern-type {e}`: expected NAME=RUST_PATH"));
            };
            o.extern_type(name, path);
        }
        Ok(o)
    }

    fn style(&self) -> Style {
        let on = match self.color {
            Color::Always => true,
            Color::Never => false,
            Color::Auto => {
                std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
            }
        };
        if on { Style::Color } else { Style::Plain }
    }
}

/// Runs the CLI on `std::env::args`; returns the process exit code:
/// 0 success (warnings allowed), 1 errors in the input, 2 usage errors.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    match cli.command {
        Some(Command::Check(args)) => check(&args),
        None => generate(&cli.generate),
    }
}

fn generate(args: &GenerateArgs) -> ExitCode {
    let options = match args.options() {
        Ok(o) => o,
        Err(msg) => {
            eprintln!("error: {msg}");
            return ExitCode::from(2);
        }
    };
    if options.files.len() > 1 && options.out_dir.is_none() {
        eprintln!("error: several input files need --out-dir");
        return ExitCode::from(2);
    }
    if let Some(dir) = &options.out_dir {
        if let Err(e) = std::fs::create_dir_all(dir) {
            eprintln!("error: cannot create `{}`: {e}", dir.display());
            return ExitCode::from(1);
        }
    }
    for file in &options.files {
        let status = generate_one(args, &options, file);
        if status != ExitCode::SUCCESS {
            return status;
        }
    }
    ExitCode::SUCCESS
}

fn generate_one(args: &GenerateArgs, options: &Options, file: &std::path::Path) -> ExitCode {
    let style = args.frontend.style();
    let generated = match crate::generate(file, options) {
        Ok(g) => g,
        Err(Error::Source(d)) => {
            let n = d.error_count();
            eprint!("{}", d.render(style));
            eprintln!(
                "{}: {n} error{} found",
                file.display(),
                if n == 1 { "" } else { "s" }
            );
            return ExitCode::from(1);
        }
        Err(Error::Config(msg)) => {
            eprintln!("error: {msg}");
            return ExitCode::from(2);
        }
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    eprint!("{}", generated.checked.warnings.render(style));
    let stem = file
        .file_stem()
        .map_or_else(|| "out".to_string(), |s| s.to_string_lossy().into_owned());
    let output = options
        .out_dir
        .as_ref()
        .map(|d| d.join(format!("{stem}.rs")));
    match output.as_deref().or(args.output.as_deref()) {
        None => {
            let _ = std::io::stdout()
                .lock()
                .write_all(generated.to_source().as_bytes());
        }
        Some(p) if p == std::path::Path::new("-") => {
            let _ = std::io::stdout()
                .lock()
                .write_all(generated.to_source().as_bytes());
        }
        Some(p) => {
            if let Err(e) = generated.write_to(p) {
                eprintln!("error: {e}");
                return ExitCode::from(1);
            }
        }
    }
    ExitCode::SUCCESS
}

fn check(args: &CheckArgs) -> ExitCode {
    let options = match args.frontend.options() {
        Ok(o) => o,
        Err(msg) => {
            eprintln!("error: {msg}");
            return ExitCode::from(2);
        }
    };
    let style = args.frontend.style();
    let mut failed = false;
    let mut modules = Vec::new();
    let mut stderr = std::io::stderr().lock();
    for file in &args.files {
        match crate::check(file, &options) {
            Ok(checked) => {
                let _ = stderr.write_all(checked.warnings.render(style).as_bytes());
                modules.push((file, checked.module));
            }
            Err(Error::Source(d)) => {
                failed = true;
                let _ = stderr.write_all(d.render(style).as_bytes());
                let n = d.error_count();
                let _ = writeln!(
                    stderr,
                    "{}: {n} error{} found",
                    file.display(),
                    if n == 1 { "" } else { "s" }
                );
            }
            Err(Error::Config(msg)) => {
                let _ = writeln!(stderr, "error: {msg}");
                return ExitCode::from(2);
            }
            Err(e) => {
                failed = true;
                let _ = writeln!(stderr, "error: {e}");
            }
        }
    }
    if matches!(args.format, Format::Json) {
        let value = serde_json::json!({
            "xdrgen_ir_version": crate::ir::IR_JSON_VERSION,
            "modules": modules.iter().map(|(file, m)| serde_json::json!({
                "input": file.display().to_string(),
                "ir": m,
            })).collect::<Vec<_>>(),
        });
        let mut stdout = std::io::stdout().lock();
        let _ = serde_json::to_writer_pretty(&mut stdout, &value);
        let _ = writeln!(stdout);
    }
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
