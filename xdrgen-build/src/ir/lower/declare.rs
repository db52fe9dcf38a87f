//! The symbol table: every name the input, its macros, its RPC names,
//! imports, the prelude and `--extern-type` declare, with rpcgen's
//! priorities and the scoping of inline enum members.

use super::{Def, Lowerer, TypeSrc, Unit};
use crate::diagnostics::{Code, Diagnostic};
use crate::syntax::ast::{
    Comment, Decl, DefineOrigin, EnumBody, Expr, Ident, Item, Shape, Spec, TypeSpec,
};

impl<'a> Lowerer<'a> {
    pub(super) fn declare(&mut self, name: &'a str, def: Def<'a>) {
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

    pub(super) fn declare_spec(&mut self, spec: &'a Spec, unit: Unit) {
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
    pub(super) fn owns_member(&self, body: &EnumBody, index: usize) -> bool {
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

    /// rpcgen `#define`s every program, version and procedure name as
    /// its number.
    fn declare_rpc_name(&mut self, name: &'a Ident, number: &'a Expr, unit: Unit) {
        self.declare(
            &name.name,
            Def::Rpc {
                unit,
                name,
                numbers: vec![number],
            },
        );
    }

    fn declare_rpc_names(&mut self, items: &'a [Item], unit: Unit) {
        for item in items {
            match item {
                Item::Program(p) => {
                    self.declare_rpc_name(&p.name, &p.number, unit);
                    for v in &p.versions {
                        self.declare_rpc_name(&v.name, &v.number, unit);
                        for proc in &v.procedures {
                            self.declare_rpc_name(&proc.name, &proc.number, unit);
                        }
                    }
                }
                Item::Namespace { items, .. } => self.declare_rpc_names(items, unit),
                _ => {}
            }
        }
    }
}
