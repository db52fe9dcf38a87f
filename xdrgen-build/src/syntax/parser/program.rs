//! ONC RPC programs (RFC 5531 section 12.2): versions, procedures, and
//! rpcgen's named and multiple arguments.

use super::expr::ExprMode;
use super::{KEYWORDS, PResult, SpecParser, skip_blank};
use crate::source::Span;
use crate::syntax::ast::{
    Docs, Expr, Ident, ProcArg, ProcType, Procedure, Program, Shape, Version,
};

#[allow(clippy::unused_self)] // methods keep the grammar readable as one unit
impl SpecParser<'_> {
    pub(super) fn program<'a>(&self, i: &'a str, docs: Docs) -> PResult<'a, Program> {
        let (rest, (name, versions, number, span)) =
            self.numbered_block(i, "program", |r, docs| self.version(r, docs))?;
        Ok((
            rest,
            Program {
                docs,
                name,
                versions,
                number,
                span,
            },
        ))
    }

    fn version<'a>(&self, i: &'a str, docs: Docs) -> PResult<'a, Version> {
        let (rest, (name, procedures, number, span)) =
            self.numbered_block(i, "version", |r, docs| self.procedure(r, docs))?;
        Ok((
            rest,
            Version {
                docs,
                name,
                procedures,
                number,
                span,
            },
        ))
    }

    /// `KEYWORD name { ENTRY... } = number ;` with at least one entry, the
    /// shape programs and versions share.
    fn numbered_block<'a, T>(
        &self,
        i: &'a str,
        keyword: &'static str,
        entry: impl Fn(&'a str, Docs) -> PResult<'a, T>,
    ) -> PResult<'a, (Ident, Vec<T>, Expr, Span)> {
        let start = skip_blank(i);
        let (rest, _) = self.keyword(i, keyword)?;
        let (rest, name) = Self::cut(self.ident(rest))?;
        let (mut rest, _) = Self::cut(self.sym(rest, '{'))?;
        let mut entries = Vec::new();
        loop {
            let (r, docs) = self.docs(rest)?;
            if self.peek_sym(r, '}') && !entries.is_empty() {
                rest = r;
                break;
            }
            let (r, e) = Self::cut(entry(r, docs))?;
            entries.push(e);
            rest = r;
        }
        let (rest, _) = self.sym(rest, '}')?;
        let (rest, _) = Self::cut(self.sym(rest, '='))?;
        let (rest, number) = Self::cut(self.expr(rest, ExprMode { angle: false }))?;
        let (rest, _) = Self::cut(self.sym(rest, ';'))?;
        Ok((rest, (name, entries, number, self.span(start, rest))))
    }

    fn procedure<'a>(&self, i: &'a str, mut docs: Docs) -> PResult<'a, Procedure> {
        let start = skip_blank(i);
        let (rest, (result, _)) = self.proc_type(i, false)?;
        let (rest, name) = Self::cut(self.ident(rest))?;
        let (mut rest, _) = Self::cut(self.sym(rest, '('))?;
        let mut args = Vec::new();
        loop {
            let (r, (ty, name)) = Self::cut(self.proc_type(rest, true))?;
            args.push(ProcArg { ty, name });
            if self.peek_sym(r, ',') {
                rest = self.sym(r, ',')?.0;
            } else {
                rest = r;
                break;
            }
        }
        let (rest, _) = Self::cut(self.sym(rest, ')'))?;
        let (rest, _) = Self::cut(self.sym(rest, '='))?;
        let (rest, number) = Self::cut(self.expr(rest, ExprMode { angle: false }))?;
        let (rest, _) = Self::cut(self.sym(rest, ';'))?;
        let (rest, trailing) = self.trailing_comment(rest);
        docs.extend(trailing);
        Ok((
            rest,
            Procedure {
                docs,
                name,
                result,
                args,
                number,
                span: self.span(start, rest),
            },
        ))
    }

    /// A procedure result or argument type; arguments may carry a name
    /// (`string name<>`, `int count`).
    fn proc_type<'a>(&self, i: &'a str, named: bool) -> PResult<'a, (ProcType, Option<Ident>)> {
        let start = skip_blank(i);
        if self.peek_word(i) == Some("void") {
            let (rest, span) = self.keyword(i, "void")?;
            return Ok((rest, (ProcType::Void(span), None)));
        }
        let (mut rest, ty) = self.type_spec(i)?;
        let mut shape = Shape::Scalar;
        if self.peek_sym(rest, '*') {
            rest = self.sym(rest, '*')?.0;
            shape = Shape::Optional;
        }
        if shape == Shape::Scalar {
            let (r, s) = self.array_shape(rest)?;
            rest = r;
            shape = s;
        }
        let mut name = None;
        if named {
            if let Some(w) = self.peek_word(rest) {
                if !KEYWORDS.contains(&w) {
                    let (r, id) = self.ident(rest)?;
                    rest = r;
                    name = Some(id);
                    if shape == Shape::Scalar {
                        let (r, s) = self.array_shape(rest)?;
                        rest = r;
                        shape = s;
                    }
                }
            }
        }
        let span = self.span(start, rest);
        Ok((rest, (ProcType::Type { ty, shape, span }, name)))
    }
}
