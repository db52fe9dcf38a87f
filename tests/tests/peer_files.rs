//! The `.x` files the build needs live in the repository, so that a clone
//! with nothing beside it builds. Each stands for something in `../shared`;
//! when that is beside the clone, these tests check the two still agree.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use xdrgen_build::ir::{Len, Module, Ty, TypeKind};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A repository copy equals its origin byte for byte.
fn same_bytes(test: &str, copy: &str, origin: &str) {
    let Some(origin_path) = xdrgen_testenv::shared_path(test, &workspace(), origin) else {
        return;
    };
    let ours = std::fs::read(workspace().join(copy)).unwrap();
    let theirs = std::fs::read(&origin_path).unwrap();
    assert!(
        ours == theirs,
        "{copy} differs from ../shared/{origin}: copy it again (`cp ../shared/{origin} {copy}`)"
    );
}

#[test]
fn peertest_x_is_the_c_peers() {
    same_bytes(
        "peer_files::peertest_x_is_the_c_peers",
        "fixtures/peers/peertest.x",
        "peers/c-rpcgen/peertest.x",
    );
}

#[test]
fn bench_x_is_the_perf_baselines() {
    same_bytes(
        "peer_files::bench_x_is_the_perf_baselines",
        "bench/bench.x",
        "perf/bench.x",
    );
}

/// A type's wire form, with named types by their XDR names, so two
/// modules can be compared.
fn wire(m: &Module, ty: &Ty) -> String {
    let len = |l: &Len| match l {
        Len::Fixed(n) => format!("[{n}]"),
        Len::Variable(Some(n)) => format!("<{n}>"),
        Len::Variable(None) => "<>".into(),
    };
    match ty {
        Ty::Prim(p) => format!("{p:?}"),
        Ty::Opaque(l) => format!("opaque{}", len(l)),
        Ty::String(max) => format!("string<{}>", max.map_or(String::new(), |n| n.to_string())),
        Ty::Array { elem, len: l } => format!("{}{}", wire(m, elem), len(l)),
        Ty::Optional(t) | Ty::Boxed(t) => format!("*{}", wire(m, t)),
        Ty::Named(id) => m.ty(*id).name.xdr.clone(),
    }
}

fn definition(m: &Module, name: &str) -> String {
    let t = m
        .type_by_name(name)
        .unwrap_or_else(|| panic!("{name} is not defined"));
    match &t.kind {
        TypeKind::Alias { ty } => format!("typedef {}", wire(m, ty)),
        TypeKind::Enum(e) => e
            .members
            .iter()
            .map(|mem| format!("{}={}", mem.name.xdr, mem.value))
            .collect::<Vec<_>>()
            .join(","),
        TypeKind::Struct(s) => s
            .fields
            .iter()
            .map(|f| format!("{} {}", wire(m, &f.ty), f.name.xdr))
            .collect::<Vec<_>>()
            .join("; "),
        other => format!("{other:?}"),
    }
}

/// Every procedure: number, priority, stream positions and its structs.
fn procedures(m: &Module) -> BTreeMap<String, String> {
    let p = &m.libvirt_programs[0];
    let name = |id: Option<xdrgen_build::ir::TypeId>| id.map(|id| m.ty(id).name.xdr.clone());
    p.procedures
        .iter()
        .map(|proc| {
            let a = &proc.annotations;
            (
                proc.name.xdr.clone(),
                format!(
                    "{} prio={:?} read={:?} write={:?} args={:?} ret={:?} event={:?}",
                    proc.number,
                    a.priority,
                    a.readstream,
                    a.writestream,
                    name(proc.args),
                    name(proc.ret),
                    name(proc.event),
                ),
            )
        })
        .collect()
}

/// `examples/libvirt-daemon/remote_subset.x` is written from libvirt's
/// interface; every constant, type and procedure in it must be libvirt's.
#[test]
fn the_daemons_remote_subset_is_libvirts_protocol() {
    let test = "peer_files::the_daemons_remote_subset_is_libvirts_protocol";
    let Some(full_path) =
        xdrgen_testenv::shared_path(test, &workspace(), "corpus/libvirt/remote_protocol.x")
    else {
        return;
    };
    let subset = xdrgen_build::check(
        workspace().join("examples/libvirt-daemon/remote_subset.x"),
        &xdrgen_build::Options::new(),
    )
    .unwrap()
    .module;
    // The constants libvirt's C build takes from its headers, as the README
    // tells users to pass them.
    let words = xdrgen_build::argument_file::read(workspace().join("examples/libvirt.args"));
    let options = xdrgen_build::Options::from_args(words.unwrap()).unwrap();
    let full = xdrgen_build::check(&full_path, &options).unwrap().module;

    for c in &subset.consts {
        let theirs = full
            .const_by_name(&c.name.xdr)
            .unwrap_or_else(|| panic!("libvirt has no constant {}", c.name.xdr));
        assert_eq!(c.value, theirs.value, "constant {}", c.name.xdr);
    }
    let mut compared = 0;
    for t in subset
        .types
        .iter()
        .filter(|t| matches!(t.origin, xdrgen_build::ir::Origin::Local))
    {
        if t.name.xdr == "remote_procedure" {
            continue; // a subset of the members, compared below
        }
        assert_eq!(
            definition(&subset, &t.name.xdr),
            definition(&full, &t.name.xdr),
            "{} differs from libvirt's",
            t.name.xdr
        );
        compared += 1;
    }
    let ours = procedures(&subset);
    let theirs = procedures(&full);
    for (name, shape) in &ours {
        assert_eq!(
            Some(shape),
            theirs.get(name),
            "procedure {name} differs from libvirt's"
        );
    }
    assert!(
        compared >= 45 && ours.len() >= 30,
        "compared {compared} types, {} procedures",
        ours.len()
    );
}
