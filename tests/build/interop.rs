//! The interop tables of the differential test against C rpcgen: per type
//! its codec functions and a field-by-field printer, per file its
//! constants and the C printers. Included by `build.rs`.
//!
//! The printers exist so that a value crosses the C boundary in a
//! checkable way: C decodes our bytes into rpcgen's C structs and prints
//! them, walking the C fields by their XDR names; Rust prints the random
//! value it encoded, walking its own fields. Both print the same text only
//! if every field, enum member and union arm landed where the other side
//! expects it. Both printers are generated from the same IR here.
//!
//! The printed form: numbers in decimal (floats as their bit pattern in
//! hex), enum members by name, opaques and strings as `x"<hex>"`, arrays
//! as `[a b]`, optionals as `null` or `&<value>`, structs as
//! `{name=value name=value}`, unions as `<discriminant>:<arm>=<value>` or
//! `<discriminant>:void`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use xdrgen_build::ir::{
    ConstKind, ConstValue, DiscriminantKind, Len, Module, Origin, Prim, Ty, TypeDef, TypeKind,
};

/// Whether the printers cover every part of `ty`: local named types, no
/// `quadruple` (rpcgen has none), no enum without members.
fn printable(m: &Module, ty: &Ty, memo: &mut BTreeMap<u32, bool>) -> bool {
    match ty {
        Ty::Prim(p) => *p != Prim::Quadruple,
        Ty::Opaque(_) | Ty::String(_) => true,
        Ty::Array { elem, .. } => printable(m, elem, memo),
        Ty::Optional(inner) | Ty::Boxed(inner) => printable(m, inner, memo),
        Ty::Named(id) => {
            if let Some(known) = memo.get(&id.0) {
                return *known;
            }
            // Assumed printable while its own parts are looked at
            // (recursive types).
            memo.insert(id.0, true);
            let ok = type_printable(m, m.ty(*id), memo);
            memo.insert(id.0, ok);
            ok
        }
    }
}

fn type_printable(m: &Module, t: &TypeDef, memo: &mut BTreeMap<u32, bool>) -> bool {
    if !matches!(t.origin, Origin::Local) {
        return false;
    }
    match &t.kind {
        TypeKind::Alias { ty } => printable(m, ty, memo),
        TypeKind::Enum(e) => !e.members.is_empty(),
        TypeKind::Struct(s) => s.fields.iter().all(|f| printable(m, &f.ty, memo)),
        TypeKind::Union(u) => {
            printable(m, &u.discriminant.ty, memo)
                && u.arm_fields().all(|f| printable(m, &f.ty, memo))
        }
        TypeKind::Extern => false,
    }
}

/// The shapes a type's own definition uses, for the coverage floor of the
/// field-by-field check.
fn shapes(m: &Module, t: &TypeDef) -> Vec<&'static str> {
    fn of(ty: &Ty, out: &mut Vec<&'static str>) {
        match ty {
            Ty::Prim(_) | Ty::Named(_) => {}
            Ty::Opaque(Len::Fixed(_)) => out.push("fixed opaque"),
            Ty::Opaque(Len::Variable(_)) => out.push("variable opaque"),
            Ty::String(_) => out.push("string"),
            Ty::Array { elem, len } => {
                out.push(match len {
                    Len::Fixed(_) => "fixed array",
                    Len::Variable(_) => "variable array",
                });
                of(elem, out);
            }
            Ty::Optional(inner) => {
                out.push("optional");
                of(inner, out);
            }
            Ty::Boxed(inner) => of(inner, out),
        }
    }
    let mut out = Vec::new();
    match &t.kind {
        TypeKind::Alias { ty } => of(ty, &mut out),
        TypeKind::Enum(_) => out.push("enum"),
        TypeKind::Struct(s) => {
            out.push("struct");
            for f in &s.fields {
                of(&f.ty, &mut out);
            }
        }
        TypeKind::Union(u) => {
            out.push(if u.default.is_some() {
                "union with default"
            } else {
                "union without default"
            });
            for f in u.arm_fields() {
                of(&f.ty, &mut out);
            }
        }
        TypeKind::Extern => {}
    }
    let _ = m;
    out.sort_unstable();
    out.dedup();
    out
}

fn rust_printer_name(module: &str, t: &TypeDef) -> String {
    // By id: Rust type names are not snake case.
    format!("print_{module}_{}", t.id.0)
}

fn unsigned(p: Prim) -> bool {
    matches!(p, Prim::UInt | Prim::UHyper | Prim::UChar | Prim::UShort)
}

/// The C type of the value range of `p`.
fn c_wire_type(p: Prim) -> &'static str {
    match p {
        Prim::Int => "int32_t",
        Prim::UInt => "uint32_t",
        Prim::Hyper => "int64_t",
        Prim::UHyper => "uint64_t",
        Prim::Char => "signed char",
        Prim::UChar => "unsigned char",
        Prim::Short => "int16_t",
        Prim::UShort => "uint16_t",
        Prim::Bool | Prim::Float | Prim::Double | Prim::Quadruple => "int",
    }
}

/// Rust statements printing `e` (an expression of type `&T`) to `out`.
fn rust_print(m: &Module, module: &str, ty: &Ty, e: &str, depth: usize) -> String {
    match ty {
        Ty::Prim(Prim::Float) => {
            format!("print::num(format_args!(\"{{:08x}}\", ({e}).to_bits()), out);")
        }
        Ty::Prim(Prim::Double) => {
            format!("print::num(format_args!(\"{{:016x}}\", ({e}).to_bits()), out);")
        }
        Ty::Prim(Prim::Bool) => format!("print::num(u8::from(*{e}), out);"),
        Ty::Prim(_) => format!("print::num(*{e}, out);"),
        Ty::Opaque(_) => format!("print::bytes(&({e})[..], out);"),
        Ty::String(_) => format!("print::bytes(({e}).as_bytes(), out);"),
        Ty::Array { elem, .. } => {
            let x = format!("x{depth}");
            let i = format!("i{depth}");
            let each = rust_print(m, module, elem, &x, depth + 1);
            format!(
                "out.push('['); for ({i}, {x}) in ({e}).iter().enumerate() {{ if {i} > 0 {{ out.push(' '); }} {each} }} out.push(']');"
            )
        }
        Ty::Optional(inner) => {
            let x = format!("x{depth}");
            let each = rust_print(m, module, inner, &x, depth + 1);
            format!(
                "match {e} {{ ::core::option::Option::None => out.push_str(\"null\"), ::core::option::Option::Some({x}) => {{ out.push('&'); {each} }} }}"
            )
        }
        Ty::Boxed(inner) => rust_print(m, module, inner, &format!("&**{e}"), depth),
        Ty::Named(id) => format!("{}({e}, out);", rust_printer_name(module, m.ty(*id))),
    }
}

/// C statements printing the lvalue `e` to `o`; `decl` is the declaration
/// name rpcgen builds `<decl>_len` / `<decl>_val` from.
fn c_print(m: &Module, ty: &Ty, e: &str, decl: &str, depth: usize) -> String {
    match ty {
        Ty::Prim(Prim::Float) => {
            format!("{{ uint32_t b; memcpy(&b, &({e}), 4); fprintf(o, \"%08x\", b); }}")
        }
        Ty::Prim(Prim::Double) => format!(
            "{{ uint64_t b; memcpy(&b, &({e}), 8); fprintf(o, \"%016llx\", (unsigned long long)b); }}"
        ),
        // Through the wire width first: rpcgen holds `long` in a C `long`,
        // which libtirpc fills zero-extended on LP64.
        Ty::Prim(p) if unsigned(*p) => format!(
            "fprintf(o, \"%llu\", (unsigned long long)({})({e}));",
            c_wire_type(*p)
        ),
        Ty::Prim(p) => format!(
            "fprintf(o, \"%lld\", (long long)({})({e}));",
            c_wire_type(*p)
        ),
        Ty::Opaque(Len::Fixed(n)) => format!("xdrgen_test_hex(o, (const char *)({e}), {n});"),
        Ty::Opaque(Len::Variable(_)) => {
            format!("xdrgen_test_hex(o, ({e}).{decl}_val, ({e}).{decl}_len);")
        }
        Ty::String(_) => {
            format!("xdrgen_test_hex(o, ({e}), ({e}) == NULL ? 0 : (u_int)strlen({e}));")
        }
        Ty::Array { elem, len } => {
            let i = format!("i{depth}");
            let (count, base) = match len {
                Len::Fixed(n) => (n.to_string(), format!("({e})")),
                Len::Variable(_) => (format!("({e}).{decl}_len"), format!("({e}).{decl}_val")),
            };
            let each = c_print(m, elem, &format!("{base}[{i}]"), decl, depth + 1);
            format!(
                "fputc('[', o); for (u_int {i} = 0; {i} < (u_int){count}; {i}++) {{ if ({i} > 0) fputc(' ', o); {each} }} fputc(']', o);"
            )
        }
        Ty::Optional(inner) => {
            let each = c_print(m, inner, &format!("(*({e}))"), decl, depth + 1);
            format!("if (({e}) == NULL) fputs(\"null\", o); else {{ fputc('&', o); {each} }}")
        }
        Ty::Boxed(inner) => c_print(m, inner, e, decl, depth),
        Ty::Named(id) => format!("xdrgen_test_print_{}(o, &({e}));", m.ty(*id).name.xdr),
    }
}

/// The Rust printer of `t`.
fn rust_printer(m: &Module, module: &str, t: &TypeDef) -> String {
    let name = rust_printer_name(module, t);
    let path = format!("crate::{module}::{}", t.name.rust);
    let body = match &t.kind {
        TypeKind::Alias { ty } => rust_print(m, module, ty, "v", 0),
        TypeKind::Enum(_) => "out.push_str(v.xdr_name());".to_string(),
        TypeKind::Struct(s) => {
            let mut b = String::from("out.push('{');");
            for (i, f) in s.fields.iter().enumerate() {
                let sep = if i > 0 { " " } else { "" };
                let _ = write!(
                    b,
                    " out.push_str(\"{sep}{}=\"); {}",
                    f.name.xdr,
                    rust_print(m, module, &f.ty, &format!("&v.{}", f.name.rust), 0)
                );
            }
            b.push_str(" out.push('}');");
            b
        }
        TypeKind::Union(u) => {
            let mut arms = String::new();
            for arm in &u.arms {
                for c in &arm.cases {
                    match &arm.field {
                        Some(f) => {
                            let _ = write!(
                                arms,
                                "{path}::{}(x) => {{ out.push_str(\"{}:{}=\"); {} }}",
                                c.rust,
                                c.value,
                                f.name.xdr,
                                rust_print(m, module, &f.ty, "x", 0)
                            );
                        }
                        None => {
                            let _ = write!(
                                arms,
                                "{path}::{} => out.push_str(\"{}:void\"),",
                                c.rust, c.value
                            );
                        }
                    }
                }
            }
            if let Some(d) = &u.default {
                let disc = match &u.discriminant_kind {
                    DiscriminantKind::Prim(Prim::Bool) => "u8::from(discriminant.get())",
                    DiscriminantKind::Prim(_) => "discriminant.get()",
                    DiscriminantKind::Enum(_) => "discriminant.get() as i32",
                };
                match &d.field {
                    Some(f) => {
                        let _ = write!(
                            arms,
                            "{path}::{} {{ discriminant, value }} => {{ print::num({disc}, out); out.push_str(\":{}=\"); {} }}",
                            d.rust,
                            f.name.xdr,
                            rust_print(m, module, &f.ty, "value", 0)
                        );
                    }
                    None => {
                        let _ = write!(
                            arms,
                            "{path}::{}(discriminant) => {{ print::num({disc}, out); out.push_str(\":void\"); }}",
                            d.rust
                        );
                    }
                }
            }
            format!("match v {{ {arms} }}")
        }
        TypeKind::Extern => unreachable!("not printable"),
    };
    format!(
        "#[allow(dead_code, clippy::all, clippy::pedantic)]\nfn {name}(v: &{path}, out: &mut String) {{ {body} }}\n"
    )
}

/// The C printer of `t` (its prototype is emitted separately).
fn c_printer(m: &Module, t: &TypeDef) -> String {
    let name = &t.name.xdr;
    let body = match &t.kind {
        TypeKind::Alias { ty } => c_print(m, ty, "(*v)", name, 0),
        TypeKind::Enum(enumeration) => {
            let mut b = String::from("switch (*v) {");
            for mem in enumeration
                .members
                .iter()
                .filter(|mem| mem.alias_of.is_none())
            {
                let _ = write!(b, " case {n}: fputs(\"{n}\", o); break;", n = mem.name.xdr);
            }
            b.push_str(" default: fprintf(o, \"?%d\", (int)*v); }");
            b
        }
        TypeKind::Struct(structure) => {
            let mut b = String::from("fputc('{', o);");
            for (i, f) in structure.fields.iter().enumerate() {
                let sep = if i > 0 { " " } else { "" };
                let _ = write!(
                    b,
                    " fputs(\"{sep}{n}=\", o); {}",
                    c_print(m, &f.ty, &format!("v->{}", f.name.xdr), &f.name.xdr, 0),
                    n = f.name.xdr
                );
            }
            b.push_str(" fputc('}', o);");
            b
        }
        TypeKind::Union(union) => {
            let disc = format!("v->{}", union.discriminant.name.xdr);
            let signed =
                !matches!(&union.discriminant_kind, DiscriminantKind::Prim(p) if unsigned(*p));
            let mut b = if signed {
                format!("fprintf(o, \"%lld:\", (long long)({disc})); switch ({disc}) {{")
            } else {
                format!("fprintf(o, \"%llu:\", (unsigned long long)({disc})); switch ({disc}) {{")
            };
            let arm = |field: &Option<xdrgen_build::ir::Field>| match field {
                Some(f) => format!(
                    "fputs(\"{n}=\", o); {}",
                    c_print(
                        m,
                        &f.ty,
                        &format!("v->{name}_u.{}", f.name.xdr),
                        &f.name.xdr,
                        0
                    ),
                    n = f.name.xdr
                ),
                None => "fputs(\"void\", o);".to_string(),
            };
            for case_arm in &union.arms {
                for c in &case_arm.cases {
                    let _ = write!(b, " case {}:", c_literal(c.value));
                }
                let _ = write!(b, " {} break;", arm(&case_arm.field));
            }
            match &union.default {
                Some(default) => {
                    let _ = write!(b, " default: {} break; }}", arm(&default.field));
                }
                None => b.push_str(" default: fputs(\"?\", o); break; }"),
            }
            b
        }
        TypeKind::Extern => unreachable!("not printable"),
    };
    format!("static void xdrgen_test_print_{name}(FILE *o, const {name} *v)\n{{\n\t{body}\n}}\n")
}

/// A case label value as a C integer literal.
fn c_literal(v: i128) -> String {
    if v > i128::from(i64::MAX) {
        format!("{v}ULL")
    } else if v > i128::from(i32::MAX) || v < i128::from(i32::MIN) {
        format!("{v}LL")
    } else {
        v.to_string()
    }
}

/// The interop entries of one generated file.
pub(crate) struct InteropOutput {
    /// `InteropType { .. },` lines.
    pub(crate) types: String,
    /// Rust printer functions.
    pub(crate) printers: String,
    /// The `InteropFile { .. },` entry.
    pub(crate) file: String,
}

/// The interop entries of `m`, generated as the module `module` from
/// `path`, known in the tables as `key`.
pub(crate) fn interop_entries(m: &Module, module: &str, key: &str, path: &str) -> InteropOutput {
    let mut memo = BTreeMap::new();
    let mut types = String::new();
    let mut printers = String::new();
    let mut prototypes = String::new();
    let mut c_printers = String::new();
    for t in &m.types {
        if !matches!(t.origin, Origin::Local) {
            continue;
        }
        let print_ok = type_printable(m, t, &mut memo);
        if print_ok {
            printers.push_str(&rust_printer(m, module, t));
            let _ = writeln!(
                prototypes,
                "static void xdrgen_test_print_{x}(FILE *o, const {x} *v);",
                x = t.name.xdr
            );
            c_printers.push_str(&c_printer(m, t));
        }
        let codec = matches!(t.kind, TypeKind::Struct(_) | TypeKind::Union(_))
            || matches!(&t.kind, TypeKind::Enum(e) if !e.members.is_empty());
        if !codec {
            continue;
        }
        let rust = format!("crate::{module}::{}", t.name.rust);
        let print = if print_ok {
            format!(
                "Some(|seed| printed::<{rust}>(seed, {}))",
                rust_printer_name(module, t)
            )
        } else {
            "None".to_string()
        };
        let _ = writeln!(
            types,
            "    InteropType {{ file: {key:?}, xdr_name: {:?}, random_encoded: random_encoded::<{rust}>, reencode: reencode::<{rust}>, stretched: stretched::<{rust}>, print: {print}, shapes: &{:?} }},",
            t.name.xdr,
            shapes(m, t)
        );
    }
    let mut constants = String::new();
    for c in &m.consts {
        // `#define` lines are rpcgen's cpp's business: C never sees them;
        // the prelude's constants are not the file's.
        let visible_in_c = matches!(
            c.kind,
            ConstKind::Const | ConstKind::PassthroughDefine | ConstKind::CommandLine
        );
        if visible_in_c && matches!(c.value, ConstValue::Int(_)) {
            let _ = write!(
                constants,
                "({:?}, crate::{module}::{} as i128), ",
                c.name.xdr, c.name.rust
            );
        }
    }
    for t in &m.types {
        let TypeKind::Enum(e) = &t.kind else { continue };
        if !matches!(t.origin, Origin::Local) {
            continue;
        }
        let rust = format!("crate::{module}::{}", t.name.rust);
        let own: Vec<usize> = (0..e.members.len())
            .filter(|&i| e.members[i].alias_of.is_none())
            .collect();
        for mem in &e.members {
            // An alias has its target's value: the C constant of the alias
            // must equal the Rust value of the target.
            let target = mem.alias_of.unwrap_or_else(|| {
                e.members
                    .iter()
                    .position(|x| std::ptr::eq(x, mem))
                    .expect("member of its enum")
            });
            let index = own.iter().position(|&i| i == target).expect("own member");
            let _ = write!(
                constants,
                "({:?}, {rust}::VALUES[{index}] as i128), ",
                mem.name.xdr
            );
        }
    }
    let file = format!(
        "    InteropFile {{ file: {key:?}, path: {path:?}, constants: &[{constants}], c_printers: {:?} }},\n",
        format!("{prototypes}\n{c_printers}")
    );
    InteropOutput {
        types,
        printers,
        file,
    }
}
