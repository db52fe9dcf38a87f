//! Rust identifiers for XDR names, decided once: case conversion with heck,
//! keyword escaping, and a collision check after conversion (two XDR names
//! that become one Rust name are an error, never code that fails to build).

use std::collections::{HashMap, HashSet};

use heck::{ToShoutySnakeCase, ToSnakeCase, ToUpperCamelCase};

use super::{FileUse, ImportedModule, Module, Origin};
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

/// How generated code reaches an imported module given by the user's path:
/// `self` and `self::a` from the file's module, anything else as written
/// (until [`alias_super_imports`] names `super` paths once at the top).
pub(crate) fn imported_module(path: &str) -> ImportedModule {
    // Options accept only Rust paths, so dropping whitespace normalises
    // `super :: a` without changing what the path means.
    let path: String = path.chars().filter(|c| !c.is_whitespace()).collect();
    if path == "self" {
        ImportedModule::InFile(String::new())
    } else if let Some(rest) = path.strip_prefix("self::") {
        ImportedModule::InFile(rest.to_string())
    } else {
        ImportedModule::Path(path)
    }
}

/// Gives every imported module and external type whose path starts with
/// `super` one `use` at the file's top, and makes their paths go through
/// it; an external type under `self` is reached from the file's module.
/// `super` may only start a path, so a program or version module could
/// otherwise reach such a module only through `super::super::`. The alias
/// is the module path's last segment (`parent` for a bare `super`), with
/// `_` added while it would take a name the file's module already has.
pub(crate) fn alias_super_paths(module: &mut Module) {
    let taken: HashSet<String> = module
        .types
        .iter()
        .filter(|t| matches!(t.origin, Origin::Local | Origin::Builtin))
        .map(|t| t.name.rust.clone())
        .chain(module.programs.iter().map(|p| p.name.rust.clone()))
        .chain(
            module
                .libvirt_programs
                .iter()
                .map(|p| format!("{}_program", p.name.rust)),
        )
        .chain([RUNTIME_ALIAS.to_string(), PARENT_ALIAS.to_string()])
        .map(|name| name.trim_start_matches("r#").to_string())
        .collect();
    let mut aliases = Aliases {
        taken,
        uses: Vec::new(),
    };
    for t in &mut module.types {
        match &mut t.origin {
            Origin::Imported {
                module: imported, ..
            } => {
                if let ImportedModule::Path(path) = imported
                    && is_super(path)
                {
                    *imported = ImportedModule::InFile(aliases.alias(path));
                }
            }
            Origin::Extern { rust_path, in_file } => {
                let path: String = rust_path.chars().filter(|c| !c.is_whitespace()).collect();
                // The module is what comes before the last segment; generic
                // arguments (`super::a::Thing<u8>`) stay with the type.
                let head = path.find('<').map_or(path.as_str(), |at| &path[..at]);
                let Some(split) = head.rfind("::") else {
                    continue;
                };
                let (parent, item) = (&path[..split], &path[split + 2..]);
                if let Some(rest) = path.strip_prefix("self::") {
                    *in_file = Some(rest.to_string());
                } else if is_super(parent) {
                    *in_file = Some(format!("{}::{item}", aliases.alias(parent)));
                }
            }
            Origin::Local | Origin::Builtin => {}
        }
    }
    module.file_uses = aliases.uses;
}

fn is_super(path: &str) -> bool {
    path == "super" || path.starts_with("super::")
}

/// The file-level aliases given so far, and the names they may not take.
struct Aliases {
    taken: HashSet<String>,
    uses: Vec<FileUse>,
}

impl Aliases {
    /// The alias of the module at `path`, given on first use.
    fn alias(&mut self, path: &str) -> String {
        if let Some(known) = self.uses.iter().find(|u| u.path == path) {
            return known.alias.clone();
        }
        let last = path.rsplit("::").next().unwrap_or_default();
        let mut alias = if last == "super" { "parent" } else { last }.to_string();
        while self.taken.contains(alias.trim_start_matches("r#")) {
            alias.push('_');
        }
        self.taken
            .insert(alias.trim_start_matches("r#").to_string());
        self.uses.push(FileUse {
            path: path.to_string(),
            alias: alias.clone(),
        });
        alias
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

#[cfg(test)]
mod import_tests {
    use std::path::Path;

    use crate::{MemoryLoader, Options};

    const SHARED: &str =
        "typedef unsigned hyper shared_handle;\nstruct shared_pair { int a; int b; };\n";
    const USER: &str = "struct wrapped { shared_handle handle; };\n\
        program P { version V { wrapped ECHO(shared_pair) = 1; shared_handle GET(void) = 2; } = 1; } = 0x20000001;\n";

    /// The generated text of `USER` importing `SHARED` as `rust_path`.
    fn generate(rust_path: Option<&str>) -> String {
        let mut loader = MemoryLoader::new();
        loader.insert("user.x", USER).insert("shared.x", SHARED);
        let mut options = Options::new();
        options.import("shared.x", rust_path);
        crate::generate_with(&loader, Path::new("user.x"), &options)
            .unwrap()
            .to_source()
    }

    #[test]
    fn super_imports_are_named_once_at_the_top() {
        // The default module of `--import shared.x` is `super::shared`.
        for code in [generate(None), generate(Some("super::shared"))] {
            assert!(!code.contains("super::super::"), "{code}");
            assert!(
                code.contains(
                    "use ::xdrgen_runtime::__private_v1 as xdr;\n\nuse super::shared;\n\n"
                ),
                "{code}"
            );
            assert_eq!(code.matches("use super::shared").count(), 1, "{code}");
            assert!(code.contains("pub handle: shared::SharedHandle,"), "{code}");
            assert!(code.contains("&types::shared::SharedPair"), "{code}");
        }
    }

    #[test]
    fn super_import_aliases_avoid_the_file_names() {
        // `p` is the program's module; the bare parent gets a name.
        let code = generate(Some("super::p"));
        assert!(code.contains("use super::p as p_;\n"), "{code}");
        assert!(code.contains("types::p_::SharedPair"), "{code}");
        let code = generate(Some("super"));
        assert!(code.contains("use super as parent;\n"), "{code}");
        assert!(code.contains("types::parent::SharedPair"), "{code}");
        assert!(!code.contains("super::super::"), "{code}");
    }

    #[test]
    fn super_extern_types_share_the_aliases() {
        let mut loader = MemoryLoader::new();
        loader.insert(
            "user.x",
            "struct wrapped { thing t; other o; wide w; };\n\
             program P { version V { wrapped ECHO(thing) = 1; other GET(wide) = 2; } = 1; } = 0x20000001;\n",
        );
        let mut options = Options::new();
        options
            .extern_type("thing", "super::things::Thing")
            .extern_type("other", "super::Other<u8>")
            .extern_type("wide", "super::things::Wide");
        let code = crate::generate_with(&loader, Path::new("user.x"), &options)
            .unwrap()
            .to_source();
        assert!(!code.contains("super::super::"), "{code}");
        assert_eq!(code.matches("use super::things;").count(), 1, "{code}");
        assert!(code.contains("use super as parent;"), "{code}");
        assert!(code.contains("pub o: parent::Other<u8>,"), "{code}");
        assert!(code.contains("&types::things::Thing"), "{code}");
        assert!(code.contains("types::things::Wide"), "{code}");
        let mut options = Options::new();
        options
            .extern_type("thing", "self::Thing")
            .extern_type("other", "crate::Other")
            .extern_type("wide", "self::a::Wide");
        let code = crate::generate_with(&loader, Path::new("user.x"), &options)
            .unwrap()
            .to_source();
        assert!(!code.contains("\nuse super"), "{code}");
        assert!(code.contains("&types::Thing"), "{code}");
        assert!(code.contains("types::a::Wide"), "{code}");
        assert!(code.contains("crate::Other"), "{code}");
    }

    #[test]
    fn other_import_paths_need_no_use() {
        // The same module as the generated file's: reached like its types.
        let code = generate(Some("self"));
        assert!(!code.contains("\nuse super::"), "{code}");
        assert!(code.contains("pub handle: SharedHandle,"), "{code}");
        assert!(code.contains("&types::SharedPair"), "{code}");
        let code = generate(Some("self::shared"));
        assert!(code.contains("&types::shared::SharedPair"), "{code}");
        let code = generate(Some("crate::shared"));
        assert!(!code.contains("\nuse super::"), "{code}");
        assert!(code.contains("&crate::shared::SharedPair"), "{code}");
    }
}
