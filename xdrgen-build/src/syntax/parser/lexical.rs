//! The lexical layer: whitespace and comments (collected as docs where
//! they document the next definition), words, keywords and punctuation.

use nom::Parser as _;
use nom::bytes::complete::{take_while, take_while1};
use nom::combinator::recognize;
use nom::sequence::pair;

use super::{KEYWORDS, PErr, PResult, SpecParser, is_ident_char, is_ident_start};
use crate::diagnostics::Code;
use crate::source::Span;
use crate::syntax::ast::{Comment, Docs, Ident};

#[allow(clippy::unused_self)] // methods keep the grammar readable as one unit
impl SpecParser<'_> {
    /// Skips whitespace and comments.
    pub(super) fn ws<'a>(&self, i: &'a str) -> PResult<'a, ()> {
        self.trivia(i, None)
    }

    /// Skips whitespace and comments, collecting the comments that document
    /// the next token: the last run not separated from it by a blank line.
    pub(super) fn docs<'a>(&self, i: &'a str) -> PResult<'a, Docs> {
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
    pub(super) fn trailing_comment<'a>(&self, i: &'a str) -> (&'a str, Option<Comment>) {
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
    pub(super) fn peek_word<'a>(&self, i: &'a str) -> Option<&'a str> {
        let i = skip_blank(i);
        let len = i.find(|c: char| !is_ident_char(c)).unwrap_or(i.len());
        let word = &i[..len];
        word.starts_with(is_ident_start).then_some(word)
    }

    /// Whether the next token is the punctuation `c`.
    pub(super) fn peek_sym(&self, i: &str, c: char) -> bool {
        skip_blank(i).starts_with(c)
    }

    pub(super) fn word<'a>(&self, input: &'a str) -> PResult<'a, Ident> {
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
    pub(super) fn ident<'a>(&self, i: &'a str) -> PResult<'a, Ident> {
        let (rest, id) = self.word(i)?;
        if KEYWORDS.contains(&id.name.as_str()) {
            return Err(self.error(i, "an identifier"));
        }
        Ok((rest, id))
    }

    pub(super) fn keyword<'a>(&self, i: &'a str, kw: &'static str) -> PResult<'a, Span> {
        match self.word(i) {
            Ok((rest, id)) if id.name == kw => Ok((rest, id.span)),
            _ => Err(self.error(i, kw_expectation(kw))),
        }
    }

    pub(super) fn sym<'a>(&self, input: &'a str, c: char) -> PResult<'a, Span> {
        let (i, ()) = self.ws(input)?;
        match i.strip_prefix(c) {
            Some(rest) => Ok((rest, self.span(i, rest))),
            None => Err(self.error(input, sym_expectation(c))),
        }
    }
}

/// Skips whitespace and comments without reporting anything (used to peek).
pub(super) fn skip_blank(mut i: &str) -> &str {
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
