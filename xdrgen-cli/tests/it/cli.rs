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

/// Builder -> flags -> Builder gives the same options and the same code,
/// for every fixture, with every option set: no option exists in one door
/// and not the other.
#[test]
fn builder_flags_builder_round_trip() {
    let dir = crate::workspace().join("fixtures/x");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "x") {
            continue;
        }
        let mut options = crate::fixture_options(&path);
        options
            .include_dir(dir.join("include"))
            .runtime_path("::xdrgen_runtime")
            .derive("::core::marker::Copy")
            .type_attribute("*", "#[allow(dead_code)]")
            .random(true)
            .no_comments(true)
            .serde(true)
            .arbitrary(true)
            .out_dir("generated")
            .file(crate::display_path(&path));
        let args = options.to_args();
        let back = xdrgen_build::cli::options_from_args(args.clone()).unwrap();
        assert_eq!(back, options, "{args:?}");
        let a = xdrgen_build::generate(crate::display_path(&path), &options)
            .unwrap()
            .to_source();
        let b = xdrgen_build::generate(crate::display_path(&path), &back)
            .unwrap()
            .to_source();
        assert_eq!(a, b, "{}", path.display());
        let mut zero_copy = back;
        zero_copy
            .zero_copy(true)
            .serde(false)
            .arbitrary(false)
            .emit(xdrgen_build::Part::Programs);
        assert_eq!(
            xdrgen_build::cli::options_from_args(zero_copy.to_args()).unwrap(),
            zero_copy
        );
        checked += 1;
    }
    assert!(checked >= 10, "{checked} fixtures");
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
