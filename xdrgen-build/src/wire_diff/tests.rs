//! Deliberate edits, each with the classification the module's rule table
//! gives it.

use super::{Change, Flow, Kind, Report, Subject, Verdict, diff};
use crate::{MemoryLoader, Options};

use Verdict::{Breaking as B, Compatible as C};

fn module(text: &str) -> crate::ir::Module {
    let mut loader = MemoryLoader::new();
    loader.insert("t.x", text);
    match crate::check_with(&loader, std::path::Path::new("t.x"), &Options::new()) {
        Ok(checked) => checked.module,
        Err(e) => panic!("{e}\n{text}"),
    }
}

fn report(old: &str, new: &str) -> Report {
    diff(&module(old), &module(new))
}

/// A program taking `A` and returning `R`; `types` defines both.
fn program(types: &str) -> String {
    format!("{types}\nprogram P {{ version V {{ R GET(A) = 1; }} = 1; }} = 0x20000001;\n")
}

/// The one change of an edit.
fn only(old: &str, new: &str) -> Change {
    let r = report(old, new);
    assert_eq!(r.changes.len(), 1, "{}", r.to_text());
    r.changes.into_iter().next().unwrap()
}

#[track_caller]
fn check(
    change: &Change,
    subject: Subject,
    name: &str,
    kind: Kind,
    old_clients: Verdict,
    old_servers: Verdict,
) {
    assert_eq!(
        (
            change.subject,
            change.name.as_str(),
            change.kind,
            change.old_clients,
            change.old_servers
        ),
        (subject, name, kind, old_clients, old_servers),
        "{change:?}"
    );
}

#[test]
fn identical_files_have_no_changes() {
    let text = program("struct A { int x; }; typedef A R;");
    assert!(report(&text, &text).changes.is_empty());
}

#[test]
fn renames_alone_are_compatible() {
    let old = program(
        "typedef string name_t<16>; enum e { X = 1, Y = 2 }; \
         struct A { name_t n; e k; }; \
         union R switch (e k) { case X: int i; case Y: void; };",
    );
    let new = program(
        "typedef string label_t<16>; enum e { X = 1, WHY = 2 }; \
         struct A { label_t label; e kind; }; \
         union R switch (e which) { case X: int j; case WHY: void; };",
    );
    let r = report(&old, &new);
    assert!(!r.is_breaking(), "{}", r.to_text());
    assert!(
        r.changes
            .iter()
            .any(|c| c.kind == Kind::Renamed && c.path == "n")
    );
    assert!(
        r.changes
            .iter()
            .any(|c| c.kind == Kind::Renamed && c.path == "Y")
    );
    assert!(
        r.changes.iter().any(|c| c.kind == Kind::Renamed
            && c.name == "name_t"
            && c.detail == "type renamed to label_t (the same wire shape)"),
        "{}",
        r.to_text()
    );
}

#[test]
fn struct_field_changes_break_both_ways() {
    let base = "typedef int R; struct A { int x; int y; };";
    for (new, detail) in [
        (
            "typedef int R; struct A { int x; int y; int z; };",
            "fields appended: z",
        ),
        (
            "typedef int R; struct A { int x; };",
            "fields removed from the end: y",
        ),
        (
            "typedef int R; struct A { int y; int x; };",
            "fields reordered: x, y → y, x",
        ),
    ] {
        let c = only(&program(base), &program(new));
        check(&c, Subject::Type, "A", Kind::FieldsChanged, B, B);
        assert_eq!(c.detail, detail);
    }
    let c = only(
        &program(base),
        &program("typedef int R; struct A { int x; hyper y; };"),
    );
    check(&c, Subject::Type, "A", Kind::Retyped, B, B);
    assert_eq!((c.path.as_str(), c.detail.as_str()), ("y", "int → hyper"));
}

#[test]
fn integer_widening_depends_on_direction() {
    // Arguments: new servers read old clients' shorts as ints.
    let c = only(
        &program("typedef int R; struct A { short s; };"),
        &program("typedef int R; struct A { int s; };"),
    );
    assert_eq!(c.flow, Flow::Arguments);
    check(&c, Subject::Type, "A", Kind::ValuesChanged, C, B);
    // Results: old clients cannot read the wider values.
    let c = only(
        &program("typedef int A; struct R { short s; };"),
        &program("typedef int A; struct R { int s; };"),
    );
    check(&c, Subject::Type, "R", Kind::ValuesChanged, B, C);
    // int ↔ unsigned int: each side has values the other lacks.
    let c = only(
        &program("typedef int A; struct R { int s; };"),
        &program("typedef int A; struct R { unsigned int s; };"),
    );
    check(&c, Subject::Type, "R", Kind::ValuesChanged, B, B);
}

#[test]
fn enum_values() {
    // Added, in results: old clients may receive a value they do not know.
    let c = only(
        &program("enum R { X = 1 }; typedef int A;"),
        &program("enum R { X = 1, Y = 2 }; typedef int A;"),
    );
    check(&c, Subject::Type, "R", Kind::ValuesChanged, B, C);
    // Added, in arguments: old servers may.
    let c = only(
        &program("enum A { X = 1 }; typedef int R;"),
        &program("enum A { X = 1, Y = 2 }; typedef int R;"),
    );
    check(&c, Subject::Type, "A", Kind::ValuesChanged, C, B);
    // Removed from results: new clients may get the old value.
    let c = only(
        &program("enum R { X = 1, Y = 2 }; typedef int A;"),
        &program("enum R { X = 1 }; typedef int A;"),
    );
    check(&c, Subject::Type, "R", Kind::ValuesChanged, C, B);
    // A member renumbered keeps the value set but changes its meaning.
    let r = report(
        &program("enum R { X = 1, Y = 2 }; typedef int A;"),
        &program("enum R { X = 2, Y = 1 }; typedef int A;"),
    );
    assert_eq!(r.changes.len(), 2, "{}", r.to_text());
    for c in &r.changes {
        check(c, Subject::Type, "R", Kind::MemberValueChanged, B, B);
    }
}

#[test]
fn bounds() {
    // Loosened in results: old clients refuse the longer lists.
    let c = only(
        &program("typedef int A; typedef int R<10>;"),
        &program("typedef int A; typedef int R<20>;"),
    );
    check(&c, Subject::Type, "R", Kind::BoundChanged, B, C);
    assert_eq!(c.detail, "bound loosened: <10> → <20>");
    // Tightened in arguments: new servers refuse old clients' longer ones.
    let c = only(
        &program("typedef int R; struct A { string s<>; };"),
        &program("typedef int R; struct A { string s<8>; };"),
    );
    check(&c, Subject::Type, "A", Kind::BoundChanged, B, C);
    // Fixed sizes must match.
    let c = only(
        &program("typedef int R; struct A { opaque o[4]; };"),
        &program("typedef int R; struct A { opaque o[8]; };"),
    );
    check(&c, Subject::Type, "A", Kind::SizeChanged, B, B);
    let c = only(
        &program("typedef int R; struct A { opaque o[4]; };"),
        &program("typedef int R; struct A { opaque o<4>; };"),
    );
    check(&c, Subject::Type, "A", Kind::SizeChanged, B, B);
    // A bound through a constant: the type and the constant both report.
    let r = report(
        &program("const MAX = 4; typedef int R; struct A { int v<MAX>; };"),
        &program("const MAX = 8; typedef int R; struct A { int v<MAX>; };"),
    );
    assert_eq!(r.changes.len(), 2, "{}", r.to_text());
    check(&r.changes[0], Subject::Type, "A", Kind::BoundChanged, C, B);
    check(
        &r.changes[1],
        Subject::Constant,
        "MAX",
        Kind::ValueChanged,
        B,
        B,
    );
}

#[test]
fn same_bytes_spelled_differently_are_compatible() {
    for (old, new) in [
        ("struct A { int *p; };", "struct A { int p<1>; };"),
        ("struct A { string s<8>; };", "struct A { opaque s<8>; };"),
        ("typedef int t; struct A { t v; };", "struct A { int v; };"),
        (
            "struct in { int x; }; struct A { in v; };",
            "struct inner { int x; }; struct A { inner v; };",
        ),
    ] {
        let r = report(
            &program(&format!("typedef int R; {old}")),
            &program(&format!("typedef int R; {new}")),
        );
        assert!(!r.is_breaking(), "{old} → {new}:\n{}", r.to_text());
    }
    // Optional-ness itself is a change of shape.
    let c = only(
        &program("typedef int R; struct A { int p; };"),
        &program("typedef int R; struct A { int *p; };"),
    );
    check(&c, Subject::Type, "A", Kind::Retyped, B, B);
}

#[test]
fn unions() {
    let old = "typedef int A; union R switch (int k) { case 1: int i; case 2: void; };";
    // A case added in results: old clients cannot decode it.
    let c = only(
        &program(old),
        &program(
            "typedef int A; union R switch (int k) { case 1: int i; case 2: void; case 3: hyper h; };",
        ),
    );
    check(&c, Subject::Type, "R", Kind::CaseChanged, B, C);
    // A case removed: new clients cannot decode an old server's.
    let c = only(
        &program(old),
        &program("typedef int A; union R switch (int k) { case 1: int i; };"),
    );
    check(&c, Subject::Type, "R", Kind::CaseChanged, C, B);
    // An arm's data changed.
    let c = only(
        &program(old),
        &program("typedef int A; union R switch (int k) { case 1: hyper i; case 2: void; };"),
    );
    check(&c, Subject::Type, "R", Kind::Retyped, B, B);
    assert_eq!(c.path, "case 1");
    // A default arm added.
    let c = only(
        &program(old),
        &program(
            "typedef int A; union R switch (int k) { case 1: int i; case 2: void; default: void; };",
        ),
    );
    check(&c, Subject::Type, "R", Kind::DefaultChanged, B, C);
    // A case moved into a default arm of the same data is no change.
    let r = report(
        &program(old),
        &program("typedef int A; union R switch (int k) { case 1: int i; default: void; };"),
    );
    assert_eq!(r.changes.len(), 1, "{}", r.to_text());
    check(
        &r.changes[0],
        Subject::Type,
        "R",
        Kind::DefaultChanged,
        B,
        C,
    );
    // The discriminant's size.
    let c = only(
        &program(old),
        &program("typedef int A; union R switch (hyper k) { case 1: int i; case 2: void; };"),
    );
    check(&c, Subject::Type, "R", Kind::Retyped, B, B);
}

#[test]
fn recursive_types_compare_and_terminate() {
    let old = program("struct A { int v; A *next; }; typedef int R;");
    let new = program("struct node { int v; node *next; }; typedef node A; typedef int R;");
    let r = report(&old, &new);
    assert!(!r.is_breaking(), "{}", r.to_text());
    let new = program("struct node { hyper v; node *next; }; typedef node A; typedef int R;");
    let r = report(&old, &new);
    assert!(r.is_breaking(), "{}", r.to_text());
    assert!(
        r.changes
            .iter()
            .any(|c| c.path == "v" && c.kind == Kind::Retyped)
    );
}

#[test]
fn procedures() {
    let proc_file = |procs: &str| {
        format!("typedef int T;\nprogram P {{ version V {{ {procs} }} = 1; }} = 0x20000001;\n")
    };
    let base = proc_file("T GET(T) = 1; void PING(void) = 2;");
    let c = only(
        &base,
        &proc_file("T GET(T) = 1; void PING(void) = 2; T PUT(T) = 3;"),
    );
    check(&c, Subject::Procedure, "P.V.PUT", Kind::Added, C, C);
    let c = only(&base, &proc_file("T GET(T) = 1;"));
    check(&c, Subject::Procedure, "P.V.PING", Kind::Removed, B, C);
    let c = only(&base, &proc_file("T GET(T) = 1; void PING(void) = 7;"));
    check(&c, Subject::Procedure, "P.V.PING", Kind::Renumbered, B, B);
    let c = only(&base, &proc_file("T GET(T) = 1; void NULLPROC(void) = 2;"));
    check(&c, Subject::Procedure, "P.V.PING", Kind::Renamed, C, C);
    let c = only(&base, &proc_file("T GET(T, T) = 1; void PING(void) = 2;"));
    check(
        &c,
        Subject::Procedure,
        "P.V.GET",
        Kind::ArgumentsChanged,
        B,
        B,
    );
    // An inline argument type: the procedure carries the finding.
    let c = only(
        &proc_file("T GET(string<8>) = 1;"),
        &proc_file("T GET(string<16>) = 1;"),
    );
    check(&c, Subject::Procedure, "P.V.GET", Kind::BoundChanged, C, B);
    let c = only(&base, &base.replace("} = 1; }", "} = 2; }"));
    assert_eq!(c.subject, Subject::Program);
    assert_eq!(c.kind, Kind::Renumbered);
    assert!(c.is_breaking());
}

#[test]
fn libvirt_procedures_and_events() {
    let file = |extra_member: &str, msg_field: &str| {
        format!(
            "const TEST_PROGRAM = 0x11223344;\nconst TEST_PROTOCOL_VERSION = 1;\n\
             struct test_open_args {{ string name<64>; }};\n\
             struct test_event_msg {{ {msg_field}; }};\n\
             enum test_procedure {{ TEST_PROC_OPEN = 1, TEST_PROC_EVENT = 2{extra_member} }};\n"
        )
    };
    let c = only(
        &file("", "int id"),
        &file(", TEST_PROC_CLOSE = 3", "int id"),
    );
    check(
        &c,
        Subject::Procedure,
        "test.TEST_PROC_CLOSE",
        Kind::Added,
        C,
        C,
    );
    let c = only(&file("", "int id"), &file("", "hyper id"));
    check(&c, Subject::Type, "test_event_msg", Kind::Retyped, B, B);
    assert_eq!(c.flow, Flow::Results);
}

#[test]
fn text_marks_breaking_changes_and_counts() {
    let r = report(
        &program("typedef int R; struct A { int x; };"),
        &program("typedef int R; struct A { int x; int y; }; const N = 3;"),
    );
    let text = r.to_text();
    assert!(
        text.contains("BREAKING   type A: fields appended: y [old clients: breaking, old servers: breaking; data in arguments]"),
        "{text}"
    );
    assert!(
        text.contains("compatible constant N: constant added (3)"),
        "{text}"
    );
    assert!(
        text.ends_with(
            "2 changes: 1 breaking (1 for old clients, 1 for old servers), 1 compatible\n"
        ),
        "{text}"
    );
}

#[test]
fn a_type_renamed_is_paired_only_when_the_match_is_one_to_one() {
    let c = only(
        &program("typedef int R; typedef int A; struct old_name { hyper h; };"),
        &program("typedef int R; typedef int A; struct new_name { hyper h; };"),
    );
    check(&c, Subject::Type, "old_name", Kind::Renamed, C, C);
    // Two new types of the same shape: which one it became is unknown.
    let r = report(
        &program("typedef int R; typedef int A; struct old_name { hyper h; };"),
        &program("typedef int R; typedef int A; struct one { hyper h; }; struct two { hyper h; };"),
    );
    let kinds: Vec<(&str, Kind)> = r
        .changes
        .iter()
        .map(|c| (c.name.as_str(), c.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            ("old_name", Kind::Removed),
            ("one", Kind::Added),
            ("two", Kind::Added)
        ]
    );
}
