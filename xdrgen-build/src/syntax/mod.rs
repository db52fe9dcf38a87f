//! Syntax: preprocess, then parse each file, then splice `#include`d files
//! and `%` lines back into one [`ast::Spec`] in source order.
//!
//! This layer never resolves names.

pub mod ast;
pub(crate) mod parser;
pub(crate) mod preprocess;

use crate::diagnostics::Diagnostic;
use crate::source::{FileId, SourceMap};
use ast::{Item, Spec};
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
    Spec {
        items,
        defines: pp.defines,
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
