//! The JSON rendering (feature `json`): every value with its name, XDR
//! type, offset and length. The shape is documented in the README's
//! `xdrgen dump` section.

use serde_json::{Map, Value as Json, json};

use super::text::hex;
use super::value::{Decoded, DumpError, Node, Value};
use super::{Dump, Message};

/// The format version of [`dump`]'s and [`decoded`]'s output.
pub const DUMP_JSON_VERSION: u32 = 1;

/// A decoded value as JSON.
pub fn decoded(d: &Decoded) -> Json {
    json!({
        "xdrgen_dump_version": DUMP_JSON_VERSION,
        "value": node(&d.node),
        "end": d.end,
        "error": error(d.error.as_ref()),
    })
}

/// Every message of a dump as JSON.
pub fn dump(d: &Dump) -> Json {
    json!({
        "xdrgen_dump_version": DUMP_JSON_VERSION,
        "framing": match d.framing {
            super::Framing::Onc => "onc",
            super::Framing::Libvirt => "libvirt",
        },
        "streams": d.streams.iter().map(|s| json!({
            "src": s.endpoints.map(|e| e.0.to_string()),
            "dst": s.endpoints.map(|e| e.1.to_string()),
            "transport": s.transport.map(super::Transport::as_str),
            "connection": s.connection,
            "len": s.len,
            "gap": s.gap,
        })).collect::<Vec<_>>(),
        "skipped_packets": d.skipped_packets,
        "messages": d.messages.iter().map(message).collect::<Vec<_>>(),
    })
}

fn error(e: Option<&DumpError>) -> Json {
    e.map_or(
        Json::Null,
        |e| json!({ "offset": e.offset, "message": e.message }),
    )
}

fn message(m: &Message) -> Json {
    json!({
        "stream": m.stream,
        "stream_offset": m.stream_offset,
        "stream_len": m.stream_len,
        "frames": m.frames.map(|(a, b)| [a, b]),
        "kind": m.kind.as_str(),
        "xid": m.xid,
        "program": m.program,
        "program_name": m.program_name,
        "version": m.version,
        "procedure": m.procedure,
        "procedure_name": m.procedure_name,
        "status": m.status,
        "call": m.call,
        "header": node(&m.header),
        "body": m.body.as_ref().map(node),
        "error": error(m.error.as_ref()),
    })
}

fn int(i: i128) -> Json {
    if let Ok(v) = i64::try_from(i) {
        json!(v)
    } else if let Ok(v) = u64::try_from(i) {
        json!(v)
    } else {
        json!(i.to_string())
    }
}

/// One value: `name`, `type`, `offset`, `len`, `kind`, and by kind
/// `value` (scalars, hex for opaque data), `member` (enums), `fields`
/// (structs), `items` (arrays, lists), `discriminant`/`arm` (unions),
/// `present`/`value` (optionals).
pub fn node(n: &Node) -> Json {
    let mut o = Map::new();
    o.insert("name".into(), json!(n.name));
    o.insert("type".into(), json!(n.ty));
    o.insert("offset".into(), json!(n.offset));
    o.insert("len".into(), json!(n.len));
    let (kind, rest): (&str, Vec<(&str, Json)>) = match &n.value {
        Value::Int(i) => ("int", vec![("value", int(*i))]),
        Value::Bool(b) => ("bool", vec![("value", json!(b))]),
        Value::Float(f) => ("float", vec![("value", json!(f))]),
        Value::Quadruple(q) => ("quadruple", vec![("value", json!(hex(q)))]),
        Value::Enum { value, member } => (
            "enum",
            vec![("value", json!(value)), ("member", json!(member))],
        ),
        Value::Opaque(b) => ("opaque", vec![("value", json!(hex(b)))]),
        Value::Raw(b) => ("raw", vec![("value", json!(hex(b)))]),
        Value::String(s) => (
            "string",
            vec![
                ("value", json!(String::from_utf8_lossy(s))),
                ("utf8", json!(std::str::from_utf8(s).is_ok())),
            ],
        ),
        Value::Struct(c) => ("struct", vec![("fields", c.iter().map(node).collect())]),
        Value::Array(c) => ("array", vec![("items", c.iter().map(node).collect())]),
        Value::List(c) => ("list", vec![("items", c.iter().map(node).collect())]),
        Value::Union { discriminant, arm } => (
            "union",
            vec![
                ("discriminant", node(discriminant)),
                ("arm", arm.as_deref().map_or(Json::Null, node)),
            ],
        ),
        Value::Optional(inner) => (
            "optional",
            vec![
                ("present", json!(inner.is_some())),
                ("value", inner.as_deref().map_or(Json::Null, node)),
            ],
        ),
        Value::Void => ("void", vec![]),
        Value::Missing => ("missing", vec![]),
    };
    o.insert("kind".into(), json!(kind));
    for (k, v) in rest {
        o.insert(k.into(), v);
    }
    Json::Object(o)
}
