//! One Rust item (plus impls) per XDR definition.

use std::fmt::Write as _;

use super::codec::{Part, Val, number, self_field_parts};
use super::text::{list, pad, string_lit};
use super::{Gen, uses_alias};
use crate::ir::{
    Const, ConstValue, DiscriminantKind, Enum, Field, Prim, Program, Struct, Ty, TypeDef, TypeKind,
    Union, names,
};

/// `fn encode(&self, out: ..) -> ..` and friends: the signature line(s)
/// of a method at indentation 4, ending in ` {`.
pub(super) fn fn_sig(out: &mut String, ind: usize, head: &str, params: &[String], ret: &str) {
    out.push_str(pad(ind));
    let ret = super::text::generic_type(ind + 5, ind, ret, 2);
    let close = format!(") -> {ret} {{");
    out.push_str(&list(ind, ind, head, "(", params, &close, 0));
    out.push('\n');
}

impl Gen<'_> {
    pub(super) fn constant(&self, out: &mut String, c: &Const) {
        self.docs(out, 0, &format!("const {}", c.name.xdr), &c.docs);
        let name = &c.name.rust;
        match &c.value {
            ConstValue::Int(v) => {
                let _ = writeln!(
                    out,
                    "pub const {name}: {} = {};",
                    const_type(*v),
                    number(*v)
                );
            }
            ConstValue::Str(s) => {
                let lit = string_lit(&unescape_c(s));
                let _ = writeln!(out, "pub const {name}: &str = {lit};");
            }
        }
    }

    pub(super) fn type_def(&self, out: &mut String, t: &TypeDef) {
        match &t.kind {
            TypeKind::Alias { ty } => {
                self.docs(
                    out,
                    0,
                    &format!("typedef {}", self.xdr_decl(ty, &t.name.xdr)),
                    &t.docs,
                );
                let _ = writeln!(
                    out,
                    "pub type {}{} = {};",
                    t.name.rust,
                    self.lifetime(t.id),
                    self.rust_ty(ty)
                );
            }
            TypeKind::Enum(e) => self.enumeration(out, t, e),
            TypeKind::Struct(s) => self.structure(out, t, s),
            TypeKind::Union(u) => self.union(out, t, u),
            TypeKind::Extern => {}
        }
    }

    /// `#[derive(..)]`, the serde attributes and the user's attributes.
    fn derives(&self, out: &mut String, t: &TypeDef, base: &[&str]) {
        let p = self.props[t.id.index()];
        let mut names: Vec<String> = base.iter().map(|d| (*d).to_string()).collect();
        if p.eq {
            names.push("::core::cmp::Eq".into());
        }
        if p.hash {
            names.push("::core::hash::Hash".into());
        }
        if p.default && !matches!(t.kind, TypeKind::Enum(_)) {
            names.push("::core::default::Default".into());
        }
        if self.o.arbitrary && !p.borrows {
            names.push("::arbitrary::Arbitrary".into());
        }
        names.extend(self.derives.iter().cloned());
        out.push_str(&list(0, 0, "#[derive", "(", &names, ")]", 0));
        out.push('\n');
        self.serde_derives(out, 0, t.id);
        self.extra_attributes(out, 0, &t.name.xdr);
    }

    /// The encoded size of several values: fixed parts summed at
    /// generation time, the rest added at run time. An expression at
    /// indentation `ind` (whose first line starts at `col`).
    fn sum_len<'t>(
        &self,
        parts: impl Iterator<Item = (&'t Ty, Val)>,
        base: usize,
        col: usize,
        ind: usize,
    ) -> String {
        let mut fixed = base;
        let mut dynamic = Vec::new();
        for (ty, v) in parts {
            match self.fixed_size(ty) {
                Some(n) => fixed += n,
                None => dynamic.push(self.len(ty, &v, ind + 6, ind + 4)),
            }
        }
        if fixed != 0 || dynamic.is_empty() {
            dynamic.insert(0, fixed.to_string());
        }
        let flat = dynamic.join(" + ");
        if super::text::fits(col, &flat, 1) {
            return flat;
        }
        // One term a line, each after its `+`.
        let mut s = dynamic[0].clone();
        for term in &dynamic[1..] {
            let _ = write!(s, "\n{}+ {term}", pad(ind + 4));
        }
        s
    }

    /// `impl XdrDecode` for owned types, `impl XdrDecodeBorrowed<'a>` for
    /// types that borrow from the input, around `body` (lines at
    /// indentation 8).
    fn decode_impl(&self, out: &mut String, t: &TypeDef, attrs: &str, body: &str) {
        let rt = &self.rt;
        let name = &t.name.rust;
        if self.props[t.id.index()].borrows {
            let _ = writeln!(
                out,
                "impl<'a> {rt}::XdrDecodeBorrowed<'a> for {name}<'a> {{"
            );
            out.push_str(attrs);
            fn_sig(
                out,
                4,
                "fn decode_borrowed",
                &[format!("d: &mut {rt}::Decoder<'a>")],
                &format!("::core::result::Result<Self, {rt}::DecodeError>"),
            );
        } else {
            let _ = writeln!(out, "impl {rt}::XdrDecode for {name} {{");
            out.push_str(attrs);
            fn_sig(
                out,
                4,
                "fn decode",
                &[format!("d: &mut {rt}::Decoder<'_>")],
                &format!("::core::result::Result<Self, {rt}::DecodeError>"),
            );
        }
        out.push_str(body);
        out.push_str("    }\n}\n");
    }

    /// The `encode` method's signature at indentation 4.
    pub(super) fn encode_sig(&self, out: &mut String) {
        self.encode_sig_named(out, "fn encode");
    }

    /// An encoding method's signature at indentation 4: `head` is
    /// `fn encode` or a node's `fn encode_node`.
    fn encode_sig_named(&self, out: &mut String, head: &str) {
        let rt = &self.rt;
        fn_sig(
            out,
            4,
            head,
            &["&self".into(), format!("out: &mut {rt}::Vec<u8>")],
            &format!("::core::result::Result<(), {rt}::EncodeError>"),
        );
    }

    // ----- enums -----

    fn enumeration(&self, out: &mut String, t: &TypeDef, e: &Enum) {
        let rt = &self.rt;
        let name = &t.name.rust;
        let xdr = &t.name.xdr;
        self.docs(out, 0, &format!("enum {xdr}"), &t.docs);
        let members: Vec<_> = e.members.iter().filter(|m| m.alias_of.is_none()).collect();
        let mut derives: Vec<String> = ["Clone", "Copy", "Debug"].map(String::from).to_vec();
        if members.is_empty() {
            // An enum with no members has no values to encode or decode.
            derives.extend(["PartialEq", "Eq", "Hash"].map(String::from));
            derives.extend(self.derives.iter().cloned());
            let _ = writeln!(out, "{}", list(0, 0, "#[derive", "(", &derives, ")]", 0));
            self.extra_attributes(out, 0, xdr);
            let _ = writeln!(out, "pub enum {name} {{}}");
            return;
        }
        derives
            .extend(["Default", "PartialEq", "Eq", "Hash", "PartialOrd", "Ord"].map(String::from));
        if self.o.arbitrary {
            derives.push("::arbitrary::Arbitrary".into());
        }
        derives.extend(self.derives.iter().cloned());
        let _ = writeln!(out, "{}", list(0, 0, "#[derive", "(", &derives, ")]", 0));
        self.serde_derives(out, 0, t.id);
        self.extra_attributes(out, 0, xdr);
        let _ = writeln!(out, "#[repr(i32)]\npub enum {name} {{");
        for (i, m) in members.iter().enumerate() {
            self.docs(out, 4, &m.name.xdr, &m.docs);
            if i == 0 {
                out.push_str("    #[default]\n");
            }
            let _ = writeln!(
                out,
                "    {} = {},",
                m.name.rust,
                number(i128::from(m.value))
            );
        }
        let _ = writeln!(out, "}}\nimpl {name} {{");
        for m in &e.members {
            let (Some(target), Some(alias)) = (m.alias_of.map(|i| &e.members[i]), &m.alias_const)
            else {
                continue;
            };
            let _ = writeln!(
                out,
                "    /// XDR `{}`, another name for the same value.\n    \
                 pub const {alias}: Self = Self::{};",
                m.name.xdr, target.name.rust
            );
        }
        let all: Vec<String> = members
            .iter()
            .map(|m| format!("Self::{}", m.name.rust))
            .collect();
        let values = list(
            4,
            4,
            "pub const VALUES: &'static [Self] = &",
            "[",
            &all,
            "]",
            1,
        );
        let _ = writeln!(
            out,
            "    /// Every member, in declaration order.\n    {values};\n    \
             /// The member's name in the `.x` file.\n    \
             pub const fn xdr_name(self) -> &'static str {{\n        match self {{"
        );
        for m in &members {
            let _ = writeln!(
                out,
                "            Self::{} => {},",
                m.name.rust,
                string_lit(&m.name.xdr)
            );
        }
        let _ = writeln!(
            out,
            "        }}\n    }}\n}}\n\
             impl ::core::convert::TryFrom<i32> for {name} {{\n    \
             type Error = i32;\n    \
             fn try_from(value: i32) -> ::core::result::Result<Self, i32> {{\n        \
             match value {{"
        );
        for m in &members {
            let _ = writeln!(
                out,
                "            {} => ::core::result::Result::Ok(Self::{}),",
                number(i128::from(m.value)),
                m.name.rust
            );
        }
        let _ = writeln!(
            out,
            "            other => ::core::result::Result::Err(other),\n        }}\n    }}\n}}\n\
             impl ::core::convert::From<{name}> for i32 {{\n    \
             fn from(value: {name}) -> i32 {{\n        value as i32\n    }}\n}}\n\
             impl {rt}::XdrEncode for {name} {{\n    #[inline]\n    \
             fn encoded_len(&self) -> usize {{\n        4\n    }}\n    #[inline]"
        );
        self.encode_sig(out);
        let _ = writeln!(
            out,
            "        {rt}::put_i32(out, *self as i32);\n        \
             ::core::result::Result::Ok(())\n    }}\n}}"
        );
        let body = format!(
            "        let at = d.position();\n        let value = d.i32()?;\n        \
             Self::try_from(value)\n            \
             .map_err(|value| {rt}::DecodeError::InvalidEnum {{\n                \
             at,\n                type_name: {},\n                value,\n            }})\n",
            string_lit(xdr)
        );
        self.decode_impl(out, t, "    #[inline]\n", &body);
        if self.o.random {
            let _ = writeln!(
                out,
                "impl {rt}::Random for {name} {{\n    \
                 fn random(rng: &mut {rt}::Rng) -> Self {{\n        \
                 Self::VALUES[usize::try_from(rng.below({})).unwrap_or(0)]\n    }}\n}}",
                members.len()
            );
        }
    }

    // ----- structs -----

    /// The fields of a struct, at indentation 4.
    fn fields(&self, out: &mut String, fields: &[Field]) {
        for f in fields {
            self.docs(out, 4, &self.xdr_decl(&f.ty, &f.name.xdr), &f.docs);
            self.serde_field(out, 4, &f.ty);
            let _ = writeln!(out, "    pub {}: {},", f.name.rust, self.rust_ty(&f.ty));
        }
    }

    /// `pub struct Name<'a> { fields }`.
    fn struct_item(&self, out: &mut String, t: &TypeDef, s: &Struct) {
        if s.fields.is_empty() {
            let _ = writeln!(
                out,
                "pub struct {}{} {{}}",
                t.name.rust,
                self.lifetime(t.id)
            );
            return;
        }
        let _ = writeln!(out, "pub struct {}{} {{", t.name.rust, self.lifetime(t.id));
        self.fields(out, &s.fields);
        out.push_str("}\n");
    }

    /// `Self { a: .., b: .. }` for a struct value at indentation `ind`
    /// (first line at `col`), from each field's name and value.
    fn struct_lit(head: &str, fields: &[(String, String)], col: usize, ind: usize) -> String {
        let items: Vec<String> = fields.iter().map(|(n, v)| format!("{n}: {v}")).collect();
        if items.is_empty() {
            return format!("{head} {{}}");
        }
        let flat = format!("{head} {{ {} }}", items.join(", "));
        if super::text::fits(col, &flat, 1) {
            return flat;
        }
        let mut s = format!("{head} {{\n");
        for item in items {
            let _ = writeln!(s, "{}{item},", pad(ind + 4));
        }
        s.push_str(pad(ind));
        s.push('}');
        s
    }

    fn structure(&self, out: &mut String, t: &TypeDef, s: &Struct) {
        let name = &t.name.rust;
        let anon = self.anon_lifetime(t.id);
        let borrows = self.props[t.id.index()].borrows;
        let props = self.props[t.id.index()];
        self.docs(out, 0, &format!("struct {}", t.name.xdr), &t.docs);
        // The struct mirrors the protocol: many flags are its design.
        let bools = s
            .fields
            .iter()
            .filter(|f| matches!(self.expand(&f.ty), Ty::Prim(Prim::Bool)))
            .count();
        if bools > 3 {
            out.push_str("#[allow(clippy::struct_excessive_bools)]\n");
        }
        if let Some(link) = props.list_link {
            self.derives(out, t, &[]);
            self.struct_item(out, t, s);
            self.list_impls(out, t, s, link);
            return;
        }
        self.derives(
            out,
            t,
            &[
                "::core::clone::Clone",
                "::core::fmt::Debug",
                "::core::cmp::PartialEq",
            ],
        );
        self.struct_item(out, t, s);
        let rt = &self.rt;
        let len = self.sum_len(
            s.fields
                .iter()
                .map(|f| (&f.ty, Val::place(format!("self.{}", f.name.rust)))),
            0,
            8,
            8,
        );
        let inline = self.inline(t.id);
        let _ = writeln!(
            out,
            "impl {rt}::XdrEncode for {name}{anon} {{\n{inline}    \
             fn encoded_len(&self) -> usize {{\n        {len}\n    }}"
        );
        out.push_str(inline);
        self.encode_sig(out);
        if s.fields.is_empty() {
            out.push_str("        let _ = &out;\n");
        }
        let parts = self_field_parts(&t.name.xdr, &s.fields);
        self.encode_parts(out, &parts, 8);
        out.push_str("        ::core::result::Result::Ok(())\n    }\n}\n");
        let mut body = String::new();
        if s.fields.is_empty() {
            body.push_str("        let _ = &d;\n");
        }
        let decs: Vec<(String, String)> = s
            .fields
            .iter()
            .map(|f| {
                let col = 14 + f.name.rust.len();
                (f.name.rust.clone(), self.decode(&f.ty, col, 12))
            })
            .collect();
        let lit = if decs.is_empty() {
            "Self {}".to_string()
        } else {
            Self::struct_lit("Self", &decs, super::text::WIDTH, 8)
        };
        let _ = writeln!(body, "        ::core::result::Result::Ok({lit})");
        self.decode_impl(out, t, inline, &body);
        if self.o.random && !borrows {
            let rands: Vec<(String, String)> = s
                .fields
                .iter()
                .map(|f| {
                    let col = 14 + f.name.rust.len();
                    (f.name.rust.clone(), self.random(&f.ty, col, 12))
                })
                .collect();
            let lit = Self::struct_lit("Self", &rands, 8, 8);
            let _ = writeln!(
                out,
                "impl {rt}::Random for {name} {{\n    \
                 fn random(rng: &mut {rt}::Rng) -> Self {{\n        \
                 let _ = &rng;\n        {lit}\n    }}\n}}"
            );
        }
    }

    /// A singly linked list (`entry *nextentry` last): the type encodes
    /// and decodes one node; the runtime's `linked_list!` implements the
    /// rest over the walks of its `linked` module, each a loop.
    fn list_impls(&self, out: &mut String, t: &TypeDef, s: &Struct, link: usize) {
        let rt = &self.rt;
        let name = &t.name.rust;
        let anon = self.anon_lifetime(t.id);
        let borrows = self.props[t.id.index()].borrows;
        let xdr = &t.name.xdr;
        let link_name = &s.fields[link].name.rust;
        let body = &s.fields[..link];
        // `Self { a: .., next: None }` with the given values.
        let node = |head: &str, values: Vec<String>, col: usize, ind: usize| {
            let mut fields: Vec<(String, String)> = body
                .iter()
                .map(|f| f.name.rust.clone())
                .zip(values)
                .collect();
            fields.push((link_name.clone(), "::core::option::Option::None".into()));
            Self::struct_lit(head, &fields, col, ind)
        };
        let node_len = self.sum_len(
            body.iter()
                .map(|f| (&f.ty, Val::place(format!("self.{}", f.name.rust)))),
            0,
            8,
            8,
        );
        // Measured: with `#[inline]` LLVM keeps a node's codec out of line
        // and calls it from the runtime's walk once per node.
        let always = "    #[inline(always)]\n    #[allow(clippy::inline_always)]\n";
        let _ = write!(
            out,
            "impl {rt}::LinkedEncode for {name}{anon} {{\n\
             {always}    fn node_len(&self) -> usize {{\n        {node_len}\n    }}\n{always}"
        );
        fn_sig(
            out,
            4,
            "fn encode_node",
            &[
                "&self".into(),
                format!("out: &mut {rt}::Vec<u8>"),
                "more: bool".into(),
            ],
            &format!("::core::result::Result<(), {rt}::EncodeError>"),
        );
        // The fields, then whether another node follows: the link's bool
        // joins a trailing run of scalars in one block.
        let mut parts = self_field_parts(xdr, body);
        parts.push(Part::Literal {
            prim: Prim::Bool,
            arg: "more".into(),
        });
        self.encode_parts(out, &parts, 8);
        out.push_str("        ::core::result::Result::Ok(())\n    }\n}\n\n");
        let decs: Vec<String> = body
            .iter()
            .map(|f| self.decode(&f.ty, 14 + f.name.rust.len(), 12))
            .collect();
        let ty = if borrows {
            format!("{name}<'a>")
        } else {
            name.clone()
        };
        let _ = write!(out, "impl<'a> {rt}::LinkedDecode<'a> for {ty} {{\n{always}");
        fn_sig(
            out,
            4,
            "fn decode_node",
            &[format!("d: &mut {rt}::Decoder<'a>")],
            &format!("::core::result::Result<Self, {rt}::DecodeError>"),
        );
        if body.is_empty() {
            out.push_str("        let _ = &d;\n");
        }
        let lit = node("Self", decs, super::text::WIDTH, 8);
        let _ = writeln!(
            out,
            "        ::core::result::Result::Ok({lit})\n    }}\n}}\n"
        );
        // A raw identifier's `Debug` label is the name without `r#`.
        let fields: Vec<String> = body
            .iter()
            .map(|f| match f.name.rust.strip_prefix("r#") {
                Some(bare) => format!("{} as {}", f.name.rust, string_lit(bare)),
                None => f.name.rust.clone(),
            })
            .collect();
        let args = [
            ty.clone(),
            string_lit(xdr),
            list(4, 4, "", "[", &fields, "]", 1),
            format!("next: {link_name}"),
        ];
        let _ = writeln!(
            out,
            "{};",
            list(0, 0, &format!("{rt}::linked_list!"), "(", &args, ")", 1)
        );
        if self.o.random && !borrows {
            let rands: Vec<String> = body
                .iter()
                .map(|f| self.random(&f.ty, 14 + f.name.rust.len(), 12))
                .collect();
            let param = if rands.iter().any(|r| r.contains("rng")) {
                "rng"
            } else {
                "_"
            };
            let lit = node(
                &format!("{rt}::linked::random(rng, |{param}| Self"),
                rands,
                8,
                8,
            );
            let _ = writeln!(
                out,
                "impl {rt}::Random for {name} {{\n    \
                 fn random(rng: &mut {rt}::Rng) -> Self {{\n        {lit})\n    }}\n}}"
            );
        }
    }

    // ----- unions -----

    #[allow(clippy::too_many_lines)] // one union is several impls
    fn union(&self, out: &mut String, t: &TypeDef, u: &Union) {
        let rt = &self.rt;
        let name = &t.name.rust;
        let anon = self.anon_lifetime(t.id);
        let borrows = self.props[t.id.index()].borrows;
        let xdr = &t.name.xdr;
        let discriminant = &u.discriminant;
        let heading = format!(
            "union {xdr} switch ({})",
            self.xdr_decl(&discriminant.ty, &discriminant.name.xdr)
        );
        self.docs(out, 0, &heading, &t.docs);
        self.derives(
            out,
            t,
            &[
                "::core::clone::Clone",
                "::core::fmt::Debug",
                "::core::cmp::PartialEq",
            ],
        );
        let disc_ty = self.rust_ty(&u.discriminant.ty);
        let what = |f: &Field| format!("{}.{}", xdr, f.name.xdr);

        let cases: Vec<Case<'_>> = u
            .arms
            .iter()
            .flat_map(|arm| {
                arm.cases.iter().map(move |c| Case {
                    variant: &c.rust,
                    value: c.value,
                    field: arm.field.as_ref(),
                    docs: &arm.docs,
                    label: &c.label,
                })
            })
            .collect();

        let _ = writeln!(out, "pub enum {name}{} {{", self.lifetime(t.id));
        for c in &cases {
            let arm = c
                .field
                .map_or_else(|| "void".to_string(), |f| self.xdr_decl(&f.ty, &f.name.xdr));
            self.docs(out, 4, &format!("case {}: {arm}", c.label), c.docs);
            match c.field {
                Some(f) => {
                    self.serde_field(out, 4, &f.ty);
                    let _ = writeln!(out, "    {}({}),", c.variant, self.rust_ty(&f.ty));
                }
                None => {
                    let _ = writeln!(out, "    {},", c.variant);
                }
            }
        }
        let default_type = u
            .default
            .as_ref()
            .map(|dflt| dflt.discriminant_type.rust.as_str());
        if let (Some(dflt), Some(dt)) = (&u.default, default_type) {
            let arm = dflt
                .field
                .as_ref()
                .map_or_else(|| "void".to_string(), |f| self.xdr_decl(&f.ty, &f.name.xdr));
            self.docs(out, 4, &format!("default: {arm}"), &dflt.docs);
            match &dflt.field {
                Some(f) => {
                    let _ = writeln!(
                        out,
                        "    Default {{\n        \
                         /// The discriminant: a value no `case` lists.\n        \
                         discriminant: {dt},\n        /// The arm's data.\n        \
                         value: {},\n    }},",
                        self.rust_ty(&f.ty)
                    );
                }
                None => {
                    let _ = writeln!(out, "    Default({dt}),");
                }
            }
        }
        out.push_str("}\n");
        let disc_size = u.discriminant_kind.wire_size();

        // The discriminant, as a literal.
        let disc_part = |value: i128| match u.discriminant_kind {
            DiscriminantKind::Enum(_) => Part::Literal {
                prim: Prim::Int,
                arg: number(value),
            },
            DiscriminantKind::Prim(Prim::Bool) => Part::Literal {
                prim: Prim::Bool,
                arg: (value != 0).to_string(),
            },
            DiscriminantKind::Prim(prim) => Part::Literal {
                prim,
                arg: number(value),
            },
        };
        let inline = self.inline(t.id);
        let _ = writeln!(
            out,
            "impl {rt}::XdrEncode for {name}{anon} {{\n{inline}    \
             fn encoded_len(&self) -> usize {{\n        match self {{"
        );
        for c in &cases {
            let variant = c.variant;
            match c.field {
                Some(f) => match self.fixed_size(&f.ty) {
                    Some(n) => arm(
                        out,
                        12,
                        &format!("Self::{variant}(_)"),
                        &(disc_size + n).to_string(),
                    ),
                    None => {
                        let l = self.len(&f.ty, &Val::reference("value"), 20, 16);
                        arm(
                            out,
                            12,
                            &format!("Self::{variant}(value)"),
                            &format!("{disc_size} + {l}"),
                        );
                    }
                },
                None => arm(out, 12, &format!("Self::{variant}"), &disc_size.to_string()),
            }
        }
        if let Some(dflt) = &u.default {
            match &dflt.field {
                Some(f) => {
                    let l = self.len(&f.ty, &Val::reference("value"), 20, 16);
                    let pat = if self.fixed_size(&f.ty).is_some() {
                        "Self::Default { .. }"
                    } else {
                        "Self::Default { value, .. }"
                    };
                    arm(out, 12, pat, &format!("{disc_size} + {l}"));
                }
                None => arm(out, 12, "Self::Default(_)", &disc_size.to_string()),
            }
        }
        out.push_str("        }\n    }\n");
        out.push_str(inline);
        self.encode_sig(out);
        out.push_str("        match self {\n");
        for c in &cases {
            let variant = c.variant;
            match c.field {
                Some(f) => {
                    let _ = writeln!(out, "            Self::{variant}(value) => {{");
                    let parts = [
                        disc_part(c.value),
                        Part::Value {
                            ty: &f.ty,
                            v: Val::reference("value"),
                            what: what(f),
                        },
                    ];
                    self.encode_parts(out, &parts, 16);
                }
                None => {
                    let _ = writeln!(out, "            Self::{variant} => {{");
                    self.encode_parts(out, &[disc_part(c.value)], 16);
                }
            }
            out.push_str("            }\n");
        }
        if let Some(dflt) = &u.default {
            let disc = Val::place("discriminant.0");
            match &dflt.field {
                Some(f) => {
                    out.push_str("            Self::Default { discriminant, value } => {\n");
                    self.encode(out, &u.discriminant.ty, &disc, xdr, 16);
                    self.encode(out, &f.ty, &Val::reference("value"), &what(f), 16);
                }
                None => {
                    out.push_str("            Self::Default(discriminant) => {\n");
                    self.encode(out, &u.discriminant.ty, &disc, xdr, 16);
                }
            }
            out.push_str("            }\n");
        }
        out.push_str("        }\n        ::core::result::Result::Ok(())\n    }\n}\n");

        // Decoding: patterns on the discriminant's Rust value.
        let enum_def = match u.discriminant_kind {
            DiscriminantKind::Enum(id) => match &self.m.ty(id).kind {
                TypeKind::Enum(e) => Some((id, e)),
                _ => None,
            },
            DiscriminantKind::Prim(_) => None,
        };
        let pattern = |value: i128| -> String {
            match (u.discriminant_kind, enum_def) {
                (DiscriminantKind::Enum(_), Some((id, e))) => {
                    let member = e
                        .members
                        .iter()
                        .find(|m| i128::from(m.value) == value && m.alias_of.is_none())
                        .map_or("Unknown", |m| m.name.rust.as_str());
                    format!("{}::{member}", self.type_path(id))
                }
                (DiscriminantKind::Prim(Prim::Bool), _) => (value != 0).to_string(),
                _ => number(value),
            }
        };
        let covered = match (u.discriminant_kind, enum_def) {
            (DiscriminantKind::Prim(Prim::Bool), _) => {
                cases.iter().any(|c| c.value == 0) && cases.iter().any(|c| c.value == 1)
            }
            (DiscriminantKind::Enum(_), Some((_, e))) => e
                .members
                .iter()
                .filter(|m| m.alias_of.is_none())
                .all(|m| cases.iter().any(|c| c.value == i128::from(m.value))),
            _ => false,
        };
        let mut arms = String::new();
        for c in &cases {
            let pat = pattern(c.value);
            match c.field {
                Some(f) => {
                    let head = format!("{pat} => Self::{}", c.variant);
                    let dec = self.decode(&f.ty, 16, 16);
                    let _ = writeln!(
                        arms,
                        "{}{},",
                        pad(12),
                        list(12, 12, &head, "(", &[dec], ")", 1)
                    );
                }
                None => {
                    let _ = writeln!(arms, "{}{pat} => Self::{},", pad(12), c.variant);
                }
            }
        }
        let disc_value = match u.discriminant_kind {
            DiscriminantKind::Enum(_) => "i64::from(i32::from(other))",
            DiscriminantKind::Prim(Prim::Hyper) => "other",
            // The error reports the same 64 bits, read as signed.
            DiscriminantKind::Prim(Prim::UHyper) => "i64::from_ne_bytes(other.to_ne_bytes())",
            DiscriminantKind::Prim(_) => "i64::from(other)",
        };
        let mut decodes_default = true;
        match (&u.default, default_type) {
            // Every value has a case: the default arm can never be decoded.
            (Some(_), _) if covered => decodes_default = false,
            (Some(dflt), Some(dt)) => match &dflt.field {
                Some(f) => {
                    let dec = self.decode(&f.ty, 16 + 7, 16);
                    let fields = [
                        ("discriminant".to_string(), format!("{dt}(other)")),
                        ("value".to_string(), dec),
                    ];
                    let lit = Self::struct_lit("Self::Default", &fields, 21, 12);
                    let _ = writeln!(arms, "{}other => {lit},", pad(12));
                }
                None => {
                    let _ = writeln!(arms, "{}other => Self::Default({dt}(other)),", pad(12));
                }
            },
            (Some(_), None) => decodes_default = false,
            (None, _) if covered => decodes_default = false,
            (None, _) => {
                let _ = writeln!(
                    arms,
                    "            other => {{\n                \
                     return ::core::result::Result::Err({rt}::DecodeError::InvalidDiscriminant {{\n                    \
                     at,\n                    type_name: {},\n                    \
                     value: {disc_value},\n                }})\n            }}",
                    string_lit(xdr)
                );
            }
        }
        let disc_dec = self.decode(&u.discriminant.ty, 28 + disc_ty.len(), 8);
        // A `default` arm may stand for one remaining enum member, and bool
        // discriminants are matched like any other: both are intended.
        let allow = match u.discriminant_kind {
            DiscriminantKind::Prim(Prim::Bool) => "    #[allow(clippy::match_bool)]\n",
            DiscriminantKind::Enum(_) if u.default.is_some() => {
                "    #[allow(clippy::match_wildcard_for_single_variants)]\n"
            }
            DiscriminantKind::Prim(_) | DiscriminantKind::Enum(_) => "",
        };
        let mut body = String::new();
        if decodes_default && u.default.is_none() {
            body.push_str("        let at = d.position();\n");
        }
        let let_disc = format!("let discriminant: {disc_ty} = {disc_dec};");
        if super::text::fits(8, &let_disc, 0) {
            let _ = writeln!(body, "        {let_disc}");
        } else {
            let disc_dec = self.decode(&u.discriminant.ty, 12, 12);
            let _ = writeln!(
                body,
                "        let discriminant: {disc_ty} =\n            {disc_dec};"
            );
        }
        let _ = writeln!(
            body,
            "        ::core::result::Result::Ok(match discriminant {{\n{arms}        }})"
        );
        self.decode_impl(out, t, &format!("{inline}{allow}"), &body);
        if self.o.random && !borrows {
            self.union_random(out, t, u, &cases, enum_def.map(|(_, e)| e));
        }
        if let Some(dflt) = &u.default {
            let patterns: Vec<String> = cases.iter().map(|c| pattern(c.value)).collect();
            // Enum and bool discriminants have few values: list the ones
            // without a case, for `arbitrary` to choose from.
            let uncased = |v: i128| !cases.iter().any(|c| c.value == v);
            let unlisted: Option<Vec<String>> = match (u.discriminant_kind, enum_def) {
                (DiscriminantKind::Enum(_), Some((_, e))) => Some(
                    e.members
                        .iter()
                        .filter(|m| m.alias_of.is_none() && uncased(i128::from(m.value)))
                        .map(|m| pattern(i128::from(m.value)))
                        .collect(),
                ),
                (DiscriminantKind::Prim(Prim::Bool), _) => Some(
                    [0, 1]
                        .into_iter()
                        .filter(|v| uncased(*v))
                        .map(pattern)
                        .collect(),
                ),
                _ => None,
            };
            self.union_default_type(out, t, u, dflt, &patterns, covered, unlisted.as_deref());
        }
    }

    /// The type a `default` arm holds its discriminant in: a newtype whose
    /// values exclude every `case` label, so that a value which would
    /// encode as another arm (and then decode differently, or not at all)
    /// cannot be built. Decoding builds it directly.
    #[allow(clippy::too_many_arguments)] // the union's facts, computed once
    fn union_default_type(
        &self,
        out: &mut String,
        t: &TypeDef,
        u: &Union,
        dflt: &crate::ir::DefaultArm,
        case_patterns: &[String],
        covered: bool,
        unlisted: Option<&[String]>,
    ) {
        let rt = &self.rt;
        let name = &dflt.discriminant_type.rust;
        let disc_ty = self.rust_ty(&u.discriminant.ty);
        let _ = writeln!(
            out,
            "/// The `{}` of `{}` values in the `default` arm: any value that no `case` lists.",
            u.discriminant.name.xdr, t.name.xdr
        );
        let mut derives: Vec<String> = [
            "Clone",
            "Copy",
            "Debug",
            "PartialEq",
            "Eq",
            "Hash",
            "PartialOrd",
            "Ord",
        ]
        .map(String::from)
        .to_vec();
        derives.extend(self.derives.iter().cloned());
        let _ = writeln!(out, "{}", list(0, 0, "#[derive", "(", &derives, ")]", 0));
        if self.o.serde {
            let _ = writeln!(
                out,
                "#[derive({rt}::serde::Serialize)]\n#[serde(crate = \"{rt}::serde\", transparent)]"
            );
        }
        let check = if case_patterns.is_empty() {
            "        ::core::option::Option::Some(Self(discriminant))\n".to_string()
        } else {
            let patterns = case_patterns.join(" | ");
            let patterns = if super::text::fits(12, &patterns, 40) {
                patterns
            } else {
                case_patterns.join(&format!("\n{}| ", pad(12)))
            };
            // Every value has a case: no value belongs to the default arm.
            let rest = if covered {
                ""
            } else {
                "            _ => ::core::option::Option::Some(Self(discriminant)),\n"
            };
            format!(
                "        match discriminant {{\n            \
                 {patterns} => ::core::option::Option::None,\n{rest}        }}\n"
            )
        };
        // Matching a bool, or all but one enum member, is intended here.
        let allow = match u.discriminant_kind {
            _ if case_patterns.is_empty() => "",
            DiscriminantKind::Prim(Prim::Bool) => "    #[allow(clippy::match_bool)]\n",
            DiscriminantKind::Enum(_) => {
                "    #[allow(clippy::match_wildcard_for_single_variants)]\n"
            }
            DiscriminantKind::Prim(_) => "",
        };
        let _ = write!(
            out,
            "pub struct {name}({disc_ty});\n\
             impl {name} {{\n    \
             /// `None` when `discriminant` has a `case` arm of its own.\n{allow}"
        );
        fn_sig(
            out,
            4,
            "pub const fn new",
            &[format!("discriminant: {disc_ty}")],
            "::core::option::Option<Self>",
        );
        let _ = writeln!(
            out,
            "{check}    }}\n    /// The discriminant.\n    \
             pub const fn get(self) -> {disc_ty} {{\n        self.0\n    }}\n}}\n\
             impl ::core::convert::TryFrom<{disc_ty}> for {name} {{\n    \
             /// The refused discriminant.\n    type Error = {disc_ty};"
        );
        fn_sig(
            out,
            4,
            "fn try_from",
            &[format!("discriminant: {disc_ty}")],
            &format!("::core::result::Result<Self, {disc_ty}>"),
        );
        let _ = writeln!(
            out,
            "        Self::new(discriminant).ok_or(discriminant)\n    }}\n}}\n\
             impl ::core::convert::From<{name}> for {disc_ty} {{\n    \
             fn from(value: {name}) -> Self {{\n        value.0\n    }}\n}}"
        );
        if self.o.serde {
            let message = string_lit(&format!(
                "`{}` has its own `case` arm in union `{}`",
                u.discriminant.name.xdr, t.name.xdr
            ));
            let _ = writeln!(out, "impl<'de> {rt}::serde::Deserialize<'de> for {name} {{");
            fn_sig(
                out,
                4,
                &format!("fn deserialize<D: {rt}::serde::Deserializer<'de>>"),
                &["deserializer: D".into()],
                "::core::result::Result<Self, D::Error>",
            );
            let _ = writeln!(
                out,
                "        let discriminant = <{disc_ty} as {rt}::serde::Deserialize<'de>>::deserialize(\n            \
                 deserializer,\n        )?;\n        \
                 Self::new(discriminant)\n            \
                 .ok_or_else(|| <D::Error as {rt}::serde::de::Error>::custom({message}))\n    }}\n}}"
            );
        }
        if self.o.arbitrary {
            // Few values: choose among those without a case (none left is
            // an error). Many: take any, and refuse the rare one with a case.
            let body = match unlisted {
                Some(values) => {
                    let choices = list(8, 8, "u.choose(&", "[", values, "])", 1);
                    format!(
                        "        {choices}\n            .map(|discriminant| Self(*discriminant))\n"
                    )
                }
                None => format!(
                    "        let discriminant = <{disc_ty} as ::arbitrary::Arbitrary<'a>>::arbitrary(u)?;\n        \
                     Self::new(discriminant).ok_or(::arbitrary::Error::IncorrectFormat)\n"
                ),
            };
            let _ = writeln!(
                out,
                "impl<'a> ::arbitrary::Arbitrary<'a> for {name} {{\n    \
                 fn arbitrary(u: &mut ::arbitrary::Unstructured<'a>) -> ::arbitrary::Result<Self> {{\n\
                 {body}    }}\n}}"
            );
        }
    }

    fn union_random(
        &self,
        out: &mut String,
        t: &TypeDef,
        u: &Union,
        cases: &[Case<'_>],
        enum_def: Option<&crate::ir::Enum>,
    ) {
        let rt = &self.rt;
        let name = &t.name.rust;
        // Each choice as it is written in an arm at indentation 12, and
        // whether it goes through a `Box`.
        let mut choices: Vec<(String, bool)> = cases
            .iter()
            .map(|c| match c.field {
                Some(f) => {
                    let r = self.random(&f.ty, 16, 16);
                    let head = format!("Self::{}", c.variant);
                    (list(17, 12, &head, "(", &[r], ")", 1), has_box(&f.ty))
                }
                None => (format!("Self::{}", c.variant), false),
            })
            .collect();
        // A default arm needs a discriminant no case uses.
        let used: Vec<i128> = u
            .arms
            .iter()
            .flat_map(|a| a.cases.iter().map(|c| c.value))
            .collect();
        let free: Option<String> = match (u.discriminant_kind, enum_def) {
            (DiscriminantKind::Enum(id), Some(e)) => e
                .members
                .iter()
                .find(|m| m.alias_of.is_none() && !used.contains(&i128::from(m.value)))
                .map(|m| format!("{}::{}", self.type_path(id), m.name.rust)),
            (DiscriminantKind::Prim(p), _) => {
                let (lo, hi) = p.range().unwrap_or((0, 0));
                (lo..=hi.min(lo + 1000))
                    .find(|v| !used.contains(v))
                    .map(|v| {
                        if p == Prim::Bool {
                            (v != 0).to_string()
                        } else {
                            number(v)
                        }
                    })
            }
            _ => None,
        };
        if let (Some(dflt), Some(disc)) = (&u.default, free) {
            let dt = &dflt.discriminant_type.rust;
            choices.push(match &dflt.field {
                Some(f) => {
                    let r = self.random(&f.ty, 23, 16);
                    let fields = [
                        ("discriminant".to_string(), format!("{dt}({disc})")),
                        ("value".to_string(), r),
                    ];
                    (
                        Self::struct_lit("Self::Default", &fields, 17, 12),
                        has_box(&f.ty),
                    )
                }
                None => (format!("Self::Default({dt}({disc}))"), false),
            });
        }
        if choices.is_empty() {
            return;
        }
        let n = choices.len();
        let shallow = choices.iter().position(|(_, deep)| !deep).unwrap_or(0);
        let shallow_choice = &choices[shallow].0;
        let _ = writeln!(
            out,
            "impl {rt}::Random for {name} {{\n    \
             fn random(rng: &mut {rt}::Rng) -> Self {{\n        \
             if !rng.some() {{\n            return {shallow_choice};\n        }}\n        \
             rng.enter();\n        let value = match rng.below({n}) {{"
        );
        for (i, (c, _)) in choices.iter().enumerate() {
            let _ = writeln!(out, "            {i} => {c},");
        }
        let _ = writeln!(
            out,
            "            _ => {shallow_choice},\n        }};\n        \
             rng.leave();\n        value\n    }}\n}}"
        );
    }

    // ----- programs -----

    pub(super) fn program(&self, out: &mut String, p: &Program) {
        self.docs(
            out,
            0,
            &format!("program {} = {}", p.name.xdr, p.number),
            &p.docs,
        );
        self.program_contents_doc(out, p);
        let _ = writeln!(out, "pub mod {} {{", p.name.rust);
        let mut versions = String::new();
        let _ = writeln!(
            versions,
            "    /// The program number.\n    pub const PROGRAM: u32 = {};",
            number(i128::from(p.number))
        );
        let (file, out) = (out, &mut versions);
        // Stubs sit in `program::version`: two levels down.
        let g = self.nested(2);
        let stubs_wanted = !g.o.zero_copy;
        for v in &p.versions {
            // The version module's contents, written at indentation 0 and
            // indented as a whole.
            let mut m = String::new();
            let base = super::text::Base::set(8);
            let _ = writeln!(
                m,
                "/// The version number.\npub const VERSION: u32 = {};",
                number(i128::from(v.number))
            );
            g.names_table(&mut m, p, v);
            m.push_str(
                "/// The procedures of this version.\n\
                 #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]\n\
                 #[repr(u32)]\npub enum Procedure {\n",
            );
            for proc in &v.procedures {
                g.docs(&mut m, 4, &g.xdr_procedure(proc), &proc.docs);
                let _ = writeln!(
                    m,
                    "    {} = {},",
                    proc.variant,
                    number(i128::from(proc.number))
                );
            }
            let all: Vec<String> = v
                .procedures
                .iter()
                .map(|proc| format!("Self::{}", proc.variant))
                .collect();
            let all = list(
                4,
                4,
                "pub const ALL: &'static [Self] = &",
                "[",
                &all,
                "]",
                1,
            );
            let _ = writeln!(
                m,
                "}}\nimpl Procedure {{\n    /// Every procedure, in declaration order.\n    {all};\n    \
                 /// The procedure number.\n    pub const fn number(self) -> u32 {{\n        \
                 self as u32\n    }}\n    /// The procedure's name in the `.x` file.\n    \
                 pub const fn xdr_name(self) -> &'static str {{\n        match self {{"
            );
            for proc in &v.procedures {
                let _ = writeln!(
                    m,
                    "            Self::{} => {},",
                    proc.variant,
                    string_lit(&proc.name.xdr)
                );
            }
            m.push_str(
                "        }\n    }\n}\nimpl ::core::convert::TryFrom<u32> for Procedure {\n    \
                 type Error = u32;\n    \
                 fn try_from(number: u32) -> ::core::result::Result<Self, u32> {\n        \
                 match number {\n",
            );
            for proc in &v.procedures {
                let _ = writeln!(
                    m,
                    "            {} => ::core::result::Result::Ok(Self::{}),",
                    number(i128::from(proc.number)),
                    proc.variant
                );
            }
            m.push_str(
                "            other => ::core::result::Result::Err(other),\n        }\n    }\n}\n",
            );
            if g.o.client && stubs_wanted {
                g.clients(&mut m, v);
            }
            if g.o.server && stubs_wanted {
                g.server(&mut m, v);
            }
            m.insert_str(0, &g.module_uses(&m));
            drop(base);
            g.docs(
                out,
                4,
                &format!("version {} = {}", v.name.xdr, v.number),
                &v.docs,
            );
            let _ = writeln!(out, "    pub mod {} {{", v.name.rust);
            out.push_str(&super::text::indent(&m, 8));
            out.push_str("    }\n");
        }
        // The stubs name the file's types through this alias: a path
        // decided once, instead of `super::super::` in every signature.
        if uses_alias(&versions, names::PARENT_ALIAS) {
            let _ = writeln!(file, "    use super as {};\n", names::PARENT_ALIAS);
        }
        file.push_str(&versions);
        file.push_str("}\n");
    }
}

/// A union arm: its variant, the value of its discriminant, its field.
struct Case<'a> {
    variant: &'a str,
    value: i128,
    field: Option<&'a Field>,
    docs: &'a [String],
    label: &'a str,
}

/// A match arm `pat => expr,` at indentation `ind`; in a block when the
/// expression does not fit on the line.
fn arm(out: &mut String, ind: usize, pat: &str, expr: &str) {
    let p = pad(ind);
    if super::text::fits(ind, expr, pat.len() + 5) {
        let _ = writeln!(out, "{p}{pat} => {expr},");
    } else {
        let _ = writeln!(out, "{p}{pat} => {{\n{p}    {expr}\n{p}}}");
    }
}

/// Whether the type (directly) goes through heap recursion.
fn has_box(ty: &Ty) -> bool {
    match ty {
        Ty::Boxed(_) => true,
        Ty::Optional(inner) | Ty::Array { elem: inner, .. } => has_box(inner),
        _ => false,
    }
}

/// The Rust type for an integer constant: `u32` when it fits (the usual
/// use is a size), else `i32`, `i64`, `u64`.
fn const_type(v: i128) -> &'static str {
    if u32::try_from(v).is_ok() {
        "u32"
    } else if i32::try_from(v).is_ok() {
        "i32"
    } else if i64::try_from(v).is_ok() {
        "i64"
    } else {
        "u64"
    }
}

/// C string-literal escapes to the characters they mean.
fn unescape_c(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('0') => out.push('\0'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}
