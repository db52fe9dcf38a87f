//! What the grammar cannot say: duplicate members and numbers, pragmas
//! with unknown names, and Rust names that collide after conversion.

use std::collections::HashMap;

use super::Lowerer;
use crate::diagnostics::{Code, Diagnostic};
use crate::ir::names::Namespace;
use crate::ir::{Module, Origin, Program, TypeKind};
use crate::source::Span;
use crate::syntax::ast::Ident;

impl<'a> Lowerer<'a> {
    pub(super) fn check_pragma(&mut self, words: &[Ident], span: Span) {
        const KNOWN: &[&str] = &["header", "public", "big_endian", "exclude"];
        let head = &words[0];
        if !KNOWN.contains(&head.name.as_str()) {
            self.diags.push(
                Diagnostic::new(
                    Code::UnknownPragma,
                    format!("unknown pragma `{}`", head.name),
                )
                .primary(head.span, "")
                .note(format!("known pragmas: {}", KNOWN.join(", "))),
            );
            return;
        }
        if words.len() != 2 {
            self.diags.push(
                Diagnostic::new(
                    Code::UnknownPragma,
                    format!("`pragma {}` takes one name", head.name),
                )
                .primary(span, ""),
            );
        }
    }

    pub(super) fn check_member_dup(
        &mut self,
        seen: &mut HashMap<&'a str, Span>,
        id: &'a Ident,
        what: &str,
    ) {
        if let Some(first) = seen.get(id.name.as_str()) {
            self.diags.push(
                Diagnostic::new(
                    Code::DuplicateMember,
                    format!("{what} `{}` is declared twice", id.name),
                )
                .primary(id.span, "declared again here")
                .secondary(*first, "first declared here"),
            );
        } else {
            seen.insert(&id.name, id.span);
        }
    }
}

pub(super) fn check_number(
    seen: &mut HashMap<u32, Span>,
    n: u32,
    span: Span,
    what: &str,
    diags: &mut Vec<Diagnostic>,
) {
    if let Some(first) = seen.get(&n) {
        diags.push(
            Diagnostic::new(
                Code::DuplicateNumber,
                format!("duplicate {what} number {n}"),
            )
            .primary(span, "used again here")
            .secondary(*first, "first used here"),
        );
    } else {
        seen.insert(n, span);
    }
}

pub(super) fn check_program_numbers(programs: &[Program], diags: &mut Vec<Diagnostic>) {
    let mut seen = HashMap::new();
    for p in programs {
        check_number(&mut seen, p.number, p.name.span, "program", diags);
    }
}

/// Collision checks over every Rust namespace the generated code will have.
pub(super) fn check_names(module: &Module, diags: &mut Vec<Diagnostic>) {
    let mut types = Namespace::new("types");
    for t in module
        .types
        .iter()
        .filter(|t| matches!(t.origin, Origin::Local | Origin::Builtin))
    {
        types.claim(&t.name.rust, &t.name.xdr, t.name.span, diags);
        match &t.kind {
            TypeKind::Struct(s) => {
                let mut ns = Namespace::new("fields");
                for f in &s.fields {
                    ns.claim(&f.name.rust, &f.name.xdr, f.name.span, diags);
                }
            }
            TypeKind::Enum(e) => {
                let mut ns = Namespace::new("enum members");
                for m in &e.members {
                    ns.claim(&m.name.rust, &m.name.xdr, m.name.span, diags);
                }
            }
            TypeKind::Union(u) => {
                let mut ns = Namespace::new("union cases");
                for c in u.arms.iter().flat_map(|a| &a.cases) {
                    ns.claim(&c.rust, &c.label, c.span, diags);
                }
                if let Some(d) = &u.default {
                    ns.claim(&d.rust, "default", t.name.span, diags);
                    let n = &d.discriminant_type;
                    types.claim(&n.rust, &n.xdr, n.span, diags);
                }
            }
            TypeKind::Alias { .. } | TypeKind::Extern => {}
        }
    }
    let mut consts = Namespace::new("constants");
    for c in &module.consts {
        consts.claim(&c.name.rust, &c.name.xdr, c.name.span, diags);
    }
    let mut programs = Namespace::new("programs");
    for p in &module.programs {
        programs.claim(&p.name.rust, &p.name.xdr, p.name.span, diags);
        let mut versions = Namespace::new("versions");
        for v in &p.versions {
            versions.claim(&v.name.rust, &v.name.xdr, v.name.span, diags);
            let mut procs = Namespace::new("procedures");
            let mut variants = Namespace::new("procedures");
            for proc in &v.procedures {
                procs.claim(&proc.name.rust, &proc.name.xdr, proc.name.span, diags);
                variants.claim(&proc.variant, &proc.name.xdr, proc.name.span, diags);
                let mut args = Namespace::new("arguments");
                for a in &proc.args {
                    args.claim(&a.name.rust, &a.name.xdr, a.name.span, diags);
                }
            }
        }
    }
}
