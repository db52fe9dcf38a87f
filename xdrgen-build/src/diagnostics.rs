//! Diagnostics: errors and warnings as data with byte spans, rendered at the
//! edge (terminal, build script, `compile_error!`) like rustc does.

use std::fmt::{self, Write as _};
use std::sync::Arc;

use crate::source::{SourceMap, Span};

/// How serious a diagnostic is. Warnings never fail a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Stops the run before code generation.
    Error,
    /// Reported, but the input is still accepted.
    Warning,
}

macro_rules! codes {
    ($( $(#[$doc:meta])* $variant:ident = $code:literal, $summary:literal; )*) => {
        /// The stable code of every diagnostic. Each has a fixture in
        /// `fixtures/errors/` showing what a user sees.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum Code {
            $( $(#[$doc])* $variant, )*
        }

        impl Code {
            /// Every code, in numeric order.
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];

            /// The code as printed: `E0101`, `W0001`.
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $code,)* }
            }

            /// One line saying what the code means.
            pub fn summary(self) -> &'static str {
                match self { $(Code::$variant => $summary,)* }
            }
        }
    };
}

codes! {
    /// `#include` names a file that is in no include directory, or that
    /// cannot be read.
    IncludeNotFound = "E0001", "included file not found or unreadable";
    /// `#include` nests too deep or includes itself.
    IncludeCycle = "E0002", "recursive or too deeply nested #include";
    /// Unbalanced `#if`/`#else`/`#endif`.
    Conditional = "E0003", "unbalanced conditional directive";
    /// A `#` line the built-in preprocessor does not support.
    Directive = "E0004", "unsupported or malformed preprocessor directive";
    /// An `#if` expression that cannot be evaluated.
    IfExpr = "E0005", "invalid #if expression";
    /// `#error` was reached.
    ErrorDirective = "E0006", "#error directive";
    /// The source does not match the grammar.
    Syntax = "E0010", "syntax error";
    /// A number literal that is malformed or does not fit in 64 bits.
    Literal = "E0011", "invalid number literal";
    /// A comment, string or character literal that never ends.
    Unterminated = "E0012", "unterminated comment or literal";
    /// A name used as a type is not defined anywhere.
    UndefinedType = "E0101", "undefined type";
    /// A name used as a value is not defined anywhere.
    UndefinedConst = "E0102", "undefined constant";
    /// Two definitions share one name.
    Duplicate = "E0103", "duplicate definition";
    /// A type used where a value is expected, or the reverse.
    WrongKind = "E0104", "name used as the wrong kind of thing";
    /// Constant arithmetic overflowed, divided by zero or left the 64-bit range.
    ConstEval = "E0105", "constant expression cannot be evaluated";
    /// An array, opaque or string bound that is not a constant from 0 to 2^32-1.
    Bound = "E0106", "invalid array bound";
    /// Two case labels of one union have the same value.
    DuplicateCase = "E0107", "duplicate case value";
    /// A case label that the discriminant type cannot hold.
    CaseValue = "E0108", "case value does not fit the discriminant type";
    /// A union discriminant that is not an integer type, bool or an enum.
    Discriminant = "E0109", "invalid union discriminant type";
    /// `void` somewhere other than a union arm or a procedure argument or result.
    Void = "E0110", "misuse of void";
    /// Two programs, versions or procedures with one number.
    DuplicateNumber = "E0111", "duplicate program, version or procedure number";
    /// Two members, fields or arms with one name.
    DuplicateMember = "E0112", "duplicate member name";
    /// Two XDR names that become the same Rust name.
    NameCollision = "E0113", "names collide after conversion to Rust";
    /// A type that contains itself by value with no way to end.
    InfiniteType = "E0114", "recursive type has infinite size";
    /// A value out of range for where it is used (enum value, program number).
    Range = "E0115", "value out of range";
    /// A libvirt magic comment whose value is malformed.
    Annotation = "E0116", "malformed procedure annotation";
    /// A macro whose body is C type words (`%#define u_longlong_t unsigned
    /// long long`) used as a type: its XDR routine is C written by hand.
    CTypeMacro = "E0117", "C type from a macro used as a type";
    /// `#pragma` lines are ignored.
    PragmaIgnored = "W0001", "#pragma ignored";
    /// A kernel-xdrgen `pragma` statement that is not understood.
    UnknownPragma = "W0002", "unknown pragma statement";
    /// `#warning` was reached.
    WarningDirective = "W0003", "#warning directive";
    /// A function-like `#define`, which is ignored.
    MacroIgnored = "W0004", "function-like macro ignored";
    /// A libvirt magic comment with an unknown key.
    UnknownAnnotation = "W0005", "unknown procedure annotation";
    /// `--type-attribute` or `--extern-type` names a type the input never defines or uses.
    UnknownOptionType = "W0006", "option names an unknown type";
    /// A definition repeated token for token; the repeat is ignored.
    IdenticalRepeat = "W0007", "identical definition repeated";
}

impl Code {
    /// Whether diagnostics with this code are warnings.
    pub fn severity(self) -> Severity {
        if self.as_str().starts_with('W') {
            Severity::Warning
        } else {
            Severity::Error
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A span with a message, drawn under the source line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    /// What the label points at.
    pub span: Span,
    /// Text shown after the carets (may be empty).
    pub message: String,
    /// The primary label gives the diagnostic its `file:line:col`.
    pub primary: bool,
}

/// One problem found in the input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning (follows from the code).
    pub severity: Severity,
    /// The stable code.
    pub code: Code,
    /// The headline.
    pub message: String,
    /// Source locations; the first primary one is the diagnostic's position.
    pub labels: Vec<Label>,
    /// Extra facts (`= note: ...`).
    pub notes: Vec<String>,
    /// A suggestion (`= help: ...`).
    pub help: Option<String>,
}

impl Diagnostic {
    /// A diagnostic with the severity its code implies.
    pub fn new(code: Code, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: code.severity(),
            code,
            message: message.into(),
            labels: Vec::new(),
            notes: Vec::new(),
            help: None,
        }
    }

    /// Adds the primary label.
    #[must_use]
    pub fn primary(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.labels.push(Label {
            span,
            message: message.into(),
            primary: true,
        });
        self
    }

    /// Adds a secondary label.
    #[must_use]
    pub fn secondary(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.labels.push(Label {
            span,
            message: message.into(),
            primary: false,
        });
        self
    }

    /// Adds a note.
    #[must_use]
    pub fn note(mut self, note: impl Into<String>) -> Diagnostic {
        self.notes.push(note.into());
        self
    }

    /// Sets the help line.
    #[must_use]
    pub fn help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// The span that positions this diagnostic.
    pub fn primary_span(&self) -> Option<Span> {
        self.labels
            .iter()
            .find(|l| l.primary)
            .or(self.labels.first())
            .map(|l| l.span)
    }

    /// Whether this is an error.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Diagnostics together with the sources they point into, ready to render.
#[derive(Clone, Debug)]
pub struct Diagnostics {
    sources: Arc<SourceMap>,
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    /// Wraps diagnostics with their sources, ordered by position.
    pub fn new(sources: Arc<SourceMap>, mut items: Vec<Diagnostic>) -> Diagnostics {
        // Stable order: by file, then offset; diagnostics without a span last.
        items.sort_by_key(|d| {
            d.primary_span()
                .map_or((usize::MAX, u32::MAX), |s| (s.file.index(), s.start))
        });
        Diagnostics { sources, items }
    }

    /// The diagnostics, errors and warnings mixed, in source order.
    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter()
    }

    /// The sources the spans point into.
    pub fn sources(&self) -> &SourceMap {
        &self.sources
    }

    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.items.iter().any(Diagnostic::is_error)
    }

    /// Number of errors.
    pub fn error_count(&self) -> usize {
        self.items.iter().filter(|d| d.is_error()).count()
    }

    /// Whether there are no diagnostics at all.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Renders every diagnostic as plain text.
    pub fn render(&self, style: Style) -> String {
        let mut out = String::new();
        for d in &self.items {
            out.push_str(&render(&self.sources, d, style));
        }
        out
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(Style::Plain))
    }
}

/// Whether rendering uses ANSI colours.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// No escape codes.
    Plain,
    /// ANSI colours, for terminals.
    Color,
}

struct Paint {
    on: bool,
}

impl Paint {
    fn wrap(&self, code: &str, text: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

/// Renders one diagnostic like rustc:
///
/// ```text
/// file.x:3:5: error[E0101]: undefined type `foo`
///   |
/// 3 |     foo x;
///   |     ^^^ not defined
///   = help: did you mean `food`?
/// ```
pub fn render(sources: &SourceMap, d: &Diagnostic, style: Style) -> String {
    let paint = Paint {
        on: style == Style::Color,
    };
    let (kind, colour) = match d.severity {
        Severity::Error => ("error", "1;31"),
        Severity::Warning => ("warning", "1;33"),
    };
    let mut out = String::new();
    if let Some(span) = d.primary_span() {
        let file = sources.file(span.file);
        let (line, col) = file.line_col(span.start);
        let _ = write!(out, "{}:{line}:{col}: ", file.name());
    }
    let _ = writeln!(
        out,
        "{}: {}",
        paint.wrap(colour, &format!("{kind}[{}]", d.code)),
        paint.wrap("1", &d.message)
    );

    // Group labels by (file, line) in order of appearance.
    let mut lines: Vec<(Span, usize)> = Vec::new();
    for label in &d.labels {
        let line = sources.file(label.span.file).line_col(label.span.start).0;
        if !lines
            .iter()
            .any(|&(s, l)| s.file == label.span.file && l == line)
        {
            lines.push((label.span, line));
        }
    }
    // Like rustc: snippets of the primary file first, then by line.
    let primary_file = d.primary_span().map(|s| s.file);
    lines.sort_by_key(|&(s, l)| (Some(s.file) != primary_file, s.file, l));
    let width = lines
        .iter()
        .map(|&(_, l)| l.to_string().len())
        .max()
        .unwrap_or(1);
    let gutter = paint.wrap("1;34", &format!("{:width$} |", ""));
    if !lines.is_empty() {
        let _ = writeln!(out, "{gutter}");
    }
    for &(first, line) in &lines {
        let file = sources.file(first.file);
        if Some(first.file) != primary_file {
            let (_, col) = file.line_col(first.start);
            let _ = writeln!(
                out,
                "{:width$}{} {}:{line}:{col}",
                "",
                paint.wrap("1;34", "-->"),
                file.name()
            );
        }
        let text = file.line_text(line).replace('\t', "    ");
        let _ = writeln!(
            out,
            "{} {text}",
            paint.wrap("1;34", &format!("{line:>width$} |"))
        );
        let line_start = file.line_start(line);
        let raw_line = file.line_text(line);
        for label in d
            .labels
            .iter()
            .filter(|l| l.span.file == first.file && file.line_col(l.span.start).0 == line)
        {
            let from = (label.span.start - line_start) as usize;
            let to = ((label.span.end.max(label.span.start + 1)) - line_start) as usize;
            let prefix = visual_width(raw_line, 0, from);
            let len = visual_width(raw_line, from, to.min(raw_line.len().max(from + 1))).max(1);
            let mark = if label.primary { "^" } else { "-" };
            let marks = paint.wrap(
                if label.primary { colour } else { "1;34" },
                &mark.repeat(len),
            );
            let msg = if label.message.is_empty() {
                String::new()
            } else {
                format!(" {}", label.message)
            };
            let _ = writeln!(out, "{gutter} {}{marks}{msg}", " ".repeat(prefix));
        }
    }
    for note in &d.notes {
        let _ = writeln!(out, "{:width$} = note: {note}", "");
    }
    if let Some(help) = &d.help {
        let _ = writeln!(out, "{:width$} = help: {help}", "");
    }
    out.push('\n');
    out
}

/// Display width of `line[from..to]`, with tabs as four columns.
fn visual_width(line: &str, from: usize, to: usize) -> usize {
    let to = to.min(line.len());
    let from = from.min(to);
    line.get(from..to).map_or(to - from, |s| {
        s.chars().map(|c| if c == '\t' { 4 } else { 1 }).sum()
    })
}

/// The candidate closest to `name` by edit distance, if it is close enough
/// to be a plausible typo.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = (name.len() / 3).max(1);
    let lower = name.to_ascii_lowercase();
    candidates
        .into_iter()
        .filter(|c| *c != name && c.len().abs_diff(name.len()) <= limit)
        .map(|c| (edit_distance(&lower, &c.to_ascii_lowercase()), c))
        .filter(|&(d, _)| d <= limit)
        .min_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)))
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_caret_under_span() {
        let mut map = SourceMap::new();
        let id = map.add("t.x", None, "struct s {\n\tfoo x;\n};\n".to_string());
        let d = Diagnostic::new(Code::UndefinedType, "undefined type `foo`")
            .primary(Span::new(id, 12, 15), "not defined")
            .help("did you mean `food`?");
        let text = render(&map, &d, Style::Plain);
        assert_eq!(
            text,
            "t.x:2:2: error[E0101]: undefined type `foo`\n  |\n2 |     foo x;\n  |     ^^^ not defined\n  = help: did you mean `food`?\n\n"
        );
    }

    #[test]
    fn suggestions_are_close_matches_only() {
        assert_eq!(
            did_you_mean("fattr4", ["fattr3", "nfsstat"]),
            Some("fattr3")
        );
        assert_eq!(did_you_mean("x", ["completely_different"]), None);
    }

    #[test]
    fn codes_are_unique() {
        let mut seen: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), Code::ALL.len());
    }
}
