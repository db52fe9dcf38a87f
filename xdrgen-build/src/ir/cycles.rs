//! Breaks recursive types with heap indirection, so the Rust types have a
//! finite size.
//!
//! A type contains another *by value* through struct fields, union arms,
//! aliases, fixed arrays and optionals (`Option<T>` is inline in Rust).
//! Variable arrays, opaques and strings are already on the heap. In every
//! strongly connected component of the by-value graph, each optional that
//! points back into the component becomes `Option<Box<T>>` (NFS's
//! `entry *nextentry`) and each union arm that does gets a `Box` too. A
//! cycle left after that runs only through struct fields, aliases and fixed
//! arrays: such a value would be infinitely long, which is an error.

use super::{Ty, TypeDef, TypeId, TypeKind};
use crate::diagnostics::{Code, Diagnostic};

/// Inserts [`Ty::Boxed`] where recursion needs it; reports infinite types.
pub(crate) fn break_cycles(types: &mut [TypeDef], diags: &mut Vec<Diagnostic>) {
    let sccs = components(types);
    for scc in &sccs {
        if !is_cycle(types, scc) {
            continue;
        }
        let in_scc = |id: TypeId| scc.contains(&id);
        for &id in scc {
            match &mut types[id.index()].kind {
                TypeKind::Alias { ty } => box_optionals(ty, &in_scc),
                TypeKind::Struct(s) => {
                    for f in &mut s.fields {
                        box_optionals(&mut f.ty, &in_scc);
                    }
                }
                TypeKind::Union(u) => {
                    let fields = u
                        .arms
                        .iter_mut()
                        .filter_map(|a| a.field.as_mut())
                        .chain(u.default.as_mut().and_then(|d| d.field.as_mut()));
                    for f in fields {
                        box_optionals(&mut f.ty, &in_scc);
                        if reaches(&f.ty, &in_scc) {
                            let inner = std::mem::replace(&mut f.ty, Ty::Prim(super::Prim::Int));
                            f.ty = Ty::Boxed(Box::new(inner));
                        }
                    }
                }
                TypeKind::Enum(_) | TypeKind::Extern => {}
            }
        }
    }
    // Whatever still loops has no optional or union to end it.
    for scc in components(types) {
        if is_cycle(types, &scc) {
            let first = &types[scc[0].index()];
            let names: Vec<String> = scc
                .iter()
                .map(|id| format!("`{}`", types[id.index()].name.xdr))
                .collect();
            let mut d = Diagnostic::new(
                Code::InfiniteType,
                format!("recursive type `{}` has infinite size", first.name.xdr),
            )
            .primary(first.name.span, "contains itself by value");
            for id in scc.iter().skip(1) {
                d = d.secondary(types[id.index()].name.span, "part of the cycle");
            }
            diags.push(
                d.note(format!("the cycle runs through {}", names.join(", ")))
                    .help("make one of the references optional (`T *name`) or a variable-length array (`T name<>`)"),
            );
        }
    }
}

/// Wraps `T` in `Box` inside every optional in `ty` that reaches the
/// component by value.
fn box_optionals(ty: &mut Ty, in_scc: &dyn Fn(TypeId) -> bool) {
    match ty {
        Ty::Optional(inner) => {
            box_optionals(inner, in_scc);
            if reaches(inner, in_scc) {
                let taken = std::mem::replace(&mut **inner, Ty::Prim(super::Prim::Int));
                **inner = Ty::Boxed(Box::new(taken));
            }
        }
        Ty::Array { elem, .. } => box_optionals(elem, in_scc),
        _ => {}
    }
}

/// Whether `ty` holds a type of the component by value.
fn reaches(ty: &Ty, in_scc: &dyn Fn(TypeId) -> bool) -> bool {
    let mut found = false;
    by_value_refs(ty, &mut |id| found |= in_scc(id));
    found
}

/// Calls `f` for each named type `ty` holds by value.
fn by_value_refs(ty: &Ty, f: &mut dyn FnMut(TypeId)) {
    match ty {
        Ty::Named(id) => f(*id),
        Ty::Optional(inner) => by_value_refs(inner, f),
        Ty::Array {
            elem,
            len: super::Len::Fixed(_),
        } => by_value_refs(elem, f),
        Ty::Array { .. } | Ty::Prim(_) | Ty::Opaque(_) | Ty::String(_) | Ty::Boxed(_) => {}
    }
}

fn edges(t: &TypeDef) -> Vec<TypeId> {
    let mut out = Vec::new();
    let mut push = |id| out.push(id);
    match &t.kind {
        TypeKind::Alias { ty } => by_value_refs(ty, &mut push),
        TypeKind::Struct(s) => {
            for f in &s.fields {
                by_value_refs(&f.ty, &mut push);
            }
        }
        TypeKind::Union(u) => {
            for f in u.arm_fields() {
                by_value_refs(&f.ty, &mut push);
            }
        }
        TypeKind::Enum(_) | TypeKind::Extern => {}
    }
    out
}

fn is_cycle(types: &[TypeDef], scc: &[TypeId]) -> bool {
    scc.len() > 1 || edges(&types[scc[0].index()]).contains(&scc[0])
}

/// Strongly connected components (Tarjan's algorithm, iterative so deep
/// type chains cannot overflow the stack). Deterministic order.
fn components(types: &[TypeDef]) -> Vec<Vec<TypeId>> {
    let n = types.len();
    let adj: Vec<Vec<TypeId>> = types.iter().map(edges).collect();
    let mut index = vec![usize::MAX; n];
    let mut low = vec![0; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut out = Vec::new();
    let mut next = 0;
    for root in 0..n {
        if index[root] != usize::MAX {
            continue;
        }
        // (node, next edge to visit)
        let mut work = vec![(root, 0usize)];
        index[root] = next;
        low[root] = next;
        next += 1;
        stack.push(root);
        on_stack[root] = true;
        while let Some(&mut (v, ref mut ei)) = work.last_mut() {
            if let Some(&w) = adj[v].get(*ei) {
                *ei += 1;
                let w = w.index();
                if index[w] == usize::MAX {
                    index[w] = next;
                    low[w] = next;
                    next += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    work.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
            } else {
                work.pop();
                if let Some(&(parent, _)) = work.last() {
                    low[parent] = low[parent].min(low[v]);
                }
                if low[v] == index[v] {
                    let mut scc = Vec::new();
                    loop {
                        let w = stack.pop().expect("v is on the stack");
                        on_stack[w] = false;
                        scc.push(TypeId(u32::try_from(w).expect("type count fits u32")));
                        if w == v {
                            break;
                        }
                    }
                    scc.sort();
                    out.push(scc);
                }
            }
        }
    }
    out
}
