//! `xdrgen diff OLD.x NEW.x`: wire compatibility between two versions.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Arg, ArgAction, ArgMatches, Command};

use super::{failed, option_args, options, style, write_stdout};
use crate::Group;

/// The exit code when a change breaks old clients or old servers.
const BREAKING: u8 = 3;

/// The version of the JSON shape `xdrgen diff --format json` prints.
pub(super) const DIFF_JSON_VERSION: u32 = 1;

pub(super) fn command() -> Command {
    Command::new("diff")
        .about("Compare two versions of a .x file by what they put on the wire")
        .long_about(
            "Compare two versions of a .x file by what they put on the wire: procedures added, \
             removed or renumbered; types whose encoding changed; constants that changed. \
             Each change is classified as breaking or compatible for old clients (talking to \
             new servers) and for old servers (receiving from new clients).\n\n\
             Exit codes: 0 no breaking change, 1 errors in the input or failed I/O, \
             2 usage errors, 3 a breaking change.",
        )
        .after_help(super::ARG_FILES)
        .args(option_args(Group::Frontend))
        .arg(super::color_arg())
        .arg(
            Arg::new("format")
                .long("format")
                .value_name("FORMAT")
                .help("Output: `text` (a line per change) or `json`")
                .value_parser(["text", "json"])
                .default_value("text"),
        )
        .arg(
            Arg::new("files")
                .value_name("FILE")
                .help("The old and the new .x file (`-` reads standard input, for one of them)")
                .num_args(2)
                .required(true)
                .action(ArgAction::Append),
        )
}

pub(super) fn run(matches: &ArgMatches) -> ExitCode {
    let style = style(matches);
    let options = match options(matches, &[Group::Frontend]) {
        Ok(o) => o,
        Err(e) => return failed(None, &e, style),
    };
    let files: Vec<PathBuf> = options.files().to_vec();
    let modules = match super::checked_modules(&options, style) {
        Ok(m) => m,
        Err(code) => return code,
    };
    let [old, new] = modules.as_slice() else {
        eprintln!("error: diff compares exactly two files");
        return ExitCode::from(2);
    };
    let report = crate::wire_diff::diff(old, new);
    let text = if matches.get_one::<String>("format").map(String::as_str) == Some("json") {
        let value = serde_json::json!({
            "xdrgen_diff_version": DIFF_JSON_VERSION,
            "old": files[0].display().to_string(),
            "new": files[1].display().to_string(),
            "breaking": report.is_breaking(),
            "changes": report.changes,
        });
        match serde_json::to_string_pretty(&value) {
            Ok(text) => text + "\n",
            Err(e) => {
                eprintln!("error: the report could not be written as JSON: {e}");
                return ExitCode::from(1);
            }
        }
    } else {
        report.to_text()
    };
    if let Err(e) = write_stdout(&text) {
        eprintln!("error: {e}");
        return ExitCode::from(1);
    }
    if report.is_breaking() {
        ExitCode::from(BREAKING)
    } else {
        ExitCode::SUCCESS
    }
}
