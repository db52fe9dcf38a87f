//! The human-readable rendering: one line per value, indented by depth,
//! with its offset, name, XDR type and value.

use std::fmt::Write;

use super::value::{Decoded, Node, Value};
use super::{Dump, Message};

/// How many bytes of opaque data a line shows before eliding the rest.
const SHOWN_BYTES: usize = 64;

/// Renders a decoded value.
pub fn decoded(d: &Decoded) -> String {
    let mut out = String::new();
    node(&mut out, &d.node, 0);
    if let Some(e) = &d.error {
        let _ = writeln!(out, "error {e}");
    }
    out
}

/// Renders every message of a dump.
pub fn dump(d: &Dump) -> String {
    let mut out = String::new();
    for (i, m) in d.messages.iter().enumerate() {
        message(&mut out, d, i, m);
    }
    for s in &d.streams {
        if let Some(gap) = &s.gap {
            let _ = writeln!(out, "capture: {gap}{}", endpoints(s));
        }
    }
    if d.skipped_packets > 0 {
        let carried = match d.framing {
            super::Framing::Onc => "not TCP, or UDP but not ONC RPC,",
            super::Framing::Libvirt => "not TCP",
        };
        let _ = writeln!(
            out,
            "capture: {} packet(s) were {carried} and were skipped",
            d.skipped_packets
        );
    }
    out
}

/// ` (A -> B)` for a TCP stream, ` (udp A -> B)` for UDP datagrams.
fn endpoints(s: &super::StreamInfo) -> String {
    let udp = if s.transport == Some(super::Transport::Udp) {
        "udp "
    } else {
        ""
    };
    s.endpoints
        .map_or_else(String::new, |(a, b)| format!(" ({udp}{a} -> {b})"))
}

fn message(out: &mut String, d: &Dump, i: usize, m: &Message) {
    let _ = write!(out, "#{} {}", i + 1, m.kind.as_str().to_uppercase());
    if let Some(xid) = m.xid {
        let label = match d.framing {
            super::Framing::Onc => "xid",
            super::Framing::Libvirt => "serial",
        };
        let _ = write!(out, " {label}={xid:#x}");
    }
    let name = |n: &Option<String>, v: Option<u32>| match (n, v) {
        (Some(label), Some(number)) => format!("{label}({number})"),
        (None, Some(number)) => number.to_string(),
        (_, None) => "?".to_string(),
    };
    if m.program.is_some() {
        let _ = write!(
            out,
            " {} v{} {}",
            name(&m.program_name, m.program),
            m.version.map_or_else(|| "?".to_string(), |v| v.to_string()),
            name(&m.procedure_name, m.procedure),
        );
    }
    if let Some(s) = &m.status {
        let _ = write!(out, " {s}");
    }
    if let Some(c) = m.call {
        let _ = write!(out, " (reply to #{})", c + 1);
    }
    if let Some((first, last)) = m.frames {
        if first == last {
            let _ = write!(out, " frame {first}");
        } else {
            let _ = write!(out, " frames {first}-{last}");
        }
    }
    let stream = d.streams.get(m.stream);
    let _ = writeln!(
        out,
        "{} @{}+{}",
        stream.map(endpoints).unwrap_or_default(),
        m.stream_offset,
        m.stream_len
    );
    node(out, &m.header, 1);
    if let Some(body) = &m.body {
        node(out, body, 1);
    }
    if let Some(e) = &m.error {
        let _ = writeln!(out, "  error {e}");
    }
}

fn node(out: &mut String, n: &Node, depth: usize) {
    let pad = "  ".repeat(depth);
    let name = n.name.as_deref().unwrap_or("-");
    let _ = write!(out, "{pad}{:>5} {name}: {}", n.offset, n.ty);
    let children: Vec<&Node> = match &n.value {
        Value::Struct(c) | Value::Array(c) | Value::List(c) => {
            let _ = match &n.value {
                Value::Struct(_) => writeln!(out),
                _ => writeln!(out, " ({} item(s))", c.len()),
            };
            c.iter().collect()
        }
        Value::Union { discriminant, arm } => {
            let _ = writeln!(out);
            std::iter::once(discriminant.as_ref())
                .chain(arm.as_deref())
                .collect()
        }
        Value::Optional(inner) => {
            let _ = writeln!(out, "{}", if inner.is_some() { "" } else { " = absent" });
            inner.as_deref().into_iter().collect()
        }
        other => {
            let _ = writeln!(out, " = {}", scalar(other));
            Vec::new()
        }
    };
    for c in children {
        node(out, c, depth + 1);
    }
}

/// A leaf value as text.
pub fn scalar(v: &Value) -> String {
    match v {
        Value::Int(i) => i.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Quadruple(q) => hex(q),
        Value::Enum { value, member } => match member {
            Some(m) => format!("{m} ({value})"),
            None => value.to_string(),
        },
        Value::Opaque(b) | Value::Raw(b) => {
            let shown = &b[..b.len().min(SHOWN_BYTES)];
            let more = if b.len() > SHOWN_BYTES { "..." } else { "" };
            if b.is_empty() {
                "[0]".to_string()
            } else {
                format!("[{}] {}{more}", b.len(), hex(shown))
            }
        }
        Value::String(s) => format!("{:?}", String::from_utf8_lossy(s)),
        Value::Void => "void".to_string(),
        Value::Missing => "<missing>".to_string(),
        Value::Struct(_) | Value::Array(_) | Value::List(_) | Value::Union { .. } => String::new(),
        Value::Optional(_) => String::new(),
    }
}

/// Lower-case hex without separators.
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}
