//! AST → IR: declares every name, evaluates constants on demand, lowers
//! types reachable from the input, checks what the grammar cannot, and
//! decides Rust names.
//!
//! Name lookup follows C rpcgen's environment. In priority order:
//! user-declared external types; the input's own definitions; its macros
//! (`-D`, `#define`, `%#define`); its program/version/procedure names
//! (rpcgen `#define`s them); imported `.x` files; the built-in prelude.
//! Imported and built-in types reach the IR only when something uses them.
//!
//! One concern a module: `declare` builds the symbol table, `consts`
//! evaluates constants on demand, `types` lowers types through a worklist,
//! `unions` their discriminants and cases, `programs` the RPC programs, and
//! `checks` what the grammar cannot say (duplicates, pragmas, Rust names).

mod checks;
mod consts;
mod declare;
mod programs;
mod types;
mod unions;

use std::collections::{HashMap, HashSet, VecDeque};

use super::{Const, ConstKind, ConstValue, Module, Passthrough, Pragma, TypeDef, TypeId, cycles};
use crate::consteval::Scope;
use crate::diagnostics::{Code, Diagnostic};
use crate::source::Span;
use crate::syntax::ast::{
    self, Comment, Decl, EnumBody, Expr, Ident, Item, Macro, Spec, StructBody, UnionBody,
};
use consts::State;

/// Another `.x` file whose definitions the input may use.
pub(crate) struct Import {
    pub(crate) spec: Spec,
    pub(crate) file: String,
    pub(crate) rust_path: Option<String>,
}

/// Everything the lowering reads.
pub(crate) struct Inputs<'a> {
    pub(crate) local: &'a Spec,
    pub(crate) imports: &'a [Import],
    pub(crate) prelude: &'a Spec,
    /// `(xdr name, rust path)` for `--extern-type`.
    pub(crate) extern_types: &'a [(String, String)],
    /// File names by file index, for the JSON view.
    pub(crate) files: Vec<String>,
    /// Where command-line definitions point (`-D`, `--extern-type`).
    pub(crate) command_line: Span,
    /// How the user spells options, for hints that name one.
    pub(crate) door: crate::Door,
}

/// Where a definition comes from; decides priority and the IR's `Origin`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Unit {
    Extern,
    Local,
    Import(usize),
    Builtin,
}

/// The syntax a named type is lowered from.
#[derive(Clone, Copy)]
enum TypeSrc<'a> {
    Typedef(&'a Decl),
    Enum(&'a EnumBody),
    Struct(&'a StructBody),
    Union(&'a UnionBody),
    Extern,
}

/// What a name means in the symbol table.
#[derive(Clone)]
enum Def<'a> {
    Type {
        unit: Unit,
        src: TypeSrc<'a>,
        span: Option<Span>,
        docs: &'a [Comment],
    },
    Const {
        unit: Unit,
        name: &'a Ident,
        value: &'a ast::ConstValue,
    },
    Member {
        unit: Unit,
        body: &'a EnumBody,
        index: usize,
        /// A member of an enum written in place (`enum { ... } field;`).
        inline: bool,
    },
    Macro {
        unit: Unit,
        mac: &'a Macro,
    },
    Rpc {
        unit: Unit,
        name: &'a Ident,
        numbers: Vec<&'a Expr>,
    },
}

impl Def<'_> {
    fn unit(&self) -> Unit {
        match self {
            Def::Type { unit, .. }
            | Def::Const { unit, .. }
            | Def::Member { unit, .. }
            | Def::Macro { unit, .. }
            | Def::Rpc { unit, .. } => *unit,
        }
    }

    fn span(&self) -> Option<Span> {
        match self {
            Def::Type { span, .. } => *span,
            Def::Const { name, .. } | Def::Rpc { name, .. } => Some(name.span),
            Def::Member { body, index, .. } => Some(body.members[*index].name.span),
            Def::Macro { mac, .. } => Some(mac.define.name.span),
        }
    }

    /// Definitions proper (not macros or rpcgen's implicit `#define`s):
    /// two of these with one name in one file is an error.
    fn is_definition(&self) -> bool {
        matches!(
            self,
            Def::Type { .. } | Def::Const { .. } | Def::Member { .. }
        )
    }

    fn is_inline_member(&self) -> bool {
        matches!(self, Def::Member { inline: true, .. })
    }

    fn is_value(&self) -> bool {
        !matches!(self, Def::Type { .. })
    }
}

/// The lowering's state, shared by the passes in this module's children.
struct Lowerer<'a> {
    inputs: &'a Inputs<'a>,
    symbols: HashMap<&'a str, Def<'a>>,
    type_ids: HashMap<&'a str, TypeId>,
    types: Vec<TypeDef>,
    worklist: VecDeque<(TypeId, TypeSrc<'a>, Unit)>,
    values: HashMap<&'a str, State>,
    /// Names of members that several inline enums share, with where each
    /// was written: scoped to their enums, never global constants.
    shared_inline_members: HashMap<&'a str, Vec<Span>>,
    used_macros: Vec<&'a Macro>,
    used_macro_names: HashSet<&'a str>,
    consts: Vec<Const>,
    /// How many constant evaluations are nested right now.
    eval_depth: u32,
    /// "Did you mean" lookups left; a file full of unknown names must not
    /// cost a scan of every symbol per name.
    suggestions_left: u32,
    diags: Vec<Diagnostic>,
}

/// Lowers the input into the IR. The module is complete only when no
/// error was reported.
pub(crate) fn lower(inputs: &Inputs<'_>) -> (Module, Vec<Diagnostic>) {
    let mut lw = Lowerer {
        inputs,
        symbols: HashMap::new(),
        type_ids: HashMap::new(),
        types: Vec::new(),
        worklist: VecDeque::new(),
        values: HashMap::new(),
        shared_inline_members: HashMap::new(),
        used_macros: Vec::new(),
        used_macro_names: HashSet::new(),
        consts: Vec::new(),
        eval_depth: 0,
        suggestions_left: 100,
        diags: Vec::new(),
    };
    for (name, _) in inputs.extern_types {
        lw.declare(
            name,
            Def::Type {
                unit: Unit::Extern,
                src: TypeSrc::Extern,
                span: None,
                docs: &[],
            },
        );
    }
    lw.declare_spec(inputs.local, Unit::Local);
    for (i, import) in inputs.imports.iter().enumerate() {
        lw.declare_spec(&import.spec, Unit::Import(i));
    }
    lw.declare_spec(inputs.prelude, Unit::Builtin);

    let mut module = Module {
        files: inputs.files.clone(),
        consts: Vec::new(),
        types: Vec::new(),
        programs: Vec::new(),
        passthrough: Vec::new(),
        pragmas: Vec::new(),
        libvirt_programs: Vec::new(),
        file_uses: Vec::new(),
    };
    lw.lower_items(&inputs.local.items, &mut module);
    lw.drain_worklist();
    for mac in std::mem::take(&mut lw.used_macros) {
        lw.macro_const(mac);
    }
    module.consts = std::mem::take(&mut lw.consts);
    module.types = std::mem::take(&mut lw.types);
    cycles::break_cycles(&mut module.types, &mut lw.diags);
    checks::check_names(&module, &mut lw.diags);
    checks::check_program_numbers(&module.programs, &mut lw.diags);
    module.libvirt_programs = super::libvirt::find(&module);
    super::names::alias_super_paths(&mut module);
    (module, lw.diags)
}

impl<'a> Lowerer<'a> {
    /// Whether `name`'s table entry is this very definition (not a
    /// duplicate that lost, nor shadowed by an external type).
    fn owns(&self, name: &str, span: Span) -> bool {
        self.symbols
            .get(name)
            .is_some_and(|d| d.unit() == Unit::Local && d.span() == Some(span))
    }

    /// Walks the input's own definitions in source order: types are
    /// queued by name, constants, programs, `%` lines and pragmas lowered.
    fn lower_items(&mut self, items: &'a [Item], module: &mut Module) {
        for item in items {
            match item {
                Item::Const {
                    name, value, docs, ..
                } => {
                    if !self.owns(&name.name, name.span) {
                        continue;
                    }
                    let value = match value {
                        ast::ConstValue::Str(s, _) => Some(ConstValue::Str(s.clone())),
                        ast::ConstValue::Int(_) => self.value(name).ok().map(ConstValue::Int),
                    };
                    if let Some(value) = value {
                        self.consts.push(Const {
                            name: Self::value_name(name),
                            value,
                            kind: ConstKind::Const,
                            docs: doc_lines(docs),
                        });
                    }
                }
                Item::Typedef {
                    decl: Decl::Void(span),
                    ..
                } => self.diags.push(
                    Diagnostic::new(Code::Void, "`void` cannot be given a type name")
                        .primary(*span, "typedef of void"),
                ),
                Item::Typedef {
                    decl: Decl::Named { name, .. },
                    ..
                }
                | Item::Enum { name, .. }
                | Item::Struct { name, .. }
                | Item::Union { name, .. } => {
                    if self.owns(&name.name, name.span) {
                        self.type_id(&name.name);
                    }
                }
                Item::Program(p) => {
                    if let Some(p) = self.lower_program(p) {
                        module.programs.push(p);
                    }
                }
                Item::Passthrough { text, span } => module.passthrough.push(Passthrough {
                    text: text.clone(),
                    span: *span,
                }),
                Item::Pragma { words, span } => {
                    self.check_pragma(words, *span);
                    module.pragmas.push(Pragma {
                        words: words.iter().map(|w| w.name.clone()).collect(),
                        span: *span,
                    });
                }
                Item::Namespace { items, .. } => self.lower_items(items, module),
            }
        }
    }
}

/// Comment text as documentation lines: delimiters, leading `*` columns
/// and surrounding blank lines removed.
fn doc_lines(docs: &[Comment]) -> Vec<String> {
    let mut out = Vec::new();
    for c in docs {
        let text = c.text.strip_prefix('*').unwrap_or(&c.text);
        let mut lines: Vec<String> = text
            .lines()
            .map(|l| {
                let t = l.trim_start();
                let t = t
                    .strip_prefix('*')
                    .map_or(t, |r| r.strip_prefix(' ').unwrap_or(r));
                t.trim_end().to_string()
            })
            .collect();
        while lines.first().is_some_and(String::is_empty) {
            lines.remove(0);
        }
        while lines.last().is_some_and(String::is_empty) {
            lines.pop();
        }
        if !out.is_empty() && !lines.is_empty() {
            out.push(String::new());
        }
        out.extend(lines);
    }
    out
}
