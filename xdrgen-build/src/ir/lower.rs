//! AST → IR: declares every name, evaluates constants on demand, lowers
//! types reachable from the input, checks what the grammar cannot, and
//! decides Rust names.
//!
//! Name lookup follows C rpcgen's environment. In priority order:
//! user-declared external types; the input's own definitions; its macros
//! (`-D`, `#define`, `%#define`); its program/version/procedure names
//! (rpcgen `#define`s them); imported `.x` files; the built-in prelude.
//! Imported and built-in types reach the IR only when something uses them.

use std::collections::{HashMap, HashSet, VecDeque};

use super::names::{self, Namespace};
use super::{
    Arg, CaseLabel, Const, ConstKind, ConstValue, DefaultArm, DiscriminantKind, Enum, EnumMember,
    Field, Len, Module, Name, Origin, Passthrough, Pragma, Prim, Procedure, Program, Struct, Ty,
    TypeDef, TypeId, TypeKind, Union, UnionArm, Version, annotations, cycles,
};
use crate::consteval::{self, EvalResult, Scope};
use crate::diagnostics::{Code, Diagnostic, did_you_mean};
use crate::source::Span;
use crate::syntax::ast::{
    self, Comment, Decl, DefineOrigin, EnumBody, Expr, Ident, Item, Macro, MacroBody, ProcType,
    Shape, Spec, StructBody, Tag, TypeSpec, UnionBody,
};

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

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Unit {
    Extern,
    Local,
    Import(usize),
    Builtin,
}

#[derive(Clone, Copy)]
enum TypeSrc<'a> {
    Typedef(&'a Decl),
    Enum(&'a EnumBody),
    Struct(&'a StructBody),
    Union(&'a UnionBody),
    Extern,
}

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

#[derive(Clone, Copy)]
enum State {
    Busy,
    Done(Option<i128>),
}

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

/// Deepest chain of constants defined through each other.
const MAX_EVAL_DEPTH: u32 = 64;

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
    };
    lw.lower_items(&inputs.local.items, &mut module);
    lw.drain_worklist();
    for mac in std::mem::take(&mut lw.used_macros) {
        lw.macro_const(mac);
    }
    module.consts = std::mem::take(&mut lw.consts);
    module.types = std::mem::take(&mut lw.types);
    cycles::break_cycles(&mut module.types, &mut lw.diags);
    check_names(&module, &mut lw.diags);
    check_program_numbers(&module.programs, &mut lw.diags);
    module.libvirt_programs = super::libvirt::find(&module);
    (module, lw.diags)
}

impl<'a> Lowerer<'a> {
    // ----- declaring names -----

    fn declare(&mut self, name: &'a str, def: Def<'a>) {
        // Members of inline enums are scoped to their enum (the xdrpp and
        // js-xdr dialect); they are also global constants while no other
        // definition and no other inline enum claims the name.
        if let Some(existing) = self.symbols.get(name) {
            if existing.unit() == def.unit() {
                match (existing.is_inline_member(), def.is_inline_member()) {
                    (true, true) => {
                        let first = existing.span();
                        let spans = self.shared_inline_members.entry(name).or_default();
                        if spans.is_empty() {
                            spans.extend(first);
                        }
                        spans.extend(def.span());
                        return;
                    }
                    (true, false) if def.is_definition() => {
                        self.symbols.insert(name, def);
                        return;
                    }
                    (false, true) if existing.is_definition() => return,
                    _ => {}
                }
            }
        }
        let Some(existing) = self.symbols.get_mut(name) else {
            self.symbols.insert(name, def);
            return;
        };
        let same_unit = existing.unit() == def.unit();
        match (existing, &def) {
            (Def::Rpc { numbers, .. }, Def::Rpc { numbers: more, .. }) if same_unit => {
                numbers.extend(more.iter().copied());
            }
            // Like cpp, a later #define replaces an earlier one.
            (existing @ Def::Macro { .. }, Def::Macro { .. }) if same_unit => *existing = def,
            (existing, _) if same_unit && existing.is_definition() && def.is_definition() => {
                let first = existing.span();
                let mut d = Diagnostic::new(Code::Duplicate, format!("`{name}` is defined twice"));
                if let Some(span) = def.span() {
                    d = d.primary(span, "defined again here");
                }
                if let Some(span) = first {
                    d = d.secondary(span, "first defined here");
                }
                self.diags.push(d);
            }
            _ => {}
        }
    }

    fn declare_spec(&mut self, spec: &'a Spec, unit: Unit) {
        self.declare_items(&spec.items, unit);
        for mac in &spec.macros {
            if mac.define.origin != DefineOrigin::Builtin {
                self.declare(&mac.define.name.name, Def::Macro { unit, mac });
            }
        }
        self.declare_rpc_names(&spec.items, unit);
    }

    fn declare_items(&mut self, items: &'a [Item], unit: Unit) {
        for item in items {
            match item {
                Item::Const { name, value, .. } => {
                    self.declare(&name.name, Def::Const { unit, name, value });
                }
                Item::Typedef { decl, docs, .. } => {
                    let Decl::Named {
                        name, ty, shape, ..
                    } = decl
                    else {
                        continue;
                    };
                    // `typedef struct X X;`: C's tag and typedef namespaces
                    // differ; in XDR it names the same type.
                    if let (TypeSpec::Named { name: target, .. }, Shape::Scalar) = (ty, shape) {
                        if target.name == name.name {
                            continue;
                        }
                    }
                    self.declare_inline_members(ty, unit);
                    self.declare_type(name, TypeSrc::Typedef(decl), unit, docs);
                }
                Item::Enum {
                    name, body, docs, ..
                } => {
                    self.declare_type(name, TypeSrc::Enum(body), unit, docs);
                    self.declare_members(body, unit, false);
                }
                Item::Struct {
                    name, body, docs, ..
                } => {
                    self.declare_type(name, TypeSrc::Struct(body), unit, docs);
                    for m in &body.members {
                        if let Decl::Named { ty, .. } = &m.decl {
                            self.declare_inline_members(ty, unit);
                        }
                    }
                }
                Item::Union {
                    name, body, docs, ..
                } => {
                    self.declare_type(name, TypeSrc::Union(body), unit, docs);
                    for decl in body
                        .arms
                        .iter()
                        .map(|a| &a.decl)
                        .chain(body.default.as_ref().map(|(_, m)| &m.decl))
                    {
                        if let Decl::Named { ty, .. } = decl {
                            self.declare_inline_members(ty, unit);
                        }
                    }
                }
                Item::Namespace { items, .. } => self.declare_items(items, unit),
                Item::Program(_) | Item::Passthrough { .. } | Item::Pragma { .. } => {}
            }
        }
    }

    fn declare_type(&mut self, name: &'a Ident, src: TypeSrc<'a>, unit: Unit, docs: &'a [Comment]) {
        self.declare(
            &name.name,
            Def::Type {
                unit,
                src,
                span: Some(name.span),
                docs,
            },
        );
    }

    fn declare_members(&mut self, body: &'a EnumBody, unit: Unit, inline: bool) {
        for (index, m) in body.members.iter().enumerate() {
            self.declare(
                &m.name.name,
                Def::Member {
                    unit,
                    body,
                    index,
                    inline,
                },
            );
        }
    }

    /// Whether a member's name is global and means this very member, so
    /// its value may be memoized under the name. Members scoped to an
    /// inline enum are evaluated in place.
    fn owns_member(&self, body: &EnumBody, index: usize) -> bool {
        let name = body.members[index].name.name.as_str();
        !self.shared_inline_members.contains_key(name)
            && matches!(
                self.symbols.get(name),
                Some(Def::Member { body: b, index: i, .. }) if std::ptr::eq(*b, body) && *i == index
            )
    }

    /// Members of enums written inline are constants like any others.
    fn declare_inline_members(&mut self, ty: &'a TypeSpec, unit: Unit) {
        match ty {
            TypeSpec::InlineEnum(body) => self.declare_members(body, unit, true),
            TypeSpec::InlineStruct(body) => {
                for m in &body.members {
                    if let Decl::Named { ty, .. } = &m.decl {
                        self.declare_inline_members(ty, unit);
                    }
                }
            }
            TypeSpec::InlineUnion(body) => {
                for a in &body.arms {
                    if let Decl::Named { ty, .. } = &a.decl {
                        self.declare_inline_members(ty, unit);
                    }
                }
            }
            _ => {}
        }
    }

    fn declare_rpc_names(&mut self, items: &'a [Item], unit: Unit) {
        for item in items {
            match item {
                Item::Program(p) => {
                    self.declare(
                        &p.name.name,
                        Def::Rpc {
                            unit,
                            name: &p.name,
                            numbers: vec![&p.number],
                        },
                    );
                    for v in &p.versions {
                        self.declare(
                            &v.name.name,
                            Def::Rpc {
                                unit,
                                name: &v.name,
                                numbers: vec![&v.number],
                            },
                        );
                        for proc in &v.procedures {
                            self.declare(
                                &proc.name.name,
                                Def::Rpc {
                                    unit,
                                    name: &proc.name,
                                    numbers: vec![&proc.number],
                                },
                            );
                        }
                    }
                }
                Item::Namespace { items, .. } => self.declare_rpc_names(items, unit),
                _ => {}
            }
        }
    }

    /// Whether `name`'s table entry is this very definition (not a
    /// duplicate that lost, nor shadowed by an external type).
    fn owns(&self, name: &str, span: Span) -> bool {
        self.symbols
            .get(name)
            .is_some_and(|d| d.unit() == Unit::Local && d.span() == Some(span))
    }

    // ----- walking the input -----

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

    fn check_pragma(&mut self, words: &[Ident], span: Span) {
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

    // ----- constants -----

    fn value_name(id: &Ident) -> Name {
        Name {
            xdr: id.name.clone(),
            rust: names::const_name(&id.name),
            span: id.span,
        }
    }

    /// Evaluates `key` once; `Busy` catches definitions that use themselves.
    fn memo(
        &mut self,
        key: &'a str,
        used_at: &Ident,
        f: impl FnOnce(&mut Self) -> EvalResult,
    ) -> EvalResult {
        match self.values.get(key) {
            Some(State::Done(v)) => return v.ok_or(None),
            Some(State::Busy) => {
                return Err(Some(
                    Diagnostic::new(
                        Code::ConstEval,
                        format!("constant `{key}` depends on itself"),
                    )
                    .primary(used_at.span, "used here while it is being defined"),
                ));
            }
            None => {}
        }
        if self.eval_depth >= MAX_EVAL_DEPTH {
            return Err(Some(
                Diagnostic::new(
                    Code::ConstEval,
                    format!("constant `{key}` is defined through more than {MAX_EVAL_DEPTH} other constants"),
                )
                .primary(used_at.span, ""),
            ));
        }
        self.values.insert(key, State::Busy);
        self.eval_depth += 1;
        let result = f(self);
        self.eval_depth -= 1;
        let stored = match result {
            Ok(v) => Some(v),
            Err(d) => {
                self.diags.extend(d);
                None
            }
        };
        self.values.insert(key, State::Done(stored));
        stored.ok_or(None)
    }

    fn member_value(&mut self, body: &'a EnumBody, index: usize, used_at: &Ident) -> EvalResult {
        let known = |lw: &Self, j: usize| {
            let m = &body.members[j];
            if lw.owns_member(body, j) {
                match lw.values.get(m.name.name.as_str()) {
                    Some(State::Done(v)) => Some(*v),
                    _ => None,
                }
            } else {
                None
            }
        };
        if let Some(v) = known(self, index) {
            return v.ok_or(None);
        }
        // Members without `= value` count on from the previous one; find
        // the nearest member that is explicit or already known and count
        // forward (no deep recursion, linear over a whole enum).
        let base_index = (0..=index)
            .rev()
            .find(|&j| body.members[j].value.is_some() || matches!(known(self, j), Some(Some(_))))
            .unwrap_or(0);
        let base_name = body.members[base_index].name.name.as_str();
        let base_owned = self.owns_member(body, base_index);
        let base = match (&body.members[base_index].value, known(self, base_index)) {
            (_, Some(Some(v))) => v,
            (Some(expr), _) if base_owned => {
                self.memo(base_name, used_at, |s| consteval::eval(expr, s))?
            }
            (Some(expr), _) => consteval::eval(expr, self)?,
            (None, _) => {
                if base_owned {
                    self.values.insert(base_name, State::Done(Some(0)));
                }
                0
            }
        };
        let mut value = base;
        for k in base_index + 1..=index {
            value += 1;
            let m = &body.members[k];
            if m.value.is_none() && self.owns_member(body, k) && known(self, k).is_none() {
                self.values.insert(&m.name.name, State::Done(Some(value)));
            }
        }
        Ok(value)
    }

    fn macro_value(&mut self, mac: &'a Macro, used_at: &Ident) -> EvalResult {
        let define = &mac.define;
        if self.used_macro_names.insert(&define.name.name) {
            self.used_macros.push(mac);
        }
        self.memo(&define.name.name, used_at, |s| {
            if mac.body == MacroBody::Empty {
                return Err(Some(
                    Diagnostic::new(
                        Code::WrongKind,
                        format!("macro `{}` has no value", define.name.name),
                    )
                    .primary(used_at.span, "used as a constant here")
                    .secondary(define.name.span, "defined without a value"),
                ));
            }
            let Some(expr) = mac.body.expr() else {
                return Err(Some(
                    Diagnostic::new(
                        Code::WrongKind,
                        format!(
                            "macro `{}` is `{}`, not an integer constant",
                            define.name.name,
                            define.body.trim()
                        ),
                    )
                    .primary(used_at.span, "used as a constant here")
                    .secondary(define.body_span, "defined here"),
                ));
            };
            consteval::eval(expr, s)
        })
    }

    fn rpc_value(&mut self, name: &'a Ident, numbers: &[&'a Expr], used_at: &Ident) -> EvalResult {
        let numbers = numbers.to_vec();
        self.memo(&name.name, used_at, |s| {
            let mut values = Vec::new();
            for e in &numbers {
                values.push(consteval::eval(e, s)?);
            }
            values.dedup();
            if values.len() > 1 {
                return Err(Some(
                    Diagnostic::new(
                        Code::WrongKind,
                        format!("`{}` names procedures with different numbers", name.name),
                    )
                    .primary(used_at.span, "ambiguous here"),
                ));
            }
            Ok(values[0])
        })
    }

    fn suggest(&mut self, name: &str, values: bool) -> Option<&'a str> {
        if self.suggestions_left == 0 {
            return None;
        }
        self.suggestions_left -= 1;
        let candidates = self.candidates(values);
        did_you_mean(name, candidates)
    }

    /// Every constant-like (`values`) or type name, sorted, for "did you
    /// mean" suggestions.
    fn candidates(&self, values: bool) -> Vec<&'a str> {
        let mut v: Vec<&str> = self
            .symbols
            .iter()
            .filter(|(_, d)| d.is_value() == values)
            .map(|(k, _)| *k)
            .collect();
        v.sort_unstable();
        v
    }

    /// The value of a constant expression that must fit `lo..=hi`.
    fn ranged(&mut self, expr: &Expr, lo: i128, hi: i128, what: &str) -> Option<i128> {
        match consteval::eval(expr, self) {
            Ok(v) if (lo..=hi).contains(&v) => Some(v),
            Ok(v) => {
                self.diags.push(
                    Diagnostic::new(Code::Range, format!("{what} {v} is out of range"))
                        .primary(expr.span(), format!("must be from {lo} to {hi}")),
                );
                None
            }
            Err(d) => {
                self.diags.extend(d);
                None
            }
        }
    }

    fn u32_value(&mut self, expr: &Expr, what: &str) -> Option<u32> {
        self.ranged(expr, 0, u32::MAX.into(), what)
            .and_then(|v| u32::try_from(v).ok())
    }

    /// An array, opaque or string size.
    fn bound(&mut self, expr: &Expr) -> Option<u32> {
        if let Expr::Name(id) = expr {
            if let Some(Def::Type { span, .. }) = self.symbols.get(id.name.as_str()) {
                let mut d = Diagnostic::new(
                    Code::Bound,
                    format!("array bound `{}` is a type, not a constant", id.name),
                )
                .primary(id.span, "not a constant");
                if let Some(span) = span {
                    d = d.secondary(*span, "defined as a type here");
                }
                self.diags.push(d);
                return None;
            }
        }
        match consteval::eval(expr, self) {
            Ok(v) => {
                let bound = u32::try_from(v).ok();
                if bound.is_none() {
                    self.diags.push(
                        Diagnostic::new(Code::Bound, format!("array bound {v} is out of range"))
                            .primary(expr.span(), "must be from 0 to 4294967295"),
                    );
                }
                bound
            }
            Err(d) => {
                self.diags.extend(d);
                None
            }
        }
    }

    fn macro_const(&mut self, mac: &'a Macro) {
        let define = &mac.define;
        let Some(Def::Macro {
            unit: Unit::Local,
            mac: current,
        }) = self.symbols.get(define.name.name.as_str())
        else {
            return;
        };
        if !std::ptr::eq(*current, mac) {
            return;
        }
        let Some(State::Done(Some(v))) = self.values.get(define.name.name.as_str()) else {
            return;
        };
        let kind = match define.origin {
            DefineOrigin::CommandLine => ConstKind::CommandLine,
            DefineOrigin::Directive => ConstKind::Define,
            DefineOrigin::Passthrough => ConstKind::PassthroughDefine,
            DefineOrigin::Builtin => ConstKind::Builtin,
        };
        self.consts.push(Const {
            name: Self::value_name(&define.name),
            value: ConstValue::Int(*v),
            kind,
            docs: Vec::new(),
        });
    }

    // ----- types -----

    fn origin(&self, unit: Unit, name: &str) -> Origin {
        match unit {
            Unit::Local => Origin::Local,
            Unit::Builtin => Origin::Builtin,
            Unit::Import(i) => Origin::Imported {
                file: self.inputs.imports[i].file.clone(),
                rust_path: self.inputs.imports[i].rust_path.clone(),
            },
            Unit::Extern => Origin::Extern {
                rust_path: self
                    .inputs
                    .extern_types
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, p)| p.clone())
                    .unwrap_or_default(),
            },
        }
    }

    /// The id of a named type, queuing it for lowering on first use.
    fn type_id(&mut self, name: &'a str) -> Option<TypeId> {
        if let Some(id) = self.type_ids.get(name) {
            return Some(*id);
        }
        let Some(Def::Type {
            unit,
            src,
            span,
            docs,
            ..
        }) = self.symbols.get(name).cloned()
        else {
            return None;
        };
        let span = span.unwrap_or(self.inputs.command_line);
        let id = self.new_type(name, span, unit, doc_lines(docs));
        self.type_ids.insert(name, id);
        self.worklist.push_back((id, src, unit));
        Some(id)
    }

    fn new_type(&mut self, xdr: &str, span: Span, unit: Unit, docs: Vec<String>) -> TypeId {
        let id = TypeId(u32::try_from(self.types.len()).expect("fewer than 2^32 types"));
        self.types.push(TypeDef {
            id,
            name: Name {
                xdr: xdr.to_string(),
                rust: names::type_name(xdr),
                span,
            },
            origin: self.origin(unit, xdr),
            docs,
            kind: TypeKind::Extern,
        });
        id
    }

    fn drain_worklist(&mut self) {
        while let Some((id, src, unit)) = self.worklist.pop_front() {
            let name = self.types[id.index()].name.xdr.clone();
            let kind = self.lower_type_src(src, &name, unit);
            self.types[id.index()].kind = kind;
        }
    }

    fn lower_type_src(&mut self, src: TypeSrc<'a>, name: &str, unit: Unit) -> TypeKind {
        match src {
            TypeSrc::Extern => TypeKind::Extern,
            TypeSrc::Typedef(decl) => {
                let Decl::Named {
                    ty,
                    shape,
                    name: id,
                    ..
                } = decl
                else {
                    unreachable!("void typedefs are never declared")
                };
                let ty = self
                    .lower_ty(ty, shape, name, &id.name, unit, false)
                    .unwrap_or(Ty::Prim(Prim::Int));
                TypeKind::Alias { ty }
            }
            TypeSrc::Enum(body) => TypeKind::Enum(self.lower_enum(body, name, unit)),
            TypeSrc::Struct(body) => TypeKind::Struct(self.lower_struct(body, name, unit)),
            TypeSrc::Union(body) => self
                .lower_union(body, name, unit)
                .map_or(TypeKind::Extern, TypeKind::Union),
        }
    }

    fn lower_enum(&mut self, body: &'a EnumBody, name: &str, unit: Unit) -> Enum {
        let annotated = unit == Unit::Local && name.to_ascii_lowercase().ends_with("procedure");
        let mut members = Vec::new();
        let mut seen: HashMap<i128, usize> = HashMap::new();
        let mut previous: Option<i128> = None;
        for (index, m) in body.members.iter().enumerate() {
            // A scoped member counting on from the one before needs no
            // search back (which would make a long enum quadratic).
            let scoped_next = (m.value.is_none() && !self.owns_member(body, index))
                .then(|| previous.map_or(0, |p| p + 1));
            let value =
                match scoped_next.map_or_else(|| self.member_value(body, index, &m.name), Ok) {
                    Ok(v) => v,
                    Err(d) => {
                        self.diags.extend(d);
                        previous = None;
                        continue;
                    }
                };
            previous = Some(value);
            let Ok(value32) = i32::try_from(value) else {
                let at = m.value.as_ref().map_or(m.name.span, Expr::span);
                self.diags.push(
                    Diagnostic::new(
                        Code::Range,
                        format!(
                            "enum value {value} of `{}` does not fit in a 32-bit int",
                            m.name.name
                        ),
                    )
                    .primary(at, "XDR enums are signed 32-bit"),
                );
                continue;
            };
            // Real files give one value several names (nis_object.x's
            // `BOGUS_OBJ` and `NIS_BOGUS_OBJ`): later ones are aliases.
            let alias_of = seen.get(&value).copied();
            seen.entry(value).or_insert(members.len());
            let annotations = if annotated {
                annotations::parse(&m.docs, &mut self.diags)
            } else {
                None
            };
            members.push(EnumMember {
                name: Name {
                    xdr: m.name.name.clone(),
                    rust: names::variant_name(&m.name.name),
                    span: m.name.span,
                },
                value: value32,
                alias_of,
                docs: doc_lines(&m.docs),
                annotations,
            });
        }
        Enum { members }
    }

    fn lower_struct(&mut self, body: &'a StructBody, name: &str, unit: Unit) -> Struct {
        let mut fields = Vec::new();
        let mut seen: HashMap<&str, Span> = HashMap::new();
        for m in &body.members {
            match &m.decl {
                Decl::Void(span) => self.diags.push(
                    Diagnostic::new(Code::Void, "a struct member cannot be `void`")
                        .primary(*span, "")
                        .note("`void` is only allowed as a union arm or a procedure argument or result"),
                ),
                Decl::Named { name: id, .. } => {
                    self.check_member_dup(&mut seen, id, "struct member");
                    if let Some(f) = self.lower_field(&m.decl, &m.docs, name, unit) {
                        fields.push(f);
                    }
                }
            }
        }
        Struct { fields }
    }

    fn check_member_dup(&mut self, seen: &mut HashMap<&'a str, Span>, id: &'a Ident, what: &str) {
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

    fn lower_field(
        &mut self,
        decl: &'a Decl,
        docs: &[Comment],
        owner: &str,
        unit: Unit,
    ) -> Option<Field> {
        let Decl::Named {
            ty, name, shape, ..
        } = decl
        else {
            return None;
        };
        let ty = self.lower_ty(ty, shape, owner, &name.name, unit, false)?;
        Some(Field {
            name: Name {
                xdr: name.name.clone(),
                rust: names::field_name(&name.name),
                span: name.span,
            },
            ty,
            docs: doc_lines(docs),
        })
    }

    /// Lowers `ty` with a declarator shape. `proc_type`: procedure argument
    /// and result types may be a bare `string`/`opaque` (unbounded).
    fn lower_ty(
        &mut self,
        ty: &'a TypeSpec,
        shape: &'a Shape,
        owner: &str,
        field: &str,
        unit: Unit,
        proc_type: bool,
    ) -> Option<Ty> {
        let bounded = |s: &mut Self, e: &Option<Expr>| match e {
            Some(e) => s.bound(e).map(Some),
            None => Some(None),
        };
        match ty {
            TypeSpec::Opaque(span) => match shape {
                Shape::Fixed(e) => Some(Ty::Opaque(Len::Fixed(self.bound(e)?))),
                Shape::Variable(e) => Some(Ty::Opaque(Len::Variable(bounded(self, e)?))),
                Shape::Scalar if proc_type => Some(Ty::Opaque(Len::Variable(None))),
                Shape::Scalar | Shape::Optional => {
                    self.diags.push(
                        Diagnostic::new(Code::Bound, "`opaque` needs a size")
                            .primary(*span, "")
                            .help(format!("write `opaque {field}[N]` for fixed or `opaque {field}<N>` for variable length")),
                    );
                    None
                }
            },
            TypeSpec::String(span) => {
                match shape {
                    Shape::Variable(e) => Some(Ty::String(bounded(self, e)?)),
                    Shape::Scalar if proc_type => Some(Ty::String(None)),
                    Shape::Fixed(_) => {
                        self.diags.push(
                        Diagnostic::new(Code::Bound, "strings have no fixed-length form")
                            .primary(*span, "")
                            .help(format!("write `string {field}<N>`, or `opaque {field}[N]` for fixed bytes")),
                    );
                        None
                    }
                    Shape::Scalar | Shape::Optional => {
                        self.diags.push(
                            Diagnostic::new(Code::Bound, "`string` needs a maximum length")
                                .primary(*span, "")
                                .help(format!(
                                    "write `string {field}<N>`, or `string {field}<>` for no limit"
                                )),
                        );
                        None
                    }
                }
            }
            _ => {
                let base = self.lower_base(ty, owner, field, unit)?;
                Some(match shape {
                    Shape::Scalar => base,
                    Shape::Optional => Ty::Optional(Box::new(base)),
                    Shape::Fixed(e) => Ty::Array {
                        elem: Box::new(base),
                        len: Len::Fixed(self.bound(e)?),
                    },
                    Shape::Variable(e) => Ty::Array {
                        elem: Box::new(base),
                        len: Len::Variable(bounded(self, e)?),
                    },
                })
            }
        }
    }

    fn lower_base(&mut self, ty: &'a TypeSpec, owner: &str, field: &str, unit: Unit) -> Option<Ty> {
        match ty {
            TypeSpec::Prim { prim, .. } => Some(Ty::Prim(lower_prim(*prim))),
            TypeSpec::Named { name, tag } => self.named(name, *tag),
            TypeSpec::InlineEnum(body) => {
                let id = self.inline_type(owner, field, body.span, unit);
                let kind = TypeKind::Enum(self.lower_enum(
                    body,
                    &self.types[id.index()].name.xdr.clone(),
                    unit,
                ));
                self.types[id.index()].kind = kind;
                Some(Ty::Named(id))
            }
            TypeSpec::InlineStruct(body) => {
                let id = self.inline_type(owner, field, body.span, unit);
                let xdr = self.types[id.index()].name.xdr.clone();
                let kind = TypeKind::Struct(self.lower_struct(body, &xdr, unit));
                self.types[id.index()].kind = kind;
                Some(Ty::Named(id))
            }
            TypeSpec::InlineUnion(body) => {
                let id = self.inline_type(owner, field, body.span, unit);
                let xdr = self.types[id.index()].name.xdr.clone();
                let kind = self
                    .lower_union(body, &xdr, unit)
                    .map_or(TypeKind::Extern, TypeKind::Union);
                self.types[id.index()].kind = kind;
                Some(Ty::Named(id))
            }
            TypeSpec::Opaque(_) | TypeSpec::String(_) => unreachable!("handled by lower_ty"),
        }
    }

    /// Inline `struct {...}` members become named types `owner_field`.
    fn inline_type(&mut self, owner: &str, field: &str, span: Span, unit: Unit) -> TypeId {
        self.new_type(&format!("{owner}_{field}"), span, unit, Vec::new())
    }

    fn named(&mut self, name: &'a Ident, tag: Option<Tag>) -> Option<Ty> {
        match self.symbols.get(name.name.as_str()).cloned() {
            Some(Def::Type { src, span, .. }) => {
                let matches = matches!(
                    (tag, src),
                    (None, _)
                        | (_, TypeSrc::Typedef(_) | TypeSrc::Extern)
                        | (Some(Tag::Struct), TypeSrc::Struct(_))
                        | (Some(Tag::Enum), TypeSrc::Enum(_))
                        | (Some(Tag::Union), TypeSrc::Union(_))
                );
                if !matches {
                    let written = match tag {
                        Some(Tag::Struct) => "struct",
                        Some(Tag::Enum) => "enum",
                        _ => "union",
                    };
                    let actual = match src {
                        TypeSrc::Struct(_) => "a struct",
                        TypeSrc::Enum(_) => "an enum",
                        _ => "a union",
                    };
                    let mut d = Diagnostic::new(
                        Code::WrongKind,
                        format!("`{written} {}` names {actual}", name.name),
                    )
                    .primary(name.span, format!("`{}` is {actual}", name.name));
                    if let Some(span) = span {
                        d = d.secondary(span, "defined here");
                    }
                    self.diags.push(d);
                }
                self.type_id(&name.name).map(Ty::Named)
            }
            Some(Def::Macro { mac, .. }) if mac.body.is_c_type() => {
                let define = &mac.define;
                let help = format!(
                    "map it to a Rust type with an XDR codec of your own: `{}`",
                    self.inputs
                        .door
                        .spell_option("extern_types", &format!("{}=RUST_PATH", name.name))
                );
                self.diags.push(
                    Diagnostic::new(
                        Code::CTypeMacro,
                        format!("`{}` is a C type from outside the .x file", name.name),
                    )
                    .primary(name.span, "used as a type here")
                    .secondary(
                        define.name.span,
                        format!("defined as the C type `{}`", define.body.trim()),
                    )
                    .note("rpcgen copies the macro into C; the type's XDR routine is written by hand, so its wire form is unknown here")
                    .help(help),
                );
                None
            }
            Some(other) => {
                let mut d = Diagnostic::new(
                    Code::WrongKind,
                    format!("`{}` is a constant, not a type", name.name),
                )
                .primary(name.span, "used as a type here");
                if let Some(span) = other.span() {
                    d = d.secondary(span, "defined as a constant here");
                }
                self.diags.push(d);
                None
            }
            None => {
                let mut d = Diagnostic::new(
                    Code::UndefinedType,
                    format!("undefined type `{}`", name.name),
                )
                .primary(
                    name.span,
                    "not defined in this file, its includes or imports",
                );
                if let Some(s) = self.suggest(&name.name, false) {
                    d = d.help(format!("did you mean `{s}`?"));
                } else {
                    let spell = |option, value| self.inputs.door.spell_option(option, value);
                    d = d.help(format!(
                        "if it comes from another .x file, pass `{}`; if it is a Rust type, `{}`",
                        spell("imports", "FILE.x"),
                        spell("extern_types", &format!("{}=RUST_PATH", name.name)),
                    ));
                }
                self.diags.push(d);
                None
            }
        }
    }

    // ----- unions -----

    /// What a discriminant type switches on, following typedefs.
    fn discriminant_kind(&mut self, ty: &'a TypeSpec) -> Option<DiscriminantKind> {
        let mut current = ty;
        for _ in 0..64 {
            match current {
                TypeSpec::Prim { prim, .. } => {
                    let prim = lower_prim(*prim);
                    // rpcgen also accepts `hyper` and `unsigned hyper`
                    // discriminants: they travel as 8 bytes.
                    return match prim {
                        Prim::Float | Prim::Double | Prim::Quadruple => None,
                        p => Some(DiscriminantKind::Prim(p)),
                    };
                }
                TypeSpec::Named { name, .. } => match self.symbols.get(name.name.as_str()).cloned()
                {
                    Some(Def::Type {
                        src: TypeSrc::Enum(_),
                        ..
                    }) => {
                        return self.type_id(&name.name).map(DiscriminantKind::Enum);
                    }
                    Some(Def::Type {
                        src:
                            TypeSrc::Typedef(Decl::Named {
                                ty,
                                shape: Shape::Scalar,
                                ..
                            }),
                        ..
                    }) => {
                        current = ty;
                    }
                    _ => return None,
                },
                TypeSpec::InlineEnum(_) => return None,
                _ => return None,
            }
        }
        None
    }

    fn lower_union(&mut self, body: &'a UnionBody, name: &str, unit: Unit) -> Option<Union> {
        let (disc_ty, disc_name) = match &body.discriminant {
            Decl::Void(span) => {
                self.diags.push(
                    Diagnostic::new(Code::Void, "a union discriminant cannot be `void`")
                        .primary(*span, ""),
                );
                return None;
            }
            Decl::Named {
                ty,
                name,
                shape,
                span,
            } => {
                if *shape != Shape::Scalar {
                    self.diags.push(
                        Diagnostic::new(
                            Code::Discriminant,
                            "a union discriminant must be a single value",
                        )
                        .primary(*span, "not a scalar"),
                    );
                    return None;
                }
                (ty, name)
            }
        };
        let ty = self.lower_base(disc_ty, name, &disc_name.name, unit)?;
        let Some(kind) = self.discriminant_kind(disc_ty) else {
            self.diags.push(
                Diagnostic::new(Code::Discriminant, "invalid union discriminant type")
                    .primary(disc_ty.span(), "not an integer type, `bool` or an enum")
                    .note("RFC 4506 section 4.15: the discriminant is int, unsigned int or an enumerated type; rpcgen adds bool, hyper and unsigned hyper"),
            );
            return None;
        };
        let discriminant = Field {
            name: Name {
                xdr: disc_name.name.clone(),
                rust: names::field_name(&disc_name.name),
                span: disc_name.span,
            },
            ty,
            docs: Vec::new(),
        };
        let enum_members: Option<Vec<(i128, String)>> = match kind {
            DiscriminantKind::Enum(_) => {
                let TypeSpec::Named { .. } = disc_ty else {
                    return None;
                };
                Some(self.enum_members_of(disc_ty))
            }
            DiscriminantKind::Prim(_) => None,
        };
        let (lo, hi) = match kind {
            DiscriminantKind::Prim(p) => p.range().unwrap_or((0, 0)),
            DiscriminantKind::Enum(_) => (i32::MIN.into(), i32::MAX.into()),
        };

        let mut seen: HashMap<i128, Span> = HashMap::new();
        let mut arm_names: HashMap<&str, Span> = HashMap::new();
        let mut arms = Vec::new();
        for arm in &body.arms {
            let mut cases = Vec::new();
            for label in &arm.labels {
                let Ok(value) = consteval::eval(label, self).map_err(|d| self.diags.extend(d))
                else {
                    continue;
                };
                let label_text = match label {
                    Expr::Name(id) => id.name.clone(),
                    Expr::Int { value, .. } => value.to_string(),
                    _ => value.to_string(),
                };
                let rust = if let Some(members) = &enum_members {
                    if let Some((_, xdr)) = members.iter().find(|(v, _)| *v == value) {
                        names::variant_name(xdr)
                    } else {
                        self.diags.push(
                            Diagnostic::new(
                                Code::CaseValue,
                                format!("case `{label_text}` ({value}) is not a member of the discriminant's enum"),
                            )
                            .primary(label.span(), "not an enum value")
                            .secondary(disc_ty.span(), "the discriminant's type"),
                        );
                        continue;
                    }
                } else if !(lo..=hi).contains(&value) {
                    self.diags.push(
                        Diagnostic::new(
                            Code::CaseValue,
                            format!("case value {value} does not fit the discriminant type"),
                        )
                        .primary(label.span(), format!("must be from {lo} to {hi}"))
                        .secondary(disc_ty.span(), "the discriminant's type"),
                    );
                    continue;
                } else {
                    label_variant(label, value)
                };
                if let Some(first) = seen.get(&value) {
                    self.diags.push(
                        Diagnostic::new(
                            Code::DuplicateCase,
                            format!("duplicate case value {value}"),
                        )
                        .primary(label.span(), "repeated here")
                        .secondary(*first, "first used here"),
                    );
                    continue;
                }
                seen.insert(value, label.span());
                cases.push(CaseLabel {
                    value,
                    label: label_text,
                    rust,
                    span: label.span(),
                });
            }
            if let Decl::Named { name: id, .. } = &arm.decl {
                self.check_member_dup(&mut arm_names, id, "union arm");
            }
            let field = self.lower_field(&arm.decl, &arm.docs, name, unit);
            if matches!(arm.decl, Decl::Named { .. }) && field.is_none() {
                continue;
            }
            arms.push(UnionArm {
                cases,
                field,
                docs: doc_lines(&arm.docs),
            });
        }
        let default = body.default.as_ref().and_then(|(default_span, m)| {
            if let Decl::Named { name: id, .. } = &m.decl {
                self.check_member_dup(&mut arm_names, id, "union arm");
            }
            let field = self.lower_field(&m.decl, &m.docs, name, unit);
            if matches!(m.decl, Decl::Named { .. }) && field.is_none() {
                return None;
            }
            let discriminant_type = format!("{name}_default");
            Some(DefaultArm {
                field,
                rust: "Default".to_string(),
                discriminant_type: Name {
                    rust: names::type_name(&discriminant_type),
                    xdr: discriminant_type,
                    span: *default_span,
                },
                docs: doc_lines(&m.docs),
            })
        });
        Some(Union {
            discriminant,
            discriminant_kind: kind,
            arms,
            default,
        })
    }

    /// `(value, name)` of every member of the enum a discriminant type
    /// names (through typedefs).
    fn enum_members_of(&mut self, ty: &'a TypeSpec) -> Vec<(i128, String)> {
        let mut current = ty;
        loop {
            let TypeSpec::Named { name, .. } = current else {
                return Vec::new();
            };
            match self.symbols.get(name.name.as_str()).cloned() {
                Some(Def::Type {
                    src: TypeSrc::Enum(body),
                    ..
                }) => {
                    let mut out = Vec::new();
                    for (i, m) in body.members.iter().enumerate() {
                        match self.member_value(body, i, &m.name) {
                            Ok(v) => out.push((v, m.name.name.clone())),
                            Err(d) => self.diags.extend(d),
                        }
                    }
                    return out;
                }
                Some(Def::Type {
                    src: TypeSrc::Typedef(Decl::Named { ty, .. }),
                    ..
                }) => current = ty,
                _ => return Vec::new(),
            }
        }
    }

    // ----- programs -----

    fn lower_program(&mut self, p: &'a ast::Program) -> Option<Program> {
        let number = self.u32_value(&p.number, "program number");
        let mut versions = Vec::new();
        let mut version_names: HashMap<&str, Span> = HashMap::new();
        let mut version_numbers: HashMap<u32, Span> = HashMap::new();
        for v in &p.versions {
            self.check_member_dup(&mut version_names, &v.name, "version");
            let vnum = self.u32_value(&v.number, "version number");
            if let Some(n) = vnum {
                check_number(
                    &mut version_numbers,
                    n,
                    v.number.span(),
                    "version",
                    &mut self.diags,
                );
            }
            let mut procedures = Vec::new();
            let mut proc_names: HashMap<&str, Span> = HashMap::new();
            let mut proc_numbers: HashMap<u32, Span> = HashMap::new();
            for proc in &v.procedures {
                self.check_member_dup(&mut proc_names, &proc.name, "procedure");
                let pnum = self.u32_value(&proc.number, "procedure number");
                if let Some(n) = pnum {
                    check_number(
                        &mut proc_numbers,
                        n,
                        proc.number.span(),
                        "procedure",
                        &mut self.diags,
                    );
                }
                let result = match &proc.result {
                    ProcType::Void(_) => None,
                    ProcType::Type { ty, shape, .. } => {
                        self.lower_ty(ty, shape, &proc.name.name, "result", Unit::Local, true)
                    }
                };
                let mut args = Vec::new();
                let only_void =
                    proc.args.len() == 1 && matches!(proc.args[0].ty, ProcType::Void(_));
                if !only_void {
                    for (i, arg) in proc.args.iter().enumerate() {
                        match &arg.ty {
                            ProcType::Void(span) => self.diags.push(
                                Diagnostic::new(
                                    Code::Void,
                                    "`void` must be a procedure's only argument",
                                )
                                .primary(*span, ""),
                            ),
                            ProcType::Type { ty, shape, span } => {
                                let (xdr, span) = match &arg.name {
                                    Some(id) => (id.name.clone(), id.span),
                                    None => (format!("arg{}", i + 1), *span),
                                };
                                if let Some(ty) = self.lower_ty(
                                    ty,
                                    shape,
                                    &proc.name.name,
                                    &xdr,
                                    Unit::Local,
                                    true,
                                ) {
                                    args.push(Arg {
                                        name: Name {
                                            rust: names::field_name(&xdr),
                                            xdr,
                                            span,
                                        },
                                        ty,
                                    });
                                }
                            }
                        }
                    }
                }
                if let Some(number) = pnum {
                    procedures.push(Procedure {
                        name: Name {
                            xdr: proc.name.name.clone(),
                            rust: names::field_name(&proc.name.name),
                            span: proc.name.span,
                        },
                        variant: names::variant_name(&proc.name.name),
                        number,
                        args,
                        result,
                        docs: doc_lines(&proc.docs),
                    });
                }
            }
            if let Some(number) = vnum {
                versions.push(Version {
                    name: Name {
                        xdr: v.name.name.clone(),
                        rust: names::field_name(&v.name.name),
                        span: v.name.span,
                    },
                    number,
                    procedures,
                    docs: doc_lines(&v.docs),
                });
            }
        }
        Some(Program {
            name: Name {
                xdr: p.name.name.clone(),
                rust: names::field_name(&p.name.name),
                span: p.name.span,
            },
            number: number?,
            versions,
            docs: doc_lines(&p.docs),
        })
    }
}

impl Scope for Lowerer<'_> {
    fn value(&mut self, id: &Ident) -> EvalResult {
        let Some(def) = self.symbols.get(id.name.as_str()).cloned() else {
            let mut d = Diagnostic::new(
                Code::UndefinedConst,
                format!("undefined constant `{}`", id.name),
            )
            .primary(id.span, "not defined");
            if let Some(s) = self.suggest(&id.name, true) {
                d = d.help(format!("did you mean `{s}`?"));
            } else {
                d = d.help(format!(
                    "if it comes from a C header, define it: `{}`",
                    self.inputs
                        .door
                        .spell_option("defines", &format!("{}=VALUE", id.name))
                ));
            }
            return Err(Some(d));
        };
        match def {
            Def::Const {
                name,
                value: ast::ConstValue::Int(expr),
                ..
            } => self.memo(&name.name, id, |s| consteval::eval(expr, s)),
            Def::Const {
                name,
                value: ast::ConstValue::Str(..),
                ..
            } => Err(Some(
                Diagnostic::new(
                    Code::WrongKind,
                    format!("`{}` is a string constant, not a number", id.name),
                )
                .primary(id.span, "a number is needed here")
                .secondary(name.span, "defined as a string here"),
            )),
            Def::Member { inline: true, .. }
                if self.shared_inline_members.contains_key(id.name.as_str()) =>
            {
                let mut d = Diagnostic::new(
                    Code::UndefinedConst,
                    format!("`{}` is a member of several inline enums", id.name),
                )
                .primary(id.span, "not a global constant");
                for span in &self.shared_inline_members[id.name.as_str()] {
                    d = d.secondary(*span, "a member here");
                }
                Err(Some(d.note("members of enums written in place are scoped to their enum; a name several of them share is no constant")))
            }
            Def::Member { body, index, .. } => self.member_value(body, index, id),
            Def::Macro { mac, .. } => self.macro_value(mac, id),
            Def::Rpc { name, numbers, .. } => self.rpc_value(name, &numbers, id),
            Def::Type { span, .. } => {
                let mut d = Diagnostic::new(
                    Code::WrongKind,
                    format!("`{}` is a type, not a constant", id.name),
                )
                .primary(id.span, "a constant is needed here");
                if let Some(span) = span {
                    d = d.secondary(span, "defined as a type here");
                }
                Err(Some(d))
            }
        }
    }

    fn is_defined(&mut self, name: &Ident) -> bool {
        self.symbols.contains_key(name.name.as_str())
    }
}

fn lower_prim(p: ast::Prim) -> Prim {
    match p {
        ast::Prim::Int | ast::Prim::Long => Prim::Int,
        ast::Prim::UInt | ast::Prim::ULong => Prim::UInt,
        ast::Prim::Hyper => Prim::Hyper,
        ast::Prim::UHyper => Prim::UHyper,
        ast::Prim::Float => Prim::Float,
        ast::Prim::Double => Prim::Double,
        ast::Prim::Quadruple => Prim::Quadruple,
        ast::Prim::Bool => Prim::Bool,
        ast::Prim::Char => Prim::Char,
        ast::Prim::UChar => Prim::UChar,
        ast::Prim::Short => Prim::Short,
        ast::Prim::UShort => Prim::UShort,
    }
}

/// The Rust variant for a case label of an integer or bool discriminant.
fn label_variant(label: &Expr, value: i128) -> String {
    match label {
        Expr::Name(id) => names::variant_name(&id.name),
        _ if value < 0 => format!("CaseMinus{}", value.unsigned_abs()),
        _ => format!("Case{value}"),
    }
}

fn check_number(
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

fn check_program_numbers(programs: &[Program], diags: &mut Vec<Diagnostic>) {
    let mut seen = HashMap::new();
    for p in programs {
        check_number(&mut seen, p.number, p.name.span, "program", diags);
    }
}

/// Collision checks over every Rust namespace the generated code will have.
fn check_names(module: &Module, diags: &mut Vec<Diagnostic>) {
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
