//! Generates Rust for every fixture and every corpus file the front end
//! accepts, into OUT_DIR, plus a table of every generated type for the
//! round-trip tests. The crate then compiles all of it under
//! `#![deny(warnings)]`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use xdrgen_build::ir::{Origin, TypeKind};

#[path = "build/interop.rs"]
mod interop;

struct Input {
    module: String,
    path: PathBuf,
    /// Its command-line arguments, every `--import` with the Rust path of
    /// its generated module (`crate::fixture_x`).
    args: Vec<String>,
    /// What relative paths in `args` are relative to.
    base: PathBuf,
    /// The key of the file in the interop tables (the path relative to
    /// the corpus, or `protocols/xdr/<name>.x`); `None` for fixtures.
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

/// Argument words as the fixtures and the corpus list them, each
/// `--import` and `--extern-type` value rewritten by `rewrite(flag, value)`.
fn rewrite_args<S: AsRef<str>>(args: &[S], rewrite: impl Fn(&str, &str) -> String) -> Vec<String> {
    let mut words: Vec<String> = args.iter().map(|w| w.as_ref().to_string()).collect();
    for i in 1..words.len() {
        if matches!(words[i - 1].as_str(), "--import" | "--extern-type") {
            words[i] = rewrite(&words[i - 1], &words[i]);
        }
    }
    words
}

impl Input {
    /// The input's options, imports pointing at the modules of the variant
    /// `prefix`.
    fn options(&self, prefix: &str) -> xdrgen_build::Options {
        let args = rewrite_args(&self.args, |flag, value| {
            if flag == "--import" {
                value.replace("=crate::", &format!("=crate::{prefix}"))
            } else {
                value.to_string()
            }
        });
        let mut options = xdrgen_build::Options::from_args(args).unwrap();
        options.resolve_paths(&self.base);
        options
    }
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
    let mut options = input.options(prefix);
    configure(&mut options);
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
        let args = xdrgen_testenv::fixture_args(&text);
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        // Fixtures' imports are generated too, as `fixture_<stem>` modules;
        // the external type is provided by src/lib.rs.
        let args = rewrite_args(&args, |flag, value| {
            let (name, _) = value.split_once('=').unwrap_or((value, ""));
            if flag == "--import" {
                let stem = Path::new(name).file_stem().unwrap().to_string_lossy();
                format!("{name}=crate::fixture_{stem}")
            } else {
                format!("{name}=crate::support::Thing")
            }
        });
        inputs.push(Input {
            module: format!("fixture_{stem}"),
            base: path.parent().unwrap().to_path_buf(),
            path,
            args,
            corpus_rel: None,
        });
    }
    inputs.push(Input {
        module: "fixture_shared_types".into(),
        path: fixtures.join("include/shared_types.x"),
        args: Vec::new(),
        base: fixtures.clone(),
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
            // nfs3.x names an undefined `FSINFO3args` (its struct is
            // `FSINFOargs`); the front end rejects it, rpcgen does not
            // look. A copy with the missing typedef gets tested instead.
            let path = if rel == "nfsv3/nfs3.x" {
                complete_nfs3(&path, &out)
            } else {
                path
            };
            inputs.push(Input {
                module: format!("corpus_{}", module_name(&rel)),
                path,
                // Corpus imports are generated as `corpus_<module>`.
                args: rewrite_args(
                    &args.split_whitespace().collect::<Vec<_>>(),
                    |flag, value| {
                        if flag == "--import" && !value.contains('=') {
                            format!("{value}=crate::corpus_{}", module_name(value))
                        } else {
                            value.to_string()
                        }
                    },
                ),
                base: corpus.clone(),
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

    // The protocols crate's .x files: they have no codec test of their own.
    let protocols = root.join("protocols/xdr");
    println!("cargo::rerun-if-changed={}", protocols.display());
    let mut protocol_files: Vec<PathBuf> = std::fs::read_dir(&protocols)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "x"))
        .collect();
    protocol_files.sort();
    for path in protocol_files {
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        inputs.push(Input {
            module: format!("protocols_{}", module_name(&stem)),
            base: protocols.clone(),
            corpus_rel: Some(format!("protocols/xdr/{stem}.x")),
            path,
            args: Vec::new(),
        });
    }

    let mut mods = String::new();
    let mut table = String::from(
        "/// A property check on one random value.\npub type Check = fn(u64) -> Result<(), String>;\n\n/// Every generated struct, enum and union: (name, round-trip check).\npub static TYPES: &[(&str, Check)] = &[\n",
    );
    let mut interop = String::from(
        "/// Every generated struct, enum and union of the corpus and of `protocols/xdr/`, for differential tests.\npub static TYPES: &[InteropType] = &[\n",
    );
    let mut interop_files = String::from(
        "/// Every file of [`TYPES`], with its constants and C printers.\n#[allow(clippy::cast_lossless)]\npub static FILES: &[InteropFile] = &[\n",
    );
    let mut interop_printers = String::new();
    let mut serde_table = String::from(
        "/// Owned types generated with `--serde`, for JSON round trips.\npub static SERDE: &[(&str, Check)] = &[\n",
    );
    let mut zero_copy = String::from(
        "/// Owned encoding vs zero-copy decoding and re-encoding, for every type.\n#[allow(elided_lifetimes_in_paths)]\npub static ZERO_COPY: &[(&str, Check)] = &[\n",
    );
    let mut skipped = Vec::new();
    for input in inputs {
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
        let mut options = input.options("");
        options.random(true);
        let generated = match xdrgen_build::generate(&input.path, &options) {
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
            }
        }
        if let Some(rel) = &input.corpus_rel {
            let entries = interop::interop_entries(
                &generated.checked.module,
                &input.module,
                rel,
                &input.path.to_string_lossy(),
            );
            interop.push_str(&entries.types);
            interop_files.push_str(&entries.file);
            interop_printers.push_str(&entries.printers);
        }
    }
    table.push_str("];\n");
    zero_copy.push_str("];\n");
    table.push_str(&zero_copy);
    serde_table.push_str("];\n");
    table.push_str(&serde_table);
    interop.push_str("];\n");
    interop_files.push_str("];\n");
    interop.push_str(&interop_files);
    interop.push_str(&interop_printers);
    std::fs::write(out.join("interop.rs"), interop).unwrap();
    for s in &skipped {
        println!("cargo::warning=not generated (front end rejects it): {s}");
    }
    std::fs::write(out.join("mods.rs"), mods).unwrap();
    std::fs::write(out.join("types.rs"), table).unwrap();
}

/// A copy of nfs3.x (in `out`) with `typedef FSINFOargs FSINFO3args;`
/// right after `FSINFOargs`, the name its FSINFO procedure uses.
fn complete_nfs3(path: &Path, out: &Path) -> PathBuf {
    let text = std::fs::read_to_string(path).unwrap();
    let start = text
        .find("struct FSINFOargs {")
        .expect("nfs3.x defines FSINFOargs");
    let end = start + text[start..].find("};").expect("the struct ends") + 2;
    let completed = format!(
        "{}\ntypedef FSINFOargs FSINFO3args;{}",
        &text[..end],
        &text[end..]
    );
    let copy = out.join("nfs3-completed.x");
    std::fs::write(&copy, completed).unwrap();
    copy
}
