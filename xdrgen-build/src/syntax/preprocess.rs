//! The C-preprocessor subset `.x` files use, built in: no system `cpp`.
//!
//! Supported: `#define NAME body` (object-like; function-like macros are
//! ignored with a warning), `#undef`, `#include "f"` / `<f>` through the
//! including file's directory and the include dirs, `#if`/`#ifdef`/
//! `#ifndef`/`#elif`/`#else`/`#endif` with `defined`, `#error`, `#warning`;
//! `#pragma`, `#ident` and line markers are ignored. Macros are *not*
//! expanded in the text: a macro name used in a definition is resolved as a
//! constant later, which is what every real file needs.
//!
//! `%` lines (first non-blank character) are rpcgen passthrough and are
//! recorded; a `%#define NAME value` among them also defines a constant.
//! Lines ending in `\` continue `#` and `%` lines, as cpp joins them.
//!
//! The output keeps byte offsets: every consumed or inactive line is
//! blanked with spaces in a copy of the text, which the parser then reads.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::ast::{Define, DefineOrigin, Ident};
use super::parser;
use crate::consteval::{self, EvalResult, Scope};
use crate::diagnostics::{Code, Diagnostic};
use crate::source::{FileId, FileLoader, SourceMap, Span, decode_text};

/// How deep `#include`s may nest.
const MAX_INCLUDE_DEPTH: usize = 32;
/// How deep macro bodies may refer to other macros in `#if`.
const MAX_MACRO_DEPTH: usize = 64;

/// One processing of one file (a file included twice appears twice).
#[derive(Debug)]
pub(crate) struct PpFile {
    pub(crate) file: FileId,
    /// The text with directives, `%` lines and inactive lines blanked.
    pub(crate) masked: String,
    /// `(offset of the #include line, index into Preprocessed::files)`.
    pub(crate) includes: Vec<(u32, usize)>,
    /// `%` lines: text after the `%`, and where the line is.
    pub(crate) passthrough: Vec<(String, Span)>,
}

/// The result of preprocessing a root file.
#[derive(Debug, Default)]
pub(crate) struct Preprocessed {
    /// `files[0]` is the root.
    pub(crate) files: Vec<PpFile>,
    /// Every object-like macro defined, in order (later ones win).
    pub(crate) defines: Vec<Define>,
}

/// Inputs to one preprocessing run.
pub(crate) struct PpConfig<'a> {
    pub(crate) loader: &'a dyn FileLoader,
    pub(crate) include_dirs: &'a [PathBuf],
    /// Macros defined before the file starts (`-D`, `RPC_HDR`, ...).
    pub(crate) predefined: &'a [Define],
}

struct Pp<'a> {
    sources: &'a mut SourceMap,
    config: &'a PpConfig<'a>,
    diags: &'a mut Vec<Diagnostic>,
    macros: BTreeMap<String, Define>,
    out: Preprocessed,
    stack: Vec<FileId>,
}

/// Preprocesses `root` (already loaded) and everything it includes.
pub(crate) fn preprocess(
    sources: &mut SourceMap,
    root: FileId,
    config: &PpConfig<'_>,
    diags: &mut Vec<Diagnostic>,
) -> Preprocessed {
    let mut pp = Pp {
        sources,
        config,
        diags,
        macros: BTreeMap::new(),
        out: Preprocessed::default(),
        stack: Vec::new(),
    };
    for d in config.predefined {
        pp.define(d.clone());
    }
    pp.file(root);
    pp.out
}

/// One open `#if` group.
#[allow(clippy::struct_excessive_bools)] // the state of a cpp conditional
struct Cond {
    /// Whether the enclosing group is active.
    parent_active: bool,
    /// Whether some branch of this group has been taken.
    taken: bool,
    /// Whether the current branch is active.
    active: bool,
    /// Whether `#else` was seen.
    seen_else: bool,
    /// Where the group started, for "unterminated" errors.
    span: Span,
}

impl Pp<'_> {
    fn define(&mut self, d: Define) {
        self.macros.insert(d.name.name.clone(), d.clone());
        self.out.defines.push(d);
    }

    /// Processes one file and returns its index in `out.files`.
    fn file(&mut self, file: FileId) -> usize {
        let index = self.out.files.len();
        self.out.files.push(PpFile {
            file,
            masked: String::new(),
            includes: Vec::new(),
            passthrough: Vec::new(),
        });
        self.stack.push(file);
        let text = self.sources.file(file).text().to_string();
        let mut masked = text.clone().into_bytes();
        let mut conds: Vec<Cond> = Vec::new();
        let mut in_comment = false;

        let lines = line_ranges(&text);
        let mut n = 0;
        while n < lines.len() {
            let (start, end) = lines[n];
            let line = &text[start..end];
            let active = conds.last().is_none_or(|c| c.active);
            let first = line.find(|c: char| !c.is_ascii_whitespace());
            let lead = first.and_then(|f| line[f..].chars().next());

            if !in_comment && (lead == Some('#') || (active && lead == Some('%'))) {
                // A logical line: joined while physical lines end in `\`.
                let mut last = n;
                while last + 1 < lines.len() && text[lines[last].0..lines[last].1].ends_with('\\') {
                    last += 1;
                }
                let logical_end = lines[last].1;
                blank(&mut masked, start, logical_end);
                let body_start = start + first.unwrap_or(0) + 1;
                if lead == Some('#') {
                    self.directive(
                        file,
                        index,
                        &text,
                        body_start,
                        logical_end,
                        start,
                        &mut conds,
                    );
                } else if active {
                    self.passthrough(file, index, &text, &lines[n..=last], body_start);
                }
                n = last + 1;
                continue;
            }
            if !active {
                blank(&mut masked, start, end);
            }
            in_comment = scan_comment_state(line, in_comment);
            n += 1;
        }
        for c in conds {
            self.diags.push(
                Diagnostic::new(Code::Conditional, "conditional directive is never closed")
                    .primary(c.span, "this group has no `#endif`"),
            );
        }
        self.stack.pop();
        // The blanking replaced whole bytes with ASCII spaces, so the text
        // is still UTF-8 (multi-byte characters became several spaces).
        self.out.files[index].masked = String::from_utf8(masked)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        index
    }

    /// Records a `%` line (joined with its continuations).
    fn passthrough(
        &mut self,
        file: FileId,
        index: usize,
        text: &str,
        lines: &[(usize, usize)],
        body_start: usize,
    ) {
        let mut joined = String::new();
        for (k, &(s, e)) in lines.iter().enumerate() {
            let part = if k == 0 {
                &text[body_start..e]
            } else {
                let raw = &text[s..e];
                let trimmed = raw.trim_start();
                trimmed.strip_prefix('%').unwrap_or(raw)
            };
            if k > 0 {
                joined.push('\n');
            }
            joined.push_str(part.trim_end_matches('\r'));
        }
        let end = lines.last().map_or(body_start, |l| l.1);
        let span = Span::new(file, lines[0].0, end);
        self.out.files[index].passthrough.push((joined, span));

        // `%#define NAME value`: a constant rpcgen copies into the C header.
        let body = text[body_start..end].trim_start();
        let Some(after_hash) = body.strip_prefix('#') else {
            return;
        };
        let directive = after_hash.trim_start();
        let Some(rest) = directive.strip_prefix("define") else {
            return;
        };
        if !rest.starts_with([' ', '\t']) {
            return;
        }
        let name_at = end - rest.len() + (rest.len() - rest.trim_start().len());
        if let Some(def) = Self::parse_define(file, text, name_at, end, DefineOrigin::Passthrough) {
            self.define(def);
        }
    }

    /// Parses `NAME body` at `text[at..end]`. Function-like macros give None.
    fn parse_define(
        file: FileId,
        text: &str,
        at: usize,
        end: usize,
        origin: DefineOrigin,
    ) -> Option<Define> {
        let rest = &text[at..end];
        let name_len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        if name_len == 0 || rest.starts_with(|c: char| c.is_ascii_digit()) {
            return None;
        }
        if rest[name_len..].starts_with('(') {
            return None;
        }
        let body_at = at + name_len;
        let body = blank_continuations(&text[body_at..end]);
        let body = body.trim_end_matches(['\r', ' ', '\t']).to_string();
        Some(Define {
            name: Ident {
                name: rest[..name_len].to_string(),
                span: Span::new(file, at, body_at),
            },
            body_span: Span::new(file, body_at, body_at + body.len()),
            body,
            origin,
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn directive(
        &mut self,
        file: FileId,
        index: usize,
        text: &str,
        body_start: usize,
        end: usize,
        line_start: usize,
        conds: &mut Vec<Cond>,
    ) {
        let body = &text[body_start..end];
        let name_off = body.len() - body.trim_start().len();
        let trimmed = body.trim_start();
        let name_len = trimmed
            .find(|c: char| !c.is_ascii_alphanumeric() && c != '_')
            .unwrap_or(trimmed.len());
        let name = &trimmed[..name_len];
        let args_at = body_start + name_off + name_len;
        let args = text[args_at..end].trim();
        let name_span = Span::new(file, body_start + name_off, args_at);
        let line_span = Span::new(file, line_start, end);
        let active = conds.last().is_none_or(|c| c.active);

        match name {
            "if" | "ifdef" | "ifndef" => {
                let value = if !active {
                    false
                } else if name == "if" {
                    self.eval_if(file, text, args_at, end, line_span)
                } else {
                    let Some(id) = self.macro_name(text, args_at, end, line_span) else {
                        conds.push(Cond {
                            parent_active: active,
                            taken: true,
                            active: false,
                            seen_else: false,
                            span: name_span,
                        });
                        return;
                    };
                    self.macros.contains_key(&id) == (name == "ifdef")
                };
                conds.push(Cond {
                    parent_active: active,
                    taken: value,
                    active: value,
                    seen_else: false,
                    span: name_span,
                });
            }
            "elif" | "else" => {
                let Some(top) = conds.last() else {
                    self.diags.push(
                        Diagnostic::new(Code::Conditional, format!("`#{name}` without `#if`"))
                            .primary(name_span, ""),
                    );
                    return;
                };
                if top.seen_else {
                    self.diags.push(
                        Diagnostic::new(Code::Conditional, format!("`#{name}` after `#else`"))
                            .primary(name_span, "")
                            .secondary(top.span, "in this group"),
                    );
                    return;
                }
                let (parent_active, taken) = (top.parent_active, top.taken);
                let value = if !parent_active || taken {
                    false
                } else if name == "elif" {
                    self.eval_if(file, text, args_at, end, line_span)
                } else {
                    true
                };
                let top = conds.last_mut().expect("checked above");
                top.active = value;
                top.taken |= value;
                top.seen_else = name == "else";
            }
            "endif" => {
                if conds.pop().is_none() {
                    self.diags.push(
                        Diagnostic::new(Code::Conditional, "`#endif` without `#if`")
                            .primary(name_span, ""),
                    );
                }
            }
            _ if !active => {}
            "define" => {
                let at = args_at + (text[args_at..end].len() - text[args_at..end].trim_start().len());
                match Self::parse_define(file, text, at, end, DefineOrigin::Directive) {
                    Some(d) => self.define(d),
                    None if text[at..end].trim().is_empty() => self.diags.push(
                        Diagnostic::new(Code::Directive, "`#define` needs a macro name")
                            .primary(line_span, ""),
                    ),
                    None => self.diags.push(
                        Diagnostic::new(Code::MacroIgnored, "function-like macro ignored")
                            .primary(Span::new(file, at, end), "")
                            .note("xdrgen does not expand macros; only object-like `#define NAME value` defines a constant"),
                    ),
                }
            }
            "undef" => {
                if let Some(id) = self.macro_name(text, args_at, end, line_span) {
                    self.macros.remove(&id);
                }
            }
            "include" => self.include(file, index, args, line_span, line_start),
            "pragma" => self.diags.push(
                Diagnostic::new(Code::PragmaIgnored, "`#pragma` ignored").primary(line_span, ""),
            ),
            "error" => self.diags.push(
                Diagnostic::new(Code::ErrorDirective, format!("#error {args}"))
                    .primary(line_span, ""),
            ),
            "warning" => self.diags.push(
                Diagnostic::new(Code::WarningDirective, format!("#warning {args}"))
                    .primary(line_span, ""),
            ),
            // The null directive, `#ident`/`#sccs` and cpp line markers.
            "" | "ident" | "sccs" | "line" => {}
            n if n.starts_with(|c: char| c.is_ascii_digit()) => {}
            other => self.diags.push(
                Diagnostic::new(Code::Directive, format!("unsupported directive `#{other}`"))
                    .primary(name_span, "")
                    .note("supported: #define #undef #include #if #ifdef #ifndef #elif #else #endif #error #warning #pragma"),
            ),
        }
    }

    fn macro_name(&mut self, text: &str, at: usize, end: usize, line_span: Span) -> Option<String> {
        let args = text[at..end].trim();
        if parser::is_identifier(args) {
            Some(args.to_string())
        } else {
            self.diags.push(
                Diagnostic::new(Code::Directive, "expected one macro name").primary(line_span, ""),
            );
            None
        }
    }

    fn eval_if(
        &mut self,
        file: FileId,
        text: &str,
        at: usize,
        end: usize,
        line_span: Span,
    ) -> bool {
        let body = blank_continuations(&text[at..end]);
        if body.trim().is_empty() {
            self.diags.push(
                Diagnostic::new(Code::IfExpr, "`#if` with no expression").primary(line_span, ""),
            );
            return false;
        }
        let expr = match parser::parse_expr(&body, at, file, true) {
            Ok(e) => e,
            Err(d) => {
                self.diags.push(retag(d, Code::IfExpr));
                return false;
            }
        };
        let mut scope = IfScope {
            macros: &self.macros,
            depth: 0,
        };
        match consteval::eval(&expr, &mut scope) {
            Ok(v) => v != 0,
            Err(d) => {
                self.diags.extend(d.map(|d| retag(d, Code::IfExpr)));
                false
            }
        }
    }

    fn include(
        &mut self,
        from: FileId,
        index: usize,
        args: &str,
        line_span: Span,
        line_start: usize,
    ) {
        let (name, quoted) = if let Some(rest) = args.strip_prefix('"') {
            (rest.split('"').next().filter(|_| rest.contains('"')), true)
        } else if let Some(rest) = args.strip_prefix('<') {
            (rest.split('>').next().filter(|_| rest.contains('>')), false)
        } else {
            (None, false)
        };
        let Some(name) = name.filter(|n| !n.is_empty()) else {
            self.diags.push(
                Diagnostic::new(
                    Code::Directive,
                    "expected `#include \"FILE\"` or `#include <FILE>`",
                )
                .primary(line_span, ""),
            );
            return;
        };
        let mut candidates = Vec::new();
        if quoted {
            if let Some(dir) = self.sources.file(from).path().and_then(Path::parent) {
                candidates.push(dir.join(name));
            }
        }
        candidates.extend(self.config.include_dirs.iter().map(|d| d.join(name)));
        let Some(path) = candidates
            .into_iter()
            .find(|p| self.config.loader.exists(p))
        else {
            let dirs: Vec<String> = self
                .config
                .include_dirs
                .iter()
                .map(|d| d.display().to_string())
                .collect();
            let mut d = Diagnostic::new(
                Code::IncludeNotFound,
                format!("cannot find include file `{name}`"),
            )
            .primary(line_span, "not found");
            d = if dirs.is_empty() {
                d.help("add the directory that holds it with `-I DIR`")
            } else {
                d.note(format!("searched: {}", dirs.join(", ")))
            };
            self.diags.push(d);
            return;
        };
        let existing = self.sources.find_path(&path);
        if let Some(id) = existing {
            if self.stack.contains(&id) {
                self.diags.push(
                    Diagnostic::new(Code::IncludeCycle, format!("`{name}` includes itself"))
                        .primary(line_span, ""),
                );
                return;
            }
        }
        if self.stack.len() >= MAX_INCLUDE_DEPTH {
            self.diags.push(
                Diagnostic::new(
                    Code::IncludeCycle,
                    format!("#include nested more than {MAX_INCLUDE_DEPTH} deep"),
                )
                .primary(line_span, ""),
            );
            return;
        }
        let id = match existing {
            Some(id) => id,
            None => match self.config.loader.load(&path) {
                Ok(bytes) => {
                    let display = path.display().to_string();
                    self.sources.add(display, Some(path), decode_text(bytes))
                }
                Err(e) => {
                    self.diags.push(
                        Diagnostic::new(
                            Code::IncludeNotFound,
                            format!("cannot read `{}`: {e}", path.display()),
                        )
                        .primary(line_span, ""),
                    );
                    return;
                }
            },
        };
        let child = self.file(id);
        self.out.files[index]
            .includes
            .push((u32::try_from(line_start).unwrap_or(u32::MAX), child));
    }
}

/// Macro values for `#if`: undefined names are 0, as in C.
struct IfScope<'a> {
    macros: &'a BTreeMap<String, Define>,
    depth: usize,
}

impl Scope for IfScope<'_> {
    fn value(&mut self, name: &Ident) -> EvalResult {
        let Some(def) = self.macros.get(&name.name) else {
            return Ok(0);
        };
        if def.body.trim().is_empty() {
            return Ok(0);
        }
        if self.depth >= MAX_MACRO_DEPTH {
            return Err(Some(
                Diagnostic::new(
                    Code::IfExpr,
                    format!("macro `{}` expands into itself", name.name),
                )
                .primary(name.span, ""),
            ));
        }
        let expr = parser::parse_expr(
            &def.body,
            def.body_span.start as usize,
            def.body_span.file,
            true,
        )
        .map_err(Some)?;
        self.depth += 1;
        let v = consteval::eval(&expr, self);
        self.depth -= 1;
        v
    }

    fn is_defined(&mut self, name: &Ident) -> bool {
        self.macros.contains_key(&name.name)
    }
}

fn retag(mut d: Diagnostic, code: Code) -> Diagnostic {
    d.code = code;
    d.severity = code.severity();
    d
}

/// `\` line continuations blanked with spaces, so the text keeps its
/// byte offsets.
fn blank_continuations(text: &str) -> String {
    text.replace("\\\r\n", "   ").replace("\\\n", "  ")
}

/// `(start, end)` byte ranges of every line, without the `\n`.
fn line_ranges(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, b) in text.bytes().enumerate() {
        if b == b'\n' {
            let end = if i > start && text.as_bytes()[i - 1] == b'\r' {
                i - 1
            } else {
                i
            };
            out.push((start, end));
            start = i + 1;
        }
    }
    if start < text.len() {
        out.push((start, text.len()));
    }
    out
}

/// Replaces `bytes[from..to]` with spaces, keeping newlines.
fn blank(bytes: &mut [u8], from: usize, to: usize) {
    for b in &mut bytes[from..to] {
        if *b != b'\n' && *b != b'\r' {
            *b = b' ';
        }
    }
}

/// Whether a block comment is still open at the end of `line`.
fn scan_comment_state(line: &str, mut in_comment: bool) -> bool {
    let b = line.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if in_comment {
            if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                in_comment = false;
                i += 2;
            } else {
                i += 1;
            }
            continue;
        }
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'*') => {
                in_comment = true;
                i += 2;
            }
            b'/' if b.get(i + 1) == Some(&b'/') => return false,
            q @ (b'"' | b'\'') => {
                i += 1;
                while i < b.len() && b[i] != q {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    in_comment
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::MemoryLoader;

    fn run(
        files: &[(&str, &str)],
        predefined: &[&str],
    ) -> (SourceMap, Preprocessed, Vec<Diagnostic>) {
        let mut loader = MemoryLoader::new();
        for (p, t) in files {
            loader.insert(*p, *t);
        }
        let mut sources = SourceMap::new();
        let cmd = predefined.join("\n");
        let cmd_id = sources.add("<command line>", None, cmd.clone());
        let mut defs = Vec::new();
        let mut off = 0;
        for p in predefined {
            defs.push(Define {
                name: Ident {
                    name: (*p).to_string(),
                    span: Span::new(cmd_id, off, off + p.len()),
                },
                body: "1".to_string(),
                body_span: Span::new(cmd_id, off, off + 1),
                origin: DefineOrigin::CommandLine,
            });
            off += p.len() + 1;
        }
        let root = sources.add(
            files[0].0,
            Some(PathBuf::from(files[0].0)),
            files[0].1.to_string(),
        );
        let config = PpConfig {
            loader: &loader,
            include_dirs: &[],
            predefined: &defs,
        };
        let mut diags = Vec::new();
        let out = preprocess(&mut sources, root, &config, &mut diags);
        (sources, out, diags)
    }

    #[test]
    fn blanks_inactive_and_keeps_offsets() {
        let src = "#ifdef RPC_HDR\nconst A = 1;\n#else\nconst B = 2;\n#endif\n";
        let (_, out, diags) = run(&[("a.x", src)], &["RPC_HDR"]);
        assert!(diags.is_empty());
        let m = &out.files[0].masked;
        assert_eq!(m.len(), src.len());
        assert!(m.contains("const A = 1;"));
        assert!(!m.contains("const B"));
    }

    #[test]
    fn percent_lines_with_continuations_and_defines() {
        let src = "%#define MAXNAMELEN LM+\\\n 1\n%#define F(x) x\n  %indented\nconst X = 1;\n";
        let (_, out, diags) = run(&[("a.x", src)], &[]);
        assert!(diags.is_empty());
        let f = &out.files[0];
        assert_eq!(f.passthrough.len(), 3);
        assert_eq!(f.passthrough[0].0, "#define MAXNAMELEN LM+\\\n 1");
        assert_eq!(f.passthrough[2].0, "indented");
        assert_eq!(out.defines.len(), 1);
        assert_eq!(out.defines[0].body, " LM+   1");
        assert!(f.masked.contains("const X = 1;"));
    }

    #[test]
    fn includes_resolve_next_to_the_file() {
        let (_, out, diags) = run(
            &[
                ("d/a.x", "#include \"b.x\"\nconst A = 1;\n"),
                ("d/b.x", "const B = 2;\n"),
            ],
            &[],
        );
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(out.files.len(), 2);
        assert_eq!(out.files[0].includes, vec![(0, 1)]);
    }

    #[test]
    fn directives_inside_comments_are_text() {
        let src = "/*\n#error not a directive\n */\nconst A = 1;\n";
        let (_, _, diags) = run(&[("a.x", src)], &[]);
        assert!(diags.is_empty());
    }

    #[test]
    fn if_expressions_use_macros() {
        let src = "#define V 3\n#if defined(V) && V * 2 == 6\nconst A = 1;\n#elif 1\nconst B = 1;\n#endif\n";
        let (_, out, diags) = run(&[("a.x", src)], &[]);
        assert!(diags.is_empty(), "{diags:?}");
        assert!(out.files[0].masked.contains("const A"));
        assert!(!out.files[0].masked.contains("const B"));
    }

    #[test]
    fn unbalanced_conditionals_are_reported() {
        let (_, _, diags) = run(&[("a.x", "#if 1\n#else\n#else\n")], &[]);
        assert_eq!(diags.len(), 2);
    }
}
