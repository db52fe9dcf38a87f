//! Definitions: `const`, `typedef`, `enum`, `struct`, `union`, `program`,
//! and the dialect's `pragma` and `namespace`; after an error, recovery
//! at the next `;` at brace depth zero.

use super::expr::ExprMode;
use super::{ErrKind, PErr, PResult, SpecParser, skip_blank};
use crate::diagnostics::{Code, Diagnostic};
use crate::source::Span;
use crate::syntax::ast::{ConstValue, Docs, Ident, Item};

#[allow(clippy::unused_self)] // methods keep the grammar readable as one unit
impl SpecParser<'_> {
    /// Definitions up to the end of input (or a `}` when `in_block`).
    pub(super) fn definitions<'a>(
        &self,
        mut i: &'a str,
        in_block: bool,
        diags: &mut Vec<Diagnostic>,
    ) -> (&'a str, Vec<Item>) {
        let mut items = Vec::new();
        loop {
            let (rest, docs) = match self.docs(i) {
                Ok(ok) => ok,
                Err(nom::Err::Error(e) | nom::Err::Failure(e)) => {
                    diags.push(self.diagnostic(&e));
                    return ("", items);
                }
                Err(nom::Err::Incomplete(_)) => return ("", items),
            };
            if rest.is_empty() || (in_block && rest.starts_with('}')) {
                return (rest, items);
            }
            if let Some(after) = rest.strip_prefix(';') {
                // A stray `;` (rpcgen accepts `};;`).
                i = after;
                continue;
            }
            match self.definition(rest, docs, diags) {
                Ok((after, mut item)) => {
                    // `const A = 1; /* what A is */` documents A.
                    let (after, trailing) = self.trailing_comment(after);
                    if let (Some(c), Some(docs)) = (trailing, item.docs_mut()) {
                        docs.push(c);
                    }
                    items.push(item);
                    i = after;
                }
                Err(nom::Err::Error(e) | nom::Err::Failure(e)) => {
                    diags.push(self.diagnostic(&e));
                    i = self.recover(rest);
                }
                Err(nom::Err::Incomplete(_)) => return ("", items),
            }
        }
    }

    /// Skips past the next `;` at brace depth zero (or an unmatched `}`).
    fn recover<'a>(&self, mut i: &'a str) -> &'a str {
        let mut depth = 0usize;
        let mut first = true;
        loop {
            i = match self.ws(i) {
                Ok((rest, ())) => rest,
                Err(_) => return "",
            };
            let Some(c) = i.chars().next() else {
                return i;
            };
            match c {
                '{' => depth += 1,
                '}' if depth == 0 && !first => return i,
                '}' => depth = depth.saturating_sub(1),
                ';' if depth == 0 => return &i[1..],
                _ => {}
            }
            first = false;
            let (_, len) = Self::next_token(i);
            i = &i[len.max(1).min(i.len())..];
            // Step over string literals so a `;` inside one is not taken.
            if c == '"' {
                i = match i.find(['"', '\n']) {
                    Some(p) if i.as_bytes()[p] == b'"' => &i[p + 1..],
                    Some(p) => &i[p..],
                    None => "",
                };
            }
        }
    }

    fn definition<'a>(
        &self,
        i: &'a str,
        docs: Docs,
        diags: &mut Vec<Diagnostic>,
    ) -> PResult<'a, Item> {
        let start = skip_blank(i);
        match self.peek_word(i) {
            Some("const") => self.const_def(i, docs),
            Some("typedef") => {
                let (rest, _) = self.keyword(i, "typedef")?;
                let (rest, decl) = Self::cut(self.declaration(rest))?;
                let (rest, _) = Self::cut(self.sym(rest, ';'))?;
                Ok((
                    rest,
                    Item::Typedef {
                        docs,
                        decl,
                        span: self.span(start, rest),
                    },
                ))
            }
            Some("enum") => {
                let (rest, (name, body, span)) =
                    self.named_body(i, "enum", |r| self.enum_body(r))?;
                Ok((
                    rest,
                    Item::Enum {
                        docs,
                        name,
                        body,
                        span,
                    },
                ))
            }
            Some("struct") => {
                let (rest, (name, body, span)) =
                    self.named_body(i, "struct", |r| self.struct_body(r))?;
                Ok((
                    rest,
                    Item::Struct {
                        docs,
                        name,
                        body,
                        span,
                    },
                ))
            }
            Some("union") => {
                let (rest, (name, body, span)) =
                    self.named_body(i, "union", |r| self.union_body(r))?;
                Ok((
                    rest,
                    Item::Union {
                        docs,
                        name,
                        body,
                        span,
                    },
                ))
            }
            Some("program") => self.program(i, docs).map(|(r, p)| (r, Item::Program(p))),
            Some("pragma") => self.pragma(i),
            Some("namespace") => self.namespace(i, diags),
            _ => Err(self.error(
                i,
                "a definition (`const`, `typedef`, `enum`, `struct`, `union` or `program`)",
            )),
        }
    }

    /// `KEYWORD name BODY ;`, the shape `enum`, `struct` and `union`
    /// definitions share.
    fn named_body<'a, B>(
        &self,
        i: &'a str,
        keyword: &'static str,
        body: impl FnOnce(&'a str) -> PResult<'a, B>,
    ) -> PResult<'a, (Ident, B, Span)> {
        let start = skip_blank(i);
        let (rest, _) = self.keyword(i, keyword)?;
        let (rest, name) = Self::cut(self.ident(rest))?;
        let (rest, body) = Self::cut(body(rest))?;
        let (rest, _) = Self::cut(self.sym(rest, ';'))?;
        Ok((rest, (name, body, self.span(start, rest))))
    }

    fn const_def<'a>(&self, i: &'a str, docs: Docs) -> PResult<'a, Item> {
        let start = skip_blank(i);
        let (rest, _) = self.keyword(i, "const")?;
        let (rest, name) = Self::cut(self.ident(rest))?;
        let (rest, _) = Self::cut(self.sym(rest, '='))?;
        let (rest, value) = if self.peek_sym(rest, '"') {
            let (rest, (text, span)) = Self::cut(self.string_literal(rest))?;
            (rest, ConstValue::Str(text, span))
        } else {
            let (rest, e) = Self::cut(self.expr(rest, ExprMode { angle: false }))?;
            (rest, ConstValue::Int(e))
        };
        let (rest, _) = Self::cut(self.sym(rest, ';'))?;
        Ok((
            rest,
            Item::Const {
                docs,
                name,
                value,
                span: self.span(start, rest),
            },
        ))
    }

    fn string_literal<'a>(&self, i: &'a str) -> PResult<'a, (String, Span)> {
        let (i, ()) = self.ws(i)?;
        let body = &i[1..];
        let mut escaped = false;
        for (pos, c) in body.char_indices() {
            match c {
                '\\' if !escaped => escaped = true,
                '"' if !escaped => {
                    let rest = &body[pos + 1..];
                    return Ok((rest, (body[..pos].to_string(), self.span(i, rest))));
                }
                '\n' => break,
                _ => escaped = false,
            }
        }
        Err(self.failure(
            i,
            Code::Unterminated,
            "unterminated string literal".to_string(),
        ))
    }

    fn pragma<'a>(&self, i: &'a str) -> PResult<'a, Item> {
        let start = skip_blank(i);
        let (mut rest, _) = self.word(i)?;
        let mut words = Vec::new();
        while !self.peek_sym(rest, ';') {
            let (r, w) = Self::cut(self.word(rest))?;
            words.push(w);
            rest = r;
        }
        if words.is_empty() {
            return Err(nom::Err::Failure(PErr {
                rest: rest.len(),
                kind: ErrKind::Expected("a pragma name"),
            }));
        }
        let (rest, _) = self.sym(rest, ';')?;
        Ok((
            rest,
            Item::Pragma {
                words,
                span: self.span(start, rest),
            },
        ))
    }

    fn namespace<'a>(&self, i: &'a str, diags: &mut Vec<Diagnostic>) -> PResult<'a, Item> {
        let start = skip_blank(i);
        let (rest, _) = self.word(i)?;
        let (rest, name) = Self::cut(self.ident(rest))?;
        let (rest, _) = Self::cut(self.sym(rest, '{'))?;
        let _guard = self.enter(rest)?;
        let (rest, items) = self.definitions(rest, true, diags);
        let (mut rest, _) = Self::cut(self.sym(rest, '}'))?;
        if self.peek_sym(rest, ';') {
            rest = self.sym(rest, ';')?.0;
        }
        Ok((
            rest,
            Item::Namespace {
                name,
                items,
                span: self.span(start, rest),
            },
        ))
    }
}
