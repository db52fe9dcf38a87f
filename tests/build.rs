//! Generates Rust for every fixture and every corpus file the front end
//! accepts, into OUT_DIR, plus a table of every generated type for the
//! round-trip tests. The crate then compiles all of it under
//! `#![deny(warnings)]`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use xdrgen_build::ir::{Origin, TypeKind};

struct Input {
    module: String,
    path: PathBuf,
    options: xdrgen_build::Options,
    /// The path relative to the corpus, for corpus files.
    corpus_rel: Option<String>,
}

fn module_name(rel: &str) -> String {
    rel.trim_end_matches(".x")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// `-D`, `-I` and `--import` arguments as the corpus lists them.
fn options_from_args(args: &str, base: &Path) -> xdrgen_build::Options {
    let mut o = xdrgen_build::Options::new();
    let mut words = args.split_whitespace();
    while let (Some(flag), Some(value)) = (words.next(), words.next()) {
        match flag {
            "-D" => match value.split_once('=') {
                Some((n, v)) => o.define(n, Some(v)),
                None => o.define(value, None),
            },
            "-I" => o.include_dir(base.join(value)),
            "--import" => {
                let (file, path) = value
                    .split_once('=')
                    .map_or((value, None), |(f, p)| (f, Some(p)));
                let rust = path.map_or_else(
                    || format!("crate::corpus_{}", module_name(file)),
                    str::to_string,
                );
                o.import(base.join(file), Some(&rust))
            }
            "--extern-type" => {
                let (n, p) = value.split_once('=').expect("NAME=PATH");
                o.extern_type(n, p)
            }
            other => panic!("unknown argument {other}"),
        };
    }
    o
}

/// Generates `input` once more with `configure`d options into the module
/// `<prefix><module>`, imports pointing at the same variant's modules.
fn emit(
    out: &Path,
    mods: &mut String,
    input: &Input,
    prefix: &str,
    configure: impl FnOnce(&mut xdrgen_build::Options),
) -> Option<xdrgen_build::Generated> {
    let mut options = input.options.clone();
    configure(&mut options);
    for import in &mut options.imports {
        if let Some(path) = &mut import.rust_path {
            *path = path.replace("crate::", &format!("crate::{prefix}"));
        }
    }
    let generated = xdrgen_build::generate(&input.path, &options).ok()?;
    let module = format!("{prefix}{}", input.module);
    generated
        .write_to(out.join(format!("{module}.rs")))
        .unwrap();
    let _ = writeln!(
        mods,
        "#[allow(missing_docs)]\npub mod {module} {{\n    include!(concat!(env!(\"OUT_DIR\"), \"/{module}.rs\"));\n}}"
    );
    Some(generated)
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf();
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    let mut inputs = Vec::new();

    let fixtures = root.join("fixtures/x");
    println!("cargo::rerun-if-changed={}", fixtures.display());
    let mut names: Vec<_> = std::fs::read_dir(&fixtures)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "x"))
        .collect();
    names.sort();
    for path in names {
        let text = std::fs::read_to_string(&path).unwrap();
        let args = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("/* xdrgen:"))
            .and_then(|l| l.strip_suffix("*/"))
            .unwrap_or("");
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        let mut options = options_from_args(args, path.parent().unwrap());
        // Fixtures' imports are generated too, as `fixture_<stem>` modules.
        for import in &mut options.imports {
            let stem = import
                .path
                .file_stem()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            import.rust_path = Some(format!("crate::fixture_{stem}"));
        }
        if args.contains("--extern-type") {
            // The external type is provided by src/lib.rs.
            options.extern_types = vec![("external_thing".into(), "crate::support::Thing".into())];
        }
        inputs.push(Input {
            module: format!("fixture_{stem}"),
            path,
            options,
            corpus_rel: None,
        });
    }
    inputs.push(Input {
        module: "fixture_shared_types".into(),
        path: fixtures.join("include/shared_types.x"),
        options: xdrgen_build::Options::new(),
        corpus_rel: None,
    });

    let corpus = root.join("../shared/corpus");
    // `cfg(corpus)`: the corpus modules exist (tests that use them need it).
    println!("cargo::rustc-check-cfg=cfg(corpus)");
    if corpus.is_dir() {
        println!("cargo::rustc-cfg=corpus");
        println!("cargo::rerun-if-changed={}", corpus.display());
        let args_file = std::fs::read_to_string(corpus.join("xdrgen-args.txt")).unwrap();
        let mut files = Vec::new();
        for family in std::fs::read_dir(&corpus).unwrap() {
            let family = family.unwrap().path();
            if family.is_dir() {
                for f in std::fs::read_dir(&family).unwrap() {
                    let f = f.unwrap().path();
                    if f.extension().is_some_and(|e| e == "x") {
                        files.push(f);
                    }
                }
            }
        }
        files.sort();
        for path in files {
            let rel = path
                .strip_prefix(&corpus)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            let args = args_file
                .lines()
                .find_map(|l| {
                    l.split_once('\t')
                        .filter(|(f, _)| *f == rel)
                        .map(|(_, a)| a)
                })
                .unwrap_or("");
            inputs.push(Input {
                module: format!("corpus_{}", module_name(&rel)),
                path,
                options: options_from_args(args, &corpus),
                corpus_rel: Some(rel),
            });
        }
    } else {
        xdrgen_testenv::skip_in_build_script(
            "xdrgen-tests",
            "no ../shared/corpus beside the clone",
            "only fixtures are compiled, and the corpus tests skip",
        );
    }

    let mut mods = String::new();
    let mut table = String::from(
        "/// A property check on one random value.\npub type Check = fn(u64) -> Result<(), String>;\n\n/// Every generated struct, enum and union: (name, round-trip check).\npub static TYPES: &[(&str, Check)] = &[\n",
    );
    let mut interop = String::from(
        "/// Every generated struct, enum and union of the corpus, for differential tests.\npub static TYPES: &[InteropType] = &[\n",
    );
    let mut serde_table = String::from(
        "/// Owned types generated with `--serde`, for JSON round trips.\npub static SERDE: &[(&str, Check)] = &[\n",
    );
    let mut zero_copy = String::from(
        "/// Owned encoding vs zero-copy decoding and re-encoding, for every type.\n#[allow(elided_lifetimes_in_paths)]\npub static ZERO_COPY: &[(&str, Check)] = &[\n",
    );
    let mut skipped = Vec::new();
    for mut input in inputs {
        // The same input again with borrowed opaques and strings.
        if let Some(generated) = emit(&out, &mut mods, &input, "zc_", |o| {
            o.zero_copy(true);
        }) {
            for t in &generated.checked.module.types {
                let codec = matches!(t.kind, TypeKind::Struct(_) | TypeKind::Union(_));
                if codec && matches!(t.origin, Origin::Local | Origin::Builtin) {
                    let _ = writeln!(
                        zero_copy,
                        "    (\"{m}::{x}\", |seed| crate::roundtrip::zero_copy(seed, crate::roundtrip::random_encoded::<crate::{m}::{r}>, |b| crate::roundtrip::borrowed_reencode::<crate::zc_{m}::{r}>(b))),",
                        m = input.module,
                        x = t.name.xdr,
                        r = t.name.rust
                    );
                }
            }
        }
        // Fixtures again with serde and arbitrary derives.
        let serde = if input.corpus_rel.is_none() {
            emit(&out, &mut mods, &input, "serde_", |o| {
                o.serde(true).arbitrary(true).random(true);
            })
        } else {
            None
        };
        for t in serde.iter().flat_map(|g| &g.checked.module.types) {
            let codec = matches!(t.kind, TypeKind::Struct(_) | TypeKind::Union(_))
                || matches!(&t.kind, TypeKind::Enum(e) if !e.members.is_empty());
            if codec && matches!(t.origin, Origin::Local | Origin::Builtin) {
                let _ = writeln!(
                    serde_table,
                    "    (\"serde_{m}::{}\", crate::roundtrip::json::<crate::serde_{m}::{}>),",
                    t.name.xdr,
                    t.name.rust,
                    m = input.module
                );
            }
        }
        input.options.random(true);
        let generated = match xdrgen_build::generate(&input.path, &input.options) {
            Ok(g) => g,
            Err(e) => {
                // Files the front end rejects (a real defect) are not generated.
                skipped.push(format!(
                    "{}: {}",
                    input.path.display(),
                    e.to_string().lines().next().unwrap_or("")
                ));
                continue;
            }
        };
        let file = out.join(format!("{}.rs", input.module));
        generated.write_to(&file).unwrap();
        let _ = writeln!(
            mods,
            "#[allow(missing_docs)]\npub mod {m} {{\n    include!(concat!(env!(\"OUT_DIR\"), \"/{m}.rs\"));\n}}",
            m = input.module
        );
        for t in &generated.checked.module.types {
            let emitted = matches!(t.origin, Origin::Local | Origin::Builtin);
            let codec = matches!(t.kind, TypeKind::Struct(_) | TypeKind::Union(_))
                || matches!(&t.kind, TypeKind::Enum(e) if !e.members.is_empty());
            if emitted && codec {
                let _ = writeln!(
                    table,
                    "    (\"{}::{}\", crate::roundtrip::check::<crate::{}::{}>),",
                    input.module, t.name.xdr, input.module, t.name.rust
                );
                if let Some(rel) = &input.corpus_rel {
                    if matches!(t.origin, Origin::Local) {
                        let path = format!("crate::{}::{}", input.module, t.name.rust);
                        let _ = writeln!(
                            interop,
                            "    InteropType {{ file: {rel:?}, xdr_name: {:?}, random_encoded: random_encoded::<{path}>, reencode: reencode::<{path}> }},",
                            t.name.xdr
                        );
                    }
                }
            }
        }
    }
    table.push_str("];\n");
    zero_copy.push_str("];\n");
    table.push_str(&zero_copy);
    serde_table.push_str("];\n");
    table.push_str(&serde_table);
    interop.push_str("];\n");
    std::fs::write(out.join("interop.rs"), interop).unwrap();
    for s in &skipped {
        println!("cargo::warning=not generated (front end rejects it): {s}");
    }
    std::fs::write(out.join("mods.rs"), mods).unwrap();
    std::fs::write(out.join("types.rs"), table).unwrap();
}
