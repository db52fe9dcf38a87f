//! The text form of a report: a line per change, then a summary.

use std::fmt::Write;

use super::{Change, Flow, Report, Subject, Verdict};

fn subject_word(subject: Subject) -> &'static str {
    match subject {
        Subject::Program => "program",
        Subject::Procedure => "procedure",
        Subject::Type => "type",
        Subject::Constant => "constant",
    }
}

fn flow_words(flow: Flow) -> &'static str {
    match flow {
        Flow::Arguments => "arguments",
        Flow::Results => "results",
        Flow::Both => "arguments and results",
        Flow::Unreachable => "no procedure uses it",
    }
}

fn verdict_word(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Compatible => "compatible",
        Verdict::Breaking => "breaking",
    }
}

fn line(change: &Change) -> String {
    let mark = if change.is_breaking() {
        "BREAKING  "
    } else {
        "compatible"
    };
    let mut text = format!("{mark} {} {}", subject_word(change.subject), change.name);
    if !change.path.is_empty() {
        let _ = write!(text, " ({})", change.path);
    }
    let _ = write!(text, ": {}", change.detail);
    if change.is_breaking() {
        let _ = write!(
            text,
            " [old clients: {}, old servers: {}; data in {}]",
            verdict_word(change.old_clients),
            verdict_word(change.old_servers),
            flow_words(change.flow)
        );
    }
    text
}

pub(super) fn text(report: &Report) -> String {
    let mut out = String::new();
    for change in &report.changes {
        out.push_str(&line(change));
        out.push('\n');
    }
    let count = |f: &dyn Fn(&Change) -> bool| report.changes.iter().filter(|c| f(c)).count();
    let breaking = count(&Change::is_breaking);
    let clients = count(&|c| c.old_clients == Verdict::Breaking);
    let servers = count(&|c| c.old_servers == Verdict::Breaking);
    let _ = writeln!(
        out,
        "{} change{}: {breaking} breaking ({clients} for old clients, {servers} for old servers), {} compatible",
        report.changes.len(),
        if report.changes.len() == 1 { "" } else { "s" },
        report.changes.len() - breaking,
    );
    out
}
