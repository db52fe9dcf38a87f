//! `xdrgen dump FILE.x [INPUT]`: decodes bytes with the types of a `.x`
//! file ([`crate::dump`]). Exit codes: 0 when everything decoded, 1 when
//! the input has an error (what decoded before it is still printed), 2
//! for usage errors.

use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Arg, ArgGroup, ArgMatches, Command};

use super::{failed, option_args, options, style, write_stdout};
use crate::Group;
use crate::dump::{self, DumpLimits, Framing};

/// The subcommand's arguments.
pub(super) fn command() -> Command {
    Command::new("dump")
        .about("Decode bytes (raw, hex, or a pcap capture) with the types of a .x file")
        .long_about(
            "Decode bytes with the types of a .x file.\n\n\
             `--type NAME` decodes one value of that type; `--framing onc|libvirt` splits a \
             stream (or the TCP streams and, for ONC RPC, the UDP datagrams of a pcap/pcapng \
             capture) into RPC messages, matches \
             replies to calls and decodes each body as its procedure's type. Bad input is \
             decoded as far as it goes; the first error is shown with its byte offset and \
             the exit code is 1.",
        )
        .args(option_args(Group::Frontend))
        .arg(
            Arg::new("color")
                .long("color")
                .value_name("COLOR")
                .help("When to colour diagnostics")
                .value_parser(["auto", "always", "never"])
                .default_value("auto"),
        )
        .arg(
            Arg::new("type")
                .short('t')
                .long("type")
                .value_name("NAME")
                .help("Decode one value of this type (its name in the .x file)"),
        )
        .arg(
            Arg::new("framing")
                .long("framing")
                .value_name("FRAMING")
                .help("Decode RPC messages: ONC RPC record marking, or libvirt's packets")
                .value_parser(["onc", "libvirt"]),
        )
        .group(
            ArgGroup::new("what")
                .args(["type", "framing"])
                .required(true),
        )
        .arg(
            Arg::new("input_format")
                .long("input-format")
                .value_name("FORMAT")
                .help(
                    "How INPUT is written: `auto` is pcap/pcapng when it starts like one, else raw",
                )
                .value_parser(["auto", "raw", "hex", "pcap"])
                .default_value("auto"),
        )
        .arg(
            Arg::new("format")
                .long("format")
                .value_name("FORMAT")
                .help("Output: an indented tree, or JSON with offsets and XDR types")
                .value_parser(["text", "json"])
                .default_value("text"),
        )
        .arg(
            Arg::new("json")
                .long("json")
                .help("Same as `--format json`")
                .action(clap::ArgAction::SetTrue),
        )
        .arg(
            Arg::new("files")
                .value_name("FILE.x")
                .help("The .x file whose types decode the input")
                .required(true),
        )
        .arg(
            Arg::new("input")
                .value_name("INPUT")
                .help("The bytes to decode (`-`, the default, reads standard input)")
                .default_value("-"),
        )
}

/// Runs `xdrgen dump`.
pub(super) fn run(matches: &ArgMatches) -> ExitCode {
    let style = style(matches);
    let options = match options(matches, &[Group::Frontend]) {
        Ok(o) => o,
        Err(e) => return failed(None, &e, style),
    };
    let Some(file) = options.files().first().cloned() else {
        eprintln!("error: a .x file is needed");
        return ExitCode::from(2);
    };
    let input = matches
        .get_one::<String>("input")
        .map_or_else(|| PathBuf::from("-"), PathBuf::from);
    if file == Path::new("-") && input == Path::new("-") {
        eprintln!("error: the .x file and INPUT cannot both be standard input");
        return ExitCode::from(2);
    }
    let module = match super::checked_modules(&options, style) {
        Ok(mut modules) => modules.swap_remove(0),
        Err(code) => return code,
    };
    let module = &module;
    let bytes = match read_input(&input) {
        Ok(b) => b,
        Err(msg) => {
            eprintln!("error: {msg}");
            return ExitCode::from(1);
        }
    };
    let format = matches
        .get_one::<String>("input_format")
        .map(String::as_str);
    let pcap = match format {
        Some("pcap") => true,
        Some("auto") => dump::pcap::is_capture(&bytes),
        _ => false,
    };
    let bytes = if format == Some("hex") {
        let text = String::from_utf8_lossy(&bytes);
        match dump::parse_hex(&text) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("error: {}: hex input, {e}", input.display());
                return ExitCode::from(1);
            }
        }
    } else {
        bytes
    };
    let json = matches.get_flag("json")
        || matches.get_one::<String>("format").map(String::as_str) == Some("json");
    let limits = DumpLimits::default();
    let (rendered, error) = if let Some(name) = matches.get_one::<String>("type") {
        if pcap {
            eprintln!("error: a capture holds RPC messages: use --framing, not --type");
            return ExitCode::from(2);
        }
        let decoded = match dump::decode_named(module, name, &bytes, limits) {
            Ok(d) => d,
            Err(msg) => {
                eprintln!("error: {msg}");
                return ExitCode::from(2);
            }
        };
        let error = decoded.error.as_ref().map(ToString::to_string);
        let text = if json {
            match pretty(&dump::json::decoded(&decoded)) {
                Ok(text) => text,
                Err(code) => return code,
            }
        } else {
            dump::text::decoded(&decoded)
        };
        (text, error)
    } else {
        let framing = match matches.get_one::<String>("framing").map(String::as_str) {
            Some("libvirt") => Framing::Libvirt,
            _ => Framing::Onc,
        };
        let result = if pcap {
            dump::dump_capture(module, framing, &bytes, limits)
        } else {
            Ok(dump::dump_stream(module, framing, &bytes, limits))
        };
        let d = match result {
            Ok(d) => d,
            Err(e) => {
                eprintln!("error: {}: {e}", input.display());
                return ExitCode::from(1);
            }
        };
        let text = if json {
            match pretty(&dump::json::dump(&d)) {
                Ok(text) => text,
                Err(code) => return code,
            }
        } else {
            dump::text::dump(&d)
        };
        (text, d.first_error())
    };
    if let Err(e) = write_stdout(&rendered) {
        eprintln!("error: {e}");
        return ExitCode::from(1);
    }
    match error {
        Some(e) => {
            eprintln!("error: {}: {e}", input.display());
            ExitCode::from(1)
        }
        None => ExitCode::SUCCESS,
    }
}

fn pretty(value: &serde_json::Value) -> Result<String, ExitCode> {
    serde_json::to_string_pretty(value)
        .map(|text| text + "\n")
        .map_err(|e| {
            eprintln!("error: the output could not be written as JSON: {e}");
            ExitCode::from(1)
        })
}

fn read_input(path: &Path) -> Result<Vec<u8>, String> {
    if path == Path::new("-") {
        let mut bytes = Vec::new();
        io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|e| format!("cannot read standard input: {e}"))?;
        return Ok(bytes);
    }
    std::fs::read(path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))
}
