//! The `xdrgen check` contract: exit codes, streams and the JSON view.

use std::process::{Command, Output};

fn xdrgen(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xdrgen"))
        .args(args)
        .current_dir(crate::workspace())
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn valid_file_exits_zero_silently() {
    let o = xdrgen(&["check", "fixtures/x/program.x"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    assert!(o.stderr.is_empty());
}

#[test]
fn errors_exit_one_with_diagnostics_on_stderr() {
    let o = xdrgen(&[
        "check",
        "fixtures/x/program.x",
        "fixtures/errors/E0101-undefined-type.x",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains(
            "fixtures/errors/E0101-undefined-type.x:4:5: error[E0101]: undefined type `fattr4`"
        ),
        "{err}"
    );
    assert!(err.contains("did you mean `fattr3`?"), "{err}");
    assert!(err.contains("3 errors found"), "{err}");
}

#[test]
fn warnings_exit_zero() {
    let o = xdrgen(&["check", "fixtures/errors/W0001-pragma-ignored.x"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stderr(&o).contains("warning[W0001]"));
}

#[test]
fn usage_errors_exit_two() {
    assert_eq!(xdrgen(&["check"]).status.code(), Some(2));
    assert_eq!(
        xdrgen(&["check", "--no-such-flag", "x.x"]).status.code(),
        Some(2)
    );
    assert_eq!(
        xdrgen(&["check", "-D", "1BAD=2", "fixtures/x/basic.x"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        xdrgen(&["check", "--extern-type", "nopath", "fixtures/x/basic.x"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn missing_file_is_an_error_not_a_crash() {
    let o = xdrgen(&["check", "no/such/file.x"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("cannot read `no/such/file.x`"));
}

#[test]
fn defines_imports_and_include_dirs_from_flags() {
    let o = xdrgen(&[
        "check",
        "-D",
        "VIR_UUID_BUFLEN=16",
        "-D",
        "FLAG",
        "--extern-type",
        "external_thing=::my::Thing",
        "fixtures/x/defines.x",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = xdrgen(&["check", "fixtures/x/defines.x"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("`-D VIR_UUID_BUFLEN=VALUE`"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn json_prints_the_resolved_ir() {
    let o = xdrgen(&["check", "--format", "json", "fixtures/x/recursion.x"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["xdrgen_ir_version"], 1);
    let ir = &v["modules"][0]["ir"];
    let entry = ir["types"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"]["xdr"] == "entry")
        .unwrap();
    assert_eq!(entry["name"]["rust"], "Entry");
    assert_eq!(entry["kind"]["kind"], "struct");
    let next = &entry["kind"]["fields"][2];
    assert_eq!(next["name"]["xdr"], "nextentry");
    assert!(
        next["ty"]["optional"]["boxed"]["named"].is_number(),
        "{next}"
    );
}

#[test]
fn help_is_stable() {
    let o = xdrgen(&["check", "--help"]);
    assert_eq!(o.status.code(), Some(0));
    insta::assert_snapshot!("check_help", String::from_utf8_lossy(&o.stdout));
}

#[test]
fn generate_help_is_stable() {
    let o = xdrgen(&["--help"]);
    assert_eq!(o.status.code(), Some(0));
    insta::assert_snapshot!("generate_help", String::from_utf8_lossy(&o.stdout));
}

#[test]
fn several_files_need_out_dir() {
    let o = xdrgen(&["fixtures/x/basic.x", "fixtures/x/program.x"]);
    assert_eq!(o.status.code(), Some(2));
    let dir = std::env::temp_dir().join(format!("xdrgen-outdir-{}", std::process::id()));
    let o = xdrgen(&[
        "--out-dir",
        dir.to_str().unwrap(),
        "fixtures/x/basic.x",
        "fixtures/x/program.x",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(dir.join("basic.rs").is_file() && dir.join("program.rs").is_file());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn emit_selects_parts() {
    let only_programs = xdrgen(&["--emit", "programs", "fixtures/x/program.x"]);
    let text = String::from_utf8_lossy(&only_programs.stdout);
    assert!(
        text.contains("pub mod calc_prog") && !text.contains("pub struct Args"),
        "{text}"
    );
    let only_types = xdrgen(&["--emit", "types", "fixtures/x/program.x"]);
    let text = String::from_utf8_lossy(&only_types.stdout);
    assert!(
        !text.contains("pub mod calc_prog") && text.contains("pub struct Args"),
        "{text}"
    );
    assert_eq!(
        xdrgen(&["--emit", "nonsense", "fixtures/x/program.x"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn cli_writes_the_file_or_stdout() {
    let exe = env!("CARGO_BIN_EXE_xdrgen");
    let dir = std::env::temp_dir().join(format!("xdrgen-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("portmap.rs");
    let status = Command::new(exe)
        .current_dir(crate::workspace())
        .args(["protocols/xdr/portmap.x", "-o"])
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    let written = std::fs::read_to_string(&out).unwrap();
    let stdout = Command::new(exe)
        .current_dir(crate::workspace())
        .args(["protocols/xdr/portmap.x", "-o", "-"])
        .output()
        .unwrap();
    assert_eq!(written.as_bytes(), stdout.stdout);
    assert!(written.contains("pub struct Mapping"));
    let bad = Command::new(exe)
        .current_dir(crate::workspace())
        .args(["fixtures/errors/E0101-undefined-type.x", "-o", "-"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    assert!(bad.stdout.is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs the command with `stdin` as its standard input.
fn xdrgen_with_stdin(args: &[&str], stdin: &[u8]) -> Output {
    use std::io::Write as _;
    let mut child = Command::new(env!("CARGO_BIN_EXE_xdrgen"))
        .args(args)
        .current_dir(crate::workspace())
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn write_failures_exit_non_zero() {
    let full = std::fs::File::create("/dev/full").unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_xdrgen"))
        .arg("fixtures/x/basic.x")
        .current_dir(crate::workspace())
        .stdout(full)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("No space left on device"),
        "{}",
        stderr(&o)
    );
    let o = xdrgen(&["fixtures/x/basic.x", "-o", "/dev/full"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("cannot write `/dev/full`"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn options_that_would_make_invalid_rust_are_usage_errors() {
    for (args, message) in [
        (
            &["--runtime-path", "not a path!"][..],
            "`--runtime-path not a path!`: not a Rust path",
        ),
        (
            &["--type-attribute", "nfs_fh3=derive(Hash)"],
            "`--type-attribute nfs_fh3=derive(Hash)`: `derive(Hash)` is not one or more attributes",
        ),
        (
            &["--type-attribute", "#[derive(Ord)]"],
            "`--type-attribute #[derive(Ord)]`: expected NAME=ATTR",
        ),
        (
            &["--derive", "Hash"],
            "`--derive Hash`: generated types already derive `Hash`",
        ),
        (
            &["--derive", "::core::marker::Copy"],
            "`--derive ::core::marker::Copy`: every generated enum already derives `Copy`; add it to structs one by one with `--type-attribute NAME=#[derive(Copy)]`",
        ),
        (
            &["--serde", "--derive", "serde::Serialize"],
            "`--serde` derives serde's traits, with the checks generated types need",
        ),
        (
            &["--derive", "serde::Deserialize"],
            "`--derive serde::Deserialize`: `--serde` derives serde's traits, with the checks generated types need",
        ),
        (
            &["--derive", "arbitrary::Arbitrary"],
            "`--arbitrary` derives `Arbitrary`, with the checks generated types need",
        ),
        (
            &["--extern-type", "thing=not a type"],
            "`--extern-type thing=not a type`: `not a type` is not a Rust type path",
        ),
        (
            &["--zero-copy", "--emit", "client"],
            "`--emit client` with `--zero-copy`: zero-copy output has no client or server stubs",
        ),
    ] {
        let mut all = args.to_vec();
        all.push("fixtures/x/program.x");
        let o = xdrgen(&all);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(o.stdout.is_empty(), "{args:?}");
        assert!(stderr(&o).contains(message), "{args:?}: {}", stderr(&o));
    }
    // The same options are fine where they make valid Rust.
    let o = xdrgen(&[
        "--runtime-path",
        "::xdrgen_runtime",
        "--type-attribute",
        "args=#[derive(PartialOrd, Ord)] #[doc(alias = \"arguments\")]",
        "--derive",
        "crate::MyTrait",
        "--emit",
        "types",
        "--zero-copy",
        "fixtures/x/program.x",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("PartialOrd, Ord"), "{text}");
}

#[test]
fn unknown_types_in_options_are_warnings() {
    let o = xdrgen(&[
        "--type-attribute",
        "agrs=#[derive(PartialOrd)]",
        "--extern-type",
        "nowhere=crate::Nowhere",
        "fixtures/x/program.x",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("warning[W0006]: `--type-attribute agrs=#[derive(PartialOrd)]` names `agrs`"),
        "{err}"
    );
    assert!(
        err.contains("warning[W0006]: `--extern-type nowhere=crate::Nowhere` names `nowhere`"),
        "{err}"
    );
    assert!(!o.stdout.is_empty());
}

#[test]
fn a_dash_reads_standard_input() {
    let text = std::fs::read(crate::workspace().join("protocols/xdr/portmap.x")).unwrap();
    let from_stdin = xdrgen_with_stdin(&["-"], &text);
    assert_eq!(from_stdin.status.code(), Some(0), "{}", stderr(&from_stdin));
    let from_file = xdrgen(&["protocols/xdr/portmap.x"]);
    let strip_header = |out: &[u8]| {
        String::from_utf8_lossy(out)
            .split_once('\n')
            .unwrap()
            .1
            .to_string()
    };
    assert_eq!(
        strip_header(&from_stdin.stdout),
        strip_header(&from_file.stdout)
    );
    assert!(String::from_utf8_lossy(&from_stdin.stdout).contains("from <stdin>"));
    let bad =
        std::fs::read(crate::workspace().join("fixtures/errors/E0101-undefined-type.x")).unwrap();
    let o = xdrgen_with_stdin(&["check", "-"], &bad);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("<stdin>:4:5: error[E0101]") && err.contains("<stdin>: 3 errors found"),
        "{err}"
    );
}

/// libvirt's remote_protocol.x needs eleven `-D` flags (the list the
/// corpus's xdrgen-args.txt gives); an argument file holds them.
#[test]
fn at_file_reads_arguments_from_a_file() {
    let Some(corpus) = xdrgen_testenv::shared_path(
        "cli::at_file_reads_arguments_from_a_file",
        &crate::workspace(),
        "corpus",
    ) else {
        return;
    };
    let list = std::fs::read_to_string(corpus.join("xdrgen-args.txt")).unwrap();
    let args = list
        .lines()
        .find_map(|l| l.strip_prefix("libvirt/remote_protocol.x\t"))
        .unwrap();
    let dir = std::env::temp_dir().join(format!("xdrgen-argfile-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("libvirt.args");
    let mut text = String::from("# libvirt's public header constants\n");
    for define in args.split(" -D ") {
        text.push_str("-D ");
        text.push_str(define.trim_start_matches("-D "));
        text.push('\n');
    }
    text.push_str(
        "--type-attribute 'remote_nonnull_domain=#[derive(PartialOrd, Ord)]'  # quoted: a space\n",
    );
    std::fs::write(&file, text).unwrap();
    assert_eq!(args.matches("-D ").count(), 11, "{args}");
    let at = format!("@{}", file.display());
    let o = xdrgen(&[&at, "../shared/corpus/libvirt/remote_protocol.x"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("PartialOrd, Ord"),
        "the quoted attribute arrived whole"
    );
    let without = xdrgen(&["check", "../shared/corpus/libvirt/remote_protocol.x"]);
    assert_eq!(without.status.code(), Some(1), "the defines are needed");
    let missing = xdrgen(&["@no/such/args", "fixtures/x/basic.x"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("cannot read argument file `no/such/args`"));
    let _ = std::fs::remove_dir_all(&dir);
}
