//! Snapshots: the IR of every valid fixture, and what a user sees for
//! every invalid one. One snapshot per fixture.

use std::collections::BTreeSet;

use xdrgen_build::{Code, Error, diagnostics::Style};

use crate::{display_path, fixture_options};

fn settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_omit_expression(true);
    s.set_prepend_module_to_snapshot(false);
    s
}

#[test]
fn ir_of_valid_fixtures() {
    settings().bind(|| {
        insta::glob!("../../../fixtures/x", "*.x", |path| {
            let options = fixture_options(path);
            let checked = match xdrgen_build::check(display_path(path), &options) {
                Ok(c) => c,
                Err(e) => panic!("{} should be valid:\n{e}", path.display()),
            };
            let mut text = xdrgen_build::ir::dump(&checked.module);
            let warnings = checked.warnings.render(Style::Plain);
            if !warnings.is_empty() {
                text.push_str("\n--- warnings ---\n");
                text.push_str(&warnings);
            }
            insta::assert_snapshot!(text);
        });
    });
}

#[test]
fn diagnostics_of_invalid_fixtures() {
    settings().bind(|| {
        insta::glob!("../../../fixtures/errors", "*.x", |path| {
            let options = fixture_options(path);
            let rendered = match xdrgen_build::check(display_path(path), &options) {
                Ok(c) => c.warnings.render(Style::Plain),
                Err(Error::Source(d)) => d.render(Style::Plain),
                Err(e) => e.to_string(),
            };
            let code = path
                .file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .split('-')
                .next()
                .unwrap()
                .to_string();
            assert!(
                rendered.contains(&format!("[{code}]")),
                "{} does not produce {code}:\n{rendered}",
                path.display()
            );
            insta::assert_snapshot!(rendered);
        });
    });
}

#[test]
fn every_code_has_a_fixture() {
    let dir = crate::workspace().join("fixtures/errors");
    let covered: BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| {
            e.unwrap()
                .file_name()
                .to_string_lossy()
                .split('-')
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    let missing: Vec<&str> = Code::ALL
        .iter()
        .map(|c| c.as_str())
        .filter(|c| !covered.contains(*c))
        .collect();
    assert!(
        missing.is_empty(),
        "codes without a fixture in fixtures/errors: {missing:?}"
    );
}

#[test]
fn warnings_alone_do_not_fail() {
    for entry in std::fs::read_dir(crate::workspace().join("fixtures/errors")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let result = xdrgen_build::check(&path, &fixture_options(&path));
        assert_eq!(name.starts_with('W'), result.is_ok(), "{name}");
    }
}
