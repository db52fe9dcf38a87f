//! Programs, versions and procedures: ONC RPC `program` blocks and
//! libvirt's procedure enums in one view, matched by number.

use std::collections::{BTreeMap, BTreeSet};

use super::compare::Compare;
use super::{Change, Finding, Flow, Kind, Reads, Subject, Verdict, change};
use crate::ir::{Module, Ty};

/// A program version as the wire addresses it.
struct Version {
    /// `PROG.VERS` for ONC RPC, the protocol prefix for libvirt.
    name: String,
    procedures: Vec<Procedure>,
}

struct Procedure {
    name: String,
    number: i64,
    args: Vec<Ty>,
    result: Option<Ty>,
    /// A libvirt event's message.
    event: Option<Ty>,
}

/// Every (program number, version number) of a module.
fn versions(module: &Module) -> BTreeMap<(i64, i64), Version> {
    let mut out = BTreeMap::new();
    for program in &module.programs {
        for version in &program.versions {
            let procedures = version
                .procedures
                .iter()
                .map(|p| Procedure {
                    name: p.name.xdr.clone(),
                    number: i64::from(p.number),
                    args: p.args.iter().map(|a| a.ty.clone()).collect(),
                    result: p.result.clone(),
                    event: None,
                })
                .collect();
            out.insert(
                (i64::from(program.number), i64::from(version.number)),
                Version {
                    name: format!("{}.{}", program.name.xdr, version.name.xdr),
                    procedures,
                },
            );
        }
    }
    for program in &module.libvirt_programs {
        let procedures = program
            .procedures
            .iter()
            .map(|p| Procedure {
                name: p.name.xdr.clone(),
                number: i64::from(p.number),
                args: p.args.map(Ty::Named).into_iter().collect(),
                result: p.ret.map(Ty::Named),
                event: p.event.map(Ty::Named),
            })
            .collect();
        out.insert(
            (i64::from(program.program), i64::from(program.version)),
            Version {
                name: program.name.xdr.clone(),
                procedures,
            },
        );
    }
    out
}

/// A change whose verdicts follow from what it is, not from data flow.
fn fixed(
    subject: Subject,
    name: &str,
    kind: Kind,
    detail: String,
    old_clients: Verdict,
    old_servers: Verdict,
) -> Change {
    Change {
        subject,
        name: name.to_string(),
        path: String::new(),
        kind,
        detail,
        flow: Flow::Arguments,
        old_clients,
        old_servers,
    }
}

fn added(subject: Subject, name: &str, detail: String) -> Change {
    fixed(
        subject,
        name,
        Kind::Added,
        detail,
        Verdict::Compatible,
        Verdict::Compatible,
    )
}

fn removed(subject: Subject, name: &str, detail: String) -> Change {
    fixed(
        subject,
        name,
        Kind::Removed,
        detail,
        Verdict::Breaking,
        Verdict::Compatible,
    )
}

/// Programs and versions, then the procedures of each version both have.
pub(super) fn compare(cmp: &mut Compare<'_>) -> Vec<Change> {
    let old = versions(cmp.old);
    let new = versions(cmp.new);
    let mut out = Vec::new();
    let keys: BTreeSet<(i64, i64)> = old.keys().chain(new.keys()).copied().collect();
    for key @ (program, version) in keys {
        match (old.get(&key), new.get(&key)) {
            (Some(o), Some(n)) => {
                if o.name != n.name {
                    out.push(fixed(
                        Subject::Program,
                        &o.name,
                        Kind::Renamed,
                        format!("program {program} version {version} renamed to {}", n.name),
                        Verdict::Compatible,
                        Verdict::Compatible,
                    ));
                }
                procedures(cmp, o, n, &mut out);
            }
            (Some(o), None) => match new.values().find(|n| n.name == o.name) {
                Some(_) => out.push(fixed(
                    Subject::Program,
                    &o.name,
                    Kind::Renumbered,
                    format!("program {program} version {version} has another number now"),
                    Verdict::Breaking,
                    Verdict::Breaking,
                )),
                None => out.push(removed(
                    Subject::Program,
                    &o.name,
                    format!("program {program} version {version} removed"),
                )),
            },
            (None, Some(n)) => {
                if !old.values().any(|o| o.name == n.name) {
                    out.push(added(
                        Subject::Program,
                        &n.name,
                        format!("program {program} version {version} added"),
                    ));
                }
            }
            (None, None) => {}
        }
    }
    out
}

fn procedures(cmp: &mut Compare<'_>, old: &Version, new: &Version, out: &mut Vec<Change>) {
    let qualified = |p: &Procedure| format!("{}.{}", old.name, p.name);
    let mut matched_new = BTreeSet::new();
    for o in &old.procedures {
        let by_name = new.procedures.iter().position(|n| n.name == o.name);
        let by_number = || {
            new.procedures.iter().position(|n| {
                n.number == o.number && !old.procedures.iter().any(|p| p.name == n.name)
            })
        };
        let Some(i) = by_name.or_else(by_number) else {
            out.push(removed(
                Subject::Procedure,
                &qualified(o),
                format!("procedure {} removed", o.number),
            ));
            continue;
        };
        matched_new.insert(i);
        let n = &new.procedures[i];
        let name = qualified(o);
        if n.number != o.number {
            out.push(fixed(
                Subject::Procedure,
                &name,
                Kind::Renumbered,
                format!("procedure {} → {}", o.number, n.number),
                Verdict::Breaking,
                Verdict::Breaking,
            ));
        } else if n.name != o.name {
            out.push(fixed(
                Subject::Procedure,
                &name,
                Kind::Renamed,
                format!("procedure {} renamed to {}", o.number, n.name),
                Verdict::Compatible,
                Verdict::Compatible,
            ));
        }
        signature(cmp, &name, o, n, out);
    }
    for (i, n) in new.procedures.iter().enumerate() {
        if !matched_new.contains(&i) {
            out.push(added(
                Subject::Procedure,
                &qualified(n),
                format!("procedure {} added", n.number),
            ));
        }
    }
}

fn signature(
    cmp: &mut Compare<'_>,
    name: &str,
    old: &Procedure,
    new: &Procedure,
    out: &mut Vec<Change>,
) {
    let mut push = |findings: Vec<Finding>, flow: Flow| {
        out.extend(
            findings
                .into_iter()
                .map(|f| change(Subject::Procedure, name, f, flow)),
        );
    };
    if old.args.len() == new.args.len() {
        let mut findings = Vec::new();
        for (i, (a, b)) in old.args.iter().zip(&new.args).enumerate() {
            cmp.ty(a, b, &format!("argument {}", i + 1), &mut findings);
        }
        push(findings, Flow::Arguments);
    } else {
        let list = |m: &Module, args: &[Ty]| {
            if args.is_empty() {
                "void".to_string()
            } else {
                args.iter()
                    .map(|t| m.xdr_spelling(t))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        };
        push(
            vec![Finding {
                path: "arguments".into(),
                kind: Kind::ArgumentsChanged,
                detail: format!(
                    "({}) → ({})",
                    list(cmp.old, &old.args),
                    list(cmp.new, &new.args)
                ),
                reads: Reads::NEITHER,
            }],
            Flow::Arguments,
        );
    }
    for (label, a, b) in [
        ("result", &old.result, &new.result),
        ("event", &old.event, &new.event),
    ] {
        let mut findings = Vec::new();
        match (a, b) {
            (Some(a), Some(b)) => cmp.ty(a, b, label, &mut findings),
            (None, None) => {}
            (a, b) => {
                let text = |m: &Module, t: &Option<Ty>| {
                    t.as_ref().map_or("void".to_string(), |t| m.xdr_spelling(t))
                };
                findings.push(Finding {
                    path: label.into(),
                    kind: Kind::Retyped,
                    detail: format!("{} → {}", text(cmp.old, a), text(cmp.new, b)),
                    reads: Reads::NEITHER,
                });
            }
        }
        push(findings, Flow::Results);
    }
}
