//! The `.x` grammar (RFC 4506 §6.3, RFC 5531 §12.2 and rpcgen's dialect)
//! on nom. nom types stay inside this module: errors leave as
//! [`Diagnostic`]s.
//!
//! The parser reads one preprocessed file at a time (directive, `%` and
//! inactive lines already blanked out, so byte offsets still match the
//! original). On an error it reports, skips to the next `;` at brace depth
//! zero and goes on, so one bad definition does not hide the rest.

use std::cell::Cell;

use nom::bytes::complete::{take_while, take_while1};
use nom::combinator::recognize;
use nom::error::{ErrorKind, ParseError};
use nom::sequence::pair;
use nom::{IResult, Parser as _};

use super::ast::{
    Arm, BinaryOp, Comment, ConstValue, Decl, Define, Docs, EnumBody, EnumMember, Expr, Ident,
    Item, Macro, MacroBody, Member, Prim, ProcArg, ProcType, Procedure, Program, Shape, StructBody,
    Tag, TypeSpec, UnaryOp, UnionBody, Version,
};
use crate::diagnostics::{Code, Diagnostic};
use crate::source::{FileId, Span};

/// Deepest nesting of inline types, namespaces and parentheses accepted,
/// so hostile input cannot overflow the stack.
const MAX_DEPTH: u32 = 64;

/// Longest run of binary operators in one expression (bounds tree depth).
const MAX_OPERATORS: u32 = 256;

/// Words that cannot name a type, constant or field.
const KEYWORDS: &[&str] = &[
    "bool",
    "case",
    "const",
    "default",
    "double",
    "quadruple",
    "enum",
    "float",
    "hyper",
    "int",
    "opaque",
    "string",
    "struct",
    "switch",
    "typedef",
    "union",
    "unsigned",
    "void",
    "program",
    "version",
    "char",
    "short",
    "long",
];

#[derive(Clone, Debug)]
enum ErrKind {
    /// `expected X, found Y`
    Expected(&'static str),
    /// A complete message with its own code.
    Message(Code, String),
    /// A nom combinator failed without a better description.
    Nom,
}

/// A parse failure: how much input was left where it happened, and why.
#[derive(Clone, Debug)]
struct PErr {
    rest: usize,
    kind: ErrKind,
}

impl<'a> ParseError<&'a str> for PErr {
    fn from_error_kind(input: &'a str, _kind: ErrorKind) -> Self {
        PErr {
            rest: input.len(),
            kind: ErrKind::Nom,
        }
    }

    fn append(_input: &'a str, _kind: ErrorKind, other: Self) -> Self {
        other
    }

    fn or(self, other: Self) -> Self {
        // Keep the error that got furthest into the input.
        if other.rest < self.rest { other } else { self }
    }
}

type PResult<'a, T> = IResult<&'a str, T, PErr>;

/// Parses the expression operators allowed in context.
#[derive(Clone, Copy)]
struct ExprMode {
    /// Inside `<...>`: a bare `>` ends the bound, so comparisons and shifts
    /// need parentheses.
    angle: bool,
}

struct SpecParser<'s> {
    src: &'s str,
    /// Offset of `src` inside its file (non-zero for macro bodies).
    base: usize,
    file: FileId,
    depth: Cell<u32>,
    /// `#if` lines: `defined` is an operator.
    preprocessor: bool,
}

/// Parses one preprocessed file into definitions, reporting syntax errors.
pub(crate) fn parse_file(src: &str, file: FileId, diags: &mut Vec<Diagnostic>) -> Vec<Item> {
    let p = SpecParser {
        src,
        base: 0,
        file,
        depth: Cell::new(0),
        preprocessor: false,
    };
    let (_, items) = p.definitions(src, false, diags);
    items
}

/// Parses `text`, found at byte `base` of `file`, as one integer expression
/// (a `#define` body, an `#if` condition, a `-D` value).
pub(crate) fn parse_expr(
    text: &str,
    base: usize,
    file: FileId,
    preprocessor: bool,
) -> Result<Expr, Diagnostic> {
    let p = SpecParser {
        src: text,
        base,
        file,
        depth: Cell::new(0),
        preprocessor,
    };
    let input = text;
    let result = p
        .expr(input, ExprMode { angle: false })
        .and_then(|(rest, e)| {
            let (rest, ()) = p.ws(rest)?;
            if rest.is_empty() {
                Ok((rest, e))
            } else {
                Err(p.error(rest, "the end of the expression"))
            }
        });
    match result {
        Ok((_, e)) => Ok(e),
        Err(nom::Err::Error(e) | nom::Err::Failure(e)) => Err(p.diagnostic(&e)),
        Err(nom::Err::Incomplete(_)) => Err(p.diagnostic(&PErr {
            rest: 0,
            kind: ErrKind::Nom,
        })),
    }
}

/// Reads a macro body once, so the IR never parses text. A body that is
/// not an expression is not an error here: only a use as a constant is,
/// and the IR says so where the macro is used.
pub(crate) fn classify_macro(define: Define) -> Macro {
    let text = &define.body;
    let body = if text.trim().is_empty() {
        MacroBody::Empty
    } else {
        let c_type = is_c_type_words(text);
        let span = define.body_span;
        match parse_expr(text, span.start as usize, span.file, false) {
            Ok(expr) => MacroBody::Expr { expr, c_type },
            Err(_) if c_type => MacroBody::CType,
            Err(_) => MacroBody::Other,
        }
    };
    Macro { define, body }
}

/// Whether a macro body is C type words (`unsigned long long`,
/// `struct foo *`) rather than a value: identifiers and `*` only.
fn is_c_type_words(body: &str) -> bool {
    let mut words = body
        .split(|c: char| c.is_ascii_whitespace() || c == '*')
        .filter(|w| !w.is_empty())
        .peekable();
    words.peek().is_some() && words.all(is_identifier)
}

/// Whether `s` is one identifier (macro names, `-D` names).
pub(crate) fn is_identifier(s: &str) -> bool {
    s.starts_with(is_ident_start) && s.chars().all(is_ident_char)
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

#[allow(clippy::unused_self)] // methods keep the grammar readable as one unit
impl SpecParser<'_> {
    fn offset(&self, rest: &str) -> usize {
        self.base + self.src.len() - rest.len()
    }

    fn span(&self, from: &str, to: &str) -> Span {
        Span::new(self.file, self.offset(from), self.offset(to))
    }

    fn error(&self, at: &str, expected: &'static str) -> nom::Err<PErr> {
        nom::Err::Error(PErr {
            rest: at.len(),
            kind: ErrKind::Expected(expected),
        })
    }

    fn failure(&self, at: &str, code: Code, message: String) -> nom::Err<PErr> {
        nom::Err::Failure(PErr {
            rest: at.len(),
            kind: ErrKind::Message(code, message),
        })
    }

    /// Turns `Error` into `Failure`: the input has committed to a construct.
    fn cut<T>(r: PResult<'_, T>) -> PResult<'_, T> {
        r.map_err(|e| match e {
            nom::Err::Error(e) => nom::Err::Failure(e),
            other => other,
        })
    }

    /// The next token's text and length, for "found X" messages.
    fn next_token(rest: &str) -> (String, usize) {
        let rest = skip_blank(rest);
        let Some(c) = rest.chars().next() else {
            return ("end of file".to_string(), 0);
        };
        if is_ident_char(c) {
            let len = rest.find(|c: char| !is_ident_char(c)).unwrap_or(rest.len());
            let word = &rest[..len];
            let what = if c.is_ascii_digit() {
                "number"
            } else if KEYWORDS.contains(&word) {
                "keyword"
            } else {
                "identifier"
            };
            (format!("{what} `{word}`"), len)
        } else {
            (format!("`{c}`"), c.len_utf8())
        }
    }

    fn diagnostic(&self, e: &PErr) -> Diagnostic {
        let at = &self.src[self.src.len() - e.rest..];
        let skipped = at.len() - skip_blank(at).len();
        let at_offset = self.offset(at);
        let start = at_offset + skipped;
        let (found, len) = Self::next_token(at);
        let found_span = Span::new(self.file, start, start + len);
        match &e.kind {
            ErrKind::Expected(what) => {
                let d = Diagnostic::new(Code::Syntax, format!("expected {what}, found {found}"));
                // Like rustc: when the unexpected token is on a later line,
                // point just after the previous token, where the fix goes.
                if at[..skipped].contains('\n') && at_offset > self.base {
                    let here = Span::new(self.file, at_offset, at_offset);
                    d.primary(here, format!("expected {what}"))
                        .secondary(found_span, "unexpected token")
                } else {
                    d.primary(found_span, format!("expected {what}"))
                }
            }
            ErrKind::Message(code, message) => {
                Diagnostic::new(*code, message.clone()).primary(found_span, "")
            }
            ErrKind::Nom => Diagnostic::new(Code::Syntax, format!("unexpected {found}"))
                .primary(found_span, "not expected here"),
        }
    }

    fn enter(&self, at: &str) -> Result<DepthGuard<'_>, nom::Err<PErr>> {
        let d = self.depth.get() + 1;
        if d > MAX_DEPTH {
            return Err(self.failure(
                at,
                Code::Syntax,
                format!("nesting deeper than {MAX_DEPTH} levels"),
            ));
        }
        self.depth.set(d);
        Ok(DepthGuard(&self.depth))
    }

    // ----- lexical layer -----

    /// Skips whitespace and comments.
    fn ws<'a>(&self, i: &'a str) -> PResult<'a, ()> {
        self.trivia(i, None)
    }

    /// Skips whitespace and comments, collecting the comments that document
    /// the next token: the last run not separated from it by a blank line.
    fn docs<'a>(&self, i: &'a str) -> PResult<'a, Docs> {
        let mut docs = Vec::new();
        let (rest, ()) = self.trivia(i, Some(&mut docs))?;
        Ok((rest, docs))
    }

    fn trivia<'a>(&self, mut i: &'a str, mut docs: Option<&mut Docs>) -> PResult<'a, ()> {
        loop {
            let (rest, blank): (&str, &str) =
                take_while(|c: char| c.is_ascii_whitespace() || c == '\u{b}' || c == '\u{c}')
                    .parse(i)?;
            if let Some(docs) = docs.as_deref_mut() {
                if blank.matches('\n').count() >= 2 {
                    docs.clear();
                }
            }
            i = rest;
            let (text, after) = if let Some(body) = i.strip_prefix("/*") {
                let Some(end) = body.find("*/") else {
                    return Err(self.failure(
                        i,
                        Code::Unterminated,
                        "unterminated block comment".to_string(),
                    ));
                };
                (&body[..end], &body[end + 2..])
            } else if let Some(body) = i.strip_prefix("//") {
                let end = body.find('\n').unwrap_or(body.len());
                (&body[..end], &body[end..])
            } else {
                return Ok((i, ()));
            };
            if let Some(docs) = docs.as_deref_mut() {
                docs.push(Comment {
                    text: text.to_string(),
                    span: self.span(i, after),
                });
            }
            i = after;
        }
    }

    /// A comment that starts on the same line, after a member's `;` or `,`.
    fn trailing_comment<'a>(&self, i: &'a str) -> (&'a str, Option<Comment>) {
        let rest = i.trim_start_matches([' ', '\t']);
        let (body, is_block) = if let Some(b) = rest.strip_prefix("/*") {
            (b, true)
        } else if let Some(b) = rest.strip_prefix("//") {
            (b, false)
        } else {
            return (i, None);
        };
        let (text, after) = if is_block {
            match body.find("*/") {
                Some(end) => (&body[..end], &body[end + 2..]),
                None => return (i, None),
            }
        } else {
            let end = body.find('\n').unwrap_or(body.len());
            (&body[..end], &body[end..])
        };
        let comment = Comment {
            text: text.to_string(),
            span: self.span(rest, after),
        };
        (after, Some(comment))
    }

    /// The next identifier-like word, without consuming it.
    fn peek_word<'a>(&self, i: &'a str) -> Option<&'a str> {
        let i = skip_blank(i);
        let len = i.find(|c: char| !is_ident_char(c)).unwrap_or(i.len());
        let word = &i[..len];
        word.starts_with(is_ident_start).then_some(word)
    }

    /// Whether the next token is the punctuation `c`.
    fn peek_sym(&self, i: &str, c: char) -> bool {
        skip_blank(i).starts_with(c)
    }

    fn word<'a>(&self, input: &'a str) -> PResult<'a, Ident> {
        let (i, ()) = self.ws(input)?;
        let (rest, name): (&str, &str) =
            recognize(pair(take_while1(is_ident_start), take_while(is_ident_char)))
                .parse(i)
                .map_err(|_: nom::Err<PErr>| self.error(input, "an identifier"))?;
        Ok((
            rest,
            Ident {
                name: name.to_string(),
                span: self.span(i, rest),
            },
        ))
    }

    /// An identifier that is not a keyword.
    fn ident<'a>(&self, i: &'a str) -> PResult<'a, Ident> {
        let (rest, id) = self.word(i)?;
        if KEYWORDS.contains(&id.name.as_str()) {
            return Err(self.error(i, "an identifier"));
        }
        Ok((rest, id))
    }

    fn keyword<'a>(&self, i: &'a str, kw: &'static str) -> PResult<'a, Span> {
        match self.word(i) {
            Ok((rest, id)) if id.name == kw => Ok((rest, id.span)),
            _ => Err(self.error(i, kw_expectation(kw))),
        }
    }

    fn sym<'a>(&self, input: &'a str, c: char) -> PResult<'a, Span> {
        let (i, ()) = self.ws(input)?;
        match i.strip_prefix(c) {
            Some(rest) => Ok((rest, self.span(i, rest))),
            None => Err(self.error(input, sym_expectation(c))),
        }
    }

    // ----- definitions -----

    /// Definitions up to the end of input (or a `}` when `in_block`).
    fn definitions<'a>(
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
                let (rest, _) = self.keyword(i, "enum")?;
                let (rest, name) = Self::cut(self.ident(rest))?;
                let (rest, body) = Self::cut(self.enum_body(rest))?;
                let (rest, _) = Self::cut(self.sym(rest, ';'))?;
                Ok((
                    rest,
                    Item::Enum {
                        docs,
                        name,
                        body,
                        span: self.span(start, rest),
                    },
                ))
            }
            Some("struct") => {
                let (rest, _) = self.keyword(i, "struct")?;
                let (rest, name) = Self::cut(self.ident(rest))?;
                let (rest, body) = Self::cut(self.struct_body(rest))?;
                let (rest, _) = Self::cut(self.sym(rest, ';'))?;
                Ok((
                    rest,
                    Item::Struct {
                        docs,
                        name,
                        body,
                        span: self.span(start, rest),
                    },
                ))
            }
            Some("union") => {
                let (rest, _) = self.keyword(i, "union")?;
                let (rest, name) = Self::cut(self.ident(rest))?;
                let (rest, body) = Self::cut(self.union_body(rest))?;
                let (rest, _) = Self::cut(self.sym(rest, ';'))?;
                Ok((
                    rest,
                    Item::Union {
                        docs,
                        name,
                        body,
                        span: self.span(start, rest),
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

    // ----- types and declarations -----

    fn type_spec<'a>(&self, i: &'a str) -> PResult<'a, TypeSpec> {
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

    fn declaration<'a>(&self, i: &'a str) -> PResult<'a, Decl> {
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
    fn array_shape<'a>(&self, i: &'a str) -> PResult<'a, Shape> {
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

    fn struct_body<'a>(&self, i: &'a str) -> PResult<'a, StructBody> {
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

    fn enum_body<'a>(&self, i: &'a str) -> PResult<'a, EnumBody> {
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

    fn union_body<'a>(&self, i: &'a str) -> PResult<'a, UnionBody> {
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

    // ----- programs -----

    fn program<'a>(&self, i: &'a str, docs: Docs) -> PResult<'a, Program> {
        let start = skip_blank(i);
        let (rest, _) = self.keyword(i, "program")?;
        let (rest, name) = Self::cut(self.ident(rest))?;
        let (mut rest, _) = Self::cut(self.sym(rest, '{'))?;
        let mut versions = Vec::new();
        loop {
            let (r, docs) = self.docs(rest)?;
            if self.peek_sym(r, '}') && !versions.is_empty() {
                rest = r;
                break;
            }
            let (r, v) = Self::cut(self.version(r, docs))?;
            versions.push(v);
            rest = r;
        }
        let (rest, _) = self.sym(rest, '}')?;
        let (rest, _) = Self::cut(self.sym(rest, '='))?;
        let (rest, number) = Self::cut(self.expr(rest, ExprMode { angle: false }))?;
        let (rest, _) = Self::cut(self.sym(rest, ';'))?;
        Ok((
            rest,
            Program {
                docs,
                name,
                versions,
                number,
                span: self.span(start, rest),
            },
        ))
    }

    fn version<'a>(&self, i: &'a str, docs: Docs) -> PResult<'a, Version> {
        let start = skip_blank(i);
        let (rest, _) = self.keyword(i, "version")?;
        let (rest, name) = Self::cut(self.ident(rest))?;
        let (mut rest, _) = Self::cut(self.sym(rest, '{'))?;
        let mut procedures = Vec::new();
        loop {
            let (r, docs) = self.docs(rest)?;
            if self.peek_sym(r, '}') && !procedures.is_empty() {
                rest = r;
                break;
            }
            let (r, p) = Self::cut(self.procedure(r, docs))?;
            procedures.push(p);
            rest = r;
        }
        let (rest, _) = self.sym(rest, '}')?;
        let (rest, _) = Self::cut(self.sym(rest, '='))?;
        let (rest, number) = Self::cut(self.expr(rest, ExprMode { angle: false }))?;
        let (rest, _) = Self::cut(self.sym(rest, ';'))?;
        Ok((
            rest,
            Version {
                docs,
                name,
                procedures,
                number,
                span: self.span(start, rest),
            },
        ))
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

    // ----- expressions -----

    fn expr<'a>(&self, i: &'a str, mode: ExprMode) -> PResult<'a, Expr> {
        let start = skip_blank(i);
        let (rest, cond) = self.binary(i, 1, mode)?;
        if !self.peek_sym(rest, '?') {
            return Ok((rest, cond));
        }
        let (rest, _) = self.sym(rest, '?')?;
        let _guard = self.enter(rest)?;
        let (rest, then) = Self::cut(self.expr(rest, mode))?;
        let (rest, _) = Self::cut(self.sym(rest, ':'))?;
        let (rest, otherwise) = Self::cut(self.expr(rest, mode))?;
        Ok((
            rest,
            Expr::Conditional {
                cond: Box::new(cond),
                then: Box::new(then),
                otherwise: Box::new(otherwise),
                span: self.span(start, rest),
            },
        ))
    }

    fn binary<'a>(&self, i: &'a str, min_prec: u8, mode: ExprMode) -> PResult<'a, Expr> {
        let start = skip_blank(i);
        let (mut rest, mut lhs) = self.unary(i, mode)?;
        let mut operators = 0;
        while let Some((op, prec, len)) = binary_op(skip_blank(rest), mode) {
            if prec < min_prec {
                break;
            }
            // Each operator deepens the left spine of the tree.
            operators += 1;
            if operators > MAX_OPERATORS {
                return Err(self.failure(
                    rest,
                    Code::Syntax,
                    format!("expression has more than {MAX_OPERATORS} operators in a row"),
                ));
            }
            let after = &skip_blank(rest)[len..];
            let (r, rhs) = Self::cut(self.binary(after, prec + 1, mode))?;
            lhs = Expr::Binary {
                op,
                lhs: Box::new(lhs),
                rhs: Box::new(rhs),
                span: self.span(start, r),
            };
            rest = r;
        }
        Ok((rest, lhs))
    }

    fn unary<'a>(&self, i: &'a str, mode: ExprMode) -> PResult<'a, Expr> {
        let (i, ()) = self.ws(i)?;
        let op = match i.chars().next() {
            Some('-') => Some(UnaryOp::Neg),
            Some('+') => Some(UnaryOp::Plus),
            Some('!') => Some(UnaryOp::Not),
            Some('~') => Some(UnaryOp::BitNot),
            _ => None,
        };
        if let Some(op) = op {
            let _guard = self.enter(i)?;
            let (rest, operand) = Self::cut(self.unary(&i[1..], mode))?;
            return Ok((
                rest,
                Expr::Unary {
                    op,
                    operand: Box::new(operand),
                    span: self.span(i, rest),
                },
            ));
        }
        self.primary(i, mode)
    }

    fn primary<'a>(&self, i: &'a str, _mode: ExprMode) -> PResult<'a, Expr> {
        let (i, ()) = self.ws(i)?;
        match i.chars().next() {
            Some('(') => {
                let _guard = self.enter(i)?;
                let (rest, e) = Self::cut(self.expr(&i[1..], ExprMode { angle: false }))?;
                let (rest, _) = Self::cut(self.sym(rest, ')'))?;
                Ok((rest, e))
            }
            Some(c) if c.is_ascii_digit() => self.number(i),
            Some('\'') => self.char_literal(i),
            Some(c) if is_ident_start(c) => {
                let (rest, id) = self.word(i)?;
                if self.preprocessor && id.name == "defined" {
                    let paren = self.peek_sym(rest, '(');
                    let rest = if paren { self.sym(rest, '(')?.0 } else { rest };
                    let (rest, name) = Self::cut(self.word(rest))?;
                    let rest = if paren {
                        Self::cut(self.sym(rest, ')'))?.0
                    } else {
                        rest
                    };
                    return Ok((
                        rest,
                        Expr::Defined {
                            name,
                            span: self.span(i, rest),
                        },
                    ));
                }
                if KEYWORDS.contains(&id.name.as_str()) {
                    return Err(self.error(i, "a value"));
                }
                Ok((rest, Expr::Name(id)))
            }
            _ => Err(self.error(i, "a value")),
        }
    }

    fn number<'a>(&self, i: &'a str) -> PResult<'a, Expr> {
        let (rest, text): (&str, &str) = take_while1(is_ident_char).parse(i)?;
        let digits = text.trim_end_matches(['u', 'U', 'l', 'L']);
        let parsed = if let Some(hex) = digits
            .strip_prefix("0x")
            .or_else(|| digits.strip_prefix("0X"))
        {
            u64::from_str_radix(hex, 16)
        } else if digits.len() > 1 && digits.starts_with('0') {
            u64::from_str_radix(&digits[1..], 8)
        } else {
            digits.parse::<u64>()
        };
        match parsed {
            Ok(value) => Ok((
                rest,
                Expr::Int {
                    value,
                    span: self.span(i, rest),
                },
            )),
            Err(e) => {
                let why = if matches!(e.kind(), std::num::IntErrorKind::PosOverflow) {
                    "does not fit in 64 bits"
                } else {
                    "is not a valid number"
                };
                Err(self.failure(i, Code::Literal, format!("`{text}` {why}")))
            }
        }
    }

    fn char_literal<'a>(&self, i: &'a str) -> PResult<'a, Expr> {
        let body = &i[1..];
        let mut chars = body.char_indices();
        let value = match chars.next() {
            Some((_, '\\')) => match chars.next() {
                Some((_, 'n')) => Some(b'\n'),
                Some((_, 't')) => Some(b'\t'),
                Some((_, 'r')) => Some(b'\r'),
                Some((_, '0')) => Some(0),
                Some((_, c @ ('\\' | '\'' | '"'))) => Some(c as u8),
                _ => None,
            },
            Some((_, c)) if c.is_ascii() && c != '\'' && c != '\n' => Some(c as u8),
            _ => None,
        };
        match (value, chars.next()) {
            (Some(value), Some((pos, '\''))) => {
                let rest = &body[pos + 1..];
                Ok((
                    rest,
                    Expr::Char {
                        value,
                        span: self.span(i, rest),
                    },
                ))
            }
            _ => Err(self.failure(
                i,
                Code::Unterminated,
                "malformed character constant".to_string(),
            )),
        }
    }
}

struct DepthGuard<'a>(&'a Cell<u32>);

impl Drop for DepthGuard<'_> {
    fn drop(&mut self) {
        self.0.set(self.0.get() - 1);
    }
}

/// Skips whitespace and comments without reporting anything (used to peek).
fn skip_blank(mut i: &str) -> &str {
    loop {
        i = i.trim_start_matches(|c: char| c.is_ascii_whitespace() || c == '\u{b}' || c == '\u{c}');
        if let Some(body) = i.strip_prefix("/*") {
            match body.find("*/") {
                Some(end) => i = &body[end + 2..],
                None => return i,
            }
        } else if let Some(body) = i.strip_prefix("//") {
            i = &body[body.find('\n').unwrap_or(body.len())..];
        } else {
            return i;
        }
    }
}

/// The binary operator at the start of `i`: operator, precedence, length.
fn binary_op(i: &str, mode: ExprMode) -> Option<(BinaryOp, u8, usize)> {
    let b = i.as_bytes();
    let two = |c: u8| b.get(1) == Some(&c);
    let op = match b.first()? {
        b'*' => (BinaryOp::Mul, 10, 1),
        b'/' => (BinaryOp::Div, 10, 1),
        b'%' => (BinaryOp::Rem, 10, 1),
        b'+' => (BinaryOp::Add, 9, 1),
        b'-' => (BinaryOp::Sub, 9, 1),
        b'<' if two(b'<') => (BinaryOp::Shl, 8, 2),
        b'>' if two(b'>') => (BinaryOp::Shr, 8, 2),
        b'<' if two(b'=') => (BinaryOp::Le, 7, 2),
        b'>' if two(b'=') => (BinaryOp::Ge, 7, 2),
        b'<' => (BinaryOp::Lt, 7, 1),
        b'>' => (BinaryOp::Gt, 7, 1),
        b'=' if two(b'=') => (BinaryOp::Eq, 6, 2),
        b'!' if two(b'=') => (BinaryOp::Ne, 6, 2),
        b'&' if two(b'&') => (BinaryOp::And, 2, 2),
        b'&' => (BinaryOp::BitAnd, 5, 1),
        b'^' => (BinaryOp::BitXor, 4, 1),
        b'|' if two(b'|') => (BinaryOp::Or, 1, 2),
        b'|' => (BinaryOp::BitOr, 3, 1),
        _ => return None,
    };
    // Inside `<...>` the closing `>` belongs to the declarator.
    if mode.angle && matches!(b[0], b'<' | b'>') {
        return None;
    }
    Some(op)
}

fn kw_expectation(kw: &'static str) -> &'static str {
    match kw {
        "typedef" => "`typedef`",
        "enum" => "`enum`",
        "struct" => "`struct`",
        "union" => "`union`",
        "const" => "`const`",
        "switch" => "`switch`",
        "case" => "`case`",
        "default" => "`default`",
        "program" => "`program`",
        "version" => "`version`",
        "void" => "`void`",
        _ => "a keyword",
    }
}

fn sym_expectation(c: char) -> &'static str {
    match c {
        ';' => "`;`",
        '{' => "`{`",
        '}' => "`}`",
        '(' => "`(`",
        ')' => "`)`",
        '[' => "`[`",
        ']' => "`]`",
        '<' => "`<`",
        '>' => "`>`",
        '=' => "`=`",
        ':' => "`:`",
        ',' => "`,`",
        '*' => "`*`",
        '?' => "`?`",
        _ => "punctuation",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceMap;

    fn parse(src: &str) -> (Vec<Item>, Vec<Diagnostic>) {
        let mut map = SourceMap::new();
        let id = map.add("t.x", None, src.to_string());
        let mut diags = Vec::new();
        let items = parse_file(src, id, &mut diags);
        (items, diags)
    }

    #[test]
    fn parses_struct_with_every_shape() {
        let (items, diags) = parse(
            "struct s { int a; opaque b[4]; string c<>; unsigned d<10>; s *next; unsigned long e; };",
        );
        assert!(diags.is_empty(), "{diags:?}");
        let Item::Struct { body, .. } = &items[0] else {
            panic!()
        };
        assert_eq!(body.members.len(), 6);
        let Decl::Named { ty, shape, .. } = &body.members[3].decl else {
            panic!()
        };
        assert!(matches!(
            ty,
            TypeSpec::Prim {
                prim: Prim::UInt,
                ..
            }
        ));
        assert!(matches!(shape, Shape::Variable(Some(_))));
        let Decl::Named { shape, .. } = &body.members[4].decl else {
            panic!()
        };
        assert_eq!(*shape, Shape::Optional);
        let Decl::Named { ty, .. } = &body.members[5].decl else {
            panic!()
        };
        assert!(matches!(
            ty,
            TypeSpec::Prim {
                prim: Prim::ULong,
                ..
            }
        ));
    }

    #[test]
    fn bound_expression_stops_at_angle() {
        let (items, diags) = parse("typedef opaque x<N + 1>;");
        assert!(diags.is_empty(), "{diags:?}");
        let Item::Typedef {
            decl:
                Decl::Named {
                    shape: Shape::Variable(Some(e)),
                    ..
                },
            ..
        } = &items[0]
        else {
            panic!()
        };
        assert!(matches!(
            e,
            Expr::Binary {
                op: BinaryOp::Add,
                ..
            }
        ));
    }

    #[test]
    fn recovers_after_bad_definition() {
        let (items, diags) =
            parse("struct a { int; };\nstruct b { int x; };\nconst C = ;\nconst D = 1;");
        assert_eq!(diags.len(), 2, "{diags:?}");
        assert_eq!(items.len(), 2);
    }

    #[test]
    fn attaches_leading_and_trailing_comments() {
        let (items, _) = parse("/* licence */\n\n/* the answer */\nconst A = 42; /* trailing */\n");
        let Item::Const { docs, .. } = &items[0] else {
            panic!()
        };
        let texts: Vec<&str> = docs.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(texts, [" the answer ", " trailing "]);
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let src = format!("const A = {}1{};", "(".repeat(100_000), ")".repeat(100_000));
        let (_, diags) = parse(&src);
        assert_eq!(diags.len(), 1);
    }

    #[test]
    fn macro_bodies_are_classified_once() {
        let mut map = SourceMap::new();
        let file = map.add("<command line>", None, String::new());
        let classify = |body: &str| {
            let define = Define {
                name: Ident {
                    name: "M".to_string(),
                    span: Span::new(file, 0, 1),
                },
                body: body.to_string(),
                body_span: Span::new(file, 1, 1 + body.len()),
                origin: crate::syntax::ast::DefineOrigin::Directive,
            };
            classify_macro(define).body
        };
        assert_eq!(classify(" \t"), MacroBody::Empty);
        assert!(matches!(
            classify(" (1 << 4)"),
            MacroBody::Expr { c_type: false, .. }
        ));
        // A bare name is both: a constant's value or a C type.
        let name = classify(" uint32_t");
        assert!(matches!(name, MacroBody::Expr { c_type: true, .. }));
        assert!(name.is_c_type());
        assert_eq!(classify(" unsigned long long"), MacroBody::CType);
        assert_eq!(classify(" struct foo *"), MacroBody::CType);
        assert_eq!(classify(" \"text\""), MacroBody::Other);
        assert!(!MacroBody::Other.is_c_type());
    }

    #[test]
    fn program_with_named_multi_args() {
        let (items, diags) = parse(
            "program P { version V { int F(string name<>, int count) = 1; void G(void) = 2; } = 1; } = 0x20000001;",
        );
        assert!(diags.is_empty(), "{diags:?}");
        let Item::Program(p) = &items[0] else {
            panic!()
        };
        let f = &p.versions[0].procedures[0];
        assert_eq!(f.args.len(), 2);
        assert_eq!(f.args[0].name.as_ref().unwrap().name, "name");
    }
}
