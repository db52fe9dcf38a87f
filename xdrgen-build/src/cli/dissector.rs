//! `xdrgen dissector FILE.x`: a Wireshark Lua dissector for its programs.

use std::path::Path;
use std::process::ExitCode;

use clap::{Arg, ArgAction, ArgMatches, Command, value_parser};

use super::{failed, option_args, options, style, write_stdout};
use crate::dissector::{DissectorOptions, valid_protocol_name};
use crate::{Error, Group};

pub(super) fn command() -> Command {
    Command::new("dissector")
        .about("Generate a Wireshark dissector (Lua) for a .x file's programs")
        .long_about(
            "Generate a Wireshark dissector (Lua) for a .x file's programs: ONC RPC over TCP \
             record marking and libvirt's framing, every field named <proto>.<type>.<field> \
             after the .x file. Load it with `tshark -X lua_script:OUT.lua`.",
        )
        .after_help(super::ARG_FILES)
        .args(option_args(Group::Frontend))
        .arg(super::color_arg())
        .arg(
            Arg::new("output")
                .short('o')
                .long("output")
                .value_name("OUT.lua")
                .help("Where to write the Lua; `-` for standard output (the default)"),
        )
        .arg(
            Arg::new("name")
                .long("name")
                .value_name("PROTO")
                .help("The protocol's filter name (lowercase letters, digits, `_`); default: the file's stem"),
        )
        .arg(
            Arg::new("port")
                .long("port")
                .value_name("PORT")
                .help("A TCP port to claim besides the heuristic (repeatable; libvirt protocols also claim 16509)")
                .value_parser(value_parser!(u16))
                .action(ArgAction::Append),
        )
        .arg(
            Arg::new("files")
                .value_name("FILE")
                .help("The .x file (`-` reads standard input)")
                .num_args(1)
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
    let name = matches.get_one::<String>("name").cloned();
    if let Some(name) = &name {
        if !valid_protocol_name(name) {
            eprintln!(
                "error: `{name}` is not a protocol name: lowercase letters, digits and `_`, starting with a letter"
            );
            return ExitCode::from(2);
        }
    }
    let Some(file) = options.files().first().cloned() else {
        eprintln!("error: no input file");
        return ExitCode::from(2);
    };
    let module = match super::checked_modules(&options, style) {
        Ok(mut modules) => modules.swap_remove(0),
        Err(code) => return code,
    };
    let source = super::Inputs::path(&file).display().to_string();
    let lua = crate::dissector::dissector(
        &module,
        &source,
        &DissectorOptions {
            name,
            ports: matches
                .get_many::<u16>("port")
                .into_iter()
                .flatten()
                .copied()
                .collect(),
        },
    );
    let written = match matches.get_one::<String>("output").map(Path::new) {
        Some(path) if path != Path::new("-") => {
            std::fs::write(path, &lua).map_err(|source| Error::Write {
                path: path.to_path_buf(),
                source,
            })
        }
        _ => write_stdout(&lua),
    };
    if let Err(e) = written {
        eprintln!("error: {e}");
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}
