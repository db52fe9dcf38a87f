//! `xdrgen diff`: the report, its exit codes and JSON, and a run over real
//! libvirt history (Debian 12's libvirt 9.0.0 against ../shared's 11.3.0).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn xdrgen(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xdrgen"))
        .args(args)
        .current_dir(crate::workspace())
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const V1: &str = "fixtures/diff/store-v1.x";
const V2: &str = "fixtures/diff/store-v2.x";

#[test]
fn breaking_change_exits_three_with_a_line_per_change() {
    let o = xdrgen(&["diff", V1, V2]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o.stderr));
    assert_eq!(
        text(&o.stdout),
        "\
compatible procedure STORE_PROG.STORE_V1.STORE_DELETE: procedure 3 added
BREAKING   type store_get_res (case STORE_OK): bound loosened: <1024> → <4096> [old clients: breaking, old servers: compatible; data in results]
compatible type store_key: type renamed to store_name (the same wire shape)
compatible type store_put_args (key): field renamed to name
BREAKING   type store_put_args (value): bound loosened: <1024> → <4096> [old clients: compatible, old servers: breaking; data in arguments]
5 changes: 2 breaking (1 for old clients, 1 for old servers), 3 compatible
"
    );
    assert!(o.stderr.is_empty(), "{}", text(&o.stderr));
}

#[test]
fn compatible_changes_exit_zero() {
    let o = xdrgen(&["diff", V1, V1]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(
        text(&o.stdout),
        "0 changes: 0 breaking (0 for old clients, 0 for old servers), 0 compatible\n"
    );
    // Reversed, the procedure is removed: old clients calling it break.
    let o = xdrgen(&["diff", V2, V1]);
    assert_eq!(o.status.code(), Some(3));
    assert!(
        text(&o.stdout).contains("BREAKING   procedure STORE_PROG.STORE_V1.STORE_DELETE: procedure 3 removed [old clients: breaking, old servers: compatible; data in arguments]"),
        "{}",
        text(&o.stdout)
    );
}

#[test]
fn json_lists_each_change_with_its_verdicts() {
    let o = xdrgen(&["diff", "--format", "json", V1, V2]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["xdrgen_diff_version"], 1);
    assert_eq!(v["breaking"], true);
    let changes = v["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 5);
    let get = &changes[1];
    assert_eq!(get["subject"], "type");
    assert_eq!(get["name"], "store_get_res");
    assert_eq!(get["path"], "case STORE_OK");
    assert_eq!(get["kind"], "bound_changed");
    assert_eq!(get["flow"], "results");
    assert_eq!(get["old_clients"], "breaking");
    assert_eq!(get["old_servers"], "compatible");
}

#[test]
fn bad_input_and_usage() {
    assert_eq!(xdrgen(&["diff", V1]).status.code(), Some(2));
    assert_eq!(xdrgen(&["diff", V1, V2, V2]).status.code(), Some(2));
    let o = xdrgen(&["diff", V1, "fixtures/errors/E0101-undefined-type.x"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("error[E0101]"),
        "{}",
        text(&o.stderr)
    );
    let o = xdrgen(&["diff", V1, "no/such/file.x"]);
    assert_eq!(o.status.code(), Some(1));
}

/// Debian 12's libvirt source (its `.orig` tarball) and its SHA-256 as
/// Debian's `libvirt_9.0.0-4+deb12u2.dsc` gives it.
const LIBVIRT_9_URL: &str =
    "https://deb.debian.org/debian/pool/main/libv/libvirt/libvirt_9.0.0.orig.tar.xz";
const LIBVIRT_9_SHA256: &str = "deca5cff1b7baac297bca9663907c61f71a47183371dc7ac019c107806d5435a";
const LIBVIRT_9_MEMBER: &str = "libvirt-9.0.0/src/remote/remote_protocol.x";

/// libvirt 9.0.0's `remote_protocol.x`, downloaded once into the target
/// directory; `None` (after a loud skip) when it cannot be had.
fn libvirt_9_remote_protocol(test: &str) -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("libvirt-history");
    let extracted = dir.join(LIBVIRT_9_MEMBER);
    if extracted.exists() {
        return Some(extracted);
    }
    for (tool, args) in [
        ("curl", &["--version"][..]),
        ("tar", &["--version"][..]),
        ("xz", &["--version"][..]),
        ("sha256sum", &["--version"][..]),
    ] {
        if !xdrgen_testenv::has_tool(tool, args) {
            xdrgen_testenv::skip(test, &format!("`{tool}` is not installed"));
            return None;
        }
    }
    std::fs::create_dir_all(&dir).unwrap();
    let tarball = dir.join("libvirt_9.0.0.orig.tar.xz");
    let fetched = Command::new("curl")
        .args(["-sSfL", "--max-time", "300", "-o"])
        .arg(&tarball)
        .arg(LIBVIRT_9_URL)
        .output()
        .unwrap();
    if !fetched.status.success() {
        xdrgen_testenv::skip(
            test,
            &format!(
                "{LIBVIRT_9_URL} is unreachable: {}",
                text(&fetched.stderr).trim()
            ),
        );
        return None;
    }
    let sum = Command::new("sha256sum").arg(&tarball).output().unwrap();
    let sum = text(&sum.stdout);
    assert!(
        sum.starts_with(LIBVIRT_9_SHA256),
        "{} is not Debian's libvirt 9.0.0 source: sha256 {sum}",
        tarball.display()
    );
    let untar = Command::new("tar")
        .arg("-xJf")
        .arg(&tarball)
        .arg("-C")
        .arg(&dir)
        .arg(LIBVIRT_9_MEMBER)
        .output()
        .unwrap();
    assert!(untar.status.success(), "{}", text(&untar.stderr));
    Some(extracted)
}

/// `REMOTE_PROC_<NAME> = <N>` members as the file writes them, read with
/// plain text matching (independent of xdrgen's parser).
fn procedure_members(path: &Path) -> BTreeMap<String, i64> {
    let source = std::fs::read_to_string(path).unwrap();
    source
        .lines()
        .filter_map(|line| {
            let (name, value) = line.trim().split_once('=')?;
            let name = name.trim();
            let value = value.trim().trim_end_matches(',').trim();
            if !name.starts_with("REMOTE_PROC_") || name.contains(' ') {
                return None;
            }
            Some((name.to_string(), value.parse().ok()?))
        })
        .collect()
}

#[test]
fn libvirt_9_to_11_only_adds() {
    let test = "diff::libvirt_9_to_11_only_adds";
    let root = crate::workspace();
    let Some(new) = xdrgen_testenv::shared_path(test, &root, "corpus/libvirt/remote_protocol.x")
    else {
        return;
    };
    let Some(old) = libvirt_9_remote_protocol(test) else {
        return;
    };
    let (old_s, new_s) = (old.to_str().unwrap(), new.to_str().unwrap());
    let o = xdrgen(&[
        "diff",
        "--format",
        "json",
        "@examples/libvirt.args",
        old_s,
        new_s,
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}\n{}",
        text(&o.stderr),
        text(&o.stdout)
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let changes = v["changes"].as_array().unwrap();
    for c in changes {
        assert_eq!(c["kind"], "added", "not an addition: {c}");
        assert_eq!(c["old_clients"], "compatible", "{c}");
        assert_eq!(c["old_servers"], "compatible", "{c}");
    }
    // The procedures added are exactly the members the newer file has and
    // the older one lacks, with the same numbers.
    let (before, after) = (procedure_members(&old), procedure_members(&new));
    let expected: Vec<String> = after
        .iter()
        .filter(|(name, _)| !before.contains_key(*name))
        .map(|(name, n)| format!("remote.{name}: procedure {n} added"))
        .collect();
    assert!(!expected.is_empty());
    let mut reported: Vec<String> = changes
        .iter()
        .filter(|c| c["subject"] == "procedure")
        .map(|c| {
            format!(
                "{}: {}",
                c["name"].as_str().unwrap(),
                c["detail"].as_str().unwrap()
            )
        })
        .collect();
    reported.sort();
    let mut expected = expected;
    expected.sort();
    assert_eq!(reported, expected);
    // Every member the older file has keeps its number.
    for (name, n) in &before {
        assert_eq!(after.get(name), Some(n), "{name}");
    }
    // Each added type is one of the added procedures' messages.
    for c in changes.iter().filter(|c| c["subject"] == "type") {
        let ty = c["name"].as_str().unwrap();
        let stem = ty
            .strip_suffix("_args")
            .or_else(|| ty.strip_suffix("_ret"))
            .or_else(|| ty.strip_suffix("_msg"))
            .unwrap_or(ty);
        let member = stem
            .replacen("remote_", "REMOTE_PROC_", 1)
            .to_ascii_uppercase();
        assert!(
            after.contains_key(&member) && !before.contains_key(&member),
            "type {ty} is not a new procedure's"
        );
    }
    // Backwards, the same changes are removals: breaking for old clients
    // (they call the procedures), never for old servers.
    let o = xdrgen(&[
        "diff",
        "--format",
        "json",
        "@examples/libvirt.args",
        new_s,
        old_s,
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o.stderr));
    let back: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let back = back["changes"].as_array().unwrap();
    assert_eq!(back.len(), changes.len());
    for c in back {
        assert_eq!(c["kind"], "removed", "{c}");
        assert_eq!(c["old_servers"], "compatible", "{c}");
        let expected = if c["subject"] == "procedure" {
            "breaking"
        } else {
            "compatible"
        };
        assert_eq!(c["old_clients"], expected, "{c}");
    }
    eprintln!(
        "libvirt 9.0.0 → 11.3.0: {} procedures added, {} types added, {} changes in all",
        reported.len(),
        changes.iter().filter(|c| c["subject"] == "type").count(),
        changes.len()
    );
}
