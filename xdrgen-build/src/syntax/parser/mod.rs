//! The `.x` grammar (RFC 4506 §6.3, RFC 5531 §12.2 and rpcgen's dialect)
//! on nom. nom types stay inside this module: errors leave as
//! [`Diagnostic`]s.
//!
//! The parser reads one preprocessed file at a time (directive, `%` and
//! inactive lines already blanked out, so byte offsets still match the
//! original). On an error it reports, skips to the next `;` at brace depth
//! zero and goes on, so one bad definition does not hide the rest.
//!
//! One part of the grammar a module: `lexical` (whitespace, comments,
//! words and punctuation), `items` (definitions and recovery), `types`
//! (type specifiers, declarations and bodies), `program` (RPC programs)
//! and `expr` (integer expressions, and macro bodies read as one).

mod expr;
mod items;
mod lexical;
mod program;
mod types;

use std::cell::Cell;

use nom::IResult;
use nom::error::{ErrorKind, ParseError};

use super::ast::Item;
use crate::diagnostics::{Code, Diagnostic};
use crate::source::{FileId, Span};
pub(crate) use expr::{classify_macro, parse_expr};
use lexical::skip_blank;

/// Deepest nesting of inline types, namespaces and parentheses accepted,
/// so hostile input cannot overflow the stack.
const MAX_DEPTH: u32 = 64;

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
/// One text being parsed; the grammar's methods live in this module's
/// children.
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
}

struct DepthGuard<'a>(&'a Cell<u32>);

impl Drop for DepthGuard<'_> {
    fn drop(&mut self) {
        self.0.set(self.0.get() - 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceMap;
    use crate::syntax::ast::{
        BinaryOp, Decl, Define, DefineOrigin, Expr, Ident, MacroBody, Prim, Shape, TypeSpec,
    };

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
                origin: DefineOrigin::Directive,
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
