//! libvirt's procedure tables. libvirt declares no `program` blocks: each
//! protocol has constants `<P>_PROGRAM` and `<P>_PROTOCOL_VERSION`, an enum
//! `<p>_procedure` with members `<P>_PROC_<NAME>`, and structs found by
//! name: `<p>_<name>_args` (arguments), `<p>_<name>_ret` (results) and
//! `<p>_<name>_msg` (an event the daemon sends). This pass finds them, as
//! libvirt's own generators do for C.

use std::collections::HashMap;

#[cfg(feature = "json")]
use serde::Serialize;

use super::names::{field_name, variant_name};
use super::{Annotations, ConstValue, Module, Name, TypeId, TypeKind};

/// One libvirt protocol (`remote`, `qemu`, `admin`, `lxc`, `keepalive`).
#[derive(Clone, Debug)]
#[cfg_attr(feature = "json", derive(Serialize))]
pub struct LibvirtProgram {
    /// The prefix (`remote`); Rust: the module `remote_program`.
    pub name: Name,
    /// `<P>_PROGRAM`.
    pub program: u32,
    /// `<P>_PROTOCOL_VERSION`.
    pub version: u32,
    /// The `<p>_procedure` enum.
    pub procedures_enum: TypeId,
    /// Procedures in enum order.
    pub procedures: Vec<LibvirtProcedure>,
}

/// One member of a `<p>_procedure` enum with what the naming convention
/// ties to it.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "json", derive(Serialize))]
pub struct LibvirtProcedure {
    /// The member (`REMOTE_PROC_CONNECT_OPEN`); Rust: the method
    /// (`connect_open`).
    pub name: Name,
    /// The variant of generated event enums (`ConnectOpen`).
    pub variant: String,
    /// The procedure number.
    pub number: i32,
    /// Index of the member in the enum.
    pub member: usize,
    /// `<p>_<name>_args`.
    pub args: Option<TypeId>,
    /// `<p>_<name>_ret`.
    pub ret: Option<TypeId>,
    /// `<p>_<name>_msg`: the procedure is an event.
    pub event: Option<TypeId>,
    /// The member's `@` annotations (empty when it has none).
    pub annotations: Annotations,
}

/// Finds the libvirt programs of a module.
pub(crate) fn find(module: &Module) -> Vec<LibvirtProgram> {
    let structs: HashMap<&str, TypeId> = module
        .types
        .iter()
        .filter(|t| matches!(t.kind, TypeKind::Struct(_)))
        .map(|t| (t.name.xdr.as_str(), t.id))
        .collect();
    let constant = |name: &str| match module.const_by_name(name).map(|c| &c.value) {
        Some(ConstValue::Int(v)) => u32::try_from(*v).ok(),
        _ => None,
    };
    let mut out = Vec::new();
    for t in &module.types {
        if !matches!(t.origin, super::Origin::Local) {
            continue;
        }
        let TypeKind::Enum(e) = &t.kind else { continue };
        let Some(prefix) = t.name.xdr.strip_suffix("_procedure") else {
            continue;
        };
        let upper = prefix.to_ascii_uppercase();
        let (Some(program), Some(version)) = (
            constant(&format!("{upper}_PROGRAM")),
            constant(&format!("{upper}_PROTOCOL_VERSION")),
        ) else {
            continue;
        };
        let member_prefix = format!("{upper}_PROC_");
        let procedures = e
            .members
            .iter()
            .enumerate()
            .filter(|(_, m)| m.alias_of.is_none())
            .filter_map(|(i, m)| {
                let suffix = m.name.xdr.strip_prefix(&member_prefix)?;
                let stem = format!("{prefix}_{}", suffix.to_ascii_lowercase());
                let find = |kind: &str| structs.get(format!("{stem}_{kind}").as_str()).copied();
                Some(LibvirtProcedure {
                    name: Name {
                        xdr: m.name.xdr.clone(),
                        rust: field_name(suffix),
                        span: m.name.span,
                    },
                    variant: variant_name(suffix),
                    number: m.value,
                    member: i,
                    args: find("args"),
                    ret: find("ret"),
                    event: find("msg"),
                    annotations: m.annotations.clone().unwrap_or_default(),
                })
            })
            .collect();
        out.push(LibvirtProgram {
            name: Name {
                xdr: prefix.to_string(),
                rust: field_name(&format!("{prefix}_program")),
                span: t.name.span,
            },
            program,
            version,
            procedures_enum: t.id,
            procedures,
        });
    }
    out
}
