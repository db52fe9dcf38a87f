//! Encode, decode, length and random-value code for a type expression.
//!
//! Aliases are expanded in place, so a field of type `filename`
//! (`typedef string filename<255>`) checks its 255 bound right where it
//! is encoded and decoded: bounds live in the code, the Rust types stay
//! plain (`XdrString`, `Vec<T>`).
//!
//! Statements come back as whole lines indented by `ind`; expressions as
//! text whose first line starts at column `col` (where the caller puts
//! it) and whose later lines are indented from `ind`.

use std::fmt::Write as _;

use super::Gen;
use super::text::{fits, list, pad};
use crate::ir::{Field, Len, Prim, Ty, TypeKind};

/// A value in generated code: a place (`self.field`) or a reference
/// (`e`, `value`), so the code can take `&` or `*` without `*&x` noise.
#[derive(Clone)]
pub(super) struct Val {
    expr: String,
    by_ref: bool,
    /// Needs parentheses to be a method receiver (`(&**x).len()`).
    compound: bool,
}

impl Val {
    /// A place expression of type `T`.
    pub(super) fn place(expr: impl Into<String>) -> Val {
        Val {
            expr: expr.into(),
            by_ref: false,
            compound: false,
        }
    }

    /// An expression of type `&T`.
    pub(super) fn reference(expr: impl Into<String>) -> Val {
        Val {
            expr: expr.into(),
            by_ref: true,
            compound: false,
        }
    }

    /// `&T`.
    fn r(&self) -> String {
        if self.by_ref {
            self.expr.clone()
        } else {
            format!("&{}", self.expr)
        }
    }

    /// `T` (for `Copy` scalars).
    fn copied(&self) -> String {
        if self.by_ref {
            format!("*{}", self.expr)
        } else {
            self.expr.clone()
        }
    }

    /// A method-call receiver.
    fn recv(&self) -> String {
        if self.compound {
            format!("({})", self.expr)
        } else {
            self.expr.clone()
        }
    }

    /// The `T` inside a `Box<T>` this value holds, as a reference.
    fn unbox(&self) -> Val {
        let expr = if self.by_ref {
            format!("&**{}", self.expr)
        } else {
            format!("&*{}", self.expr)
        };
        Val {
            expr,
            by_ref: true,
            compound: true,
        }
    }
}

/// The largest `Words` block generated code builds, in bytes: enough for
/// a typical run of scalars, small enough to stay in registers and stack.
const MAX_BLOCK: usize = 64;

/// One thing a struct, union arm or list node encodes, in order.
pub(super) enum Part<'t> {
    /// A value of type `ty` (`what` names it in errors).
    Value { ty: &'t Ty, v: Val, what: String },
    /// A scalar the code spells out: a discriminant, a list's link bool.
    Literal { prim: Prim, arg: String },
}

/// A struct's (or list node's) fields as parts to encode, read from
/// `self`; an error names the field as `type.field`.
pub(super) fn self_field_parts<'t>(type_xdr: &str, fields: &'t [Field]) -> Vec<Part<'t>> {
    fields
        .iter()
        .map(|f| Part::Value {
            ty: &f.ty,
            v: Val::place(format!("self.{}", f.name.rust)),
            what: format!("{type_xdr}.{}", f.name.xdr),
        })
        .collect()
}

/// `head(args);` as a statement line at `ind`, broken when too long.
pub(super) fn call_stmt(out: &mut String, ind: usize, head: &str, args: &[String], suffix: &str) {
    out.push_str(pad(ind));
    out.push_str(&list(ind, ind, head, "(", args, ")", suffix.len()));
    out.push_str(suffix);
    out.push('\n');
}

impl Gen<'_> {
    /// Follows aliases to the type actually on the wire.
    pub(super) fn expand<'t>(&'t self, ty: &'t Ty) -> &'t Ty {
        let mut ty = ty;
        while let Ty::Named(id) = ty {
            match &self.m.ty(*id).kind {
                TypeKind::Alias { ty: inner } => ty = inner,
                _ => break,
            }
        }
        ty
    }

    /// The encoded size when it does not depend on the value.
    pub(super) fn fixed_size(&self, ty: &Ty) -> Option<usize> {
        match self.expand(ty) {
            Ty::Prim(p) => Some(p.wire_size()),
            Ty::Opaque(Len::Fixed(n)) => Some(padded(*n)),
            Ty::Array {
                elem,
                len: Len::Fixed(n),
            } => self
                .fixed_size(elem)
                .and_then(|s| s.checked_mul(*n as usize)),
            Ty::Named(id) => self.props[id.index()].fixed_size,
            Ty::Boxed(inner) => self.fixed_size(inner),
            _ => None,
        }
    }

    /// The fewest bytes a value of `ty` can take on the wire, to check
    /// declared counts against the bytes left.
    pub(super) fn min_size(&self, ty: &Ty) -> usize {
        match self.expand(ty) {
            Ty::Prim(p) => p.wire_size(),
            Ty::Opaque(Len::Fixed(n)) => padded(*n),
            Ty::Opaque(Len::Variable(_)) | Ty::String(_) | Ty::Optional(_) => 4,
            Ty::Array { elem, len } => match len {
                Len::Fixed(n) => self.min_size(elem).saturating_mul(*n as usize),
                Len::Variable(_) => 4,
            },
            Ty::Named(id) => self.props[id.index()].min_size,
            Ty::Boxed(inner) => self.min_size(inner),
        }
    }

    /// Statements appending `v` to `out`, at indentation `ind`.
    pub(super) fn encode(&self, out: &mut String, ty: &Ty, v: &Val, what: &str, ind: usize) {
        let rt = &self.rt;
        match self.expand(ty) {
            Ty::Prim(p) => {
                let head = format!("{rt}::{}", prim_put(*p));
                call_stmt(out, ind, &head, &["out".into(), v.copied()], ";");
            }
            Ty::Opaque(Len::Fixed(_)) => {
                let head = format!("{rt}::put_opaque_fixed");
                call_stmt(out, ind, &head, &["out".into(), v.r()], ";");
            }
            Ty::Opaque(Len::Variable(max)) => {
                // A borrowed `&[u8]` is passed as it is.
                let v = if self.o.zero_copy { v.recv() } else { v.r() };
                let head = format!("{rt}::put_opaque_var");
                let args = ["out".into(), v, bound(*max), super::text::string_lit(what)];
                call_stmt(out, ind, &head, &args, "?;");
            }
            Ty::String(max) => {
                let head = format!("{rt}::put_opaque_var");
                let bytes = format!("{}.as_bytes()", v.recv());
                let args = [
                    "out".into(),
                    bytes,
                    bound(*max),
                    super::text::string_lit(what),
                ];
                call_stmt(out, ind, &head, &args, "?;");
            }
            Ty::Array { elem, len } => {
                if let Len::Variable(max) = len {
                    let head = format!("{rt}::put_count");
                    let count = format!("{}.len()", v.recv());
                    let args = [
                        "out".into(),
                        count,
                        bound(*max),
                        super::text::string_lit(what),
                    ];
                    call_stmt(out, ind, &head, &args, "?;");
                }
                let _ = writeln!(out, "{}for e in {} {{", pad(ind), v.r());
                self.encode(out, elem, &Val::reference("e"), what, ind + 4);
                let _ = writeln!(out, "{}}}", pad(ind));
            }
            Ty::Optional(inner) => {
                let p = pad(ind);
                let p8 = pad(ind + 8);
                let _ = writeln!(out, "{p}match {} {{", v.r());
                let _ = writeln!(out, "{p}    ::core::option::Option::Some(x) => {{");
                let _ = writeln!(out, "{p8}{rt}::put_bool(out, true);");
                self.encode(out, inner, &Val::reference("x"), what, ind + 8);
                let _ = writeln!(out, "{p}    }}");
                let _ = writeln!(out, "{p}    ::core::option::Option::None => {{");
                let _ = writeln!(out, "{p8}{rt}::put_bool(out, false);");
                let _ = writeln!(out, "{p}    }}");
                let _ = writeln!(out, "{p}}}");
            }
            Ty::Boxed(inner) => self.encode(out, inner, &v.unbox(), what, ind),
            Ty::Named(_) => {
                let head = format!("{rt}::XdrEncode::encode");
                call_stmt(out, ind, &head, &[v.r(), "out".into()], "?;");
            }
        }
    }

    /// Statements appending `parts` in order. A run of two or more
    /// fixed-size scalars becomes one `Words` block: one capacity check
    /// for the run instead of one per field (measured: list encode 118,993
    /// -> 88,994 instructions with the `bench` profile, 118,991 -> 88,992
    /// under one codegen unit and LTO).
    pub(super) fn encode_parts(&self, out: &mut String, parts: &[Part<'_>], ind: usize) {
        let rt = &self.rt;
        let mut i = 0;
        while i < parts.len() {
            let mut run = Vec::new();
            let mut size = 0;
            while let Some((method, arg, n)) = parts.get(i + run.len()).and_then(|p| self.word(p)) {
                if size + n > MAX_BLOCK {
                    break;
                }
                size += n;
                run.push((method, arg));
            }
            if run.len() < 2 {
                match &parts[i] {
                    Part::Value { ty, v, what } => self.encode(out, ty, v, what, ind),
                    Part::Literal { prim, arg } => {
                        let head = format!("{rt}::{}", prim_put(*prim));
                        call_stmt(out, ind, &head, &["out".into(), arg.clone()], ";");
                    }
                }
                i += 1;
                continue;
            }
            i += run.len();
            let p = pad(ind);
            let head = format!("{rt}::Words::<{size}>::new()");
            let calls: Vec<String> = run
                .iter()
                .map(|(method, arg)| format!(".{method}({arg})"))
                .collect();
            let flat = format!("{head}{}.append_to(out)", calls.concat());
            // One line when short, as rustfmt keeps a chain (its
            // `chain_width` is 60); else one call a line.
            if flat.len() <= 60 && fits(ind, &flat, 1) {
                let _ = writeln!(out, "{p}{flat};");
                continue;
            }
            let _ = writeln!(out, "{p}{head}");
            for (method, arg) in run {
                let call = list(ind + 4, ind + 4, &format!(".{method}"), "(", &[arg], ")", 0);
                let _ = writeln!(out, "{p}    {call}");
            }
            let _ = writeln!(out, "{p}    .append_to(out);");
        }
    }

    /// How `part` goes into a `Words` block (method, argument, bytes), if
    /// it is a fixed-size scalar.
    fn word(&self, part: &Part<'_>) -> Option<(&'static str, String, usize)> {
        match part {
            Part::Literal { prim, arg } => Some((prim_get(*prim), arg.clone(), prim.wire_size())),
            Part::Value { ty, v, .. } => match self.expand(ty) {
                Ty::Prim(p) => Some((prim_get(*p), v.copied(), p.wire_size())),
                Ty::Opaque(Len::Fixed(n)) if padded(*n) <= MAX_BLOCK / 4 => {
                    Some(("opaque", v.r(), padded(*n)))
                }
                Ty::Named(id) if matches!(self.m.ty(*id).kind, TypeKind::Enum(_)) => {
                    Some(("i32", format!("i32::from({})", v.copied()), 4))
                }
                _ => None,
            },
        }
    }

    /// An expression of type `usize`: the encoded size of `v`. Its first
    /// line starts at `col`, later lines are indented from `ind`.
    pub(super) fn len(&self, ty: &Ty, v: &Val, col: usize, ind: usize) -> String {
        let rt = &self.rt;
        if let Some(n) = self.fixed_size(ty) {
            return n.to_string();
        }
        match self.expand(ty) {
            Ty::Opaque(Len::Variable(_)) | Ty::String(_) => {
                let arg = format!("{}.len()", v.recv());
                list(
                    col,
                    ind,
                    &format!("{rt}::opaque_var_len"),
                    "(",
                    &[arg],
                    ")",
                    2,
                )
            }
            Ty::Array { elem, len } => {
                let count = match len {
                    Len::Fixed(_) => "",
                    Len::Variable(_) => "4 + ",
                };
                let recv = v.recv();
                if let Some(each) = self.fixed_size(elem) {
                    return format!("{count}{recv}.len() * {each}");
                }
                let map = if matches!(self.expand(elem), Ty::Named(_)) {
                    format!("map({rt}::XdrEncode::encoded_len)")
                } else {
                    let each = self.len(elem, &Val::reference("e"), ind + 13, ind + 4);
                    format!("map(|e| {each})")
                };
                let flat = format!("{count}{recv}.iter().{map}.sum::<usize>()");
                if fits(col, &flat, 2) {
                    return flat;
                }
                // A chain that does not fit: one call a line.
                let p = pad(ind + 4);
                format!("{count}{recv}\n{p}.iter()\n{p}.{map}\n{p}.sum::<usize>()")
            }
            Ty::Optional(inner) => {
                let each = self.len(inner, &Val::reference("x"), ind + 44, ind + 4);
                let bind = if self.fixed_size(inner).is_some() {
                    "_"
                } else {
                    "x"
                };
                let p = pad(ind);
                format!(
                    "4 + match {} {{\n{p}    ::core::option::Option::Some({bind}) => {each},\n\
                     {p}    ::core::option::Option::None => 0,\n{p}}}",
                    v.r()
                )
            }
            Ty::Boxed(inner) => self.len(inner, &v.unbox(), col, ind),
            _ => list(
                col,
                ind,
                &format!("{rt}::XdrEncode::encoded_len"),
                "(",
                &[v.r()],
                ")",
                2,
            ),
        }
    }

    /// An expression decoding a `T` from `d`, starting at column `col`,
    /// later lines indented from `ind`.
    pub(super) fn decode(&self, ty: &Ty, col: usize, ind: usize) -> String {
        let rt = &self.rt;
        let p = pad(ind);
        match self.expand(ty) {
            Ty::Prim(p) => format!("d.{}()?", prim_get(*p)),
            Ty::Opaque(Len::Fixed(n)) => format!("d.opaque_fixed::<{n}>()?"),
            Ty::Opaque(Len::Variable(max)) => {
                let max = bound(*max);
                if self.o.zero_copy {
                    format!("d.opaque_var_borrowed({max})?")
                } else {
                    format!("d.opaque_var({max})?")
                }
            }
            Ty::String(max) => {
                let max = bound(*max);
                if self.o.zero_copy {
                    format!("d.string_borrowed({max})?")
                } else {
                    format!("d.string({max})?")
                }
            }
            Ty::Array { elem, len } => {
                let elem_ty = self.rust_ty(elem);
                let min = self.min_size(elem);
                match len {
                    Len::Fixed(n) => {
                        let f = if let Ty::Named(id) = self.expand(elem) {
                            self.decode_fn(*id)
                        } else if let Ty::Prim(pr) = self.expand(elem) {
                            format!("<{} as {rt}::XdrDecode>::decode", prim_ty(*pr, rt))
                        } else {
                            let each = self.decode(elem, ind + 8, ind + 8);
                            let head = "|d| ::core::result::Result::Ok";
                            list(ind + 4, ind + 4, head, "(", &[each], ")", 1)
                        };
                        let head = format!("{rt}::decode_array::<{elem_ty}, {n}>");
                        let call = list(
                            col,
                            ind,
                            &head,
                            "(",
                            &["d".into(), min.to_string(), f],
                            ")",
                            3,
                        );
                        call + "?"
                    }
                    Len::Variable(max) => {
                        let max = bound(*max);
                        let each = self.decode(elem, ind + 12, ind + 12);
                        let size = format!("::core::mem::size_of::<{elem_ty}>()");
                        let count = list(
                            ind + 12,
                            ind + 4,
                            "d.count",
                            "(",
                            &[max, min.to_string(), size],
                            ")",
                            2,
                        );
                        let push = list(ind + 8, ind + 8, "v.push", "(", &[each], ")", 1);
                        format!(
                            "{{\n{p}    let n = {count}?;\n\
                             {p}    let mut v = {rt}::Vec::with_capacity(n);\n\
                             {p}    for _ in 0..n {{\n\
                             {p}        {push};\n\
                             {p}    }}\n\
                             {p}    v\n\
                             {p}}}"
                        )
                    }
                }
            }
            Ty::Optional(inner) => {
                let each = self.decode(inner, ind + 8, ind + 8);
                let some = list(
                    ind + 4,
                    ind + 4,
                    "::core::option::Option::Some",
                    "(",
                    &[each],
                    ")",
                    0,
                );
                format!(
                    "if d.bool()? {{\n{p}    {some}\n{p}}} else {{\n\
                     {p}    ::core::option::Option::None\n{p}}}"
                )
            }
            Ty::Boxed(inner) => {
                let each = self.decode(inner, ind + 12, ind + 4);
                let inner_ty = self.rust_ty(inner);
                format!(
                    "{{\n{p}    d.enter()?;\n\
                     {p}    d.charge(::core::mem::size_of::<{inner_ty}>())?;\n\
                     {p}    let v = {each};\n\
                     {p}    d.leave();\n\
                     {p}    {rt}::Box::new(v)\n{p}}}"
                )
            }
            Ty::Named(id) => {
                let f = self.decode_fn(*id);
                list(col, ind, &f, "(", &["d".into()], ")", 3) + "?"
            }
        }
    }

    /// The function that decodes a named type: borrowing or owned.
    pub(super) fn decode_fn(&self, id: crate::ir::TypeId) -> String {
        let rt = &self.rt;
        let t = self.type_path(id);
        if self.props[id.index()].borrows {
            format!("<{t}<'a> as {rt}::XdrDecodeBorrowed<'a>>::decode_borrowed")
        } else {
            format!("<{t} as {rt}::XdrDecode>::decode")
        }
    }

    /// An expression producing a random `T` from `rng` (within bounds),
    /// starting at column `col`, later lines indented from `ind`.
    pub(super) fn random(&self, ty: &Ty, col: usize, ind: usize) -> String {
        let rt = &self.rt;
        let p = pad(ind);
        match self.expand(ty) {
            Ty::Prim(pr) => {
                let head = format!("<{} as {rt}::Random>::random", prim_ty(*pr, rt));
                list(col, ind, &head, "(", &["rng".into()], ")", 2)
            }
            Ty::Opaque(Len::Fixed(n)) => {
                let head = format!("::core::array::from_fn::<u8, {n}, _>");
                let each = format!("|_| <u8 as {rt}::Random>::random(rng)");
                list(col, ind, &head, "(", &[each], ")", 2)
            }
            Ty::Opaque(Len::Variable(max)) => format!("rng.bytes({})", bound(*max)),
            Ty::String(max) => format!("rng.string({})", bound(*max)),
            Ty::Array { elem, len } => match len {
                Len::Fixed(n) => {
                    let each = self.random(elem, ind + 8, ind + 4);
                    let head = format!("::core::array::from_fn::<_, {n}, _>");
                    list(col, ind, &head, "(", &[format!("|_| {each}")], ")", 2)
                }
                Len::Variable(max) => {
                    let max = bound(*max);
                    let each = self.random(elem, ind + 34, ind + 4);
                    // Arrays can hold the type they are in: they nest
                    // like optionals, within the same depth budget.
                    format!(
                        "{{\n{p}    let n = if rng.at_limit() {{ 0 }} else {{ rng.bounded_len({max}) }};\n\
                         {p}    rng.enter();\n\
                         {p}    let v = (0..n).map(|_| {each}).collect::<{rt}::Vec<_>>();\n\
                         {p}    rng.leave();\n\
                         {p}    v\n{p}}}"
                    )
                }
            },
            Ty::Optional(inner) => {
                let each = self.random(inner, ind + 12, ind + 4);
                format!(
                    "if rng.some() {{\n{p}    rng.enter();\n{p}    let v = {each};\n\
                     {p}    rng.leave();\n{p}    ::core::option::Option::Some(v)\n\
                     {p}}} else {{\n{p}    ::core::option::Option::None\n{p}}}"
                )
            }
            Ty::Boxed(inner) => {
                let each = self.random(inner, col + rt.len() + 11, ind + 4);
                list(col, ind, &format!("{rt}::Box::new"), "(", &[each], ")", 2)
            }
            Ty::Named(id) => {
                let head = format!("<{} as {rt}::Random>::random", self.type_path(*id));
                list(col, ind, &head, "(", &["rng".into()], ")", 2)
            }
        }
    }
}

pub(super) fn padded(n: u32) -> usize {
    (n as usize).div_ceil(4) * 4
}

/// The `<N>` bound as a literal; unbounded is `u32::MAX`.
fn bound(max: Option<u32>) -> String {
    match max {
        Some(n) => number(i128::from(n)),
        None => "u32::MAX".to_string(),
    }
}

/// A decimal literal, with `_` every three digits when long (as clippy
/// and people prefer).
pub(super) fn number(v: i128) -> String {
    let digits = v.unsigned_abs().to_string();
    let mut text = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if v < 0 {
        text.push('-');
    }
    if digits.len() > 4 {
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                text.push('_');
            }
            text.push(c);
        }
    } else {
        text.push_str(&digits);
    }
    text
}

pub(super) fn prim_put(p: Prim) -> &'static str {
    match p {
        Prim::Int => "put_i32",
        Prim::UInt => "put_u32",
        Prim::Hyper => "put_i64",
        Prim::UHyper => "put_u64",
        Prim::Float => "put_f32",
        Prim::Double => "put_f64",
        Prim::Quadruple => "put_quadruple",
        Prim::Bool => "put_bool",
        Prim::Char => "put_i8",
        Prim::UChar => "put_u8",
        Prim::Short => "put_i16",
        Prim::UShort => "put_u16",
    }
}

fn prim_get(p: Prim) -> &'static str {
    match p {
        Prim::Int => "i32",
        Prim::UInt => "u32",
        Prim::Hyper => "i64",
        Prim::UHyper => "u64",
        Prim::Float => "f32",
        Prim::Double => "f64",
        Prim::Quadruple => "quadruple",
        Prim::Bool => "bool",
        Prim::Char => "i8",
        Prim::UChar => "u8",
        Prim::Short => "i16",
        Prim::UShort => "u16",
    }
}

/// The Rust type of a scalar.
pub(super) fn prim_ty(p: Prim, rt: &str) -> String {
    match p {
        Prim::Int => "i32".into(),
        Prim::UInt => "u32".into(),
        Prim::Hyper => "i64".into(),
        Prim::UHyper => "u64".into(),
        Prim::Float => "f32".into(),
        Prim::Double => "f64".into(),
        Prim::Quadruple => format!("{rt}::Quadruple"),
        Prim::Bool => "bool".into(),
        Prim::Char => "i8".into(),
        Prim::UChar => "u8".into(),
        Prim::Short => "i16".into(),
        Prim::UShort => "u16".into(),
    }
}
