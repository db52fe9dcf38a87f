//! RPC framing: splitting a byte stream into messages, decoding their
//! headers, matching replies to calls, and decoding bodies as the
//! procedure's types from the `.x` file.
//!
//! ONC RPC (RFC 5531): record marking (§11), then `rpc_msg`; replies are
//! matched to calls by xid on the same connection. libvirt: a 4-byte
//! length that counts itself, then six header words (program, version,
//! procedure, type, serial, status); replies are matched by program and
//! serial. Procedures come from the module's `program` blocks (ONC) or
//! libvirt's `<p>_procedure` enums ([`crate::ir::LibvirtProgram`]).

use std::collections::HashMap;

use super::value::{Decoder, DumpError, DumpLimits, Node, Value, signed};
use crate::ir::{LibvirtProgram, Module, Procedure, Ty};

/// How messages are laid out in a stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// ONC RPC over TCP: record marking, `rpc_msg` headers.
    Onc,
    /// libvirt's RPC: length-prefixed packets with a six-word header.
    Libvirt,
}

/// What a message is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageKind {
    /// A call.
    Call,
    /// A reply.
    Reply,
    /// A libvirt event (`VIR_NET_MESSAGE`).
    Event,
    /// A libvirt stream packet (`VIR_NET_STREAM`).
    Stream,
    /// A libvirt stream hole (`VIR_NET_STREAM_HOLE`).
    StreamHole,
    /// Bytes that are no complete message: the header is unreadable or
    /// the stream ends inside the message.
    Broken,
}

impl MessageKind {
    /// The lower-case name used in output.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Call => "call",
            MessageKind::Reply => "reply",
            MessageKind::Event => "event",
            MessageKind::Stream => "stream",
            MessageKind::StreamHole => "stream_hole",
            MessageKind::Broken => "broken",
        }
    }
}

/// One decoded message. Node offsets count from the message's first byte
/// after framing (the ONC record's data, the libvirt packet's length word).
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    /// Which stream it came from (an index into [`super::Dump::streams`]).
    pub stream: usize,
    /// Where its framing starts in the stream.
    pub stream_offset: usize,
    /// Its size in the stream, framing included.
    pub stream_len: usize,
    /// The capture frames holding its first and last byte.
    pub frames: Option<(u64, u64)>,
    /// What it is.
    pub kind: MessageKind,
    /// The ONC xid or the libvirt serial.
    pub xid: Option<u32>,
    /// Program number (a reply's comes from its call under ONC).
    pub program: Option<u32>,
    /// The program's name in the `.x` file.
    pub program_name: Option<String>,
    /// Version number.
    pub version: Option<u32>,
    /// Procedure number.
    pub procedure: Option<u32>,
    /// The procedure's name in the `.x` file.
    pub procedure_name: Option<String>,
    /// The status: ONC `accept_stat`/`reject_stat` or libvirt's status
    /// (`SUCCESS`, `MSG_DENIED`, `OK`, `ERROR`, `CONTINUE`).
    pub status: Option<String>,
    /// For a reply: the index of its call in [`super::Dump::messages`].
    pub call: Option<usize>,
    /// The header fields.
    pub header: Node,
    /// The body: arguments, results, event, error or stream data.
    pub body: Option<Node>,
    /// The first problem decoding the message.
    pub error: Option<DumpError>,
}

/// Largest message accepted: more than any real protocol sends (libvirt
/// caps packets at 32 MiB), so a corrupt length is reported, not trusted.
pub const MAX_MESSAGE: usize = 64 << 20;

/// A message cut out of a stream: its bytes, where it was, and a framing
/// problem if any.
pub(crate) struct Framed {
    pub(crate) bytes: Vec<u8>,
    pub(crate) offset: usize,
    pub(crate) len: usize,
    pub(crate) error: Option<String>,
}

/// Splits a stream into messages. A framing error ends the stream (there
/// is no way to find the next message), and is the last item.
pub(crate) fn split(framing: Framing, stream: &[u8]) -> Vec<Framed> {
    match framing {
        Framing::Onc => split_records(stream),
        Framing::Libvirt => split_packets(stream),
    }
}

/// Whether a datagram starts like an ONC RPC message: a CALL of RPC
/// version 2, or a REPLY that is MSG_ACCEPTED or MSG_DENIED.
pub(crate) fn looks_like_onc(datagram: &[u8]) -> bool {
    datagram.len() >= 12
        && matches!(
            (be32(&datagram[4..]), be32(&datagram[8..])),
            (0, 2) | (1, 0 | 1)
        )
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// RFC 5531 §11: fragments of up to 2^31-1 bytes, the high bit of each
/// header marking the last fragment of a record.
fn split_records(stream: &[u8]) -> Vec<Framed> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < stream.len() {
        let start = pos;
        let mut bytes = Vec::new();
        let error = loop {
            if stream.len() - pos < 4 {
                break Some(format!(
                    "the stream ends inside a record mark ({} byte(s) left)",
                    stream.len() - pos
                ));
            }
            let mark = be32(&stream[pos..]);
            let last = mark & 0x8000_0000 != 0;
            let len = (mark & 0x7fff_ffff) as usize;
            if bytes.len() + len > MAX_MESSAGE {
                break Some(format!(
                    "record of more than {MAX_MESSAGE} bytes (fragment length {len}): not ONC RPC record marking?"
                ));
            }
            if stream.len() - pos - 4 < len {
                bytes.extend_from_slice(&stream[pos + 4..]);
                pos = stream.len();
                break Some(format!(
                    "the stream ends inside a record fragment of {len} bytes"
                ));
            }
            bytes.extend_from_slice(&stream[pos + 4..pos + 4 + len]);
            pos += 4 + len;
            if last {
                break None;
            }
        };
        let stop = error.is_some();
        out.push(Framed {
            bytes,
            offset: start,
            len: pos - start,
            error,
        });
        if stop {
            break;
        }
    }
    out
}

/// libvirt's length-prefixed packets: the length counts its own 4 bytes
/// and the 24-byte header.
fn split_packets(stream: &[u8]) -> Vec<Framed> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < stream.len() {
        let left = stream.len() - pos;
        let (len, error) = if left < 4 {
            (
                left,
                Some(format!(
                    "the stream ends inside a length word ({left} byte(s) left)"
                )),
            )
        } else {
            let n = be32(&stream[pos..]) as usize;
            if n < 28 {
                (
                    left,
                    Some(format!("packet length {n} is less than the 28-byte header")),
                )
            } else if n > MAX_MESSAGE {
                (
                    left,
                    Some(format!(
                        "packet length {n} is more than {MAX_MESSAGE}: not libvirt framing?"
                    )),
                )
            } else if n > left {
                (
                    left,
                    Some(format!("the stream ends inside a packet of {n} bytes")),
                )
            } else {
                (n, None)
            }
        };
        let stop = error.is_some();
        out.push(Framed {
            bytes: stream[pos..pos + len].to_vec(),
            offset: pos,
            len,
            error,
        });
        pos += len;
        if stop {
            break;
        }
    }
    out
}

/// What a call left for its reply to be decoded by.
#[derive(Clone, Copy)]
struct CallInfo {
    index: usize,
    program: u32,
    version: u32,
    procedure: u32,
}

/// Decodes messages one after another, remembering calls so replies find
/// them.
pub(crate) struct RpcDecoder<'a> {
    module: &'a Module,
    framing: Framing,
    limits: DumpLimits,
    /// (connection, program (libvirt only), xid/serial) → the call.
    calls: HashMap<(usize, u32, u32), CallInfo>,
}

impl<'a> RpcDecoder<'a> {
    pub(crate) fn new(module: &'a Module, framing: Framing, limits: DumpLimits) -> Self {
        RpcDecoder {
            module,
            framing,
            limits,
            calls: HashMap::new(),
        }
    }

    /// Decodes one framed message; `index` is the number it will have in
    /// the output, `connection` groups both directions of a connection.
    pub(crate) fn message(
        &mut self,
        framed: &Framed,
        stream: usize,
        connection: usize,
        index: usize,
    ) -> Message {
        let mut message = Message {
            stream,
            stream_offset: framed.offset,
            stream_len: framed.len,
            frames: None,
            kind: MessageKind::Broken,
            xid: None,
            program: None,
            program_name: None,
            version: None,
            procedure: None,
            procedure_name: None,
            status: None,
            call: None,
            header: Node {
                name: Some("header".to_string()),
                ty: String::new(),
                offset: 0,
                len: 0,
                value: Value::Missing,
            },
            body: None,
            error: None,
        };
        if let Some(e) = &framed.error {
            message.error = Some(DumpError {
                offset: 0,
                message: e.clone(),
            });
            message.body = Some(Node {
                name: Some("data".to_string()),
                ty: "opaque".to_string(),
                offset: 0,
                len: framed.bytes.len(),
                value: Value::Raw(framed.bytes.clone()),
            });
            return message;
        }
        match self.framing {
            Framing::Onc => self.onc(&framed.bytes, connection, index, &mut message),
            Framing::Libvirt => self.libvirt(&framed.bytes, connection, index, &mut message),
        }
        message
    }

    fn onc(&mut self, bytes: &[u8], connection: usize, index: usize, m: &mut Message) {
        let mut d = Decoder::new(self.module, bytes, 0, self.limits);
        let mut header = Vec::new();
        let (node, xid) = d.header_word("xid", "unsigned int", false);
        header.push(node);
        let (node, msg_type) = d.header_enum("mtype", "msg_type", &|v| match v {
            0 => Some("CALL"),
            1 => Some("REPLY"),
            _ => None,
        });
        header.push(node);
        m.xid = xid;
        let body = match msg_type {
            Some(0) => {
                m.kind = MessageKind::Call;
                self.onc_call(&mut d, &mut header, connection, index, m)
            }
            Some(1) => {
                m.kind = MessageKind::Reply;
                self.onc_reply(&mut d, &mut header, connection, m)
            }
            Some(other) => {
                d.fail(format!(
                    "msg_type {other} is neither CALL (0) nor REPLY (1)"
                ));
                None
            }
            None => None,
        };
        m.header = d.group("header", "rpc_msg", 0, header);
        let decoded = d.finish(
            body.unwrap_or_else(|| Node {
                name: Some("body".to_string()),
                ty: "void".to_string(),
                offset: m.header.len,
                len: 0,
                value: Value::Void,
            }),
            true,
        );
        m.body = Some(decoded.node);
        m.error = decoded.error;
    }

    fn opaque_auth(d: &mut Decoder<'_>, name: &str) -> Node {
        let at = d.offset();
        let (flavor, _) = d.header_enum("flavor", "auth_flavor", &|v| match v {
            0 => Some("AUTH_NONE"),
            1 => Some("AUTH_SYS"),
            2 => Some("AUTH_SHORT"),
            3 => Some("AUTH_DH"),
            6 => Some("RPCSEC_GSS"),
            _ => None,
        });
        let mut body = d.header_opaque("body", 400);
        if let (Some(1), Value::Opaque(bytes)) = (flavor_value(&flavor), &body.value) {
            body = Self::auth_sys(d.module(), bytes, body.offset + 4, body.clone());
        }
        d.group(name, "opaque_auth", at, vec![flavor, body])
    }

    /// An AUTH_SYS body (RFC 5531 appendix A) decoded in place; if it does
    /// not decode, the opaque bytes stay as they were (the message itself
    /// is not wrong: the server judges credentials).
    fn auth_sys(module: &Module, bytes: &[u8], base: usize, opaque: Node) -> Node {
        use crate::ir::{Len, Prim};
        let mut d = Decoder::new(module, bytes, base, DumpLimits::default());
        let uint = Ty::Prim(Prim::UInt);
        let fields = vec![
            d.ty(Some("stamp"), &uint),
            d.ty(Some("machinename"), &Ty::String(Some(255))),
            d.ty(Some("uid"), &uint),
            d.ty(Some("gid"), &uint),
            d.ty(
                Some("gids"),
                &Ty::Array {
                    elem: Box::new(uint.clone()),
                    len: Len::Variable(Some(16)),
                },
            ),
        ];
        let node = d.group("body", "authsys_parms", opaque.offset, fields);
        let decoded = d.finish(node, true);
        if decoded.error.is_some() {
            return opaque;
        }
        Node {
            len: opaque.len,
            ..decoded.node
        }
    }

    fn onc_call(
        &mut self,
        d: &mut Decoder<'_>,
        header: &mut Vec<Node>,
        connection: usize,
        index: usize,
        m: &mut Message,
    ) -> Option<Node> {
        let (node, rpcvers) = d.header_word("rpcvers", "unsigned int", false);
        header.push(node);
        let (node, prog) = d.header_word("prog", "unsigned int", false);
        header.push(node);
        let (node, vers) = d.header_word("vers", "unsigned int", false);
        header.push(node);
        let (node, proc_) = d.header_word("proc", "unsigned int", false);
        header.push(node);
        header.push(Self::opaque_auth(d, "cred"));
        header.push(Self::opaque_auth(d, "verf"));
        m.program = prog;
        m.version = vers;
        m.procedure = proc_;
        if d.failed() {
            return None;
        }
        if rpcvers != Some(2) {
            d.fail(format!("rpcvers is {}, not 2", rpcvers.unwrap_or_default()));
            return None;
        }
        let (prog, vers, proc_) = (prog?, vers?, proc_?);
        if let Some(xid) = m.xid {
            self.calls.insert(
                (connection, 0, xid),
                CallInfo {
                    index,
                    program: prog,
                    version: vers,
                    procedure: proc_,
                },
            );
        }
        let found = self.onc_procedure(prog, vers, proc_);
        m.program_name = found.map(|(p, _)| p.to_string());
        match found {
            Some((_, procedure)) => {
                m.procedure_name = Some(procedure.name.xdr.clone());
                let at = d.offset();
                let mut args = Vec::with_capacity(procedure.args.len());
                for arg in &procedure.args {
                    args.push(d.ty(Some(&arg.name.xdr), &arg.ty));
                    if d.failed() {
                        break;
                    }
                }
                let ty = procedure
                    .args
                    .iter()
                    .map(|a| self.module.xdr_spelling(&a.ty))
                    .collect::<Vec<_>>()
                    .join(", ");
                Some(d.group("args", if ty.is_empty() { "void" } else { &ty }, at, args))
            }
            None => Some(d.rest("args", "unknown procedure")),
        }
    }

    /// The program's name and the procedure, if the module declares them.
    fn onc_procedure(&self, prog: u32, vers: u32, proc_: u32) -> Option<(&'a str, &'a Procedure)> {
        let module = self.module;
        let program = module.programs.iter().find(|p| p.number == prog)?;
        let version = program.versions.iter().find(|v| v.number == vers)?;
        let procedure = version.procedures.iter().find(|p| p.number == proc_)?;
        Some((program.name.xdr.as_str(), procedure))
    }

    fn onc_reply(
        &mut self,
        d: &mut Decoder<'_>,
        header: &mut Vec<Node>,
        connection: usize,
        m: &mut Message,
    ) -> Option<Node> {
        let call = m
            .xid
            .and_then(|xid| self.calls.get(&(connection, 0, xid)).copied());
        if let Some(c) = call {
            m.call = Some(c.index);
            m.program = Some(c.program);
            m.version = Some(c.version);
            m.procedure = Some(c.procedure);
        }
        let (node, stat) = d.header_enum("stat", "reply_stat", &|v| match v {
            0 => Some("MSG_ACCEPTED"),
            1 => Some("MSG_DENIED"),
            _ => None,
        });
        header.push(node);
        match stat? {
            0 => {
                header.push(Self::opaque_auth(d, "verf"));
                let (node, accept) = d.header_enum("accept_stat", "accept_stat", &|v| {
                    Some(match v {
                        0 => "SUCCESS",
                        1 => "PROG_UNAVAIL",
                        2 => "PROG_MISMATCH",
                        3 => "PROC_UNAVAIL",
                        4 => "GARBAGE_ARGS",
                        5 => "SYSTEM_ERR",
                        _ => return None,
                    })
                });
                m.status = enum_member(&node);
                header.push(node);
                match accept? {
                    0 => {}
                    2 => {
                        let at = d.offset();
                        let (low, _) = d.header_word("low", "unsigned int", false);
                        let (high, _) = d.header_word("high", "unsigned int", false);
                        header.push(d.group("mismatch_info", "struct", at, vec![low, high]));
                        return None;
                    }
                    1 | 3..=5 => return None,
                    other => {
                        d.fail(format!("accept_stat {other} is not one RFC 5531 defines"));
                        return None;
                    }
                }
                let Some(c) = call else {
                    return Some(d.rest("results", "no call seen for this xid"));
                };
                let found = self.onc_procedure(c.program, c.version, c.procedure);
                m.program_name = found.map(|(p, _)| p.to_string());
                let Some((_, procedure)) = found else {
                    return Some(d.rest("results", "unknown procedure"));
                };
                m.procedure_name = Some(procedure.name.xdr.clone());
                Some(match &procedure.result {
                    Some(ty) => d.ty(Some("results"), ty),
                    None => Node {
                        name: Some("results".to_string()),
                        ty: "void".to_string(),
                        offset: d.offset(),
                        len: 0,
                        value: Value::Void,
                    },
                })
            }
            1 => {
                let (node, reject) = d.header_enum("reject_stat", "reject_stat", &|v| match v {
                    0 => Some("RPC_MISMATCH"),
                    1 => Some("AUTH_ERROR"),
                    _ => None,
                });
                m.status = enum_member(&node);
                header.push(node);
                match reject? {
                    0 => {
                        let at = d.offset();
                        let (low, _) = d.header_word("low", "unsigned int", false);
                        let (high, _) = d.header_word("high", "unsigned int", false);
                        header.push(d.group("mismatch_info", "struct", at, vec![low, high]));
                    }
                    1 => {
                        let (node, _) = d.header_word("auth_stat", "auth_stat", false);
                        header.push(node);
                    }
                    other => d.fail(format!("reject_stat {other} is not one RFC 5531 defines")),
                }
                None
            }
            other => {
                d.fail(format!(
                    "reply_stat {other} is neither MSG_ACCEPTED nor MSG_DENIED"
                ));
                None
            }
        }
    }

    fn libvirt(&mut self, bytes: &[u8], connection: usize, index: usize, m: &mut Message) {
        let mut d = Decoder::new(self.module, bytes, 0, self.limits);
        let mut header = Vec::new();
        let (node, _) = d.header_word("length", "unsigned int", false);
        header.push(node);
        let (node, prog) = d.header_word("prog", "unsigned int", false);
        header.push(node);
        let (node, vers) = d.header_word("vers", "unsigned int", false);
        header.push(node);
        let (node, proc_) = d.header_word("proc", "int", true);
        header.push(node);
        let (node, kind) = d.header_enum("type", "virNetMessageType", &|v| {
            Some(match v {
                0 => "VIR_NET_CALL",
                1 => "VIR_NET_REPLY",
                2 => "VIR_NET_MESSAGE",
                3 => "VIR_NET_STREAM",
                4 => "VIR_NET_CALL_WITH_FDS",
                5 => "VIR_NET_REPLY_WITH_FDS",
                6 => "VIR_NET_STREAM_HOLE",
                _ => return None,
            })
        });
        header.push(node);
        let (node, serial) = d.header_word("serial", "unsigned int", false);
        header.push(node);
        let (node, status) = d.header_enum("status", "virNetMessageStatus", &|v| {
            Some(match v {
                0 => "VIR_NET_OK",
                1 => "VIR_NET_ERROR",
                2 => "VIR_NET_CONTINUE",
                _ => return None,
            })
        });
        m.status = enum_member(&node).map(|s| s.trim_start_matches("VIR_NET_").to_string());
        header.push(node);
        if matches!(kind, Some(4 | 5)) {
            let (node, _) = d.header_word("nfds", "unsigned int", false);
            header.push(node);
        }
        m.header = d.group("header", "virNetMessageHeader", 0, header);
        m.xid = serial;
        m.program = prog;
        m.version = vers;
        m.procedure = proc_;
        let body = match (prog, proc_, kind, status) {
            (Some(prog), Some(proc_), Some(kind), Some(status)) => {
                self.libvirt_body(&mut d, m, (prog, proc_, kind, status), connection, index)
            }
            _ => None,
        };
        let body = body.unwrap_or_else(|| Node {
            name: Some("body".to_string()),
            ty: "void".to_string(),
            offset: d.offset(),
            len: 0,
            value: Value::Void,
        });
        let decoded = d.finish(body, true);
        m.body = Some(decoded.node);
        m.error = decoded.error;
    }

    fn libvirt_body(
        &mut self,
        d: &mut Decoder<'_>,
        m: &mut Message,
        (prog, proc_, kind, status): (u32, u32, u32, u32),
        connection: usize,
        index: usize,
    ) -> Option<Node> {
        let module = self.module;
        let program = module.libvirt_programs.iter().find(|p| p.program == prog);
        let procedure =
            program.and_then(|p| p.procedures.iter().find(|q| q.number == signed(proc_)));
        m.program_name = program
            .map(|p| p.name.xdr.clone())
            .or_else(|| (prog == KEEPALIVE_PROGRAM).then(|| "keepalive".to_string()));
        m.procedure_name = procedure.map(|p| p.name.xdr.clone()).or_else(|| {
            (prog == KEEPALIVE_PROGRAM)
                .then(|| match proc_ {
                    1 => Some("KEEPALIVE_PROC_PING".to_string()),
                    2 => Some("KEEPALIVE_PROC_PONG".to_string()),
                    _ => None,
                })
                .flatten()
        });
        let serial = m.xid.unwrap_or_default();
        let named = |d: &mut Decoder<'_>, name: &str, id: Option<crate::ir::TypeId>| match id {
            Some(id) => d.ty(Some(name), &Ty::Named(id)),
            None => Node {
                name: Some(name.to_string()),
                ty: "void".to_string(),
                offset: d.offset(),
                len: 0,
                value: Value::Void,
            },
        };
        let known = procedure.is_some() || prog == KEEPALIVE_PROGRAM;
        let error_type = error_type(module, program);
        match kind {
            0 | 4 => {
                m.kind = MessageKind::Call;
                self.calls.insert(
                    (connection, prog, serial),
                    CallInfo {
                        index,
                        program: prog,
                        version: m.version.unwrap_or_default(),
                        procedure: proc_,
                    },
                );
                if !known {
                    return Some(d.rest("args", "unknown procedure"));
                }
                Some(named(d, "args", procedure.and_then(|p| p.args)))
            }
            1 | 5 => {
                m.kind = MessageKind::Reply;
                m.call = self.calls.get(&(connection, prog, serial)).map(|c| c.index);
                match status {
                    0 if known => Some(named(d, "ret", procedure.and_then(|p| p.ret))),
                    0 => Some(d.rest("ret", "unknown procedure")),
                    1 => Some(Self::remote_error(d, error_type)),
                    other => {
                        d.fail(format!("a reply with status {other}"));
                        None
                    }
                }
            }
            2 => {
                m.kind = MessageKind::Event;
                match procedure.and_then(|p| p.event) {
                    Some(id) => Some(d.ty(Some("msg"), &Ty::Named(id))),
                    None if known => Some(named(d, "msg", None)),
                    None => Some(d.rest("msg", "unknown procedure")),
                }
            }
            3 => {
                m.kind = MessageKind::Stream;
                match status {
                    1 => Some(Self::remote_error(d, error_type)),
                    _ => Some(d.rest("data", "stream data")),
                }
            }
            6 => {
                m.kind = MessageKind::StreamHole;
                let at = d.offset();
                let length = d.ty(Some("length"), &Ty::Prim(crate::ir::Prim::Hyper));
                let flags = d.ty(Some("flags"), &Ty::Prim(crate::ir::Prim::UInt));
                Some(d.group("hole", "virNetStreamHole", at, vec![length, flags]))
            }
            other => {
                d.fail(format!("message type {other} is not one libvirt defines"));
                None
            }
        }
    }

    fn remote_error(d: &mut Decoder<'_>, ty: Option<crate::ir::TypeId>) -> Node {
        match ty {
            Some(id) => d.ty(Some("error"), &Ty::Named(id)),
            None => d.rest("error", "remote_error (not in the .x file)"),
        }
    }
}

/// `KEEPALIVE_PROGRAM` ("keep" in ASCII): libvirt's keepalive PING (1)
/// and PONG (2), which carry no data; shown even when the `.x` file is not
/// `virkeepaliveprotocol.x`.
pub const KEEPALIVE_PROGRAM: u32 = 0x6b65_6570;

/// The error struct a libvirt ERROR reply carries: `<p>_error` of the
/// program if the file declares it, else `remote_error`.
fn error_type(module: &Module, program: Option<&LibvirtProgram>) -> Option<crate::ir::TypeId> {
    program
        .and_then(|p| module.type_by_name(&format!("{}_error", p.name.xdr)))
        .or_else(|| module.type_by_name("remote_error"))
        .map(|t| t.id)
}

fn flavor_value(node: &Node) -> Option<i32> {
    match &node.value {
        Value::Enum { value, .. } => Some(*value),
        _ => None,
    }
}

fn enum_member(node: &Node) -> Option<String> {
    match &node.value {
        Value::Enum { member, .. } => member.clone(),
        _ => None,
    }
}
