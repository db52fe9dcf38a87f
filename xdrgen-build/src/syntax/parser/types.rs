//! Types and declarations: type specifiers (with rpcgen's `unsigned`,
//! `long`, `struct foo` spellings), declarators and their array shapes,
//! and struct, enum and union bodies, inline or named.

use super::expr::ExprMode;
use super::{ErrKind, KEYWORDS, PErr, PResult, SpecParser, skip_blank};
use crate::diagnostics::Code;
use crate::syntax::ast::{
    Arm, Decl, EnumBody, EnumMember, Member, Prim, Shape, StructBody, Tag, TypeSpec, UnionBody,
};

#[allow(clippy::unused_self)] // methods keep the grammar readable as one unit
impl SpecParser<'_> {
    pub(super) fn type_spec<'a>(&self, i: &'a str) -> PResult<'a, TypeSpec> {
        let start = skip_blank(i);
        let prim = |rest: &'a str, prim: Prim| {
            Ok((
                rest,
                TypeSpec::Prim {
                    prim,
                    span: self.span(start, rest),
                },
            ))
        };
        let Some(word) = self.peek_word(i) else {
            return Err(self.error(i, "a type"));
        };
        let (rest, _) = self.word(i)?;
        match word {
            "unsigned" => {
                let next = self.peek_word(rest);
                let (prim_kind, consume) = match next {
                    Some("int") => (Prim::UInt, true),
                    Some("hyper") => (Prim::UHyper, true),
                    Some("char") => (Prim::UChar, true),
                    Some("short") => (Prim::UShort, true),
                    Some("long") => (Prim::ULong, true),
                    _ => (Prim::UInt, false),
                };
                let rest = if consume { self.word(rest)?.0 } else { rest };
                let rest = self.skip_int_after(rest, prim_kind)?;
                prim(rest, prim_kind)
            }
            "int" => prim(rest, Prim::Int),
            "hyper" => prim(rest, Prim::Hyper),
            "float" => prim(rest, Prim::Float),
            "double" => prim(rest, Prim::Double),
            "quadruple" => prim(rest, Prim::Quadruple),
            "bool" => prim(rest, Prim::Bool),
            "char" => prim(rest, Prim::Char),
            "short" => prim(self.skip_int_after(rest, Prim::Short)?, Prim::Short),
            "long" => prim(self.skip_int_after(rest, Prim::Long)?, Prim::Long),
            "opaque" => Ok((rest, TypeSpec::Opaque(self.span(start, rest)))),
            "string" => Ok((rest, TypeSpec::String(self.span(start, rest)))),
            "struct" | "enum" | "union" => {
                let tag = match word {
                    "struct" => Tag::Struct,
                    "enum" => Tag::Enum,
                    _ => Tag::Union,
                };
                if tag == Tag::Struct && self.peek_sym(rest, '{') {
                    let (rest, body) = Self::cut(self.struct_body(rest))?;
                    return Ok((rest, TypeSpec::InlineStruct(body)));
                }
                if tag == Tag::Enum && self.peek_sym(rest, '{') {
                    let (rest, body) = Self::cut(self.enum_body(rest))?;
                    return Ok((rest, TypeSpec::InlineEnum(body)));
                }
                if tag == Tag::Union && self.peek_word(rest) == Some("switch") {
                    let (rest, body) = Self::cut(self.union_body(rest))?;
                    return Ok((rest, TypeSpec::InlineUnion(Box::new(body))));
                }
                let (rest, name) = Self::cut(self.ident(rest))?;
                Ok((
                    rest,
                    TypeSpec::Named {
                        name,
                        tag: Some(tag),
                    },
                ))
            }
            w if KEYWORDS.contains(&w) => Err(self.error(i, "a type")),
            _ => {
                let (rest, name) = self.ident(i)?;
                Ok((rest, TypeSpec::Named { name, tag: None }))
            }
        }
    }

    /// `short int`, `long int`, `unsigned long int`: C allows a trailing `int`.
    fn skip_int_after<'a>(&self, rest: &'a str, prim: Prim) -> Result<&'a str, nom::Err<PErr>> {
        let takes_int = matches!(prim, Prim::Short | Prim::UShort | Prim::Long | Prim::ULong);
        if takes_int && self.peek_word(rest) == Some("int") {
            Ok(self.word(rest)?.0)
        } else {
            Ok(rest)
        }
    }

    pub(super) fn declaration<'a>(&self, i: &'a str) -> PResult<'a, Decl> {
        let start = skip_blank(i);
        if self.peek_word(i) == Some("void") {
            let (rest, span) = self.keyword(i, "void")?;
            // `void name` is not valid anywhere, but it is a misuse of void
            // (reported when lowering), not a syntax error.
            if let Some(w) = self.peek_word(rest) {
                if !KEYWORDS.contains(&w) {
                    let (rest, name) = self.word(rest)?;
                    return Ok((rest, Decl::Void(span.to(name.span))));
                }
            }
            return Ok((rest, Decl::Void(span)));
        }
        let (rest, ty) = self.type_spec(i)?;
        if self.peek_sym(rest, '*') {
            let (rest, _) = self.sym(rest, '*')?;
            let (rest, name) = Self::cut(self.ident(rest))?;
            return Ok((
                rest,
                Decl::Named {
                    ty,
                    name,
                    shape: Shape::Optional,
                    span: self.span(start, rest),
                },
            ));
        }
        let (rest, name) = Self::cut(self.ident(rest))?;
        let (rest, shape) = Self::cut(self.array_shape(rest))?;
        Ok((
            rest,
            Decl::Named {
                ty,
                name,
                shape,
                span: self.span(start, rest),
            },
        ))
    }

    /// `[N]`, `<N>`, `<>` or nothing.
    pub(super) fn array_shape<'a>(&self, i: &'a str) -> PResult<'a, Shape> {
        if self.peek_sym(i, '[') {
            let (rest, _) = self.sym(i, '[')?;
            let (rest, len) = Self::cut(self.expr(rest, ExprMode { angle: false }))?;
            let (rest, _) = Self::cut(self.sym(rest, ']'))?;
            Ok((rest, Shape::Fixed(len)))
        } else if self.peek_sym(i, '<') {
            let (rest, _) = self.sym(i, '<')?;
            if self.peek_sym(rest, '>') {
                let (rest, _) = self.sym(rest, '>')?;
                return Ok((rest, Shape::Variable(None)));
            }
            let (rest, max) = Self::cut(self.expr(rest, ExprMode { angle: true }))?;
            let (rest, _) = Self::cut(self.sym(rest, '>'))?;
            Ok((rest, Shape::Variable(Some(max))))
        } else {
            Ok((i, Shape::Scalar))
        }
    }

    pub(super) fn struct_body<'a>(&self, i: &'a str) -> PResult<'a, StructBody> {
        let start = skip_blank(i);
        let (mut rest, _) = self.sym(i, '{')?;
        let _guard = self.enter(rest)?;
        let mut members = Vec::new();
        loop {
            let (r, mut docs) = self.docs(rest)?;
            if self.peek_sym(r, '}') {
                rest = r;
                break;
            }
            let (r, decl) = Self::cut(self.declaration(r))?;
            let (r, _) = Self::cut(self.sym(r, ';'))?;
            let (r, trailing) = self.trailing_comment(r);
            docs.extend(trailing);
            members.push(Member { docs, decl });
            rest = r;
        }
        let (rest, _) = self.sym(rest, '}')?;
        Ok((
            rest,
            StructBody {
                members,
                span: self.span(start, rest),
            },
        ))
    }

    pub(super) fn enum_body<'a>(&self, i: &'a str) -> PResult<'a, EnumBody> {
        let start = skip_blank(i);
        let (mut rest, _) = self.sym(i, '{')?;
        let _guard = self.enter(rest)?;
        let mut members = Vec::new();
        loop {
            let (r, mut docs) = self.docs(rest)?;
            if self.peek_sym(r, '}') {
                rest = r;
                break;
            }
            let (r, name) = Self::cut(self.ident(r))?;
            let (r, value) = if self.peek_sym(r, '=') {
                let (r, _) = self.sym(r, '=')?;
                let (r, e) = Self::cut(self.expr(r, ExprMode { angle: false }))?;
                (r, Some(e))
            } else {
                (r, None)
            };
            let (r, more) = if self.peek_sym(r, ',') {
                (self.sym(r, ',')?.0, true)
            } else {
                (r, false)
            };
            let (r, trailing) = self.trailing_comment(r);
            docs.extend(trailing);
            members.push(EnumMember { docs, name, value });
            rest = r;
            if !more {
                let (r, ()) = self.ws(rest)?;
                if !r.starts_with('}') {
                    return Err(nom::Err::Failure(PErr {
                        rest: r.len(),
                        kind: ErrKind::Expected("`,` or `}`"),
                    }));
                }
            }
        }
        let (rest, _) = self.sym(rest, '}')?;
        Ok((
            rest,
            EnumBody {
                members,
                span: self.span(start, rest),
            },
        ))
    }

    pub(super) fn union_body<'a>(&self, i: &'a str) -> PResult<'a, UnionBody> {
        let start = skip_blank(i);
        let (rest, _) = self.keyword(i, "switch")?;
        let _guard = self.enter(rest)?;
        let (rest, _) = Self::cut(self.sym(rest, '('))?;
        let (rest, discriminant) = Self::cut(self.declaration(rest))?;
        let (rest, _) = Self::cut(self.sym(rest, ')'))?;
        let (mut rest, _) = Self::cut(self.sym(rest, '{'))?;
        let mut arms = Vec::new();
        let mut default = None;
        loop {
            let (r, mut docs) = self.docs(rest)?;
            match self.peek_word(r) {
                Some("case") => {
                    let mut labels = Vec::new();
                    let mut r = r;
                    while self.peek_word(r) == Some("case") {
                        let (r2, _) = self.keyword(r, "case")?;
                        let (r2, label) = Self::cut(self.expr(r2, ExprMode { angle: false }))?;
                        let (r2, _) = Self::cut(self.sym(r2, ':'))?;
                        let (r2, more_docs) = self.docs(r2)?;
                        docs.extend(more_docs);
                        labels.push(label);
                        r = r2;
                    }
                    let (r, decl) = Self::cut(self.declaration(r))?;
                    let (r, _) = Self::cut(self.sym(r, ';'))?;
                    let (r, trailing) = self.trailing_comment(r);
                    docs.extend(trailing);
                    arms.push(Arm { docs, labels, decl });
                    rest = r;
                }
                Some("default") => {
                    let (r, kw) = self.keyword(r, "default")?;
                    let (r, _) = Self::cut(self.sym(r, ':'))?;
                    let (r, decl) = Self::cut(self.declaration(r))?;
                    let (r, _) = Self::cut(self.sym(r, ';'))?;
                    let (r, trailing) = self.trailing_comment(r);
                    docs.extend(trailing);
                    if default.is_some() {
                        return Err(self.failure(
                            skip_blank(rest),
                            Code::Syntax,
                            "a union can have only one `default` arm".to_string(),
                        ));
                    }
                    default = Some((kw, Member { docs, decl }));
                    rest = r;
                }
                _ if self.peek_sym(r, '}') => {
                    rest = r;
                    break;
                }
                _ => {
                    return Err(nom::Err::Failure(PErr {
                        rest: r.len(),
                        kind: ErrKind::Expected("`case`, `default` or `}`"),
                    }));
                }
            }
        }
        let (rest, _) = self.sym(rest, '}')?;
        Ok((
            rest,
            UnionBody {
                discriminant,
                arms,
                default,
                span: self.span(start, rest),
            },
        ))
    }
}
