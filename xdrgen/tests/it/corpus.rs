//! Every real `.x` file in `../shared/corpus` passes `check` with only the
//! arguments `xdrgen-args.txt` lists for it, or fails with a diagnostic at
//! its real defect.

use std::path::Path;

use xdrgen::Error;

use crate::options_from_args;

/// Files with a real defect: (file, code, line, text in the message).
const KNOWN_DEFECTS: &[(&str, &str, usize, &str)] = &[
    // The procedure's argument type is never defined (rpcgen does not check;
    // the C compiler fails later). RFC 1813 calls it FSINFO3args.
    ("nfsv3/nfs3.x", "E0101", 810, "FSINFO3args"),
];

#[test]
fn corpus_files_check_or_fail_at_their_defect() {
    let dir = crate::workspace().join("../shared/corpus");
    if !dir.is_dir() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have the corpus at {}",
            dir.display()
        );
        eprintln!(
            "\n!!! SKIPPED: no corpus at {} (clone beside ../shared to run this)\n",
            dir.display()
        );
        return;
    }
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
        let options = options_from_args(&args_for(&rel), &dir);
        let expected = KNOWN_DEFECTS.iter().find(|d| d.0 == rel);
        match (xdrgen::check(path, &options), expected) {
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
