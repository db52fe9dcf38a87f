//! Integer expressions with C's operators and precedence, and the entry
//! points that read text as one: `#if` lines, `-D` values and macro
//! bodies, which are classified here so the IR never parses text.

use std::cell::Cell;

use nom::Parser as _;
use nom::bytes::complete::take_while1;

use super::{
    ErrKind, KEYWORDS, PErr, PResult, SpecParser, is_ident_char, is_ident_start, is_identifier,
    skip_blank,
};
use crate::diagnostics::{Code, Diagnostic};
use crate::source::FileId;
use crate::syntax::ast::{BinaryOp, Define, Expr, Macro, MacroBody, UnaryOp};

/// Longest run of binary operators in one expression (bounds tree depth).
const MAX_OPERATORS: u32 = 256;

/// Parses the expression operators allowed in context.
#[derive(Clone, Copy)]
pub(super) struct ExprMode {
    /// Inside `<...>`: a bare `>` ends the bound, so comparisons and shifts
    /// need parentheses.
    pub(super) angle: bool,
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

#[allow(clippy::unused_self)] // methods keep the grammar readable as one unit
impl SpecParser<'_> {
    pub(super) fn expr<'a>(&self, i: &'a str, mode: ExprMode) -> PResult<'a, Expr> {
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
