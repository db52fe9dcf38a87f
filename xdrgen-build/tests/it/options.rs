//! The options table: every door agrees, the docs list every option, and
//! errors name options the way the user spelled them.

use xdrgen_build::{Error, Options, Part};

/// Builder -> flags -> Builder gives the same options and the same code,
/// for every fixture, with every option set: no option exists in one door
/// and not the other. (The macro's keys have the same test in
/// xdrgen-macros.)
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
            .derive("crate::support::MyDerive")
            .type_attribute("*", "#[allow(dead_code)]")
            .random(true)
            .no_comments(true)
            .serde(true)
            .arbitrary(true)
            .out_dir("generated")
            .file(crate::display_path(&path));
        let args = options.to_args();
        let back = Options::from_args(args.clone()).unwrap();
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
            .emit(Part::Programs);
        assert_eq!(Options::from_args(zero_copy.to_args()).unwrap(), zero_copy);
        checked += 1;
    }
    assert!(checked >= 10, "{checked} fixtures");
}

/// docs/options.md lists every option under each name it has.
#[test]
fn docs_list_every_option() {
    let docs = std::fs::read_to_string(crate::workspace().join("docs/options.md")).unwrap();
    let mut missing = Vec::new();
    for spec in Options::specs() {
        let mut names = vec![format!(".{}(", spec.builder)];
        names.extend(spec.short.map(|c| format!("`-{c} ")));
        names.extend(spec.long.map(|l| format!("--{l}")));
        names.extend(spec.key.map(|k| format!("`{k}")));
        missing.extend(
            names
                .into_iter()
                .filter(|n| !docs.contains(n.as_str()))
                .map(|n| format!("{}: {n}", spec.name)),
        );
    }
    assert!(missing.is_empty(), "docs/options.md lacks {missing:?}");
}

#[test]
fn flag_errors_name_the_flag() {
    let error = |args: &[&str]| match Options::from_args(args.iter().copied()) {
        Ok(o) => panic!("{args:?} parsed: {o:?}"),
        Err(e) => e.to_string(),
    };
    assert_eq!(
        error(&["--extern-type", "nopath"]),
        "invalid option: `--extern-type nopath`: expected NAME=RUST_PATH"
    );
    assert_eq!(
        error(&["--emit", "everything"]),
        "invalid option: `--emit everything`: expected types|programs|client|server"
    );
    assert_eq!(
        error(&["-D"]),
        "invalid option: `-D` needs a value: NAME[=VALUE]"
    );
    assert_eq!(
        error(&["--colour"]),
        "invalid option: unknown option `--colour`"
    );
    assert_eq!(
        error(&["--zero-copy=yes"]),
        "invalid option: `--zero-copy` takes no value"
    );
    let attached =
        Options::from_args(["-DN=4", "--import=a.x=crate::a", "-Iinc", "--", "-x.x"]).unwrap();
    let mut expected = Options::new();
    expected
        .define("N", Some("4"))
        .import("a.x", Some("crate::a"))
        .include_dir("inc")
        .file("-x.x");
    assert_eq!(attached, expected);
}

/// Hints and option errors name options as the build-script API spells
/// them when the options came from a builder.
#[test]
fn build_scripts_see_builder_methods() {
    let path = crate::workspace().join("fixtures/x/defines.x");
    let Err(Error::Source(d)) = xdrgen_build::check(&path, &Options::new()) else {
        panic!("defines.x needs its defines");
    };
    let text = d.to_string();
    assert!(
        text.contains("define it: `.define(\"VIR_UUID_BUFLEN\", Some(\"VALUE\"))`"),
        "{text}"
    );
    assert!(
        text.contains("`.extern_type(\"external_thing\", \"RUST_PATH\")`"),
        "{text}"
    );
    let mut options = Options::new();
    options.runtime_path("not a path!");
    let e = xdrgen_build::check(&path, &options).unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid option: `.runtime_path(\"not a path!\")`: not a Rust path"
    );
}

/// `fn main() -> Result<(), xdrgen_build::Error>` prints `Debug`: it must be
/// the diagnostics a user reads, not the source map behind them.
#[test]
fn error_debug_is_what_display_prints() {
    let path = crate::workspace().join("fixtures/errors/E0101-undefined-type.x");
    let e = xdrgen_build::check(&path, &Options::new()).unwrap_err();
    let debug = format!("{e:?}");
    assert_eq!(debug, e.to_string());
    assert!(
        debug.contains("error[E0101]: undefined type `fattr4`"),
        "{debug}"
    );
    assert!(
        !debug.contains("PRELUDE") && !debug.contains("netobj"),
        "{debug}"
    );
}

/// Generated modules name the runtime `xdr` and, in version modules, the
/// file's types `types`: a user's path starting with a crate of either
/// name is written from the root, so it reaches the crate, not the alias.
#[test]
fn user_paths_named_like_an_alias_reach_the_crate() {
    let dir = std::env::temp_dir().join(format!("xdrgen-alias-paths-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("alias.x");
    std::fs::write(
        &path,
        "struct holder { thing t; other o; };\n\
         program P { version V { holder GET(thing) = 1; } = 1; } = 0x20000001;\n",
    )
    .unwrap();
    let mut options = Options::new();
    options
        .extern_type("thing", "xdr::Thing")
        .extern_type("other", "types::Other");
    let source = xdrgen_build::generate(&path, &options).unwrap().to_source();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(source.contains("pub t: ::xdr::Thing,"), "{source}");
    assert!(source.contains("pub o: ::types::Other,"), "{source}");
    assert!(!source.contains(" xdr::Thing"), "{source}");
    assert!(!source.contains(" types::Other"), "{source}");
}
