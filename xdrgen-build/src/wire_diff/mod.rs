//! Wire compatibility between two versions of a protocol: `xdrgen diff`.
//!
//! Two resolved modules are compared by what they put on the wire, not by
//! how they spell it: renaming a field, an enum member, a union label, a
//! typedef or a procedure alone is compatible; typedef chains are
//! followed; `T *` and `T<1>` are the same bytes, and so are `opaque<N>`
//! and `string<N>`.
//!
//! # What is compared
//!
//! - ONC RPC programs (by number), their versions (by number) and
//!   procedures (by name, then by number), with their argument and result
//!   types; libvirt protocols (`<p>_procedure` enums, see
//!   [`ir::LibvirtProgram`]) the same way, with events as results.
//! - Every local type by XDR name. A change is reported once, at the
//!   innermost named type that has it; a type reached under another name
//!   (a retyped field, a renamed typedef) is compared structurally where it
//!   is used.
//! - Local constants (`const`, `#define`, `%#define`) by name.
//!
//! # How changes are classified
//!
//! Each finding answers two questions: can a decoder built from the old
//! file read everything the new file encodes (*old reads new*), and the
//! reverse (*new reads old*). Which one matters depends on the direction
//! data flows. Arguments go from client to server, results and libvirt
//! events from server to client, so:
//!
//! | data in | old clients (talking to new servers) | old servers (receiving from new clients) |
//! |---|---|---|
//! | arguments | new reads old | old reads new |
//! | results, events | old reads new | new reads old |
//! | both, or no procedure reaches it | both | both |
//!
//! The rules per change:
//!
//! | change | old reads new | new reads old |
//! |---|---|---|
//! | rename of a field, member, label, typedef, procedure | yes | yes |
//! | struct fields added, removed or reordered (even at the end: inside a larger value the rest is misread) | no | no |
//! | integer type changed (values of the wider side the other cannot hold) | new range ⊆ old range | old range ⊆ new range |
//! | enum values added | no | yes |
//! | enum values removed | yes | no |
//! | enum member's value changed (same name, new meaning) | no | no |
//! | variable bound loosened (`<10>` → `<20>`) | no | yes |
//! | variable bound tightened | yes | no |
//! | fixed size changed, fixed ↔ variable | no | no |
//! | union case added (no old `default` to take it) | no | yes |
//! | union case removed (no new `default`) | yes | no |
//! | union arm's data changed, discriminant size changed | no | no |
//! | `default` arm added | no | yes |
//! | `default` arm removed | yes | no |
//! | any other change of shape (struct ↔ union, int ↔ string, ...) | no | no |
//!
//! Procedures, versions and programs:
//!
//! | change | old clients | old servers |
//! |---|---|---|
//! | added | compatible | compatible (an old server answers `PROC_UNAVAIL`, libvirt "unknown procedure", which a new client must expect) |
//! | removed | breaking (their calls now fail) | compatible |
//! | renumbered | breaking | breaking |
//! | argument count changed | breaking | breaking |
//!
//! Types and constants added or removed have no wire effect of their own
//! (the procedures and types that use them carry it): compatible; a type
//! removed under one name and added under another with the same wire
//! shape, when that match is one to one, is reported once, as renamed. A
//! constant whose value changed is breaking for both: constants are part of
//! the protocol's contract (flags, program numbers), and a bound it sets is
//! also reported where the bound is used.

mod compare;
mod procedures;
mod render;

use std::collections::BTreeMap;

#[cfg(feature = "json")]
use serde::Serialize;

use crate::ir::{ConstKind, ConstValue, Module, Origin};
use compare::Compare;

/// What a change is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[cfg_attr(feature = "json", derive(Serialize), serde(rename_all = "snake_case"))]
pub enum Subject {
    /// An ONC RPC program, version or libvirt protocol.
    Program,
    /// A procedure.
    Procedure,
    /// A named type.
    Type,
    /// A constant.
    Constant,
}

/// The kind of a change, for tools that act on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[cfg_attr(feature = "json", derive(Serialize), serde(rename_all = "snake_case"))]
pub enum Kind {
    /// A program, version, procedure, type or constant is new.
    Added,
    /// A program, version, procedure, type or constant is gone.
    Removed,
    /// The same name has another number.
    Renumbered,
    /// A different name for the same wire shape.
    Renamed,
    /// Struct fields added, removed or reordered.
    FieldsChanged,
    /// A procedure's argument count changed.
    ArgumentsChanged,
    /// Another type in the same place.
    Retyped,
    /// The values an integer or enum admits changed.
    ValuesChanged,
    /// An enum member's value changed.
    MemberValueChanged,
    /// A variable-length bound changed.
    BoundChanged,
    /// A fixed length changed, or fixed became variable or back.
    SizeChanged,
    /// A union case was added or removed.
    CaseChanged,
    /// A union `default` arm was added or removed.
    DefaultChanged,
    /// A constant's value changed.
    ValueChanged,
}

/// Which peers a change breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[cfg_attr(feature = "json", derive(Serialize), serde(rename_all = "snake_case"))]
pub enum Verdict {
    /// The peer keeps working.
    Compatible,
    /// The peer can fail or misread.
    Breaking,
}

/// Which way the data a change touches flows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[cfg_attr(feature = "json", derive(Serialize), serde(rename_all = "snake_case"))]
pub enum Flow {
    /// Client to server.
    Arguments,
    /// Server to client (results and libvirt events).
    Results,
    /// Both ways.
    Both,
    /// No procedure reaches it: classified as if it went both ways.
    Unreachable,
}

/// One difference between the old and the new file.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "json", derive(Serialize))]
pub struct Change {
    /// What it is about.
    pub subject: Subject,
    /// The program, procedure, type or constant (XDR names, as in the old
    /// file when it has it).
    pub name: String,
    /// Where inside it (`field`, `field.inner`, `case LABEL`); empty for
    /// the whole thing.
    pub path: String,
    /// What changed.
    pub kind: Kind,
    /// The change in words.
    pub detail: String,
    /// Which way the affected data flows.
    pub flow: Flow,
    /// For old clients talking to new servers.
    pub old_clients: Verdict,
    /// For old servers receiving from new clients.
    pub old_servers: Verdict,
}

impl Change {
    /// Whether it breaks old clients or old servers.
    pub fn is_breaking(&self) -> bool {
        self.old_clients == Verdict::Breaking || self.old_servers == Verdict::Breaking
    }
}

/// Every difference, in a stable order: programs and procedures, then
/// types, then constants, each by name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "json", derive(Serialize))]
pub struct Report {
    /// The changes.
    pub changes: Vec<Change>,
}

impl Report {
    /// Whether any change breaks old clients or old servers.
    pub fn is_breaking(&self) -> bool {
        self.changes.iter().any(Change::is_breaking)
    }

    /// A line per change, breaking ones marked, and a summary line.
    pub fn to_text(&self) -> String {
        render::text(self)
    }
}

/// What a finding means for each direction: can the old file's decoder
/// read what the new one encodes, and the reverse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Reads {
    pub(crate) old_reads_new: bool,
    pub(crate) new_reads_old: bool,
}

impl Reads {
    pub(crate) const BOTH: Reads = Reads {
        old_reads_new: true,
        new_reads_old: true,
    };
    pub(crate) const NEITHER: Reads = Reads {
        old_reads_new: false,
        new_reads_old: false,
    };
    /// The new side admits more (values, lengths, cases).
    pub(crate) const WIDENED: Reads = Reads {
        old_reads_new: false,
        new_reads_old: true,
    };
    /// The new side admits less.
    pub(crate) const NARROWED: Reads = Reads {
        old_reads_new: true,
        new_reads_old: false,
    };

    /// The verdicts for old clients and old servers when the data flows
    /// `flow` (the table in the module documentation).
    fn verdicts(self, flow: Flow) -> (Verdict, Verdict) {
        let v = |ok: bool| {
            if ok {
                Verdict::Compatible
            } else {
                Verdict::Breaking
            }
        };
        match flow {
            Flow::Arguments => (v(self.new_reads_old), v(self.old_reads_new)),
            Flow::Results => (v(self.old_reads_new), v(self.new_reads_old)),
            Flow::Both | Flow::Unreachable => {
                let both = v(self.old_reads_new && self.new_reads_old);
                (both, both)
            }
        }
    }
}

/// One structural difference found while comparing two types.
#[derive(Clone, Debug)]
pub(crate) struct Finding {
    pub(crate) path: String,
    pub(crate) kind: Kind,
    pub(crate) detail: String,
    pub(crate) reads: Reads,
}

fn change(subject: Subject, name: &str, finding: Finding, flow: Flow) -> Change {
    let (old_clients, old_servers) = finding.reads.verdicts(flow);
    Change {
        subject,
        name: name.to_string(),
        path: finding.path,
        kind: finding.kind,
        detail: finding.detail,
        flow,
        old_clients,
        old_servers,
    }
}

/// Compares two resolved modules (old, then new) by their wire encoding.
pub fn diff(old: &Module, new: &Module) -> Report {
    let mut cmp = Compare::new(old, new);
    let mut changes = procedures::compare(&mut cmp);
    changes.extend(types(&mut cmp));
    changes.extend(constants(old, new));
    Report { changes }
}

/// Local types by XDR name, except libvirt's procedure enums (their
/// members are procedures, compared as such).
fn local_types(module: &Module) -> BTreeMap<&str, crate::ir::TypeId> {
    module
        .types
        .iter()
        .filter(|t| matches!(t.origin, Origin::Local))
        .filter(|t| {
            !module
                .libvirt_programs
                .iter()
                .any(|p| p.procedures_enum == t.id)
        })
        .map(|t| (t.name.xdr.as_str(), t.id))
        .collect()
}

fn types(cmp: &mut Compare<'_>) -> Vec<Change> {
    let old = local_types(cmp.old);
    let new = local_types(cmp.new);
    let mut out = Vec::new();
    let renamed = renamed_types(cmp, &old, &new);
    let mut names: Vec<&str> = old.keys().chain(new.keys()).copied().collect();
    names.sort_unstable();
    names.dedup();
    for name in names {
        let flow = cmp.flow(name);
        if let Some(to) = renamed.get(name) {
            out.push(change(
                Subject::Type,
                name,
                Finding {
                    path: String::new(),
                    kind: Kind::Renamed,
                    detail: format!("type renamed to {to} (the same wire shape)"),
                    reads: Reads::BOTH,
                },
                flow,
            ));
            continue;
        }
        if renamed.values().any(|to| *to == name) {
            continue;
        }
        match (old.get(name), new.get(name)) {
            (Some(&o), Some(&n)) => {
                for finding in cmp.definitions(o, n) {
                    out.push(change(Subject::Type, name, finding, flow));
                }
            }
            (Some(_), None) => out.push(change(
                Subject::Type,
                name,
                Finding {
                    path: String::new(),
                    kind: Kind::Removed,
                    detail: "type removed".into(),
                    reads: Reads::BOTH,
                },
                flow,
            )),
            (None, Some(_)) => out.push(change(
                Subject::Type,
                name,
                Finding {
                    path: String::new(),
                    kind: Kind::Added,
                    detail: "type added".into(),
                    reads: Reads::BOTH,
                },
                flow,
            )),
            (None, None) => {}
        }
    }
    out
}

/// Above this many removed × added pairs, renames are not looked for.
const RENAME_PAIRS_LIMIT: usize = 10_000;

/// Types removed under one name and added under another with the same wire
/// shape, where the match is one to one: old name → new name.
fn renamed_types<'m>(
    cmp: &mut Compare<'_>,
    old: &BTreeMap<&'m str, crate::ir::TypeId>,
    new: &BTreeMap<&'m str, crate::ir::TypeId>,
) -> BTreeMap<&'m str, &'m str> {
    let removed: Vec<(&str, crate::ir::TypeId)> = old
        .iter()
        .filter(|(name, _)| !new.contains_key(*name))
        .map(|(n, id)| (*n, *id))
        .collect();
    let added: Vec<(&str, crate::ir::TypeId)> = new
        .iter()
        .filter(|(name, _)| !old.contains_key(*name))
        .map(|(n, id)| (*n, *id))
        .collect();
    if removed.len() * added.len() > RENAME_PAIRS_LIMIT {
        return BTreeMap::new();
    }
    let mut matches: Vec<(&str, &str)> = Vec::new();
    for (r, rid) in &removed {
        for (a, aid) in &added {
            if cmp
                .definitions(*rid, *aid)
                .iter()
                .all(|f| f.reads == Reads::BOTH)
            {
                matches.push((r, a));
            }
        }
    }
    matches
        .iter()
        .filter(|(r, a)| {
            matches.iter().filter(|(r2, _)| r2 == r).count() == 1
                && matches.iter().filter(|(_, a2)| a2 == a).count() == 1
        })
        .map(|(r, a)| (*r, *a))
        .collect()
}

/// Constants written in the file (not `-D`, not the built-in ones).
fn local_consts(module: &Module) -> BTreeMap<&str, &ConstValue> {
    module
        .consts
        .iter()
        .filter(|c| {
            matches!(
                c.kind,
                ConstKind::Const | ConstKind::Define | ConstKind::PassthroughDefine
            )
        })
        .map(|c| (c.name.xdr.as_str(), &c.value))
        .collect()
}

fn constants(old: &Module, new: &Module) -> Vec<Change> {
    let old = local_consts(old);
    let new = local_consts(new);
    let mut names: Vec<&str> = old.keys().chain(new.keys()).copied().collect();
    names.sort_unstable();
    names.dedup();
    let show = |v: &ConstValue| match v {
        ConstValue::Int(i) => i.to_string(),
        ConstValue::Str(s) => format!("{s:?}"),
    };
    let mut out = Vec::new();
    for name in names {
        let (kind, detail, reads) = match (old.get(name), new.get(name)) {
            (Some(o), Some(n)) if o == n => continue,
            (Some(o), Some(n)) => (
                Kind::ValueChanged,
                format!("value {} → {}", show(o), show(n)),
                Reads::NEITHER,
            ),
            (Some(o), None) => (
                Kind::Removed,
                format!("constant removed (was {})", show(o)),
                Reads::BOTH,
            ),
            (None, Some(n)) => (
                Kind::Added,
                format!("constant added ({})", show(n)),
                Reads::BOTH,
            ),
            (None, None) => continue,
        };
        out.push(change(
            Subject::Constant,
            name,
            Finding {
                path: String::new(),
                kind,
                detail,
                reads,
            },
            Flow::Both,
        ));
    }
    out
}

#[cfg(test)]
mod tests;
