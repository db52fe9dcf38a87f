//! IR → Rust source text. Reads only [`ir::Module`](crate::ir::Module) and the
//! options; never the syntax tree.
//!
//! Generated code is plain: one Rust item per XDR definition, impls of the
//! runtime's `XdrEncode`/`XdrDecode`, no inner attributes (it must work
//! with `include!`), and everything from the runtime reached through
//! `<runtime_path>::__private_v1`, which each module that uses it imports
//! once as `xdr` (the alias the IR keeps free: `ir::names::RUNTIME_ALIAS`).
//!
//! The text is written directly, already laid out (`text.rs`): going
//! through tokens, `syn` and a formatter took ten times as long as
//! generating. The proc macro parses the same text into tokens.

mod codec;
mod items;
mod libvirt;
mod render;
mod rpc;
mod text;

use std::fmt::Write as _;

use proc_macro2::TokenStream;

pub(crate) use render::render;
use text::{pad, tokens_text};

use crate::ir::{ImportedModule, Len, Module, Origin, Ty, TypeDef, TypeId, TypeKind, names};

/// Code-generation settings (part of [`crate::Options`]).
#[derive(Clone, Debug)]
#[allow(clippy::struct_excessive_bools)] // independent switches
pub(crate) struct CodegenOptions {
    /// Path of the runtime crate (`::xdrgen_runtime`).
    pub runtime_path: TokenStream,
    /// Extra derives for every struct, enum and union.
    pub derives: Vec<TokenStream>,
    /// Extra attributes by XDR type name (`*` for every type).
    pub type_attributes: Vec<(String, TokenStream)>,
    /// Emit `Random` impls (needs the runtime's `testing` feature).
    pub random: bool,
    /// Turn `.x` comments into rustdoc.
    pub comments: bool,
    /// Variable-length opaques and strings borrow from the input
    /// (`&'a [u8]`, `XdrStr<'a>`); types holding them get a lifetime.
    pub zero_copy: bool,
    /// Derive serde's `Serialize` (and `Deserialize` for owned types)
    /// through the runtime's re-export (runtime feature `serde`).
    pub serde: bool,
    /// Derive `arbitrary::Arbitrary` on owned types (the user's crate
    /// depends on `arbitrary`; runtime feature `arbitrary`).
    pub arbitrary: bool,
    /// Emit constants, types and codecs.
    pub types: bool,
    /// Emit program/version modules with their `Procedure` enums.
    pub programs: bool,
    /// Emit typed clients in each version module (implies the modules).
    pub client: bool,
    /// Emit service traits and dispatchers (implies the modules).
    pub server: bool,
}

/// What codegen knows about each type, decided once up front.
#[derive(Clone, Copy, Debug)]
#[allow(clippy::struct_excessive_bools)] // independent facts, not a state machine
struct Props {
    /// No floats inside: `Eq` can be derived.
    eq: bool,
    /// `Hash` can be derived.
    hash: bool,
    /// `Default` can be derived.
    default: bool,
    /// Encoded size when it does not depend on the value.
    fixed_size: Option<usize>,
    /// Smallest encoded size.
    min_size: usize,
    /// Holds borrowed data (with `zero_copy`): the type has a lifetime.
    borrows: bool,
    /// Small enough that its codec should be inlined where it is used:
    /// it is typically an array element, and a call per element costs
    /// register saves and a `Result` through memory.
    inline_always: bool,
    /// For a struct whose last field is `Option<Box<Self>>`: that field.
    /// Such lists are encoded, decoded, compared, cloned and dropped in a
    /// loop, so a million-node NFS READDIR reply needs no deep stack.
    list_link: Option<usize>,
}

struct Gen<'m> {
    m: &'m Module,
    o: &'m CodegenOptions,
    /// The runtime's private module as generated code names it: the
    /// alias each module imports (see [`Gen::runtime_use`]).
    rt: String,
    /// The extra derives, as text.
    derives: Vec<String>,
    /// The extra attributes by XDR type name, as text, one an element.
    type_attributes: Vec<(&'m str, Vec<String>)>,
    props: Vec<Props>,
    /// The scope being written: how many modules below the file (1 in a
    /// libvirt or program module, 2 in a version module). Paths to the
    /// file's own types and the user's paths climb out of them.
    depth: usize,
}

/// Generates the Rust items for a module, as source text (without the
/// header; see [`render`]).
pub(crate) fn generate(m: &Module, o: &CodegenOptions) -> String {
    let mut g = Gen {
        m,
        o,
        rt: names::RUNTIME_ALIAS.to_string(),
        derives: o.derives.iter().map(tokens_text).collect(),
        type_attributes: o
            .type_attributes
            .iter()
            .map(|(name, attr)| (name.as_str(), text::attributes(attr)))
            .collect(),
        props: Vec::new(),
        depth: 0,
    };
    g.props = g.compute_props();
    // About 60 bytes of Rust per byte of `.x`; a guess that saves most
    // reallocations.
    let mut out = String::with_capacity(1 << 20);
    if o.types {
        for c in &m.consts {
            g.constant(&mut out, c);
        }
        for t in &m.types {
            if matches!(t.origin, Origin::Local | Origin::Builtin) {
                g.type_def(&mut out, t);
            }
        }
    }
    // The file's own items import the runtime when they use it; program
    // modules import it for themselves, so a file of `--emit programs`
    // included beside one of `--emit types` declares no second alias.
    if let Some(import) = g.runtime_use(&out) {
        out.insert_str(0, &import);
    }
    if o.programs || o.client || o.server {
        for p in &m.programs {
            g.program(&mut out, p);
        }
        for p in &m.libvirt_programs {
            g.libvirt_program(&mut out, p);
        }
    }
    // Imports and external types reached through `super` are named once
    // here (the IR decides the aliases), when anything in the file uses
    // them.
    let file_uses: String = m
        .file_uses
        .iter()
        .filter(|u| names_file_alias(&out, &u.alias))
        .map(|u| {
            let last = u.path.rsplit("::").next().unwrap_or_default();
            if last == u.alias {
                format!("use {};\n", u.path)
            } else {
                format!("use {} as {};\n", u.path, u.alias)
            }
        })
        .collect();
    if !file_uses.is_empty() {
        let at = if out.starts_with("use ") {
            out.find("\n\n").map_or(0, |end| end + 1)
        } else {
            0
        };
        let gap = if at == 0 { "\n" } else { "" };
        out.insert_str(at, &format!("{file_uses}{gap}"));
    }
    out
}

/// Whether generated text names the file-level alias `alias` from any
/// depth: `alias::`, `super::alias::` or `types::alias::`.
fn names_file_alias(text: &str, alias: &str) -> bool {
    [
        alias.to_string(),
        format!("super::{alias}"),
        format!("{}::{alias}", names::PARENT_ALIAS),
    ]
    .iter()
    .any(|path| uses_alias(text, path))
}

/// Whether generated text names `alias` as a path's first segment outside
/// comments (`xdr::XdrEncode`, not `foo_xdr::` or `crate::xdr::`).
pub(super) fn uses_alias(text: &str, alias: &str) -> bool {
    let needle = format!("{alias}::");
    text.lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .any(|line| {
            line.match_indices(&needle).any(|(at, _)| {
                !line[..at].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':')
            })
        })
}

impl<'m> Gen<'m> {
    /// The same generator writing `depth` modules below the file.
    fn nested(&self, depth: usize) -> Gen<'m> {
        Gen {
            m: self.m,
            o: self.o,
            rt: self.rt.clone(),
            derives: self.derives.clone(),
            type_attributes: self.type_attributes.clone(),
            props: self.props.clone(),
            depth,
        }
    }

    /// `use <runtime>::__private_v1 as xdr;` and a blank line when the
    /// module text `text`, at the current depth, names the runtime.
    fn runtime_use(&self, text: &str) -> Option<String> {
        if !uses_alias(text, &self.rt) {
            return None;
        }
        let runtime = tokens_text(&self.o.runtime_path);
        let runtime = self.relative(&runtime).unwrap_or(runtime);
        Some(format!("use {runtime}::__private_v1 as {};\n\n", self.rt))
    }

    /// How generated code names a type: bare for types of this module, by
    /// path for imported and external ones.
    fn type_path(&self, id: TypeId) -> String {
        let t = self.m.ty(id);
        let name = &t.name.rust;
        match &t.origin {
            Origin::Local | Origin::Builtin => format!("{}{name}", self.to_types()),
            Origin::Imported {
                module: ImportedModule::Path(module),
                ..
            } => {
                let path = self.relative(module).unwrap_or_else(|| "super".to_string());
                format!("{path}::{name}")
            }
            Origin::Imported {
                module: ImportedModule::InFile(module),
                ..
            } if module.is_empty() => format!("{}{name}", self.to_types()),
            Origin::Imported {
                module: ImportedModule::InFile(module),
                ..
            } => format!("{}{module}::{name}", self.to_types()),
            Origin::Extern {
                in_file: Some(path),
                ..
            } => format!("{}{path}", self.to_types()),
            Origin::Extern { rust_path, .. } => {
                self.relative(rust_path).unwrap_or_else(|| name.clone())
            }
        }
    }

    /// `super::` once per module level the generated code is in.
    fn up(&self) -> &'static str {
        ["", "super::", "super::super::"][self.depth.min(2)]
    }

    /// The path to the module holding the file's types: itself, its parent
    /// (a libvirt or program module), or, in a version module, the alias
    /// its program module gives its parent (see [`Gen::module_uses`]).
    fn to_types(&self) -> String {
        match self.depth {
            0 => String::new(),
            1 => "super::".to_string(),
            _ => format!("{}::", names::PARENT_ALIAS),
        }
    }

    /// The imports a nested module's text `text`, at the current depth,
    /// needs, with a blank line after them: the runtime's alias, and in a
    /// version module the program module's alias for the file's types.
    fn module_uses(&self, text: &str) -> String {
        let mut uses = String::new();
        if let Some(runtime) = self.runtime_use(text) {
            uses.push_str(runtime.trim_end());
            uses.push('\n');
        }
        if self.depth >= 2 && uses_alias(text, names::PARENT_ALIAS) {
            let _ = writeln!(uses, "use super::{};", names::PARENT_ALIAS);
        }
        if !uses.is_empty() {
            uses.push('\n');
        }
        uses
    }

    /// A user's path, which is relative to where the generated file is
    /// included, as seen from the current module depth.
    fn relative(&self, path: &str) -> Option<String> {
        let parsed = tokens_text(&path.parse().ok()?);
        let first = parsed.split("::").next().unwrap_or_default();
        if path == "super" || path.starts_with("super::") || path.starts_with("self::") {
            let path = parsed.strip_prefix("self::").unwrap_or(&parsed);
            Some(format!("{}{path}", self.up()))
        } else if first == self.rt || first == names::PARENT_ALIAS {
            // A user path starting with a crate named like one of the
            // aliases generated modules declare (`xdr::Thing`) would reach
            // the alias: name the crate from the root instead.
            Some(format!("::{parsed}"))
        } else {
            Some(parsed)
        }
    }

    /// The Rust type of a type expression.
    fn rust_ty(&self, ty: &Ty) -> String {
        let rt = &self.rt;
        match ty {
            Ty::Prim(p) => codec::prim_ty(*p, rt),
            Ty::Opaque(Len::Fixed(n)) => format!("[u8; {n}]"),
            Ty::Opaque(Len::Variable(_)) if self.o.zero_copy => "&'a [u8]".to_string(),
            Ty::Opaque(Len::Variable(_)) => format!("{rt}::Vec<u8>"),
            Ty::String(_) if self.o.zero_copy => format!("{rt}::XdrStr<'a>"),
            Ty::String(_) => format!("{rt}::XdrString"),
            Ty::Array { elem, len } => {
                let e = self.rust_ty(elem);
                match len {
                    Len::Fixed(n) => format!("[{e}; {n}]"),
                    Len::Variable(_) => format!("{rt}::Vec<{e}>"),
                }
            }
            Ty::Optional(inner) => format!("::core::option::Option<{}>", self.rust_ty(inner)),
            Ty::Named(id) => format!("{}{}", self.type_path(*id), self.lifetime(*id)),
            Ty::Boxed(inner) => format!("{rt}::Box<{}>", self.rust_ty(inner)),
        }
    }

    /// Derivable traits and sizes for every type, as a greatest fixpoint
    /// (recursive types start optimistic and are refuted).
    fn compute_props(&self) -> Vec<Props> {
        let mut props: Vec<Props> = self
            .m
            .types
            .iter()
            .map(|t| Props {
                eq: true,
                hash: true,
                default: true,
                fixed_size: None,
                min_size: 0,
                borrows: false,
                inline_always: self.small_codec(t),
                list_link: self.list_link(t),
            })
            .collect();
        // Borrowing spreads from opaques and strings to every type that
        // holds them: a least fixpoint.
        if self.o.zero_copy {
            loop {
                let mut changed = false;
                for (i, t) in self.m.types.iter().enumerate() {
                    if !props[i].borrows && Self::holds_borrowed(t, &props) {
                        props[i].borrows = true;
                        changed = true;
                    }
                }
                if !changed {
                    break;
                }
            }
        }
        loop {
            let mut changed = false;
            for (i, t) in self.m.types.iter().enumerate() {
                let (eq, hash, default) = Self::derivable(t, &props);
                let p = &mut props[i];
                let new = (
                    p.eq && eq,
                    p.hash && hash && p.list_link.is_none(),
                    p.default && default,
                );
                if new != (p.eq, p.hash, p.default) {
                    (p.eq, p.hash, p.default) = new;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        // Sizes: a second fixpoint, from below (recursive types are never
        // of fixed size, and their minimum ends at an optional or union).
        let mut probe = Gen {
            m: self.m,
            o: self.o,
            rt: String::new(),
            derives: Vec::new(),
            type_attributes: Vec::new(),
            props,
            depth: 0,
        };
        for _ in 0..64 {
            let sizes: Vec<_> = self.m.types.iter().map(|t| probe.sizes(t)).collect();
            let mut changed = false;
            for (p, (fixed, min)) in probe.props.iter_mut().zip(sizes) {
                if (fixed, min) != (p.fixed_size, p.min_size) {
                    (p.fixed_size, p.min_size) = (fixed, min);
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        probe.props
    }

    /// A struct or union of at most 16 fields or arms whose codec has no
    /// loop over other named types, and is not a list: an element type.
    fn small_codec(&self, t: &TypeDef) -> bool {
        let loops = |ty: &Ty| -> bool {
            fn walk(g: &Gen<'_>, ty: &Ty) -> bool {
                match g.expand(ty) {
                    Ty::Array { elem, .. } => !matches!(g.expand(elem), Ty::Prim(_)),
                    Ty::Optional(inner) | Ty::Boxed(inner) => walk(g, inner),
                    _ => false,
                }
            }
            walk(self, ty)
        };
        let fields: Vec<&Ty> = match &t.kind {
            TypeKind::Struct(s) => s.fields.iter().map(|f| &f.ty).collect(),
            TypeKind::Union(u) => u.arm_fields().map(|f| &f.ty).collect(),
            _ => return false,
        };
        self.list_link(t).is_none() && fields.len() <= 16 && !fields.iter().any(|ty| loops(ty))
    }

    /// `#[inline(always)]` for element-sized codecs, `#[inline]` otherwise:
    /// attribute lines at indentation 4.
    fn inline(&self, id: TypeId) -> &'static str {
        if self.props[id.index()].inline_always {
            // Measured: without it LLVM calls element codecs out of line.
            "    #[inline(always)]\n    #[allow(clippy::inline_always)]\n"
        } else {
            "    #[inline]\n"
        }
    }

    fn holds_borrowed(t: &TypeDef, props: &[Props]) -> bool {
        fn ty_borrows(ty: &Ty, props: &[Props]) -> bool {
            match ty {
                Ty::Opaque(Len::Variable(_)) | Ty::String(_) => true,
                Ty::Array { elem: inner, .. } | Ty::Optional(inner) | Ty::Boxed(inner) => {
                    ty_borrows(inner, props)
                }
                Ty::Named(id) => props[id.index()].borrows,
                Ty::Prim(_) | Ty::Opaque(Len::Fixed(_)) => false,
            }
        }
        // Imported types were generated with the same options, so they
        // borrow exactly when they would here; external types never do.
        match &t.kind {
            TypeKind::Alias { ty } => ty_borrows(ty, props),
            TypeKind::Struct(s) => s.fields.iter().any(|f| ty_borrows(&f.ty, props)),
            TypeKind::Union(u) => u.arm_fields().any(|f| ty_borrows(&f.ty, props)),
            TypeKind::Enum(_) | TypeKind::Extern => false,
        }
    }

    /// `<'a>` for types that borrow, nothing otherwise.
    fn lifetime(&self, id: TypeId) -> &'static str {
        if self.props[id.index()].borrows {
            "<'a>"
        } else {
            ""
        }
    }

    /// `<'_>` for types that borrow (in impls that do not name it).
    fn anon_lifetime(&self, id: TypeId) -> &'static str {
        if self.props[id.index()].borrows {
            "<'_>"
        } else {
            ""
        }
    }

    fn sizes(&self, t: &TypeDef) -> (Option<usize>, usize) {
        match &t.kind {
            TypeKind::Alias { ty } => (self.fixed_size(ty), self.min_size(ty)),
            TypeKind::Enum(_) => (Some(4), 4),
            TypeKind::Struct(s) => {
                if self.props[t.id.index()].list_link.is_some() {
                    let min = s.fields.iter().map(|f| self.min_size(&f.ty)).sum();
                    return (None, min);
                }
                let fixed = s
                    .fields
                    .iter()
                    .map(|f| self.fixed_size(&f.ty))
                    .try_fold(0usize, |acc, s| s.and_then(|s| acc.checked_add(s)));
                let min = s
                    .fields
                    .iter()
                    .map(|f| self.min_size(&f.ty))
                    .fold(0usize, usize::saturating_add);
                (fixed, min)
            }
            TypeKind::Union(u) => {
                let arms = u
                    .arms
                    .iter()
                    .map(|a| a.field.as_ref().map_or(0, |f| self.min_size(&f.ty)))
                    .chain(
                        u.default
                            .iter()
                            .map(|d| d.field.as_ref().map_or(0, |f| self.min_size(&f.ty))),
                    )
                    .min()
                    .unwrap_or(0);
                (None, u.discriminant_kind.wire_size() + arms)
            }
            TypeKind::Extern => (None, 0),
        }
    }

    fn derivable(t: &TypeDef, props: &[Props]) -> (bool, bool, bool) {
        let tys: Vec<&Ty> = match &t.kind {
            TypeKind::Alias { ty } => vec![ty],
            TypeKind::Enum(_) => return (true, true, true),
            TypeKind::Struct(s) => s.fields.iter().map(|f| &f.ty).collect(),
            TypeKind::Union(u) => u
                .arm_fields()
                .map(|f| &f.ty)
                .chain(std::iter::once(&u.discriminant.ty))
                .collect(),
            // External types promise only Debug, Clone and PartialEq.
            TypeKind::Extern => return (false, false, false),
        };
        let mut eq = true;
        let mut hash = true;
        let mut default = !matches!(t.kind, TypeKind::Union(_));
        for ty in tys {
            let (e, h, d) = ty_props(ty, props);
            eq &= e;
            hash &= h;
            default &= d;
        }
        (eq, hash, default)
    }

    /// The index of a struct's last field when it is `Option<Box<Self>>`
    /// (directly or through a typedef).
    fn list_link(&self, t: &TypeDef) -> Option<usize> {
        let TypeKind::Struct(s) = &t.kind else {
            return None;
        };
        let last = s.fields.len().checked_sub(1)?;
        let mut ty = &s.fields[last].ty;
        for _ in 0..16 {
            match ty {
                Ty::Named(id) => match &self.m.ty(*id).kind {
                    TypeKind::Alias { ty: inner } => ty = inner,
                    _ => return None,
                },
                Ty::Optional(inner) => {
                    return matches!(&**inner, Ty::Boxed(b) if matches!(&**b, Ty::Named(id) if *id == t.id))
                        .then_some(last);
                }
                _ => return None,
            }
        }
        None
    }

    /// A declaration as a `.x` file writes it, bounds included:
    /// `string name<255>`, `opaque data[16]`, `entry *next`, `int v<>`.
    fn xdr_decl(&self, ty: &Ty, name: &str) -> String {
        match ty {
            Ty::Boxed(inner) => self.xdr_decl(inner, name),
            Ty::Opaque(len) => format!("opaque {name}{}", len.xdr_suffix()),
            Ty::String(max) => format!("string {name}{}", Len::Variable(*max).xdr_suffix()),
            Ty::Array { elem, len } => {
                format!("{} {name}{}", self.m.xdr_spelling(elem), len.xdr_suffix())
            }
            Ty::Optional(inner) => format!("{} *{name}", self.m.xdr_spelling(inner)),
            Ty::Prim(_) | Ty::Named(_) => format!("{} {name}", self.m.xdr_spelling(ty)),
        }
    }

    /// A procedure as a `.x` file writes it:
    /// `mountres3 MOUNTPROC3_MNT(dirpath) = 1`.
    fn xdr_procedure(&self, proc: &crate::ir::Procedure) -> String {
        let result = proc
            .result
            .as_ref()
            .map_or_else(|| "void".to_string(), |ty| self.m.xdr_spelling(ty));
        let args: Vec<String> = proc
            .args
            .iter()
            .map(|a| self.m.xdr_spelling(&a.ty))
            .collect();
        let args = if args.is_empty() {
            "void".to_string()
        } else {
            args.join(", ")
        };
        format!("{result} {}({args}) = {}", proc.name.xdr, proc.number)
    }

    /// Rustdoc for an item at indentation `ind`: its XDR name, then the
    /// `.x` comment in a `text` fence so rustdoc never runs it as a
    /// doctest.
    fn docs(&self, out: &mut String, ind: usize, what: &str, docs: &[String]) {
        let _ = writeln!(out, "{}/// XDR `{what}`.", pad(ind));
        if self.o.comments && !docs.is_empty() {
            let _ = writeln!(out, "{0}///\n{0}/// ```text", pad(ind));
            for line in docs {
                text::doc_lines(out, ind, &[&format!(" {line}")]);
            }
            let _ = writeln!(out, "{}/// ```", pad(ind));
        }
    }

    /// serde derives and the crate path they must use, if enabled: lines
    /// at indentation `ind`.
    fn serde_derives(&self, out: &mut String, ind: usize, id: TypeId) {
        if !self.o.serde {
            return;
        }
        let rt = &self.rt;
        let p = pad(ind);
        let de = if self.props[id.index()].borrows {
            String::new()
        } else {
            format!(", {rt}::serde::Deserialize")
        };
        let _ = writeln!(out, "{p}#[derive({rt}::serde::Serialize{de})]");
        let _ = writeln!(out, "{p}#[serde(crate = \"{rt}::serde\")]");
    }

    /// `#[serde(with = ...)]` for a fixed array serde cannot handle itself:
    /// a line at indentation `ind`.
    fn serde_field(&self, out: &mut String, ind: usize, ty: &Ty) {
        if !self.o.serde {
            return;
        }
        let long = match self.expand(ty) {
            Ty::Opaque(Len::Fixed(n))
            | Ty::Array {
                len: Len::Fixed(n), ..
            } => *n > 32,
            _ => false,
        };
        if long {
            let _ = writeln!(
                out,
                "{}#[serde(with = \"{}::big_array\")]",
                pad(ind),
                self.rt
            );
        }
    }

    /// The user's attributes for a type: one a line at indentation `ind`.
    fn extra_attributes(&self, out: &mut String, ind: usize, xdr: &str) {
        for (name, attrs) in &self.type_attributes {
            if *name == "*" || *name == xdr {
                for attr in attrs {
                    let _ = writeln!(out, "{}{attr}", pad(ind));
                }
            }
        }
    }
}

/// Whether a type expression allows `Eq`, `Hash` and `Default`.
fn ty_props(ty: &Ty, props: &[Props]) -> (bool, bool, bool) {
    match ty {
        Ty::Prim(crate::ir::Prim::Float | crate::ir::Prim::Double) => (false, false, true),
        Ty::Prim(_) | Ty::String(_) | Ty::Opaque(Len::Variable(_)) => (true, true, true),
        // std implements Default for arrays of up to 32 elements only.
        Ty::Opaque(Len::Fixed(n)) => (true, true, *n <= 32),
        Ty::Array { elem, len } => {
            let (e, h, d) = ty_props(elem, props);
            let d = match len {
                Len::Fixed(n) => d && *n <= 32,
                Len::Variable(_) => true,
            };
            (e, h, d)
        }
        Ty::Optional(inner) => {
            let (e, h, _) = ty_props(inner, props);
            (e, h, true)
        }
        Ty::Boxed(inner) => ty_props(inner, props),
        Ty::Named(id) => {
            let p = props[id.index()];
            (p.eq, p.hash, p.default)
        }
    }
}
