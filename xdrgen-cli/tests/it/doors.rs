//! The three front doors from a crate outside the workspace: a build script
//! (`xdrgen_build::compile`), the proc-macro (`#[xdr_program]`) and the CLI
//! (`xdrgen FILE -o OUT.rs`), each on the same real protocol file, in one new
//! crate with path dependencies. It must compile, and the three must agree
//! byte for byte.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A real protocol file: the corpus's NFS MOUNT v1 when it is there, else the
/// portmapper shipped in `protocols/`.
fn protocol() -> (PathBuf, &'static str) {
    let mount = crate::workspace().join("../shared/corpus/rpcsvc/mount.x");
    if mount.is_file() {
        (mount.canonicalize().unwrap(), "mount")
    } else {
        (
            crate::workspace().join("protocols/xdr/portmap.x"),
            "portmap",
        )
    }
}

fn write(dir: &Path, rel: &str, text: &str) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[test]
fn a_new_crate_uses_all_three_doors() {
    let ws = crate::workspace().canonicalize().unwrap();
    let (x, stem) = protocol();
    let dir = std::env::temp_dir().join(format!("xdrgen-doors-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    write(
        &dir,
        "Cargo.toml",
        &format!(
            r#"[package]
name = "outside"
version = "0.0.0"
edition = "2021"
publish = false

[workspace]

[dependencies]
xdrgen-runtime = {{ path = "{ws}/runtime" }}
xdrgen-macros = {{ path = "{ws}/xdrgen-macros" }}

[build-dependencies]
xdrgen-build = {{ path = "{ws}/xdrgen-build" }}
"#,
            ws = ws.display()
        ),
    );
    let x_str = x.display().to_string();
    write(
        &dir,
        "build.rs",
        &format!(
            "fn main() -> Result<(), xdrgen_build::Error> {{\n    xdrgen_build::compile({x_str:?})\n}}\n"
        ),
    );
    // The CLI door: generated before the build, checked in like a user would.
    let cli = Command::new(env!("CARGO_BIN_EXE_xdrgen"))
        .arg(&x)
        .arg("-o")
        .arg(dir.join("src/from_cli.rs"))
        .output()
        .unwrap();
    assert!(
        cli.status.success(),
        "{}",
        String::from_utf8_lossy(&cli.stderr)
    );
    // The same value through the three modules; for `mount.x` an export
    // list (a linked list with a nested list), else a port mapping.
    let body = if stem == "mount" {
        r#"
        m::Exportnode {
            ex_dir: XdrString::from("/srv"),
            ex_groups: Some(Box::new(m::Groupnode { gr_name: XdrString::from("staff"), gr_next: None })),
            ex_next: None,
        }"#
    } else {
        "m::Mapping { prog: 100_003, vers: 3, prot: m::IPPROTO_TCP, port: 2049 }"
    };
    write(
        &dir,
        "src/main.rs",
        &format!(
            r#"use xdrgen_runtime::{{XdrDecode, XdrEncode, XdrString}};

#[allow(dead_code, missing_docs)]
mod from_build {{ include!(concat!(env!("OUT_DIR"), "/{stem}.rs")); }}
#[allow(dead_code, missing_docs)]
mod from_cli {{ include!("from_cli.rs"); }}
#[allow(dead_code, missing_docs)]
#[xdrgen_macros::xdr_program(file = {x_str:?})]
mod from_macro {{}}

macro_rules! encode {{
    ($m:ident) => {{{{
        use $m as m;
        let _ = XdrString::new();
        let v = {body};
        let bytes = v.to_xdr().unwrap();
        assert!(m::{root}::from_xdr(&bytes).unwrap() == v);
        bytes
    }}}};
}}

fn main() {{
    let a = encode!(from_build);
    let b = encode!(from_cli);
    let c = encode!(from_macro);
    assert_eq!(a, b);
    assert_eq!(b, c);
    println!("three doors agree on {{}} bytes", a.len());
}}
"#,
            root = if stem == "mount" {
                "Exportnode"
            } else {
                "Mapping"
            },
        ),
    );
    let out = Command::new(env!("CARGO"))
        .args(["run", "--offline", "--quiet"])
        .current_dir(&dir)
        .env("CARGO_TARGET_DIR", dir.join("target"))
        .env_remove("RUSTFLAGS")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("three doors agree"),
        "the outside crate failed:\n{}\n{}",
        stdout,
        String::from_utf8_lossy(&out.stderr)
    );
    // The build script's side pulls in no command-line or JSON crates.
    let tree = Command::new(env!("CARGO"))
        .args([
            "tree",
            "--offline",
            "--prefix",
            "none",
            "-e",
            "normal,build",
        ])
        .current_dir(&dir)
        .output()
        .unwrap();
    let tree = String::from_utf8_lossy(&tree.stdout);
    assert!(tree.contains("xdrgen-build"), "{tree}");
    for unwanted in ["clap", "serde_json"] {
        assert!(
            !tree.lines().any(|l| l.starts_with(&format!("{unwanted} "))),
            "a build script depending on xdrgen-build gets {unwanted}:\n{tree}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
