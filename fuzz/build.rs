//! Generates what the `generated_decoders` target decodes: libvirt's REMOTE
//! protocol (types only) into OUT_DIR, and one table of every struct, union
//! and enum of it and of NFSv3 (`xdrgen-protocols`), listed from the IR so
//! nothing is kept by hand.
//!
//! The REMOTE protocol is libvirt's own `../shared/corpus/libvirt/remote_protocol.x`
//! when it is beside the clone, otherwise the example daemon's
//! `remote_subset.x` (said loudly; a failure under `XDRGEN_REQUIRE_PEERS=1`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use xdrgen_build::ir::{Module, Origin, TypeKind};
use xdrgen_build::{Options, Part};

/// FNV-1a (32 bits) of a type's qualified name: the selector an input
/// starts with. A hash rather than an index keeps seeds valid when the
/// protocol files gain types.
fn selector(name: &str) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in name.bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash
}

/// Appends `(selector, "module::xdr_name", decoder)` for every type of
/// `module` that has a codec of its own (aliases are expanded in place by
/// the code that uses them).
fn table_entries(
    module: &Module,
    prefix: &str,
    rust_module: &str,
    entries: &mut Vec<(u32, String)>,
) {
    for t in &module.types {
        let emitted = matches!(t.origin, Origin::Local | Origin::Builtin);
        let codec = matches!(t.kind, TypeKind::Struct(_) | TypeKind::Union(_))
            || matches!(&t.kind, TypeKind::Enum(e) if !e.members.is_empty());
        if emitted && codec {
            let name = format!("{prefix}::{}", t.name.xdr);
            let line = format!(
                "    Entry {{ selector: {:#010x}, name: {name:?}, check: crate::decode_reencode::<{rust_module}::{}> }},",
                selector(&name),
                t.name.rust
            );
            entries.push((selector(&name), line));
        }
    }
}

fn main() {
    let fuzz = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = fuzz.parent().unwrap();
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());

    // NFSv3: the checked-in bindings of xdrgen-protocols, listed from the
    // same .x file with the options its freshness test uses.
    let nfs3 = root.join("protocols/xdr/nfs3.x");
    println!("cargo::rerun-if-changed={}", nfs3.display());
    let nfs3 = xdrgen_build::check(&nfs3, &Options::default()).unwrap_or_else(|e| panic!("{e}"));

    let shared = root.join("../shared/corpus/libvirt/remote_protocol.x");
    let remote = if shared.is_file() {
        shared
    } else {
        xdrgen_testenv::skip_in_build_script(
            "xdrgen-fuzz",
            "no ../shared/corpus/libvirt/remote_protocol.x beside the clone",
            "generated_decoders covers examples/libvirt-daemon/remote_subset.x instead",
        );
        root.join("examples/libvirt-daemon/remote_subset.x")
    };
    let args_file = root.join("examples/libvirt.args");
    println!("cargo::rerun-if-changed={}", remote.display());
    println!("cargo::rerun-if-changed={}", args_file.display());
    let args = xdrgen_build::argument_file::read(&args_file).unwrap_or_else(|e| panic!("{e}"));
    let mut options = Options::from_args(args).unwrap_or_else(|e| panic!("{e}"));
    options.emit(Part::Types);
    let generated = xdrgen_build::generate(&remote, &options).unwrap_or_else(|e| panic!("{e}"));
    generated.write_to(out.join("remote.rs")).unwrap();

    let mut entries = Vec::new();
    table_entries(
        &nfs3.module,
        "nfs3",
        "::xdrgen_protocols::nfs3",
        &mut entries,
    );
    table_entries(
        &generated.checked.module,
        "remote",
        "crate::remote",
        &mut entries,
    );
    // Sorted by selector for the binary search; a duplicate selector would
    // make one type unreachable.
    entries.sort();
    for pair in entries.windows(2) {
        assert_ne!(
            pair[0].0, pair[1].0,
            "selector collision: {} / {}",
            pair[0].1, pair[1].1
        );
    }
    let mut table = String::from(
        "/// Every type the target decodes, sorted by selector.\npub static TYPES: &[Entry] = &[\n",
    );
    for (_, line) in &entries {
        let _ = writeln!(table, "{line}");
    }
    table.push_str("];\n");
    write_if_changed(&out.join("types.rs"), &table);
}

fn write_if_changed(path: &Path, text: &str) {
    if std::fs::read_to_string(path).ok().as_deref() != Some(text) {
        std::fs::write(path, text).unwrap();
    }
}
