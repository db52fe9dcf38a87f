//! Rust source text, written directly: a few layout helpers so generated
//! code reads as hand-formatted Rust without a formatter pass.
//!
//! The rules: four spaces per level, lines of at most [`WIDTH`] columns
//! where a list can break, a list that does not fit on its line goes one
//! element a line with a trailing comma. Expressions are strings whose
//! first line starts where the caller puts it and whose later lines carry
//! their full indentation; statements are whole lines.

use std::fmt::Write as _;

use proc_macro2::{Delimiter, Spacing, TokenStream, TokenTree};

/// The line width lists break at.
pub(super) const WIDTH: usize = 100;

thread_local! {
    /// Indentation added later to the text being written (module
    /// contents are written at 0 and indented as a whole).
    static BASE: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Sets the indentation added later to the text written while it lives.
pub(super) struct Base(usize);

impl Base {
    pub(super) fn set(n: usize) -> Base {
        Base(BASE.with(|b| b.replace(n)))
    }
}

impl Drop for Base {
    fn drop(&mut self) {
        BASE.with(|b| b.set(self.0));
    }
}

/// The width left for text indented later by the current [`Base`].
fn width() -> usize {
    WIDTH - BASE.with(std::cell::Cell::get)
}

/// `n` spaces.
pub(super) fn pad(n: usize) -> &'static str {
    const SPACES: &str = "                                                                                                                                ";
    &SPACES[..n.min(SPACES.len())]
}

/// Whether `text` (its first line) fits when it starts at column `col`
/// and is followed by `tail` more characters.
pub(super) fn fits(col: usize, text: &str, tail: usize) -> bool {
    !text.contains('\n') && col + text.len() + tail <= width()
}

/// `head(a, b)tail` at column `col` (where `head` starts) on one line
/// when it fits, else one argument a line at `ind + 4`, closing at `ind`.
/// Multi-line arguments always break.
pub(super) fn list(
    col: usize,
    ind: usize,
    head: &str,
    open: &str,
    items: &[String],
    close: &str,
    tail: usize,
) -> String {
    let flat_len = items
        .iter()
        .map(|i| i.len() + 2)
        .sum::<usize>()
        .saturating_sub(2);
    let multi = items.iter().any(|i| i.contains('\n'));
    if !multi && col + head.len() + open.len() + flat_len + close.len() + tail <= width() {
        let mut s = String::with_capacity(head.len() + flat_len + 4);
        s.push_str(head);
        s.push_str(open);
        for (n, item) in items.iter().enumerate() {
            if n > 0 {
                s.push_str(", ");
            }
            s.push_str(item);
        }
        s.push_str(close);
        return s;
    }
    let mut s = String::with_capacity(head.len() + flat_len + items.len() * (ind + 6));
    s.push_str(head);
    s.push_str(open);
    s.push('\n');
    for item in items {
        s.push_str(pad(ind + 4));
        s.push_str(item);
        s.push_str(",\n");
    }
    s.push_str(pad(ind));
    s.push_str(close);
    s
}

/// A type (`Result<A, B>`) starting at column `col`: as it is when it
/// fits, else its outer generic arguments one a line at `ind + 4`.
pub(super) fn generic_type(col: usize, ind: usize, ty: &str, tail: usize) -> String {
    if fits(col, ty, tail) {
        return ty.to_string();
    }
    let (Some(open), true) = (ty.find('<'), ty.ends_with('>')) else {
        return ty.to_string();
    };
    let mut args = Vec::new();
    let mut depth = 0usize;
    let mut start = open + 1;
    let inner_end = ty.len() - 1;
    for (i, c) in ty[..inner_end].char_indices().skip(open + 1) {
        match c {
            '<' | '(' | '[' => depth += 1,
            '>' | ')' | ']' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                args.push(ty[start..i].trim().to_string());
                start = i + 1;
            }
            _ => {}
        }
    }
    args.push(ty[start..inner_end].trim().to_string());
    list(col, ind, &ty[..open], "<", &args, ">", tail)
}

/// Every line of `text` indented by `n` more spaces (blank lines stay
/// empty).
pub(super) fn indent(text: &str, n: usize) -> String {
    let mut s = String::with_capacity(text.len() + n * 8);
    for line in text.split_inclusive('\n') {
        if line != "\n" {
            s.push_str(pad(n));
        }
        s.push_str(line);
    }
    s
}

/// Rustdoc lines at indentation `ind`: `/// text` for each line (a doc
/// line with a line break in it is written as an attribute).
pub(super) fn doc_lines(out: &mut String, ind: usize, lines: &[&str]) {
    for line in lines {
        let line = line.trim_end();
        out.push_str(pad(ind));
        if line.contains(['\n', '\r']) {
            let _ = writeln!(out, "#[doc = {line:?}]");
        } else if line.is_empty() {
            out.push_str("///\n");
        } else {
            let _ = writeln!(out, "///{line}");
        }
    }
}

/// A string literal for `s`.
pub(super) fn string_lit(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\0' => out.push_str("\\0"),
            '\'' => out.push('\''),
            c => {
                let _ = write!(out, "{}", c.escape_debug());
            }
        }
    }
    out.push('"');
    out
}

/// User-supplied tokens (a path, a derive, an attribute) as they are
/// written by hand: `::a::b`, `#[serde(rename = "x")]`, `Foo<T>`.
pub(super) fn tokens_text(tokens: &TokenStream) -> String {
    let mut out = String::new();
    write_tokens(&mut out, tokens.clone(), Gap::Glue);
    out
}

#[derive(Clone, Copy, PartialEq)]
enum Gap {
    /// After a word (`a`, `)`): a path or call follows without a space.
    Word,
    /// After `,` or `=`: a space before what follows.
    Space,
    /// After an opener (`(`, `#`, `::`, `<`, `&`): nothing before what follows.
    Glue,
}

/// Attributes (`#[a] #[b(c)]`) as text, one an element.
pub(super) fn attributes(tokens: &TokenStream) -> Vec<String> {
    let mut out: Vec<TokenStream> = Vec::new();
    for tree in tokens.clone() {
        let starts = matches!(&tree, TokenTree::Punct(p) if p.as_char() == '#');
        match out.last_mut() {
            Some(last) if !starts => last.extend([tree]),
            _ => out.push(TokenStream::from(tree)),
        }
    }
    out.iter().map(tokens_text).collect()
}

fn write_tokens(out: &mut String, tokens: TokenStream, mut gap: Gap) -> Gap {
    for tree in tokens {
        match tree {
            TokenTree::Group(g) => {
                let (open, close) = match g.delimiter() {
                    Delimiter::Parenthesis => ("(", ")"),
                    Delimiter::Bracket => ("[", "]"),
                    Delimiter::Brace => ("{ ", " }"),
                    Delimiter::None => ("", ""),
                };
                let hugs = g.delimiter() != Delimiter::Brace;
                if gap == Gap::Space || (gap == Gap::Word && !hugs) {
                    out.push(' ');
                }
                out.push_str(open);
                write_tokens(out, g.stream(), Gap::Glue);
                out.push_str(close);
                gap = Gap::Word;
            }
            TokenTree::Ident(i) => {
                if gap != Gap::Glue {
                    out.push(' ');
                }
                let _ = write!(out, "{i}");
                gap = Gap::Word;
            }
            TokenTree::Literal(l) => {
                if gap != Gap::Glue {
                    out.push(' ');
                }
                let _ = write!(out, "{l}");
                gap = Gap::Word;
            }
            TokenTree::Punct(p) => {
                let c = p.as_char();
                let joint = p.spacing() == Spacing::Joint;
                match c {
                    ',' | ';' => {
                        out.push(c);
                        gap = Gap::Space;
                    }
                    ':' if joint || out.ends_with(':') => {
                        // `::` in a path.
                        if gap == Gap::Space && !out.ends_with(':') {
                            out.push(' ');
                        }
                        out.push(c);
                        gap = Gap::Glue;
                    }
                    ':' => {
                        out.push(c);
                        gap = Gap::Space;
                    }
                    '<' | '>' => {
                        out.push(c);
                        gap = if c == '<' { Gap::Glue } else { Gap::Word };
                    }
                    '#' | '&' | '\'' | '!' => {
                        if gap == Gap::Space {
                            out.push(' ');
                        }
                        out.push(c);
                        gap = Gap::Glue;
                    }
                    _ => {
                        if gap != Gap::Glue {
                            out.push(' ');
                        }
                        out.push(c);
                        gap = if joint { Gap::Glue } else { Gap::Space };
                    }
                }
            }
        }
    }
    gap
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| (*w).to_string()).collect()
    }

    #[test]
    fn a_list_stays_on_its_line_until_it_reaches_the_width() {
        let args = items(&["out", "&self.c", "255", "\"shapes.c\""]);
        let flat = list(8, 8, "put_opaque_var", "(", &args, ")", 2);
        assert_eq!(flat, "put_opaque_var(out, &self.c, 255, \"shapes.c\")");
        // Exactly at the width still fits; one more column breaks it.
        let exact = WIDTH - flat.len() - 2;
        assert!(!list(exact, 8, "put_opaque_var", "(", &args, ")", 2).contains('\n'));
        let broken = list(exact + 1, 8, "put_opaque_var", "(", &args, ")", 2);
        assert_eq!(
            broken,
            "put_opaque_var(\n            out,\n            &self.c,\n            255,\n            \"shapes.c\",\n        )"
        );
    }

    #[test]
    fn a_multi_line_argument_breaks_its_list() {
        let args = vec!["{\n    v\n}".to_string()];
        assert_eq!(
            list(0, 0, "f", "(", &args, ")", 0),
            "f(\n    {\n    v\n},\n)"
        );
    }

    #[test]
    fn base_indentation_narrows_the_width_while_it_lives() {
        let args = items(&["a", "b"]);
        let col = WIDTH - "f(a, b)".len();
        assert!(!list(col, 0, "f", "(", &args, ")", 0).contains('\n'));
        {
            let _base = Base::set(4);
            assert!(list(col, 0, "f", "(", &args, ")", 0).contains('\n'));
        }
        assert!(!list(col, 0, "f", "(", &args, ")", 0).contains('\n'));
    }

    #[test]
    fn a_long_generic_type_breaks_its_outer_arguments() {
        let ty = "::core::result::Result<super::Reply<u8, u16>, ::rt::Error>";
        assert_eq!(generic_type(0, 4, ty, 0), ty);
        assert_eq!(
            generic_type(WIDTH - 10, 4, ty, 0),
            "::core::result::Result<\n        super::Reply<u8, u16>,\n        ::rt::Error,\n    >"
        );
    }

    #[test]
    fn user_tokens_read_as_written_by_hand() {
        let text = |s: &str| tokens_text(&s.parse().unwrap());
        assert_eq!(text("::xdrgen_runtime"), "::xdrgen_runtime");
        assert_eq!(text("crate :: rt"), "crate::rt");
        assert_eq!(text("serde::Serialize"), "serde::Serialize");
        assert_eq!(
            text("#[serde(rename_all = \"camelCase\")]"),
            "#[serde(rename_all = \"camelCase\")]"
        );
        assert_eq!(text("#[derive(Hash, ::a::B)]"), "#[derive(Hash, ::a::B)]");
        assert_eq!(text("Vec<u8>"), "Vec<u8>");
        let attrs = attributes(&"#[a] #[b(c = 1)]".parse().unwrap());
        assert_eq!(attrs, ["#[a]", "#[b(c = 1)]"]);
    }

    #[test]
    fn doc_lines_and_string_literals() {
        let mut out = String::new();
        doc_lines(&mut out, 4, &[" text  ", "", " a\rb"]);
        assert_eq!(out, "    /// text\n    ///\n    #[doc = \" a\\rb\"]\n");
        assert_eq!(string_lit("a\"b\\c\n\0'"), "\"a\\\"b\\\\c\\n\\0'\"");
        // What the literal says is what it was made from.
        let lit: proc_macro2::Literal = string_lit("tab\there").parse().unwrap();
        assert_eq!(lit.to_string(), "\"tab\\there\"");
    }

    #[test]
    fn indent_leaves_blank_lines_empty() {
        assert_eq!(indent("a\n\n  b\n", 4), "    a\n\n      b\n");
    }
}
