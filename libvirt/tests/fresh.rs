//! The checked-in bindings (`src/generated/`) are what the current xdrgen
//! generates from libvirt's `.x` files in `../shared/corpus/libvirt/`.
//! The corpus is never copied into the repository, so without it this test
//! is skipped loudly (and fails under `XDRGEN_REQUIRE_PEERS=1`).
//! `XDRGEN_BLESS=1 cargo test -p xdrgen-libvirt --test fresh` rewrites them.

use std::path::Path;

use xdrgen_libvirt::HEADER_CONSTANTS;

/// Each module: its `.x` file in the corpus and whether it uses the types
/// of `remote_protocol.x` (generated as `crate::remote`).
const PROTOCOLS: &[(&str, &str, bool)] = &[
    ("remote", "remote_protocol.x", false),
    ("qemu", "qemu_protocol.x", true),
    ("lxc", "lxc_protocol.x", true),
    ("admin", "admin_protocol.x", false),
    ("keepalive", "virkeepaliveprotocol.x", false),
];

#[test]
fn checked_in_bindings_match_a_fresh_generation() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let Some(corpus) =
        xdrgen_testenv::shared_path("xdrgen-libvirt fresh", &root.join(".."), "corpus/libvirt")
    else {
        return;
    };
    let bless = std::env::var_os("XDRGEN_BLESS").is_some();
    let mut stale = Vec::new();
    for (module, file, imports_remote) in PROTOCOLS {
        let mut options = xdrgen_build::Options::default();
        for (name, value, _) in HEADER_CONSTANTS {
            options.define(*name, Some(&value.to_string()));
        }
        if *imports_remote {
            options.import(corpus.join("remote_protocol.x"), Some("crate::remote"));
        }
        let input = corpus.join(file);
        let fresh = xdrgen_build::generate(&input, &options)
            .unwrap_or_else(|e| panic!("{}: {e}", input.display()))
            .to_source();
        let path = root.join("src/generated").join(format!("{module}.rs"));
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        if current != fresh {
            if bless {
                std::fs::write(&path, &fresh).unwrap();
            } else {
                stale.push(path.display().to_string());
            }
        }
    }
    assert!(
        stale.is_empty(),
        "stale generated bindings (rerun with XDRGEN_BLESS=1): {stale:?}"
    );
}

/// The constants the crate passes as `-D` are the ones the corpus's own
/// argument list gives libvirt's files, so the two cannot drift apart.
#[test]
fn header_constants_match_the_corpus_arguments() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let Some(args) = xdrgen_testenv::shared_path(
        "xdrgen-libvirt header constants",
        &root.join(".."),
        "corpus/xdrgen-args.txt",
    ) else {
        return;
    };
    let text = std::fs::read_to_string(&args).unwrap();
    let line = text
        .lines()
        .find(|line| line.starts_with("libvirt/remote_protocol.x\t"))
        .expect("xdrgen-args.txt has a line for libvirt/remote_protocol.x");
    let words: Vec<&str> = line.split_whitespace().skip(1).collect();
    let mut given = Vec::new();
    for pair in words.chunks(2) {
        if pair[0] == "-D" {
            given.push(pair[1].to_string());
        }
    }
    let ours: Vec<String> = HEADER_CONSTANTS
        .iter()
        .map(|(name, value, _)| format!("{name}={value}"))
        .collect();
    assert_eq!(ours, given);
}
