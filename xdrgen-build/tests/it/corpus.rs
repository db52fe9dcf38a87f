//! Every real `.x` file in `../shared/corpus` passes `check` with only the
//! arguments `xdrgen-args.txt` lists for it, or fails with a diagnostic at
//! its real defect.

use std::path::Path;

use xdrgen_build::{Error, Options};

/// Files with a real defect: (file, code, line, text in the message).
const KNOWN_DEFECTS: &[(&str, &str, usize, &str)] = &[
    // The procedure's argument type is never defined (rpcgen does not check;
    // the C compiler fails later). RFC 1813 calls it FSINFO3args.
    ("nfsv3/nfs3.x", "E0101", 810, "FSINFO3args"),
];

#[test]
fn corpus_files_check_or_fail_at_their_defect() {
    let Some(dir) = xdrgen_testenv::shared_path(
        "corpus_files_check_or_fail_at_their_defect",
        &crate::workspace(),
        "corpus",
    ) else {
        return;
    };
    let args_file = std::fs::read_to_string(dir.join("xdrgen-args.txt")).unwrap();
    let args_for = |rel: &str| {
        args_file
            .lines()
            .filter(|l| !l.starts_with('#'))
            .find_map(|l| {
                l.split_once('\t')
                    .filter(|(f, _)| *f == rel)
                    .map(|(_, a)| a.to_string())
            })
            .unwrap_or_default()
    };
    let mut files = Vec::new();
    for family in std::fs::read_dir(&dir).unwrap() {
        let family = family.unwrap().path();
        if !family.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&family).unwrap() {
            let f = f.unwrap().path();
            if f.extension().is_some_and(|e| e == "x") {
                files.push(f);
            }
        }
    }
    files.sort();
    assert!(files.len() >= 37, "corpus shrank: {} files", files.len());

    let mut failures = Vec::new();
    let mut passed = 0;
    for path in &files {
        let rel = path
            .strip_prefix(&dir)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let mut options = Options::from_args(args_for(&rel).split_whitespace()).unwrap();
        options.resolve_paths(&dir);
        let expected = KNOWN_DEFECTS.iter().find(|d| d.0 == rel);
        match (xdrgen_build::check(path, &options), expected) {
            (Ok(_), None) => passed += 1,
            (Ok(_), Some(d)) => failures.push(format!(
                "{rel}: expected {} at line {}, but it passed",
                d.1, d.2
            )),
            (Err(Error::Source(diags)), Some(&(_, code, line, text))) => {
                let errors: Vec<_> = diags.iter().filter(|d| d.is_error()).collect();
                let at_defect = errors.len() == 1 && {
                    let d = errors[0];
                    let span = d.primary_span().unwrap();
                    let file = diags.sources().file(span.file);
                    d.code.as_str() == code
                        && file.line_col(span.start).0 == line
                        && d.message.contains(text)
                        && Path::new(file.name()) == path
                };
                if at_defect {
                    passed += 1;
                } else {
                    failures.push(format!(
                        "{rel}: expected only {code} at line {line}, got:\n{diags}"
                    ));
                }
            }
            (Err(e), _) => failures.push(format!("{rel}:\n{e}")),
        }
    }
    eprintln!("corpus: {passed}/{} files as expected", files.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// libvirt's procedure tables, found from the `.x` files alone: every
/// `_args`, `_ret` and `_msg` struct of a protocol belongs to exactly one
/// procedure, as libvirt's own generators require.
#[test]
fn libvirt_procedure_tables_claim_every_args_ret_and_msg_struct() {
    let Some(dir) = xdrgen_testenv::shared_path(
        "libvirt_procedure_tables_claim_every_args_ret_and_msg_struct",
        &crate::workspace(),
        "corpus/libvirt",
    ) else {
        return;
    };
    let args_file = std::fs::read_to_string(dir.join("../xdrgen-args.txt")).unwrap();
    let expect = [
        ("remote_protocol.x", "remote", 0x2000_8086, 400),
        ("qemu_protocol.x", "qemu", 0x2000_8087, 3),
        ("admin_protocol.x", "admin", 0x0690_0690, 10),
        ("virkeepaliveprotocol.x", "keepalive", 0x6b65_6570, 2),
    ];
    for (file, prefix, program, at_least) in expect {
        let rel = format!("libvirt/{file}");
        let args = args_file
            .lines()
            .find_map(|l| {
                l.strip_prefix(rel.as_str())
                    .and_then(|a| a.strip_prefix('\t'))
            })
            .unwrap_or_default();
        let mut options = Options::from_args(args.split_whitespace()).unwrap();
        options.resolve_paths(&dir.join(".."));
        let checked = xdrgen_build::check(dir.join(file), &options).unwrap();
        let m = &checked.module;
        let [p] = m.libvirt_programs.as_slice() else {
            panic!("{file}: {} libvirt programs", m.libvirt_programs.len())
        };
        assert_eq!(
            (p.name.xdr.as_str(), p.program, p.version),
            (prefix, program, 1)
        );
        assert!(
            p.procedures.len() >= at_least,
            "{file}: {}",
            p.procedures.len()
        );
        let mut claimed = std::collections::HashMap::new();
        for proc in &p.procedures {
            for id in [proc.args, proc.ret, proc.event].into_iter().flatten() {
                let name = &m.ty(id).name.xdr;
                assert!(
                    claimed
                        .insert(name.clone(), proc.name.xdr.clone())
                        .is_none(),
                    "{name} twice"
                );
            }
            // Events have a `_msg` struct and nothing else.
            assert!(proc.event.is_none() || (proc.args.is_none() && proc.ret.is_none()));
        }
        let unclaimed: Vec<_> = m
            .types
            .iter()
            .filter(|t| matches!(t.origin, xdrgen_build::ir::Origin::Local))
            .map(|t| &t.name.xdr)
            .filter(|n| n.starts_with(prefix))
            .filter(|n| ["_args", "_ret", "_msg"].iter().any(|s| n.ends_with(s)))
            .filter(|n| !claimed.contains_key(*n))
            .collect();
        assert!(
            unclaimed.is_empty(),
            "{file}: structs no procedure claims: {unclaimed:?}"
        );
    }
}
