//! `xdrgen dissector`: a Wireshark dissector, in Lua, for a file's programs.
//!
//! Wireshark's ONC RPC dissector keeps its per-program table (`rpc.call`,
//! `rpc.reply`) as a custom dissector table, which its Lua API cannot
//! reach (tshark 4.0 refuses it as a "strange table type"). So the
//! generated dissector reads the framing itself: ONC RPC record marking
//! (RFC 5531 §11) with call and reply headers, and libvirt's packets
//! (length, program, version, procedure, type, serial, status). It claims
//! TCP traffic by heuristic (a call of one of the file's programs, a reply
//! to a call it saw, a libvirt packet of one of its protocols) and on the
//! ports it is given; libvirt protocols also take libvirt's port 16509.
//!
//! Every field is a `ProtoField` named `<proto>.<type>.<field>` after the
//! `.x` (`peertest.pt_point.x`), with arguments and results of procedures
//! as `<proto>.<procedure>.argN` / `.result` (libvirt: `.args`, `.ret`,
//! `.msg`). Integers, enums (with their member names), hypers, floats,
//! strings and opaques keep their XDR type; structs and unions are
//! subtrees; variable arrays add `.count`, optional data `.present`. A
//! body that does not decode is marked malformed at the first error, and
//! bounds, nesting (32 levels) and counts are checked before any loop.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use crate::ir::{Len, Module, Prim, Ty, TypeKind};

/// What `xdrgen dissector` is told.
#[derive(Clone, Debug, Default)]
pub struct DissectorOptions {
    /// The protocol's filter name; the default is the input file's stem.
    pub name: Option<String>,
    /// TCP ports to claim besides the heuristic (and 16509 for libvirt).
    pub ports: Vec<u16>,
}

/// libvirt's daemon port, claimed when the file has libvirt protocols.
pub const LIBVIRT_PORT: u16 = 16509;

/// Aliases, arrays and options nest at most this deep inside one field.
const EMIT_DEPTH_LIMIT: usize = 64;

/// The framing and header code every dissector shares.
const FRAMING: &str = include_str!("framing.lua");

/// A protocol filter name from a file name: lowercase letters, digits and
/// `_`, starting with a letter.
pub fn protocol_name(file: &str) -> String {
    let stem = std::path::Path::new(file)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("xdr");
    let mut name: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        name.insert_str(0, "x_");
    }
    name
}

/// Whether `name` is a usable protocol filter name.
pub fn valid_protocol_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// The generated Lua for `module`, read from `source` (named in the header).
pub fn dissector(module: &Module, source: &str, options: &DissectorOptions) -> String {
    let name = options
        .name
        .clone()
        .unwrap_or_else(|| protocol_name(source));
    let mut lua = Gen {
        module,
        proto: name.clone(),
        fields: BTreeMap::new(),
        stems: BTreeSet::new(),
    };
    let mut decoders = String::new();
    for def in &module.types {
        match &def.kind {
            TypeKind::Struct(s) => {
                let mut body = String::new();
                for (i, f) in s.fields.iter().enumerate() {
                    let key = format!("{}.{}", def.name.xdr, f.name.xdr);
                    if i + 1 == s.fields.len() && is_link_to(&f.ty, def.id) {
                        // A linked list's next node: a sibling through a
                        // tail call, so neither the Lua stack nor the tree
                        // grows with the list.
                        let present = format!("{key}.present");
                        lua.field(&present, "uint32", BOOL_NAMES);
                        let _ = write!(
                            body,
                            "  local more = tvb(off, 4):uint()\n  \
                             if more > 1 then error(string.format(\"{key}: optional-data flag %d is neither 0 nor 1\", more)) end\n  \
                             t:add(F[{present:?}], tvb(off, 4)); off = off + 4\n  \
                             if more == 1 then\n    t:set_len(off - start)\n    \
                             return D[{name:?}](tvb, tree, off, field, depth)\n  end\n",
                            name = def.name.xdr
                        );
                        continue;
                    }
                    lua.emit(&f.ty, &key, "t", 1, 0, &mut body);
                }
                let _ = write!(
                    decoders,
                    "D[{key:?}] = function(tvb, tree, off, field, depth)\n  \
                     if depth > MAX_DEPTH then error(\"nested deeper than \" .. MAX_DEPTH) end\n  \
                     local start = off\n  local t = tree:add(field, tvb(off, 0))\n{body}  \
                     t:set_len(off - start)\n  return off\nend\n\n",
                    key = def.name.xdr
                );
            }
            TypeKind::Union(u) => {
                let mut body = String::new();
                let disc_key = format!("{}.{}", def.name.xdr, u.discriminant.name.xdr);
                let (read, width) = match u.discriminant_kind {
                    crate::ir::DiscriminantKind::Prim(Prim::Hyper) => ("int64():tonumber()", 8),
                    crate::ir::DiscriminantKind::Prim(Prim::UHyper) => ("uint64():tonumber()", 8),
                    crate::ir::DiscriminantKind::Prim(
                        Prim::UInt | Prim::UShort | Prim::UChar | Prim::Bool,
                    ) => ("uint()", 4),
                    _ => ("int()", 4),
                };
                let _ = writeln!(body, "  local d = tvb(off, {width}):{read}");
                lua.emit(&u.discriminant.ty, &disc_key, "t", 1, 0, &mut body);
                let mut first = true;
                for arm in &u.arms {
                    let cond: Vec<String> = arm
                        .cases
                        .iter()
                        .map(|c| format!("d == {}", c.value))
                        .collect();
                    let _ = writeln!(
                        body,
                        "  {}if {} then",
                        if first { "" } else { "else" },
                        cond.join(" or ")
                    );
                    first = false;
                    if let Some(f) = &arm.field {
                        lua.emit(
                            &f.ty,
                            &format!("{}.{}", def.name.xdr, f.name.xdr),
                            "t",
                            2,
                            0,
                            &mut body,
                        );
                    }
                }
                let default = match &u.default {
                    Some(d) => {
                        let mut b = String::new();
                        if let Some(f) = &d.field {
                            lua.emit(
                                &f.ty,
                                &format!("{}.{}", def.name.xdr, f.name.xdr),
                                "t",
                                2,
                                0,
                                &mut b,
                            );
                        }
                        b
                    }
                    None => {
                        "    error(string.format(\"no arm for discriminant %s\", tostring(d)))\n"
                            .to_string()
                    }
                };
                if first {
                    body.push_str(&default);
                } else {
                    let _ = write!(body, "  else\n{default}  end\n");
                }
                let _ = write!(
                    decoders,
                    "D[{key:?}] = function(tvb, tree, off, field, depth)\n  \
                     if depth > MAX_DEPTH then error(\"nested deeper than \" .. MAX_DEPTH) end\n  \
                     local start = off\n  local t = tree:add(field, tvb(off, 0))\n{body}  \
                     t:set_len(off - start)\n  return off\nend\n\n",
                    key = def.name.xdr
                );
            }
            TypeKind::Extern => {
                let _ = write!(
                    decoders,
                    "D[{key:?}] = function() error(\"{key} is an external type: its encoding is not in the .x file\") end\n\n",
                    key = def.name.xdr
                );
            }
            TypeKind::Alias { .. } | TypeKind::Enum(_) => {}
        }
    }
    let tables = lua.procedures();
    let mut out = String::new();
    let _ = write!(
        out,
        "-- @generated by xdrgen from {source}: a Wireshark dissector for its programs.\n\
         -- Load it with `tshark -X lua_script:FILE.lua`, or put it in Wireshark's plugin folder.\n\n\
         local made, proto = pcall(Proto, {name:?}, {desc:?})\n\
         if not made then\n  \
         error({clash:?} .. tostring(proto))\n\
         end\n\
         local F = {{}}\nlocal D = {{}}\nlocal MAX_DEPTH = 32\n\
         local EXPERT_MALFORMED = ProtoExpert.new({malformed:?}, \"Malformed body\", expert.group.MALFORMED, expert.severity.ERROR)\n\
         local EXPERT_TRAILING = ProtoExpert.new({trailing:?}, \"Bytes after the body\", expert.group.PROTOCOL, expert.severity.WARN)\n\
         proto.experts = {{ EXPERT_MALFORMED, EXPERT_TRAILING }}\n\n",
        desc = format!("{source} (xdrgen)"),
        clash = format!(
            "xdrgen dissector: the protocol name `{name}` is taken (Wireshark has a dissector by that name?); \
             generate the script again with --name: "
        ),
        malformed = format!("{name}.malformed"),
        trailing = format!("{name}.trailing"),
    );
    out.push_str(&lua.enum_tables());
    out.push_str(&lua.header_fields());
    out.push_str("\n-- Fields named after the .x file.\n");
    for (key, ctor) in &lua.fields {
        let _ = writeln!(out, "F[{key:?}] = {ctor}");
    }
    out.push_str("\nlocal all_fields = {}\nfor _, f in pairs(F) do all_fields[#all_fields + 1] = f end\nproto.fields = all_fields\n\n");
    out.push_str(
        "-- Decoders of structs and unions: (tvb, tree, offset, field, depth) -> offset after.\n",
    );
    out.push_str(&decoders);
    out.push_str(&tables);
    let mut ports: Vec<u16> = options.ports.clone();
    if !module.libvirt_programs.is_empty() {
        ports.push(LIBVIRT_PORT);
    }
    ports.sort_unstable();
    ports.dedup();
    let _ = writeln!(
        out,
        "local PORTS = {{ {} }}\n",
        ports
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    );
    out.push_str(FRAMING);
    out
}

/// The value names of a bool (and of an optional-data flag).
const BOOL_NAMES: &str = ", base.DEC, { [0] = \"FALSE\", [1] = \"TRUE\" }";

/// Whether `ty` is optional data of the type `id` itself (`T *next`).
fn is_link_to(ty: &Ty, id: crate::ir::TypeId) -> bool {
    let mut ty = ty;
    while let Ty::Boxed(inner) = ty {
        ty = inner;
    }
    let Ty::Optional(inner) = ty else {
        return false;
    };
    let mut inner: &Ty = inner;
    while let Ty::Boxed(b) = inner {
        inner = b;
    }
    matches!(inner, Ty::Named(target) if *target == id)
}

struct Gen<'a> {
    module: &'a Module,
    proto: String,
    /// Field key (after the protocol name) → `ProtoField` constructor.
    fields: BTreeMap<String, String>,
    /// Procedure names given out as field prefixes.
    stems: BTreeSet<String>,
}

fn pad(expr: &str) -> String {
    format!("(4 - ({expr}) % 4) % 4")
}

fn bound(len: Option<u32>) -> u64 {
    len.map_or(u64::from(u32::MAX), u64::from)
}

impl Gen<'_> {
    fn field(&mut self, key: &str, kind: &str, extra: &str) {
        let label = key.rsplit('.').next().unwrap_or(key);
        let ctor = format!(
            "ProtoField.{kind}({abbr:?}, {label:?}{extra})",
            abbr = format!("{}.{key}", self.proto)
        );
        self.fields.entry(key.to_string()).or_insert(ctor);
    }

    fn enum_tables(&self) -> String {
        let mut out = String::from("-- Enum member names by value.\nlocal VS = {}\n");
        for def in &self.module.types {
            if let TypeKind::Enum(e) = &def.kind {
                let members: Vec<String> = e
                    .members
                    .iter()
                    .filter(|m| m.alias_of.is_none())
                    .map(|m| format!("[{}] = {:?}", m.value, m.name.xdr))
                    .collect();
                let _ = writeln!(out, "VS[{:?}] = {{ {} }}", def.name.xdr, members.join(", "));
            }
        }
        out.push('\n');
        out
    }

    fn header_fields(&self) -> String {
        let p = &self.proto;
        let rows: [(&str, &str, &str); 21] = [
            ("rpc.xid", "uint32", ", base.HEX"),
            (
                "rpc.msg_type",
                "uint32",
                ", base.DEC, { [0] = \"CALL\", [1] = \"REPLY\" }",
            ),
            ("rpc.rpcvers", "uint32", ""),
            ("rpc.program", "uint32", ", base.HEX"),
            ("rpc.version", "uint32", ""),
            ("rpc.procedure", "uint32", ""),
            ("rpc.cred_flavor", "uint32", ""),
            ("rpc.cred_len", "uint32", ""),
            ("rpc.cred_body", "bytes", ""),
            ("rpc.verf_flavor", "uint32", ""),
            ("rpc.verf_len", "uint32", ""),
            ("rpc.verf_body", "bytes", ""),
            (
                "rpc.reply_stat",
                "uint32",
                ", base.DEC, { [0] = \"MSG_ACCEPTED\", [1] = \"MSG_DENIED\" }",
            ),
            (
                "rpc.accept_stat",
                "uint32",
                ", base.DEC, { [0] = \"SUCCESS\", [1] = \"PROG_UNAVAIL\", [2] = \"PROG_MISMATCH\", [3] = \"PROC_UNAVAIL\", [4] = \"GARBAGE_ARGS\", [5] = \"SYSTEM_ERR\" }",
            ),
            ("libvirt.length", "uint32", ""),
            ("libvirt.program", "uint32", ", base.HEX"),
            ("libvirt.version", "uint32", ""),
            ("libvirt.procedure", "int32", ""),
            (
                "libvirt.type",
                "uint32",
                ", base.DEC, { [0] = \"CALL\", [1] = \"REPLY\", [2] = \"MESSAGE\", [3] = \"STREAM\", [4] = \"CALL_WITH_FDS\", [5] = \"REPLY_WITH_FDS\", [6] = \"STREAM_HOLE\" }",
            ),
            ("libvirt.serial", "uint32", ""),
            (
                "libvirt.status",
                "uint32",
                ", base.DEC, { [0] = \"OK\", [1] = \"ERROR\", [2] = \"CONTINUE\" }",
            ),
        ];
        let mut out = String::from("-- Framing and header fields.\n");
        for (key, kind, extra) in rows {
            let label = key.rsplit('.').next().unwrap_or(key);
            let _ = writeln!(
                out,
                "F[{key:?}] = ProtoField.{kind}({:?}, {label:?}{extra})",
                format!("{p}.{key}")
            );
        }
        out
    }

    /// Lua statements decoding `ty` at `off` into field `key` under tree
    /// variable `tree`; nested loops use variables suffixed by `level`.
    fn emit(
        &mut self,
        ty: &Ty,
        key: &str,
        tree: &str,
        indent: usize,
        level: usize,
        out: &mut String,
    ) {
        let pad_in = "  ".repeat(indent);
        if level > EMIT_DEPTH_LIMIT {
            let _ = writeln!(out, "{pad_in}error(\"type nested too deeply to dissect\")");
            return;
        }
        match ty {
            Ty::Prim(p) => {
                let (kind, size, extra) = match p {
                    Prim::Int | Prim::Short | Prim::Char => ("int32", 4, ""),
                    Prim::UInt | Prim::UShort | Prim::UChar => ("uint32", 4, ""),
                    Prim::Bool => ("uint32", 4, BOOL_NAMES),
                    Prim::Hyper => ("int64", 8, ""),
                    Prim::UHyper => ("uint64", 8, ""),
                    Prim::Float => ("float", 4, ""),
                    Prim::Double => ("double", 8, ""),
                    Prim::Quadruple => ("bytes", 16, ""),
                };
                self.field(key, kind, extra);
                let _ = writeln!(
                    out,
                    "{pad_in}{tree}:add(F[{key:?}], tvb(off, {size})); off = off + {size}"
                );
            }
            Ty::Opaque(Len::Fixed(n)) => {
                self.field(key, "bytes", "");
                let _ = writeln!(
                    out,
                    "{pad_in}{tree}:add(F[{key:?}], tvb(off, {n})); off = off + {n} + {}",
                    pad(&n.to_string())
                );
            }
            Ty::Opaque(Len::Variable(max)) | Ty::String(max) => {
                let kind = if matches!(ty, Ty::String(_)) {
                    "string"
                } else {
                    "bytes"
                };
                self.field(key, kind, "");
                let n = format!("n{level}");
                let _ = write!(
                    out,
                    "{pad_in}do\n{pad_in}  local {n} = tvb(off, 4):uint()\n\
                     {pad_in}  if {n} > {max} then error(string.format(\"{key}: length %d over its bound {max}\", {n})) end\n\
                     {pad_in}  {tree}:add(F[{key:?}], tvb(off + 4, {n})); off = off + 4 + {n} + {padding}\n{pad_in}end\n",
                    max = bound(*max),
                    padding = pad(&n),
                );
            }
            Ty::Array { elem, len } => {
                let (n, i, st) = (
                    format!("n{level}"),
                    format!("i{level}"),
                    format!("st{level}"),
                );
                let _ = writeln!(out, "{pad_in}do");
                match len {
                    Len::Fixed(count) => {
                        let _ = writeln!(out, "{pad_in}  local {n} = {count}");
                        let _ = writeln!(
                            out,
                            "{pad_in}  local {st} = {tree}:add(proto, tvb(off, 0), {:?})",
                            format!("{key} [{count}]")
                        );
                    }
                    Len::Variable(max) => {
                        let count_key = format!("{key}.count");
                        self.field(&count_key, "uint32", "");
                        let _ = write!(
                            out,
                            "{pad_in}  local {n} = tvb(off, 4):uint()\n\
                             {pad_in}  if {n} > {max} then error(string.format(\"{key}: count %d over its bound {max}\", {n})) end\n\
                             {pad_in}  if {n} * 4 > tvb:len() - off - 4 then error(string.format(\"{key}: count %d over the bytes left\", {n})) end\n\
                             {pad_in}  local {st} = {tree}:add(F[{count_key:?}], tvb(off, 4)); off = off + 4\n",
                            max = bound(*max),
                        );
                    }
                }
                let _ = writeln!(out, "{pad_in}  for {i} = 1, {n} do");
                self.emit(elem, key, &st, indent + 2, level + 1, out);
                let _ = writeln!(out, "{pad_in}  end\n{pad_in}end");
            }
            Ty::Optional(inner) => {
                let present = format!("{key}.present");
                self.field(&present, "uint32", BOOL_NAMES);
                let p = format!("p{level}");
                let _ = write!(
                    out,
                    "{pad_in}do\n{pad_in}  local {p} = tvb(off, 4):uint()\n\
                     {pad_in}  if {p} > 1 then error(string.format(\"{key}: optional-data flag %d is neither 0 nor 1\", {p})) end\n\
                     {pad_in}  {tree}:add(F[{present:?}], tvb(off, 4)); off = off + 4\n{pad_in}  if {p} == 1 then\n"
                );
                self.emit(inner, key, tree, indent + 2, level + 1, out);
                let _ = writeln!(out, "{pad_in}  end\n{pad_in}end");
            }
            Ty::Boxed(inner) => self.emit(inner, key, tree, indent, level + 1, out),
            Ty::Named(id) => {
                let def = self.module.ty(*id);
                match &def.kind {
                    TypeKind::Alias { ty } => {
                        let ty = ty.clone();
                        self.emit(&ty, key, tree, indent, level + 1, out);
                    }
                    TypeKind::Enum(_) => {
                        self.field(key, "int32", &format!(", base.DEC, VS[{:?}]", def.name.xdr));
                        let _ = writeln!(
                            out,
                            "{pad_in}{tree}:add(F[{key:?}], tvb(off, 4)); off = off + 4"
                        );
                    }
                    TypeKind::Struct(_) | TypeKind::Union(_) | TypeKind::Extern => {
                        self.field(key, "none", "");
                        let _ = writeln!(
                            out,
                            "{pad_in}off = D[{:?}](tvb, {tree}, off, F[{key:?}], depth + 1)",
                            def.name.xdr
                        );
                    }
                }
            }
        }
    }

    /// A decoder function for a procedure's body: each type in turn.
    fn body(&mut self, parts: &[(Ty, String)]) -> String {
        let mut body = String::new();
        for (ty, key) in parts {
            self.emit(ty, key, "tree", 1, 0, &mut body);
        }
        format!("function(tvb, tree, off, depth)\n{body}  return off\nend")
    }

    /// The CALLS, REPLIES, EVENTS and name tables.
    fn procedures(&mut self) -> String {
        let mut out = String::from(
            "-- Procedure bodies by \"program.version.procedure\".\n\
             local CALLS, REPLIES, EVENTS, PROCEDURE_NAMES = {}, {}, {}, {}\n\
             local ONC_PROGRAMS, LIBVIRT_PROGRAMS = {}, {}\n",
        );
        let module = self.module;
        for program in &module.programs {
            let _ = writeln!(out, "ONC_PROGRAMS[{}] = true", program.number);
            for version in &program.versions {
                let names: Vec<String> = version
                    .procedures
                    .iter()
                    .map(|p| format!("[{}] = {:?}", p.number, p.name.xdr))
                    .collect();
                let _ = writeln!(
                    out,
                    "PROCEDURE_NAMES[\"{}.{}\"] = {{ {} }}",
                    program.number,
                    version.number,
                    names.join(", ")
                );
                for p in &version.procedures {
                    let stem = self.procedure_stem(&p.name.xdr, version.number);
                    let key = format!("{}.{}.{}", program.number, version.number, p.number);
                    let args: Vec<(Ty, String)> = p
                        .args
                        .iter()
                        .enumerate()
                        .map(|(i, a)| (a.ty.clone(), format!("{stem}.arg{}", i + 1)))
                        .collect();
                    let call = self.body(&args);
                    let _ = writeln!(out, "CALLS[{key:?}] = {call}");
                    let result: Vec<(Ty, String)> = p
                        .result
                        .iter()
                        .map(|r| (r.clone(), format!("{stem}.result")))
                        .collect();
                    let reply = self.body(&result);
                    let _ = writeln!(out, "REPLIES[{key:?}] = {reply}");
                }
            }
        }
        for program in &module.libvirt_programs {
            let _ = writeln!(out, "LIBVIRT_PROGRAMS[{}] = true", program.program);
            let names: Vec<String> = program
                .procedures
                .iter()
                .map(|p| format!("[{}] = {:?}", p.number, p.name.xdr))
                .collect();
            let _ = writeln!(
                out,
                "PROCEDURE_NAMES[\"{}.{}\"] = {{ {} }}",
                program.program,
                program.version,
                names.join(", ")
            );
            for p in &program.procedures {
                let stem = p.name.xdr.to_ascii_lowercase();
                let key = format!("{}.{}.{}", program.program, program.version, p.number);
                for (table, ty, suffix) in [
                    ("CALLS", p.args, "args"),
                    ("REPLIES", p.ret, "ret"),
                    ("EVENTS", p.event, "msg"),
                ] {
                    let parts: Vec<(Ty, String)> = ty
                        .map(|id| (Ty::Named(id), format!("{stem}.{suffix}")))
                        .into_iter()
                        .collect();
                    if table == "CALLS" || !parts.is_empty() {
                        let f = self.body(&parts);
                        let _ = writeln!(out, "{table}[{key:?}] = {f}");
                    }
                }
            }
        }
        out.push('\n');
        out
    }

    /// `pt_add` for `PT_ADD`; with the version when another version's
    /// procedure of the same name came first.
    fn procedure_stem(&mut self, name: &str, version: u32) -> String {
        let stem = name.to_ascii_lowercase();
        if self.stems.insert(stem.clone()) {
            stem
        } else {
            format!("{stem}_v{version}")
        }
    }
}
