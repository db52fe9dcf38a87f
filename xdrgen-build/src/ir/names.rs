//! Rust identifiers for XDR names, decided once: case conversion with heck,
//! keyword escaping, and a collision check after conversion (two XDR names
//! that become one Rust name are an error, never code that fails to build).

use std::collections::HashMap;

use heck::{ToShoutySnakeCase, ToSnakeCase, ToUpperCamelCase};

use crate::diagnostics::{Code, Diagnostic};
use crate::source::Span;

/// Rust keywords, strict and reserved, up to edition 2024.
const RUST_KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern",
    "false", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut",
    "pub", "ref", "return", "self", "Self", "static", "struct", "super", "trait", "true", "type",
    "unsafe", "use", "where", "while", "abstract", "become", "box", "do", "final", "macro",
    "override", "priv", "typeof", "unsized", "virtual", "yield", "try",
];

/// Makes `s` a usable identifier: raw for keywords, `_` suffix for the
/// keywords that cannot be raw, `_` prefix before a leading digit.
fn escape(s: String) -> String {
    match s.as_str() {
        "" => "_empty".to_string(),
        "self" | "Self" | "super" | "crate" => s + "_",
        k if RUST_KEYWORDS.contains(&k) => format!("r#{s}"),
        _ if s.starts_with(|c: char| c.is_ascii_digit()) => format!("_{s}"),
        _ => s,
    }
}

/// A server method's call-context parameter: the first of `cx`, `call`,
/// `context` that no argument of the procedure is named.
pub(crate) fn context_param(args: &[super::Arg]) -> &'static str {
    let taken = |n: &str| args.iter().any(|a| a.name.rust == n);
    ["cx", "call", "context"]
        .into_iter()
        .find(|n| !taken(n))
        .unwrap_or("call_context")
}

/// Type name: `nfs_fh3` → `NfsFh3`.
pub(crate) fn type_name(xdr: &str) -> String {
    escape(xdr.to_upper_camel_case())
}

/// Enum member, union arm or procedure variant: `NFS3ERR_PERM` → `Nfs3errPerm`.
pub(crate) fn variant_name(xdr: &str) -> String {
    escape(xdr.to_upper_camel_case())
}

/// Field, argument, method or module name: `callbackID` → `callback_id`.
pub(crate) fn field_name(xdr: &str) -> String {
    escape(xdr.to_snake_case())
}

/// The alias every generated module gives the runtime's private module
/// (`use ::xdrgen_runtime::__private_v1 as xdr;`), so code says
/// `xdr::XdrEncode`. Types and constants can never take it (their case
/// differs); [`module_name`] keeps programs and versions off it.
pub(crate) const RUNTIME_ALIAS: &str = "xdr";

/// The alias a program module gives its parent, the module holding the
/// file's types (`use super as types;`), so the stubs in its version
/// modules say `types::Fattr3`.
pub(crate) const PARENT_ALIAS: &str = "types";

/// Program or version module name: [`field_name`], with a `_` added where
/// it would take one of the aliases generated modules declare.
pub(crate) fn module_name(xdr: &str) -> String {
    let name = field_name(xdr);
    if name == RUNTIME_ALIAS || name == PARENT_ALIAS {
        name + "_"
    } else {
        name
    }
}

/// Constant name: `rpcb_highproc_2` → `RPCB_HIGHPROC_2`.
pub(crate) fn const_name(xdr: &str) -> String {
    escape(xdr.to_shouty_snake_case())
}

/// One Rust namespace (a module's types, one struct's fields, ...).
pub(crate) struct Namespace {
    what: &'static str,
    seen: HashMap<String, (String, Span)>,
}

impl Namespace {
    pub(crate) fn new(what: &'static str) -> Namespace {
        Namespace {
            what,
            seen: HashMap::new(),
        }
    }

    /// Claims `rust` for `xdr`; reports a collision with an earlier,
    /// different XDR name. Identical XDR names are duplicates, reported
    /// elsewhere.
    pub(crate) fn claim(&mut self, rust: &str, xdr: &str, span: Span, diags: &mut Vec<Diagnostic>) {
        let key = rust.trim_start_matches("r#").to_string();
        match self.seen.get(&key) {
            Some((first, first_span)) if first != xdr => diags.push(
                Diagnostic::new(
                    Code::NameCollision,
                    format!(
                        "{} `{xdr}` and `{first}` both become `{rust}` in Rust",
                        self.what
                    ),
                )
                .primary(span, format!("becomes `{rust}`"))
                .secondary(*first_span, format!("`{first}` also becomes `{rust}`"))
                .help("rename one of them in the .x file"),
            ),
            Some(_) => {}
            None => {
                self.seen.insert(key, (xdr.to_string(), span));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_and_escapes() {
        assert_eq!(type_name("nfs_fh3"), "NfsFh3");
        assert_eq!(type_name("self"), "Self_");
        assert_eq!(field_name("type"), "r#type");
        assert_eq!(field_name("self"), "self_");
        assert_eq!(field_name("callbackID"), "callback_id");
        assert_eq!(variant_name("NFS3ERR_PERM"), "Nfs3errPerm");
        assert_eq!(const_name("rpcb_highproc_2"), "RPCB_HIGHPROC_2");
        assert_eq!(module_name("NFS_PROGRAM"), "nfs_program");
        assert_eq!(module_name("XDR"), "xdr_");
        assert_eq!(module_name("types"), "types_");
        assert_eq!(type_name("xdr"), "Xdr");
        assert_eq!(const_name("xdr"), "XDR");
    }
}
