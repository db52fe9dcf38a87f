//! A compact, stable text form of the IR, for snapshots and debugging.
//! Each XDR name is followed by its Rust name when they differ.

use std::fmt::Write as _;

use super::{ConstValue, DiscriminantKind, Module, Origin, Ty, TypeKind};

/// Renders the module as text, one definition per line group.
pub fn dump(m: &Module) -> String {
    let mut out = String::new();
    for c in &m.consts {
        let value = match &c.value {
            ConstValue::Int(v) => v.to_string(),
            ConstValue::Str(s) => format!("{s:?}"),
        };
        let _ = writeln!(
            out,
            "const {} = {value} ({:?})",
            named(&c.name.xdr, &c.name.rust),
            c.kind
        );
    }
    for t in &m.types {
        let origin = match &t.origin {
            Origin::Local => String::new(),
            Origin::Builtin => " [builtin]".to_string(),
            Origin::Imported {
                file, rust_path, ..
            } => format!(
                " [imported from {file}{}]",
                rust_path
                    .as_ref()
                    .map(|p| format!(" as {p}"))
                    .unwrap_or_default()
            ),
            Origin::Extern { rust_path, .. } => format!(" [extern {rust_path}]"),
        };
        let name = named(&t.name.xdr, &t.name.rust);
        match &t.kind {
            TypeKind::Alias { ty } => {
                let _ = writeln!(out, "typedef {name} = {}{origin}", ty_text(m, ty));
            }
            TypeKind::Extern => {
                let _ = writeln!(out, "extern {name}{origin}");
            }
            TypeKind::Enum(e) => {
                let _ = writeln!(out, "enum {name}{origin}");
                for mem in &e.members {
                    let alias = mem
                        .alias_of
                        .map(|i| format!(" (alias of {})", e.members[i].name.xdr))
                        .unwrap_or_default();
                    let ann = mem
                        .annotations
                        .as_ref()
                        .map(|a| format!(" {a:?}"))
                        .unwrap_or_default();
                    let _ = writeln!(
                        out,
                        "  {} = {}{alias}{ann}",
                        named(&mem.name.xdr, &mem.name.rust),
                        mem.value
                    );
                }
            }
            TypeKind::Struct(s) => {
                let _ = writeln!(out, "struct {name}{origin}");
                for f in &s.fields {
                    let _ = writeln!(
                        out,
                        "  {}: {}",
                        named(&f.name.xdr, &f.name.rust),
                        ty_text(m, &f.ty)
                    );
                }
            }
            TypeKind::Union(u) => {
                let kind = match u.discriminant_kind {
                    DiscriminantKind::Prim(p) => p.xdr_name().to_string(),
                    DiscriminantKind::Enum(id) => format!("enum {}", m.ty(id).name.xdr),
                };
                let _ = writeln!(
                    out,
                    "union {name}{origin} switch ({}: {} as {kind})",
                    named(&u.discriminant.name.xdr, &u.discriminant.name.rust),
                    ty_text(m, &u.discriminant.ty)
                );
                for arm in &u.arms {
                    let labels: Vec<String> = arm
                        .cases
                        .iter()
                        .map(|c| format!("{}={} -> {}", c.label, c.value, c.rust))
                        .collect();
                    let field = arm_text(m, arm.field.as_ref());
                    let _ = writeln!(out, "  case {}: {field}", labels.join(", "));
                }
                if let Some(d) = &u.default {
                    let field = arm_text(m, d.field.as_ref());
                    let _ = writeln!(
                        out,
                        "  default -> {}({}): {field}",
                        d.rust,
                        named(&d.discriminant_type.xdr, &d.discriminant_type.rust)
                    );
                }
            }
        }
        for line in t.docs.iter().take(1) {
            let _ = writeln!(out, "  /// {line}");
        }
    }
    for p in &m.programs {
        let _ = writeln!(
            out,
            "program {} = {}",
            named(&p.name.xdr, &p.name.rust),
            p.number
        );
        for v in &p.versions {
            let _ = writeln!(
                out,
                "  version {} = {}",
                named(&v.name.xdr, &v.name.rust),
                v.number
            );
            for proc in &v.procedures {
                let args: Vec<String> = proc
                    .args
                    .iter()
                    .map(|a| format!("{}: {}", a.name.rust, ty_text(m, &a.ty)))
                    .collect();
                let result = proc
                    .result
                    .as_ref()
                    .map_or("void".to_string(), |t| ty_text(m, t));
                let _ = writeln!(
                    out,
                    "    {} / {} = {}({}) -> {result}",
                    named(&proc.name.xdr, &proc.name.rust),
                    proc.variant,
                    proc.number,
                    args.join(", ")
                );
            }
        }
    }
    for p in &m.passthrough {
        let _ = writeln!(out, "% {}", p.text.replace('\n', "\\n"));
    }
    for p in &m.pragmas {
        let _ = writeln!(out, "pragma {}", p.words.join(" "));
    }
    out
}

/// A union arm's data, or `void`.
fn arm_text(m: &Module, field: Option<&super::Field>) -> String {
    field.map_or("void".to_string(), |f| {
        format!(
            "{}: {}",
            named(&f.name.xdr, &f.name.rust),
            ty_text(m, &f.ty)
        )
    })
}

fn named(xdr: &str, rust: &str) -> String {
    if xdr == rust {
        xdr.to_string()
    } else {
        format!("{xdr} ({rust})")
    }
}

fn ty_text(m: &Module, ty: &Ty) -> String {
    match ty {
        Ty::Prim(p) => p.xdr_name().to_string(),
        Ty::Opaque(len) => format!("opaque{}", len.xdr_suffix()),
        Ty::String(max) => format!("string<{}>", max.map(|n| n.to_string()).unwrap_or_default()),
        Ty::Array { elem, len } => format!("{}{}", ty_text(m, elem), len.xdr_suffix()),
        Ty::Optional(inner) => format!("optional {}", ty_text(m, inner)),
        Ty::Named(id) => m.ty(*id).name.xdr.clone(),
        Ty::Boxed(inner) => format!("box {}", ty_text(m, inner)),
    }
}
