//! The structural comparison of two types by their wire encoding.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use super::{Finding, Flow, Kind, Reads};
use crate::ir::{Field, Len, Module, Prim, Ty, TypeId, TypeKind, Union};

/// Aliases longer than this are not followed (lowering rejects cycles, so
/// only a pathological input gets near it).
const ALIAS_CHAIN_LIMIT: usize = 256;

/// The comparison of an old and a new module, with what it has learnt.
pub(crate) struct Compare<'a> {
    pub(crate) old: &'a Module,
    pub(crate) new: &'a Module,
    /// Which way each named type's data flows, over both modules.
    flows: HashMap<String, Flow>,
    /// Pairs of definitions under comparison: a recursive type meets
    /// itself, and the inner meeting is taken as equal.
    active: HashSet<(TypeId, TypeId)>,
    /// Findings of compared pairs, with paths relative to the pair.
    done: HashMap<(TypeId, TypeId), Vec<Finding>>,
}

/// A type as its encoding sees it: aliases followed, `T *` as `T<1>`,
/// enums and integers as the values they admit.
enum Shape<'a> {
    /// A 4- or 8-byte integer word (bool, char, short, enum included).
    Int {
        size: usize,
        values: Values,
        enum_id: Option<TypeId>,
    },
    Float(Prim),
    Bytes {
        len: Len,
        string: bool,
    },
    Array {
        elem: &'a Ty,
        len: Len,
    },
    /// A struct, union or external type.
    Def(TypeId),
    /// An alias chain that does not end.
    Unresolved,
}

/// The values an integer word admits.
#[derive(Clone, PartialEq, Eq)]
enum Values {
    Range(i128, i128),
    Set(BTreeSet<i128>),
}

impl Values {
    fn subset_of(&self, other: &Values) -> bool {
        match (self, other) {
            (Values::Range(a, b), Values::Range(c, d)) => c <= a && b <= d,
            (Values::Set(s), Values::Range(c, d)) => s.iter().all(|v| c <= v && v <= d),
            (Values::Set(s), Values::Set(t)) => s.is_subset(t),
            // A range the size of a set is only ever small in theory.
            (Values::Range(a, b), Values::Set(t)) => (*a..=*b).all(|v| t.contains(&v)),
        }
    }
}

pub(crate) fn join(path: &str, segment: &str) -> String {
    if path.is_empty() {
        segment.to_string()
    } else if segment.is_empty() {
        path.to_string()
    } else {
        format!("{path}.{segment}")
    }
}

fn prefixed(path: &str, findings: &[Finding]) -> impl Iterator<Item = Finding> {
    findings.iter().map(move |f| Finding {
        path: join(path, &f.path),
        ..f.clone()
    })
}

/// Whether findings leave the wire shape as it was (renames only).
fn same_shape(findings: &[Finding]) -> bool {
    findings.iter().all(|f| f.reads == Reads::BOTH)
}

fn finding(path: &str, kind: Kind, detail: String, reads: Reads) -> Finding {
    Finding {
        path: path.to_string(),
        kind,
        detail,
        reads,
    }
}

fn flow_of(bits: u8) -> Flow {
    match bits {
        1 => Flow::Arguments,
        2 => Flow::Results,
        3 => Flow::Both,
        _ => Flow::Unreachable,
    }
}

const ARGS: u8 = 1;
const RESULTS: u8 = 2;

/// Marks every named type reachable from each procedure's arguments and
/// results, by XDR name.
fn mark_flows(module: &Module, bits: &mut HashMap<String, u8>) {
    let mut roots: Vec<(Ty, u8)> = Vec::new();
    for program in &module.programs {
        for version in &program.versions {
            for procedure in &version.procedures {
                roots.extend(procedure.args.iter().map(|a| (a.ty.clone(), ARGS)));
                roots.extend(procedure.result.iter().map(|r| (r.clone(), RESULTS)));
            }
        }
    }
    for program in &module.libvirt_programs {
        for procedure in &program.procedures {
            roots.extend(procedure.args.map(|a| (Ty::Named(a), ARGS)));
            roots.extend(procedure.ret.map(|r| (Ty::Named(r), RESULTS)));
            roots.extend(procedure.event.map(|e| (Ty::Named(e), RESULTS)));
        }
    }
    let mut seen: HashSet<(TypeId, u8)> = HashSet::new();
    let mut stack: Vec<(&Ty, u8)> = Vec::new();
    for (ty, bit) in &roots {
        stack.push((ty, *bit));
        while let Some((ty, bit)) = stack.pop() {
            match ty {
                Ty::Prim(_) | Ty::Opaque(_) | Ty::String(_) => {}
                Ty::Array { elem: inner, .. } | Ty::Optional(inner) | Ty::Boxed(inner) => {
                    stack.push((inner, bit));
                }
                Ty::Named(id) => {
                    if !seen.insert((*id, bit)) {
                        continue;
                    }
                    let def = module.ty(*id);
                    *bits.entry(def.name.xdr.clone()).or_default() |= bit;
                    match &def.kind {
                        TypeKind::Alias { ty } => stack.push((ty, bit)),
                        TypeKind::Struct(s) => stack.extend(s.fields.iter().map(|f| (&f.ty, bit))),
                        TypeKind::Union(u) => {
                            stack.push((&u.discriminant.ty, bit));
                            stack.extend(u.arm_fields().map(|f| (&f.ty, bit)));
                        }
                        TypeKind::Enum(_) | TypeKind::Extern => {}
                    }
                }
            }
        }
    }
}

impl<'a> Compare<'a> {
    pub(crate) fn new(old: &'a Module, new: &'a Module) -> Compare<'a> {
        let mut bits = HashMap::new();
        mark_flows(old, &mut bits);
        mark_flows(new, &mut bits);
        Compare {
            old,
            new,
            flows: bits.into_iter().map(|(k, v)| (k, flow_of(v))).collect(),
            active: HashSet::new(),
            done: HashMap::new(),
        }
    }

    /// Which way the named type's data flows.
    pub(crate) fn flow(&self, name: &str) -> Flow {
        self.flows.get(name).copied().unwrap_or(Flow::Unreachable)
    }

    /// The findings between two definitions (the same name in both files).
    pub(crate) fn definitions(&mut self, old: TypeId, new: TypeId) -> Vec<Finding> {
        let o = Ty::Named(old);
        let n = Ty::Named(new);
        let (so, sn) = (shape(self.old, &o), shape(self.new, &n));
        let mut out = Vec::new();
        if let (
            Shape::Int {
                enum_id: Some(a), ..
            },
            Shape::Int {
                enum_id: Some(b), ..
            },
        ) = (&so, &sn)
        {
            self.enum_members(*a, *b, &mut out);
        } else {
            self.shapes(&o, so, &n, sn, "", true, &mut out);
        }
        out
    }

    /// The findings between two type expressions at `path`. The same named
    /// type on both sides is not entered: its own report says what changed.
    pub(crate) fn ty(&mut self, old: &Ty, new: &Ty, path: &str, out: &mut Vec<Finding>) {
        if let (Ty::Named(a), Ty::Named(b)) = (strip_boxes(old), strip_boxes(new)) {
            if self.old.ty(*a).name.xdr == self.new.ty(*b).name.xdr {
                return;
            }
        }
        let so = shape(self.old, old);
        let sn = shape(self.new, new);
        self.shapes(old, so, new, sn, path, false, out);
    }

    #[allow(clippy::too_many_arguments)]
    fn shapes(
        &mut self,
        old_ty: &Ty,
        old: Shape<'_>,
        new_ty: &Ty,
        new: Shape<'_>,
        path: &str,
        top: bool,
        out: &mut Vec<Finding>,
    ) {
        let retyped = |this: &Self| {
            finding(
                path,
                Kind::Retyped,
                format!(
                    "{} → {}",
                    this.old.xdr_spelling(old_ty),
                    this.new.xdr_spelling(new_ty)
                ),
                Reads::NEITHER,
            )
        };
        match (old, new) {
            (
                Shape::Int {
                    size: a,
                    values: va,
                    ..
                },
                Shape::Int {
                    size: b,
                    values: vb,
                    ..
                },
            ) => {
                if a != b {
                    out.push(retyped(self));
                } else if va == vb {
                    if self.old.xdr_spelling(old_ty) != self.new.xdr_spelling(new_ty) {
                        out.push(finding(
                            path,
                            Kind::Renamed,
                            format!(
                                "{} → {} (the same values)",
                                self.old.xdr_spelling(old_ty),
                                self.new.xdr_spelling(new_ty)
                            ),
                            Reads::BOTH,
                        ));
                    }
                } else {
                    out.push(finding(
                        path,
                        Kind::ValuesChanged,
                        format!(
                            "{} → {} (the values admitted changed)",
                            self.old.xdr_spelling(old_ty),
                            self.new.xdr_spelling(new_ty)
                        ),
                        Reads {
                            old_reads_new: vb.subset_of(&va),
                            new_reads_old: va.subset_of(&vb),
                        },
                    ));
                }
            }
            (Shape::Float(a), Shape::Float(b)) => {
                if a != b {
                    out.push(retyped(self));
                }
            }
            (
                Shape::Bytes {
                    len: la,
                    string: sa,
                },
                Shape::Bytes {
                    len: lb,
                    string: sb,
                },
            ) => {
                let before = out.len();
                lengths(la, lb, path, out);
                if sa != sb && out.len() == before {
                    out.push(finding(
                        path,
                        Kind::Renamed,
                        format!(
                            "{} → {} (the same bytes)",
                            self.old.xdr_spelling(old_ty),
                            self.new.xdr_spelling(new_ty)
                        ),
                        Reads::BOTH,
                    ));
                }
            }
            (Shape::Array { elem: ea, len: la }, Shape::Array { elem: eb, len: lb }) => {
                lengths(la, lb, path, out);
                self.ty(ea, eb, path, out);
            }
            (Shape::Def(a), Shape::Def(b)) => {
                let findings = self.pair(a, b);
                let renamed = self.old.ty(a).name.xdr != self.new.ty(b).name.xdr;
                if !top && renamed && same_shape(&findings) {
                    out.push(finding(
                        path,
                        Kind::Renamed,
                        format!(
                            "{} → {} (the same wire shape)",
                            self.old.xdr_spelling(old_ty),
                            self.new.xdr_spelling(new_ty)
                        ),
                        Reads::BOTH,
                    ));
                }
                out.extend(prefixed(path, &findings));
            }
            _ => out.push(retyped(self)),
        }
    }

    /// The findings between two struct, union or external definitions,
    /// relative to them.
    fn pair(&mut self, old: TypeId, new: TypeId) -> Vec<Finding> {
        if let Some(found) = self.done.get(&(old, new)) {
            return found.clone();
        }
        if !self.active.insert((old, new)) {
            return Vec::new();
        }
        let mut out = Vec::new();
        let (om, nm) = (self.old, self.new);
        match (&om.ty(old).kind, &nm.ty(new).kind) {
            (TypeKind::Struct(a), TypeKind::Struct(b)) => {
                self.structs(&a.fields, &b.fields, &mut out);
            }
            (TypeKind::Union(a), TypeKind::Union(b)) => self.unions(a, b, &mut out),
            (TypeKind::Extern, TypeKind::Extern)
                if self.old.ty(old).name.xdr == self.new.ty(new).name.xdr => {}
            _ => out.push(finding(
                "",
                Kind::Retyped,
                format!(
                    "{} {} → {} {}",
                    kind_word(&self.old.ty(old).kind),
                    self.old.ty(old).name.xdr,
                    kind_word(&self.new.ty(new).kind),
                    self.new.ty(new).name.xdr
                ),
                Reads::NEITHER,
            )),
        }
        self.active.remove(&(old, new));
        self.done.insert((old, new), out.clone());
        out
    }

    fn structs(&mut self, old: &[Field], new: &[Field], out: &mut Vec<Finding>) {
        let names = |fields: &[Field]| {
            fields
                .iter()
                .map(|f| f.name.xdr.clone())
                .collect::<Vec<_>>()
        };
        let (on, nn) = (names(old), names(new));
        let reordered = on != nn && {
            let (mut a, mut b) = (on.clone(), nn.clone());
            a.sort();
            b.sort();
            a == b
        };
        if reordered {
            out.push(finding(
                "",
                Kind::FieldsChanged,
                format!("fields reordered: {} → {}", on.join(", "), nn.join(", ")),
                Reads::NEITHER,
            ));
            return;
        }
        if old.len() == new.len() {
            for (a, b) in old.iter().zip(new) {
                let mut inner = Vec::new();
                self.ty(&a.ty, &b.ty, &a.name.xdr, &mut inner);
                if a.name.xdr != b.name.xdr && same_shape(&inner) {
                    inner.push(finding(
                        &a.name.xdr,
                        Kind::Renamed,
                        format!("field renamed to {}", b.name.xdr),
                        Reads::BOTH,
                    ));
                }
                out.extend(inner);
            }
            return;
        }
        let common = old.len().min(new.len());
        let prefix_same = old.iter().zip(new).take(common).all(|(a, b)| {
            let mut inner = Vec::new();
            self.ty(&a.ty, &b.ty, "", &mut inner);
            same_shape(&inner)
        });
        let detail = if prefix_same && new.len() > old.len() {
            format!("fields appended: {}", nn[common..].join(", "))
        } else if prefix_same {
            format!("fields removed from the end: {}", on[common..].join(", "))
        } else {
            let added: Vec<&str> = nn
                .iter()
                .filter(|n| !on.contains(n))
                .map(String::as_str)
                .collect();
            let removed: Vec<&str> = on
                .iter()
                .filter(|n| !nn.contains(n))
                .map(String::as_str)
                .collect();
            format!(
                "fields changed: {} → {} (added: {}; removed: {})",
                on.join(", "),
                nn.join(", "),
                if added.is_empty() {
                    "none".into()
                } else {
                    added.join(", ")
                },
                if removed.is_empty() {
                    "none".into()
                } else {
                    removed.join(", ")
                },
            )
        };
        out.push(finding("", Kind::FieldsChanged, detail, Reads::NEITHER));
    }

    fn unions(&mut self, old: &'a Union, new: &'a Union, out: &mut Vec<Finding>) {
        let switch = old.discriminant.name.xdr.clone();
        if old.discriminant_kind.wire_size() != new.discriminant_kind.wire_size() {
            out.push(finding(
                &switch,
                Kind::Retyped,
                format!(
                    "discriminant {} → {}",
                    self.old.xdr_spelling(&old.discriminant.ty),
                    self.new.xdr_spelling(&new.discriminant.ty)
                ),
                Reads::NEITHER,
            ));
            return;
        }
        self.ty(&old.discriminant.ty, &new.discriminant.ty, &switch, out);
        let (oa, na) = (arms(old), arms(new));
        let values: BTreeSet<i128> = oa.keys().chain(na.keys()).copied().collect();
        for value in values {
            match (oa.get(&value), na.get(&value)) {
                (Some((label, a)), Some((_, b))) => {
                    self.arm(*a, *b, &format!("case {label}"), out);
                }
                (Some((label, a)), None) => match &new.default {
                    Some(d) => self.arm(*a, d.field.as_ref(), &format!("case {label}"), out),
                    None => out.push(finding(
                        &format!("case {label}"),
                        Kind::CaseChanged,
                        format!("case {label} ({value}) removed"),
                        Reads::NARROWED,
                    )),
                },
                (None, Some((label, b))) => match &old.default {
                    Some(d) => self.arm(d.field.as_ref(), *b, &format!("case {label}"), out),
                    None => out.push(finding(
                        &format!("case {label}"),
                        Kind::CaseChanged,
                        format!("case {label} ({value}) added"),
                        Reads::WIDENED,
                    )),
                },
                (None, None) => {}
            }
        }
        match (&old.default, &new.default) {
            (Some(a), Some(b)) => self.arm(a.field.as_ref(), b.field.as_ref(), "default", out),
            (Some(_), None) => out.push(finding(
                "default",
                Kind::DefaultChanged,
                "default arm removed".into(),
                Reads::NARROWED,
            )),
            (None, Some(_)) => out.push(finding(
                "default",
                Kind::DefaultChanged,
                "default arm added".into(),
                Reads::WIDENED,
            )),
            (None, None) => {}
        }
    }

    fn arm(
        &mut self,
        old: Option<&Field>,
        new: Option<&Field>,
        path: &str,
        out: &mut Vec<Finding>,
    ) {
        match (old, new) {
            (None, None) => {}
            (Some(a), Some(b)) => self.ty(&a.ty, &b.ty, path, out),
            (a, b) => {
                let text = |m: &Module, f: Option<&Field>| {
                    f.map_or("void".to_string(), |f| m.xdr_spelling(&f.ty))
                };
                out.push(finding(
                    path,
                    Kind::Retyped,
                    format!("{} → {}", text(self.old, a), text(self.new, b)),
                    Reads::NEITHER,
                ));
            }
        }
    }

    fn enum_members(&mut self, old: TypeId, new: TypeId, out: &mut Vec<Finding>) {
        let members = |m: &Module, id: TypeId| -> BTreeMap<String, i32> {
            match &m.ty(id).kind {
                TypeKind::Enum(e) => e
                    .members
                    .iter()
                    .map(|m| (m.name.xdr.clone(), m.value))
                    .collect(),
                _ => BTreeMap::new(),
            }
        };
        let (om, nm) = (members(self.old, old), members(self.new, new));
        let (ov, nv): (BTreeSet<i32>, BTreeSet<i32>) = (
            om.values().copied().collect(),
            nm.values().copied().collect(),
        );
        for (name, a) in &om {
            if let Some(b) = nm.get(name) {
                if a != b {
                    out.push(finding(
                        name,
                        Kind::MemberValueChanged,
                        format!("member {name}: {a} → {b}"),
                        Reads::NEITHER,
                    ));
                }
            }
        }
        let named = |members: &BTreeMap<String, i32>, v: i32| {
            members
                .iter()
                .filter(|(_, x)| **x == v)
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>()
                .join("/")
        };
        let added: Vec<String> = nv
            .difference(&ov)
            .map(|v| format!("{} = {v}", named(&nm, *v)))
            .collect();
        let removed: Vec<String> = ov
            .difference(&nv)
            .map(|v| format!("{} = {v}", named(&om, *v)))
            .collect();
        if !added.is_empty() {
            out.push(finding(
                "",
                Kind::ValuesChanged,
                format!("values added: {}", added.join(", ")),
                Reads::WIDENED,
            ));
        }
        if !removed.is_empty() {
            out.push(finding(
                "",
                Kind::ValuesChanged,
                format!("values removed: {}", removed.join(", ")),
                Reads::NARROWED,
            ));
        }
        for (name, value) in &om {
            if !nm.contains_key(name) && nv.contains(value) && !out.iter().any(|f| f.path == *name)
            {
                out.push(finding(
                    name,
                    Kind::Renamed,
                    format!("member {name} renamed to {}", named(&nm, *value)),
                    Reads::BOTH,
                ));
            }
        }
    }
}

/// Lengths: fixed sizes must match; a variable bound may move.
fn lengths(old: Len, new: Len, path: &str, out: &mut Vec<Finding>) {
    match (old, new) {
        (Len::Fixed(a), Len::Fixed(b)) if a == b => {}
        (Len::Variable(a), Len::Variable(b)) => {
            let (a, b) = (a.unwrap_or(u32::MAX), b.unwrap_or(u32::MAX));
            if a < b {
                out.push(finding(
                    path,
                    Kind::BoundChanged,
                    format!(
                        "bound loosened: {} → {}",
                        old.xdr_suffix(),
                        new.xdr_suffix()
                    ),
                    Reads::WIDENED,
                ));
            } else if a > b {
                out.push(finding(
                    path,
                    Kind::BoundChanged,
                    format!(
                        "bound tightened: {} → {}",
                        old.xdr_suffix(),
                        new.xdr_suffix()
                    ),
                    Reads::NARROWED,
                ));
            }
        }
        _ => out.push(finding(
            path,
            Kind::SizeChanged,
            format!("size {} → {}", old.xdr_suffix(), new.xdr_suffix()),
            Reads::NEITHER,
        )),
    }
}

/// A union's case values with their labels and data.
fn arms(u: &Union) -> BTreeMap<i128, (&str, Option<&Field>)> {
    u.arms
        .iter()
        .flat_map(|arm| {
            arm.cases
                .iter()
                .map(move |c| (c.value, (c.label.as_str(), arm.field.as_ref())))
        })
        .collect()
}

fn kind_word(kind: &TypeKind) -> &'static str {
    match kind {
        TypeKind::Alias { .. } => "typedef",
        TypeKind::Enum(_) => "enum",
        TypeKind::Struct(_) => "struct",
        TypeKind::Union(_) => "union",
        TypeKind::Extern => "external type",
    }
}

fn strip_boxes(mut ty: &Ty) -> &Ty {
    while let Ty::Boxed(inner) = ty {
        ty = inner;
    }
    ty
}

/// The encoding view of a type: boxes dropped, aliases followed.
fn shape<'t>(module: &'t Module, ty: &'t Ty) -> Shape<'t> {
    let mut ty = ty;
    for _ in 0..ALIAS_CHAIN_LIMIT {
        ty = strip_boxes(ty);
        let int = |p: Prim| {
            p.range().map(|(lo, hi)| Shape::Int {
                size: p.wire_size(),
                values: Values::Range(lo, hi),
                enum_id: None,
            })
        };
        return match ty {
            Ty::Prim(p) => int(*p).unwrap_or(Shape::Float(*p)),
            Ty::Opaque(len) => Shape::Bytes {
                len: *len,
                string: false,
            },
            Ty::String(bound) => Shape::Bytes {
                len: Len::Variable(*bound),
                string: true,
            },
            Ty::Array { elem, len } => Shape::Array { elem, len: *len },
            // Optional data is a count of zero or one: the bytes of `T<1>`.
            Ty::Optional(inner) => Shape::Array {
                elem: inner,
                len: Len::Variable(Some(1)),
            },
            Ty::Named(id) => match &module.ty(*id).kind {
                TypeKind::Alias { ty: target } => {
                    ty = target;
                    continue;
                }
                TypeKind::Enum(e) => Shape::Int {
                    size: 4,
                    values: Values::Set(e.members.iter().map(|m| i128::from(m.value)).collect()),
                    enum_id: Some(*id),
                },
                TypeKind::Struct(_) | TypeKind::Union(_) | TypeKind::Extern => Shape::Def(*id),
            },
            Ty::Boxed(inner) => {
                ty = inner;
                continue;
            }
        };
    }
    Shape::Unresolved
}
