//! Syntax: preprocess, then parse each file, then splice `#include`d files
//! and `%` lines back into one [`ast::Spec`] in source order.
//!
//! This layer never resolves names.

pub mod ast;
pub(crate) mod parser;
pub(crate) mod preprocess;

use std::collections::HashMap;

use crate::diagnostics::{Code, Diagnostic};
use crate::source::{FileId, SourceMap, Span};
use ast::{Decl, Ident, Item, Spec};
use preprocess::PpConfig;

/// Preprocesses and parses `root` (already in `sources`) with its includes.
pub(crate) fn parse_spec(
    sources: &mut SourceMap,
    root: FileId,
    config: &PpConfig<'_>,
    diags: &mut Vec<Diagnostic>,
) -> Spec {
    let pp = preprocess::preprocess(sources, root, config, diags);
    let mut parsed: Vec<Option<Vec<Entry>>> =
        pp.files.iter().map(|f| Some(entries(f, diags))).collect();
    let mut items = Vec::new();
    splice(&mut parsed, 0, &mut items);
    drop_identical_repeats(sources, &mut items, diags);
    Spec {
        items,
        macros: pp.defines.into_iter().map(parser::classify_macro).collect(),
    }
}

enum Entry {
    Item(Item),
    Include(usize),
}

/// One file's definitions, `%` lines and include points, ordered by offset.
fn entries(f: &preprocess::PpFile, diags: &mut Vec<Diagnostic>) -> Vec<Entry> {
    let mut out: Vec<(u32, Entry)> = parser::parse_file(&f.masked, f.file, diags)
        .into_iter()
        .map(|item| (item.span().start, Entry::Item(item)))
        .collect();
    out.extend(f.passthrough.iter().map(|(text, span)| {
        (
            span.start,
            Entry::Item(Item::Passthrough {
                text: text.clone(),
                span: *span,
            }),
        )
    }));
    out.extend(
        f.includes
            .iter()
            .map(|&(at, child)| (at, Entry::Include(child))),
    );
    out.sort_by_key(|(at, _)| *at);
    out.into_iter().map(|(_, e)| e).collect()
}

fn splice(parsed: &mut [Option<Vec<Entry>>], index: usize, out: &mut Vec<Item>) {
    let Some(entries) = parsed[index].take() else {
        return;
    };
    for entry in entries {
        match entry {
            Entry::Item(item) => out.push(item),
            Entry::Include(child) => splice(parsed, child, out),
        }
    }
}

/// The name a top-level definition declares.
fn defined_name(item: &Item) -> Option<&Ident> {
    match item {
        Item::Const { name, .. }
        | Item::Enum { name, .. }
        | Item::Struct { name, .. }
        | Item::Union { name, .. } => Some(name),
        Item::Typedef {
            decl: Decl::Named { name, .. },
            ..
        } => Some(name),
        _ => None,
    }
}

/// A definition repeated token for token (a header included twice, a
/// typedef copied into two files): C accepts an identical typedef, so the
/// repeat is dropped with a warning. A repeat that differs is kept, and
/// the resolver reports it as a duplicate.
fn drop_identical_repeats(sources: &SourceMap, items: &mut Vec<Item>, diags: &mut Vec<Diagnostic>) {
    let mut first: HashMap<String, (Span, Vec<&str>)> = HashMap::new();
    let mut repeats = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let Some(name) = defined_name(item) else {
            continue;
        };
        let tokens = tokens(sources.snippet(item.span()));
        match first.get(&name.name) {
            Some((first_span, first_tokens)) if *first_tokens == tokens => {
                diags.push(
                    Diagnostic::new(
                        Code::IdenticalRepeat,
                        format!("`{}` is defined again, identically", name.name),
                    )
                    .primary(name.span, "repeated here; this copy is ignored")
                    .secondary(*first_span, "first defined here"),
                );
                repeats.push(index);
            }
            Some(_) => {}
            None => {
                first.insert(name.name.clone(), (name.span, tokens));
            }
        }
    }
    for index in repeats.into_iter().rev() {
        items.remove(index);
    }
}

/// The tokens of a definition's text, comments and layout dropped:
/// identifier and number runs, and single punctuation characters.
fn tokens(text: &str) -> Vec<&str> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let rest = &bytes[i..];
        let len = if rest[0].is_ascii_whitespace() {
            i += 1;
            continue;
        } else if rest.starts_with(b"/*") {
            i += text[i + 2..].find("*/").map_or(rest.len(), |end| end + 4);
            continue;
        } else if rest.starts_with(b"//") {
            i += text[i..].find('\n').unwrap_or(rest.len());
            continue;
        } else if rest[0].is_ascii_alphanumeric() || rest[0] == b'_' {
            rest.iter()
                .position(|b| !(b.is_ascii_alphanumeric() || *b == b'_'))
                .unwrap_or(rest.len())
        } else {
            text[i..].chars().next().map_or(1, char::len_utf8)
        };
        out.push(&text[i..i + len]);
        i += len;
    }
    out
}
