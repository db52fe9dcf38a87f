//! The `xdrgen` command, for the `xdrgen-cli` package only: not a stable
//! API.
//!
//! clap's arguments are made from the options table ([`Options::specs`]);
//! the values clap collected go back through [`Options::from_args`], the
//! one parser of option values. Exit codes: 0 success (warnings allowed),
//! 1 errors in the input or failed I/O, 2 usage errors; `diff` exits 3 on
//! a breaking change.

use std::ffi::OsString;
use std::io::{self, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Arg, ArgAction, ArgMatches, Command};

use crate::diagnostics::Style;
use crate::{Error, FileLoader, FsLoader, Group, Options};

mod diff;
mod dissector;
mod dump;

const ARG_FILES: &str = "\
Arguments of the form @FILE are replaced by the words in FILE: separated by
white space, quoted with '...' or \"...\", a backslash escaping the next
character, and `#` at the start of a word commenting out the rest of the line.";

/// Runs the command on `std::env::args_os`; returns the process exit code.
pub fn main() -> ExitCode {
    let args = match expand_arg_files(std::env::args_os().collect()) {
        Ok(args) => args,
        Err(msg) => {
            eprintln!("error: {msg}");
            return ExitCode::from(2);
        }
    };
    let matches = match command().try_get_matches_from(args) {
        Ok(m) => m,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    match matches.subcommand() {
        Some(("check", sub)) => check(sub),
        Some(("diff", sub)) => diff::run(sub),
        Some(("dissector", sub)) => dissector::run(sub),
        Some(("dump", sub)) => dump::run(sub),
        _ => generate(&matches),
    }
}

/// The command line, its options made from the options table.
fn command() -> Command {
    let files = |help: &'static str| {
        Arg::new("files")
            .value_name("FILE")
            .help(help)
            .num_args(1..)
            .required(true)
            .action(ArgAction::Append)
    };
    let color = color_arg();
    let check = Command::new("check")
        .about("Check .x files: parse, resolve and report every problem")
        .after_help(ARG_FILES)
        .args(option_args(Group::Frontend))
        .arg(color.clone())
        .arg(
            Arg::new("format")
                .long("format")
                .value_name("FORMAT")
                .help(
                    "Output: `text` prints diagnostics only; `json` also prints the resolved IR on stdout",
                )
                .value_parser(["text", "json"])
                .default_value("text"),
        )
        .arg(files("The .x files to check (`-` reads standard input)"));
    Command::new("xdrgen")
        .version(env!("CARGO_PKG_VERSION"))
        .about("XDR / ONC RPC protocol compiler: `.x` files to Rust.")
        .long_about(
            "XDR / ONC RPC protocol compiler: `.x` files to Rust.\n\n\
             `xdrgen FILE.x -o OUT.rs` generates Rust; `xdrgen check FILE.x...` only checks.",
        )
        .after_help(ARG_FILES)
        .args_conflicts_with_subcommands(true)
        .subcommand_negates_reqs(true)
        .subcommand(check)
        .subcommand(diff::command())
        .subcommand(dissector::command())
        .subcommand(dump::command())
        .args(option_args(Group::Frontend))
        .arg(color)
        .args(option_args(Group::Codegen))
        .arg(
            Arg::new("output")
                .short('o')
                .long("output")
                .value_name("OUT.rs")
                .help("Where to write the Rust code; `-` for standard output (the default)")
                .conflicts_with("out_dir"),
        )
        .args(option_args(Group::Output))
        .arg(files(
            Options::specs()
                .iter()
                .find(|s| s.name == "files")
                .map_or("", |s| s.help),
        ))
}

fn color_arg() -> Arg {
    Arg::new("color")
        .long("color")
        .value_name("COLOR")
        .help("When to colour diagnostics")
        .value_parser(["auto", "always", "never"])
        .default_value("auto")
}

/// clap arguments for the options of `group` that have a flag.
fn option_args(group: Group) -> impl Iterator<Item = Arg> {
    Options::specs()
        .iter()
        .filter(move |s| s.group == group)
        .filter_map(|spec| {
            let long = spec.long?;
            let mut arg = Arg::new(spec.name).long(long).help(spec.help);
            if let Some(short) = spec.short {
                arg = arg.short(short);
            }
            Some(match spec.value_name {
                None => arg.action(ArgAction::SetTrue),
                Some(value_name) => arg.value_name(value_name).action(if spec.repeats {
                    ArgAction::Append
                } else {
                    ArgAction::Set
                }),
            })
        })
}

/// The options clap collected, through [`Options::from_args`].
fn options(matches: &ArgMatches, group: &[Group]) -> Result<Options, Error> {
    let mut args = Vec::new();
    for spec in Options::specs().iter().filter(|s| group.contains(&s.group)) {
        let Some(long) = spec.long else { continue };
        if spec.value_name.is_none() {
            if matches.get_flag(spec.name) {
                args.push(format!("--{long}"));
            }
            continue;
        }
        for value in matches.get_many::<String>(spec.name).into_iter().flatten() {
            args.push(format!("--{long}"));
            args.push(value.clone());
        }
    }
    args.push("--".to_string());
    args.extend(
        matches
            .get_many::<String>("files")
            .into_iter()
            .flatten()
            .cloned(),
    );
    Options::from_args(args)
}

fn style(matches: &ArgMatches) -> Style {
    let on = match matches.get_one::<String>("color").map(String::as_str) {
        Some("always") => true,
        Some("never") => false,
        _ => io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    if on { Style::Color } else { Style::Plain }
}

/// Reads `-` from standard input (once; it is named `<stdin>` in
/// diagnostics) and every other file from the file system.
struct Inputs {
    stdin: Option<String>,
}

/// The name diagnostics and the `@generated` header give standard input.
const STDIN_NAME: &str = "<stdin>";

impl Inputs {
    fn new(files: &[PathBuf]) -> Result<Inputs, String> {
        let stdin = if files.iter().any(|f| f == Path::new("-")) {
            let mut text = String::new();
            io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| format!("cannot read standard input: {e}"))?;
            Some(text)
        } else {
            None
        };
        Ok(Inputs { stdin })
    }

    /// The path the pipeline reads `file` as.
    fn path(file: &Path) -> &Path {
        if file == Path::new("-") {
            Path::new(STDIN_NAME)
        } else {
            file
        }
    }
}

impl FileLoader for Inputs {
    fn load(&self, path: &Path) -> io::Result<Vec<u8>> {
        match &self.stdin {
            Some(text) if path == Path::new(STDIN_NAME) => Ok(text.clone().into_bytes()),
            _ => FsLoader.load(path),
        }
    }

    fn exists(&self, path: &Path) -> bool {
        (self.stdin.is_some() && path == Path::new(STDIN_NAME)) || FsLoader.exists(path)
    }
}

/// Each input file of `options` checked, its warnings shown: the modules of
/// the analysis subcommands (dump, diff, dissector). The first failure is
/// reported and its exit code returned.
fn checked_modules(options: &Options, style: Style) -> Result<Vec<crate::ir::Module>, ExitCode> {
    let inputs = Inputs::new(options.files()).map_err(|msg| {
        eprintln!("error: {msg}");
        ExitCode::from(1)
    })?;
    options
        .files()
        .iter()
        .map(
            |file| match crate::check_with(&inputs, Inputs::path(file), options) {
                Ok(checked) => {
                    eprint!("{}", checked.warnings.render(style));
                    Ok(checked.module)
                }
                Err(e @ Error::Config(_)) => Err(failed(None, &e, style)),
                Err(e) => Err(failed(Some(Inputs::path(file)), &e, style)),
            },
        )
        .collect()
}

/// Prints an error about options or input and returns its exit code.
fn failed(file: Option<&Path>, error: &Error, style: Style) -> ExitCode {
    match error {
        Error::Source(d) => {
            let n = d.error_count();
            eprint!("{}", d.render(style));
            eprintln!(
                "{}: {n} error{} found",
                file.map_or_else(String::new, |f| f.display().to_string()),
                if n == 1 { "" } else { "s" }
            );
            ExitCode::from(1)
        }
        Error::Config(msg) => {
            eprintln!("error: {msg}");
            ExitCode::from(2)
        }
        other => {
            eprintln!("error: {other}");
            ExitCode::from(1)
        }
    }
}

fn generate(matches: &ArgMatches) -> ExitCode {
    let style = style(matches);
    let options = match options(matches, &[Group::Frontend, Group::Codegen, Group::Output]) {
        Ok(o) => o,
        Err(e) => return failed(None, &e, style),
    };
    let out_dir = options.output_dir().map(Path::to_path_buf);
    if options.files().len() > 1 && out_dir.is_none() {
        eprintln!("error: several input files need --out-dir");
        return ExitCode::from(2);
    }
    let inputs = match Inputs::new(options.files()) {
        Ok(i) => i,
        Err(msg) => {
            eprintln!("error: {msg}");
            return ExitCode::from(1);
        }
    };
    if let Some(dir) = &out_dir {
        if let Err(e) = std::fs::create_dir_all(dir) {
            eprintln!("error: cannot create `{}`: {e}", dir.display());
            return ExitCode::from(1);
        }
    }
    let output = matches.get_one::<String>("output").map(PathBuf::from);
    for file in options.files() {
        let generated = match crate::generate_with(&inputs, Inputs::path(file), &options) {
            Ok(g) => g,
            Err(e) => return failed(Some(Inputs::path(file)), &e, style),
        };
        eprint!("{}", generated.checked.warnings.render(style));
        let target = match &out_dir {
            Some(dir) => Some(dir.join(crate::build_script::output_name(file))),
            None => output.clone().filter(|p| p != Path::new("-")),
        };
        let written = match target {
            Some(path) => generated.write_to(path).map(|_| ()),
            None => write_stdout(&generated.to_source()),
        };
        if let Err(e) = written {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    }
    ExitCode::SUCCESS
}

/// Writes to standard output, flushing so a full disk or closed pipe is an
/// error here, not lost at exit.
fn write_stdout(text: &str) -> Result<(), Error> {
    let mut stdout = io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|source| Error::Write {
            path: PathBuf::from("<stdout>"),
            source,
        })
}

fn check(matches: &ArgMatches) -> ExitCode {
    let style = style(matches);
    let options = match options(matches, &[Group::Frontend]) {
        Ok(o) => o,
        Err(e) => return failed(None, &e, style),
    };
    let inputs = match Inputs::new(options.files()) {
        Ok(i) => i,
        Err(msg) => {
            eprintln!("error: {msg}");
            return ExitCode::from(1);
        }
    };
    let mut status = ExitCode::SUCCESS;
    let mut modules = Vec::new();
    for file in options.files() {
        match crate::check_with(&inputs, Inputs::path(file), &options) {
            Ok(checked) => {
                eprint!("{}", checked.warnings.render(style));
                modules.push((file, checked.module));
            }
            Err(e @ Error::Config(_)) => return failed(None, &e, style),
            Err(e) => status = failed(Some(Inputs::path(file)), &e, style),
        }
    }
    if matches.get_one::<String>("format").map(String::as_str) == Some("json") {
        let value = serde_json::json!({
            "xdrgen_ir_version": crate::ir::IR_JSON_VERSION,
            "modules": modules.iter().map(|(file, m)| serde_json::json!({
                "input": file.display().to_string(),
                "ir": m,
            })).collect::<Vec<_>>(),
        });
        let text = match serde_json::to_string_pretty(&value) {
            Ok(text) => text + "\n",
            Err(e) => {
                eprintln!("error: the IR could not be written as JSON: {e}");
                return ExitCode::from(1);
            }
        };
        if let Err(e) = write_stdout(&text) {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    }
    status
}

/// Replaces each `@FILE` argument (after the program name) by the words
/// in FILE.
fn expand_arg_files(args: Vec<OsString>) -> Result<Vec<OsString>, String> {
    let mut out = Vec::with_capacity(args.len());
    for (i, arg) in args.into_iter().enumerate() {
        let file = arg
            .to_str()
            .filter(|a| i > 0 && a.len() > 1)
            .and_then(|a| a.strip_prefix('@'));
        let Some(file) = file else {
            out.push(arg);
            continue;
        };
        let text = std::fs::read_to_string(file)
            .map_err(|e| format!("cannot read argument file `{file}`: {e}"))?;
        let words = crate::argument_file::split_words(&text)
            .map_err(|e| format!("argument file `{file}`: {e}"))?;
        out.extend(words.into_iter().map(OsString::from));
    }
    Ok(out)
}
