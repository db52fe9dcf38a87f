//! The `xdrgen` command line: clap arguments mapped onto [`Options`].

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::diagnostics::Style;
use crate::{Error, Options};

/// XDR / ONC RPC protocol compiler: `.x` files to Rust.
#[derive(Debug, Parser)]
#[command(name = "xdrgen", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
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
        Command::Check(args) => check(&args),
    }
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
