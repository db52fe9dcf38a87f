//! Types: a named type gets its id on first use and is lowered from the
//! worklist, so imported and built-in types reach the IR only when used;
//! inline types become named types `owner_field`.

use std::collections::HashMap;

use super::{Def, Lowerer, TypeSrc, Unit, doc_lines};
use crate::diagnostics::{Code, Diagnostic};
use crate::ir::names;
use crate::ir::{
    Enum, EnumMember, Field, Len, Name, Origin, Prim, Struct, Ty, TypeDef, TypeId, TypeKind,
    annotations,
};
use crate::source::Span;
use crate::syntax::ast::{
    self, Comment, Decl, EnumBody, Expr, Ident, Shape, StructBody, Tag, TypeSpec,
};

impl<'a> Lowerer<'a> {
    fn origin(&self, unit: Unit, name: &str) -> Origin {
        match unit {
            Unit::Local => Origin::Local,
            Unit::Builtin => Origin::Builtin,
            Unit::Import(i) => {
                let import = &self.inputs.imports[i];
                let module = import.rust_path.clone().unwrap_or_else(|| {
                    let stem = std::path::Path::new(&import.file)
                        .file_stem()
                        .map_or("imported".to_string(), |s| s.to_string_lossy().into_owned());
                    format!("super::{}", names::field_name(&stem))
                });
                Origin::Imported {
                    file: import.file.clone(),
                    rust_path: import.rust_path.clone(),
                    module: names::imported_module(&module),
                }
            }
            Unit::Extern => Origin::Extern {
                rust_path: self
                    .inputs
                    .extern_types
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, p)| p.clone())
                    .unwrap_or_default(),
                // Decided with the aliases, once every name is known.
                in_file: None,
            },
        }
    }

    /// The id of a named type, queuing it for lowering on first use.
    pub(super) fn type_id(&mut self, name: &'a str) -> Option<TypeId> {
        if let Some(id) = self.type_ids.get(name) {
            return Some(*id);
        }
        let Some(Def::Type {
            unit,
            src,
            span,
            docs,
            ..
        }) = self.symbols.get(name).cloned()
        else {
            return None;
        };
        let span = span.unwrap_or(self.inputs.command_line);
        let id = self.new_type(name, span, unit, doc_lines(docs));
        self.type_ids.insert(name, id);
        self.worklist.push_back((id, src, unit));
        Some(id)
    }

    fn new_type(&mut self, xdr: &str, span: Span, unit: Unit, docs: Vec<String>) -> TypeId {
        let id = TypeId(u32::try_from(self.types.len()).expect("fewer than 2^32 types"));
        self.types.push(TypeDef {
            id,
            name: Name {
                xdr: xdr.to_string(),
                rust: names::type_name(xdr),
                span,
            },
            origin: self.origin(unit, xdr),
            docs,
            kind: TypeKind::Extern,
        });
        id
    }

    pub(super) fn drain_worklist(&mut self) {
        while let Some((id, src, unit)) = self.worklist.pop_front() {
            let name = self.types[id.index()].name.xdr.clone();
            let kind = self.lower_type_src(src, &name, unit);
            self.types[id.index()].kind = kind;
        }
    }

    fn lower_type_src(&mut self, src: TypeSrc<'a>, name: &str, unit: Unit) -> TypeKind {
        match src {
            TypeSrc::Extern => TypeKind::Extern,
            TypeSrc::Typedef(decl) => {
                let Decl::Named {
                    ty,
                    shape,
                    name: id,
                    ..
                } = decl
                else {
                    unreachable!("void typedefs are never declared")
                };
                let ty = self
                    .lower_ty(ty, shape, name, &id.name, unit, false)
                    .unwrap_or(Ty::Prim(Prim::Int));
                TypeKind::Alias { ty }
            }
            TypeSrc::Enum(body) => TypeKind::Enum(self.lower_enum(body, name, unit)),
            TypeSrc::Struct(body) => TypeKind::Struct(self.lower_struct(body, name, unit)),
            TypeSrc::Union(body) => self
                .lower_union(body, name, unit)
                .map_or(TypeKind::Extern, TypeKind::Union),
        }
    }

    fn lower_enum(&mut self, body: &'a EnumBody, name: &str, unit: Unit) -> Enum {
        let annotated = unit == Unit::Local && name.to_ascii_lowercase().ends_with("procedure");
        let mut members = Vec::new();
        let mut seen: HashMap<i128, usize> = HashMap::new();
        let mut previous: Option<i128> = None;
        for (index, m) in body.members.iter().enumerate() {
            // A scoped member counting on from the one before needs no
            // search back (which would make a long enum quadratic).
            let scoped_next = (m.value.is_none() && !self.owns_member(body, index))
                .then(|| previous.map_or(0, |p| p + 1));
            let value =
                match scoped_next.map_or_else(|| self.member_value(body, index, &m.name), Ok) {
                    Ok(v) => v,
                    Err(d) => {
                        self.diags.extend(d);
                        previous = None;
                        continue;
                    }
                };
            previous = Some(value);
            let Ok(value32) = i32::try_from(value) else {
                let at = m.value.as_ref().map_or(m.name.span, Expr::span);
                self.diags.push(
                    Diagnostic::new(
                        Code::Range,
                        format!(
                            "enum value {value} of `{}` does not fit in a 32-bit int",
                            m.name.name
                        ),
                    )
                    .primary(at, "XDR enums are signed 32-bit"),
                );
                continue;
            };
            // Real files give one value several names (nis_object.x's
            // `BOGUS_OBJ` and `NIS_BOGUS_OBJ`): later ones are aliases.
            let alias_of = seen.get(&value).copied();
            seen.entry(value).or_insert(members.len());
            let annotations = if annotated {
                annotations::parse(&m.docs, &mut self.diags)
            } else {
                None
            };
            members.push(EnumMember {
                name: Name {
                    xdr: m.name.name.clone(),
                    rust: names::variant_name(&m.name.name),
                    span: m.name.span,
                },
                value: value32,
                alias_of,
                alias_const: alias_of.map(|_| names::const_name(&m.name.name)),
                docs: doc_lines(&m.docs),
                annotations,
            });
        }
        Enum { members }
    }

    fn lower_struct(&mut self, body: &'a StructBody, name: &str, unit: Unit) -> Struct {
        let mut fields = Vec::new();
        let mut seen: HashMap<&str, Span> = HashMap::new();
        for m in &body.members {
            match &m.decl {
                Decl::Void(span) => self.diags.push(
                    Diagnostic::new(Code::Void, "a struct member cannot be `void`")
                        .primary(*span, "")
                        .note("`void` is only allowed as a union arm or a procedure argument or result"),
                ),
                Decl::Named { name: id, .. } => {
                    self.check_member_dup(&mut seen, id, "struct member");
                    if let Some(f) = self.lower_field(&m.decl, &m.docs, name, unit) {
                        fields.push(f);
                    }
                }
            }
        }
        Struct { fields }
    }

    pub(super) fn lower_field(
        &mut self,
        decl: &'a Decl,
        docs: &[Comment],
        owner: &str,
        unit: Unit,
    ) -> Option<Field> {
        let Decl::Named {
            ty, name, shape, ..
        } = decl
        else {
            return None;
        };
        let ty = self.lower_ty(ty, shape, owner, &name.name, unit, false)?;
        Some(Field {
            name: Name {
                xdr: name.name.clone(),
                rust: names::field_name(&name.name),
                span: name.span,
            },
            ty,
            docs: doc_lines(docs),
        })
    }

    /// Lowers `ty` with a declarator shape. `proc_type`: procedure argument
    /// and result types may be a bare `string`/`opaque` (unbounded).
    pub(super) fn lower_ty(
        &mut self,
        ty: &'a TypeSpec,
        shape: &'a Shape,
        owner: &str,
        field: &str,
        unit: Unit,
        proc_type: bool,
    ) -> Option<Ty> {
        let bounded = |s: &mut Self, e: &Option<Expr>| match e {
            Some(e) => s.bound(e).map(Some),
            None => Some(None),
        };
        match ty {
            TypeSpec::Opaque(span) => match shape {
                Shape::Fixed(e) => Some(Ty::Opaque(Len::Fixed(self.bound(e)?))),
                Shape::Variable(e) => Some(Ty::Opaque(Len::Variable(bounded(self, e)?))),
                Shape::Scalar if proc_type => Some(Ty::Opaque(Len::Variable(None))),
                Shape::Scalar | Shape::Optional => {
                    self.diags.push(
                        Diagnostic::new(Code::Bound, "`opaque` needs a size")
                            .primary(*span, "")
                            .help(format!("write `opaque {field}[N]` for fixed or `opaque {field}<N>` for variable length")),
                    );
                    None
                }
            },
            TypeSpec::String(span) => {
                match shape {
                    Shape::Variable(e) => Some(Ty::String(bounded(self, e)?)),
                    Shape::Scalar if proc_type => Some(Ty::String(None)),
                    Shape::Fixed(_) => {
                        self.diags.push(
                        Diagnostic::new(Code::Bound, "strings have no fixed-length form")
                            .primary(*span, "")
                            .help(format!("write `string {field}<N>`, or `opaque {field}[N]` for fixed bytes")),
                    );
                        None
                    }
                    Shape::Scalar | Shape::Optional => {
                        self.diags.push(
                            Diagnostic::new(Code::Bound, "`string` needs a maximum length")
                                .primary(*span, "")
                                .help(format!(
                                    "write `string {field}<N>`, or `string {field}<>` for no limit"
                                )),
                        );
                        None
                    }
                }
            }
            _ => {
                let base = self.lower_base(ty, owner, field, unit)?;
                Some(match shape {
                    Shape::Scalar => base,
                    Shape::Optional => Ty::Optional(Box::new(base)),
                    Shape::Fixed(e) => Ty::Array {
                        elem: Box::new(base),
                        len: Len::Fixed(self.bound(e)?),
                    },
                    Shape::Variable(e) => Ty::Array {
                        elem: Box::new(base),
                        len: Len::Variable(bounded(self, e)?),
                    },
                })
            }
        }
    }

    pub(super) fn lower_base(
        &mut self,
        ty: &'a TypeSpec,
        owner: &str,
        field: &str,
        unit: Unit,
    ) -> Option<Ty> {
        match ty {
            TypeSpec::Prim { prim, .. } => Some(Ty::Prim(lower_prim(*prim))),
            TypeSpec::Named { name, tag } => self.named(name, *tag),
            TypeSpec::InlineEnum(body) => {
                let id = self.inline_type(owner, field, body.span, unit);
                let kind = TypeKind::Enum(self.lower_enum(
                    body,
                    &self.types[id.index()].name.xdr.clone(),
                    unit,
                ));
                self.types[id.index()].kind = kind;
                Some(Ty::Named(id))
            }
            TypeSpec::InlineStruct(body) => {
                let id = self.inline_type(owner, field, body.span, unit);
                let xdr = self.types[id.index()].name.xdr.clone();
                let kind = TypeKind::Struct(self.lower_struct(body, &xdr, unit));
                self.types[id.index()].kind = kind;
                Some(Ty::Named(id))
            }
            TypeSpec::InlineUnion(body) => {
                let id = self.inline_type(owner, field, body.span, unit);
                let xdr = self.types[id.index()].name.xdr.clone();
                let kind = self
                    .lower_union(body, &xdr, unit)
                    .map_or(TypeKind::Extern, TypeKind::Union);
                self.types[id.index()].kind = kind;
                Some(Ty::Named(id))
            }
            TypeSpec::Opaque(_) | TypeSpec::String(_) => unreachable!("handled by lower_ty"),
        }
    }

    /// Inline `struct {...}` members become named types `owner_field`.
    fn inline_type(&mut self, owner: &str, field: &str, span: Span, unit: Unit) -> TypeId {
        self.new_type(&format!("{owner}_{field}"), span, unit, Vec::new())
    }

    fn named(&mut self, name: &'a Ident, tag: Option<Tag>) -> Option<Ty> {
        match self.symbols.get(name.name.as_str()).cloned() {
            Some(Def::Type { src, span, .. }) => {
                let matches = matches!(
                    (tag, src),
                    (None, _)
                        | (_, TypeSrc::Typedef(_) | TypeSrc::Extern)
                        | (Some(Tag::Struct), TypeSrc::Struct(_))
                        | (Some(Tag::Enum), TypeSrc::Enum(_))
                        | (Some(Tag::Union), TypeSrc::Union(_))
                );
                if !matches {
                    let written = match tag {
                        Some(Tag::Struct) => "struct",
                        Some(Tag::Enum) => "enum",
                        _ => "union",
                    };
                    let actual = match src {
                        TypeSrc::Struct(_) => "a struct",
                        TypeSrc::Enum(_) => "an enum",
                        _ => "a union",
                    };
                    let mut d = Diagnostic::new(
                        Code::WrongKind,
                        format!("`{written} {}` names {actual}", name.name),
                    )
                    .primary(name.span, format!("`{}` is {actual}", name.name));
                    if let Some(span) = span {
                        d = d.secondary(span, "defined here");
                    }
                    self.diags.push(d);
                }
                self.type_id(&name.name).map(Ty::Named)
            }
            Some(Def::Macro { mac, .. }) if mac.body.is_c_type() => {
                let define = &mac.define;
                let help = format!(
                    "map it to a Rust type with an XDR codec of your own: `{}`",
                    self.inputs
                        .door
                        .spell_option("extern_types", &format!("{}=RUST_PATH", name.name))
                );
                self.diags.push(
                    Diagnostic::new(
                        Code::CTypeMacro,
                        format!("`{}` is a C type from outside the .x file", name.name),
                    )
                    .primary(name.span, "used as a type here")
                    .secondary(
                        define.name.span,
                        format!("defined as the C type `{}`", define.body.trim()),
                    )
                    .note("rpcgen copies the macro into C; the type's XDR routine is written by hand, so its wire form is unknown here")
                    .help(help),
                );
                None
            }
            Some(other) => {
                let mut d = Diagnostic::new(
                    Code::WrongKind,
                    format!("`{}` is a constant, not a type", name.name),
                )
                .primary(name.span, "used as a type here");
                if let Some(span) = other.span() {
                    d = d.secondary(span, "defined as a constant here");
                }
                self.diags.push(d);
                None
            }
            None => {
                let mut d = Diagnostic::new(
                    Code::UndefinedType,
                    format!("undefined type `{}`", name.name),
                )
                .primary(
                    name.span,
                    "not defined in this file, its includes or imports",
                );
                if let Some(s) = self.suggest(&name.name, false) {
                    d = d.help(format!("did you mean `{s}`?"));
                } else {
                    let spell = |option, value| self.inputs.door.spell_option(option, value);
                    d = d.help(format!(
                        "if it comes from another .x file, pass `{}`; if it is a Rust type, `{}`",
                        spell("imports", "FILE.x"),
                        spell("extern_types", &format!("{}=RUST_PATH", name.name)),
                    ));
                }
                self.diags.push(d);
                None
            }
        }
    }
}

pub(super) fn lower_prim(p: ast::Prim) -> Prim {
    match p {
        ast::Prim::Int | ast::Prim::Long => Prim::Int,
        ast::Prim::UInt | ast::Prim::ULong => Prim::UInt,
        ast::Prim::Hyper => Prim::Hyper,
        ast::Prim::UHyper => Prim::UHyper,
        ast::Prim::Float => Prim::Float,
        ast::Prim::Double => Prim::Double,
        ast::Prim::Quadruple => Prim::Quadruple,
        ast::Prim::Bool => Prim::Bool,
        ast::Prim::Char => Prim::Char,
        ast::Prim::UChar => Prim::UChar,
        ast::Prim::Short => Prim::Short,
        ast::Prim::UShort => Prim::UShort,
    }
}
