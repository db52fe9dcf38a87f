//! libvirt's magic comments on procedure enum members, as typed metadata:
//!
//! ```text
//! /**
//!  * @generate: both
//!  * @priority: high
//!  * @acl: domain:write
//!  * @acl: domain:save:!VIR_DOMAIN_AFFECT_CONFIG|VIR_DOMAIN_AFFECT_LIVE
//!  * @acl: domain:write::source:VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT
//!  * @aclfilter: domain:getattr
//!  * @readstream: 1
//!  * @sparseflag: VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM
//!  */
//! ```
//!
//! Only the comment directly before a member is read, so the long
//! explanation at the top of libvirt's enums is not taken for annotations.

#[cfg(feature = "json")]
use serde::Serialize;

use crate::diagnostics::{Code, Diagnostic};
use crate::source::Span;
use crate::syntax::ast::Comment;

/// Which side libvirt's generators write dispatch code for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "json", derive(Serialize), serde(rename_all = "snake_case"))]
pub enum Generate {
    /// Neither: both sides are written by hand.
    None,
    /// Client stubs only.
    Client,
    /// Server dispatch only.
    Server,
    /// Both.
    Both,
}

/// Whether the daemon may run the call on its high-priority workers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "json", derive(Serialize), serde(rename_all = "snake_case"))]
pub enum Priority {
    /// May block on a hypervisor monitor.
    Low,
    /// Never blocks.
    High,
}

/// One access-control rule.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(
    feature = "json",
    derive(Serialize),
    serde(tag = "kind", rename_all = "snake_case")
)]
pub enum Acl {
    /// `@acl: none`: the call needs no permission.
    None,
    /// `object:permission[:flags][::param:value]`.
    Check {
        /// The object kind (`domain`, `connect`, ...).
        object: String,
        /// The permission (`write`, `getattr`, ...).
        permission: String,
        /// The rule applies only when these call flags are set; a leading
        /// `!` negates one.
        flags: Vec<String>,
        /// The rule applies only when this unsigned parameter has this value.
        param: Option<(String, String)>,
    },
}

/// Parsed annotations of one procedure.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "json", derive(Serialize))]
pub struct Annotations {
    /// `@generate`
    pub generate: Option<Generate>,
    /// `@priority` (libvirt's default is low).
    pub priority: Option<Priority>,
    /// `@acl` rules, all of which must pass.
    pub acl: Vec<Acl>,
    /// `@aclfilter` rules, which filter list results.
    pub aclfilter: Vec<Acl>,
    /// `@readstream`: the parameter position of a stream from the daemon.
    pub readstream: Option<u32>,
    /// `@writestream`: the parameter position of a stream to the daemon.
    pub writestream: Option<u32>,
    /// `@sparseflag`: the flag that turns on sparse streams.
    pub sparseflag: Option<String>,
}

/// Parses the annotations in the comment right before a member. Returns
/// None when that comment has no `@key:` lines.
pub(crate) fn parse(docs: &[Comment], diags: &mut Vec<Diagnostic>) -> Option<Annotations> {
    let comment = docs.last()?;
    let mut out = Annotations::default();
    let mut any = false;
    // `/*` precedes the text; offsets below are relative to the text.
    let text_start = comment.span.start as usize + 2;
    let mut line_at = 0;
    for line in comment.text.split('\n') {
        let at = line_at;
        line_at += line.len() + 1;
        let stripped = line.trim_start();
        let stripped = stripped.strip_prefix('*').unwrap_or(stripped).trim_start();
        let Some(body) = stripped.strip_prefix('@') else {
            continue;
        };
        let Some((key, value)) = body.split_once(':') else {
            continue;
        };
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        any = true;
        let value = value.trim().trim_end_matches("*/").trim();
        let offset = text_start + at + (line.len() - stripped.len()) - 1;
        let span = Span::new(
            comment.span.file,
            offset,
            offset + 1 + body.trim_end().len(),
        );
        let bad = |what: &str| {
            Diagnostic::new(
                Code::Annotation,
                format!("invalid `@{key}` value `{value}`"),
            )
            .primary(span, "")
            .help(what.to_string())
        };
        match key {
            "generate" => match value {
                "none" => out.generate = Some(Generate::None),
                "client" => out.generate = Some(Generate::Client),
                "server" => out.generate = Some(Generate::Server),
                "both" => out.generate = Some(Generate::Both),
                _ => diags.push(bad("expected one of `none`, `client`, `server`, `both`")),
            },
            "priority" => match value {
                "low" => out.priority = Some(Priority::Low),
                "high" => out.priority = Some(Priority::High),
                _ => diags.push(bad("expected `low` or `high`")),
            },
            "acl" | "aclfilter" => match parse_acl(value) {
                Some(acl) if key == "acl" => out.acl.push(acl),
                Some(acl) => out.aclfilter.push(acl),
                None => diags.push(bad(
                    "expected `none`, `object:permission`, `object:permission:flag` or `object:permission::param:value`",
                )),
            },
            "readstream" | "writestream" => match value.parse::<u32>() {
                Ok(n) if key == "readstream" => out.readstream = Some(n),
                Ok(n) => out.writestream = Some(n),
                Err(_) => diags.push(bad("expected a parameter position")),
            },
            "sparseflag" => {
                if value.is_empty() {
                    diags.push(bad("expected a flag name"));
                } else {
                    out.sparseflag = Some(value.to_string());
                }
            }
            _ => diags.push(
                Diagnostic::new(Code::UnknownAnnotation, format!("unknown annotation `@{key}`"))
                    .primary(span, "")
                    .note("known: @generate @priority @acl @aclfilter @readstream @writestream @sparseflag"),
            ),
        }
    }
    any.then_some(out)
}

fn parse_acl(value: &str) -> Option<Acl> {
    if value == "none" {
        return Some(Acl::None);
    }
    let word = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    let mut parts = value.splitn(3, ':');
    let object = parts.next()?;
    let permission = parts.next()?;
    if !word(object) || !word(permission) {
        return None;
    }
    let mut flags = Vec::new();
    let mut param = None;
    if let Some(rest) = parts.next() {
        if let Some(check) = rest.strip_prefix(':') {
            let (p, v) = check.split_once(':')?;
            if !word(p) || !word(v) {
                return None;
            }
            param = Some((p.to_string(), v.to_string()));
        } else {
            for flag in rest.split('|') {
                if !word(flag.trim_start_matches('!')) {
                    return None;
                }
                flags.push(flag.to_string());
            }
        }
    }
    Some(Acl::Check {
        object: object.to_string(),
        permission: permission.to_string(),
        flags,
        param,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{FileId, SourceMap};

    fn comment(text: &str) -> (Vec<Comment>, FileId) {
        let mut map = SourceMap::new();
        let id = map.add("t.x", None, format!("/*{text}*/"));
        (
            vec![Comment {
                text: text.to_string(),
                span: Span::new(id, 0, text.len() + 4),
            }],
            id,
        )
    }

    #[test]
    fn parses_libvirt_annotations() {
        let (docs, _) = comment(
            "*\n * @generate: both\n * @priority: high\n * @acl: domain:write\n * @acl: domain:save:!A|B\n * @acl: domain:write::source:SRC\n * @readstream: 1\n ",
        );
        let mut diags = Vec::new();
        let a = parse(&docs, &mut diags).unwrap();
        assert!(diags.is_empty());
        assert_eq!(a.generate, Some(Generate::Both));
        assert_eq!(a.priority, Some(Priority::High));
        assert_eq!(a.acl.len(), 3);
        assert_eq!(
            a.acl[1],
            Acl::Check {
                object: "domain".into(),
                permission: "save".into(),
                flags: vec!["!A".into(), "B".into()],
                param: None
            }
        );
        assert_eq!(a.readstream, Some(1));
    }

    #[test]
    fn reports_bad_values_and_unknown_keys() {
        let (docs, _) = comment("* @generate: sometimes\n * @colour: blue\n");
        let mut diags = Vec::new();
        parse(&docs, &mut diags);
        assert_eq!(diags.len(), 2);
        assert_eq!(diags[0].code, Code::Annotation);
        assert_eq!(diags[1].code, Code::UnknownAnnotation);
    }

    #[test]
    fn explanatory_lines_are_not_annotations() {
        let (docs, _) = comment("\n * - @generate: none|client|server|both\n");
        let mut diags = Vec::new();
        assert!(parse(&docs, &mut diags).is_none());
        assert!(diags.is_empty());
    }
}
