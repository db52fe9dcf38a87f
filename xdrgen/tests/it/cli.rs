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
