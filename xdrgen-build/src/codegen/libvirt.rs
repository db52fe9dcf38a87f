//! Per libvirt protocol (a `<p>_procedure` enum): the procedure table with
//! its annotations, a typed client and event enum over the runtime's
//! libvirt connection, and a service trait with a dispatcher for its
//! server.

use std::fmt::Write as _;

use super::Gen;
use super::codec::number;
use super::items::fn_sig;
use super::text::{Base, indent, list, pad, string_lit};
use crate::ir::{Acl, LibvirtProcedure, LibvirtProgram, Priority, TypeId};

impl Gen<'_> {
    pub(super) fn libvirt_program(&self, out: &mut String, p: &LibvirtProgram) {
        // Everything sits in `<p>_program`, one module down, written at
        // indentation 0 and indented as a whole.
        let g = self.nested(1);
        let base = Base::set(4);
        let rt = &g.rt;
        let mut sorted: Vec<&LibvirtProcedure> = p.procedures.iter().collect();
        sorted.sort_by_key(|proc| proc.number);
        sorted.dedup_by_key(|proc| proc.number);
        let mut m = String::new();
        let _ = writeln!(
            m,
            "/// The program number.\npub const PROGRAM: u32 = {};\n\
             /// The protocol version.\npub const VERSION: u32 = {};\n\
             /// Every procedure with its annotations, by number.\n\
             pub const PROCEDURES: &[{rt}::LibvirtProcedureInfo] = &[",
            number(i128::from(p.program)),
            number(i128::from(p.version)),
        );
        for proc in &sorted {
            procedure_info(&mut m, proc, rt);
        }
        let _ = writeln!(
            m,
            "];\n\
             /// The protocol's and procedures' names, for the runtime's\n\
             /// call spans and events.\n\
             pub const NAMES: {rt}::LibvirtProtocolNames = {rt}::LibvirtProtocolNames {{\n    \
             program: {},\n    procedures: PROCEDURES,\n}};\n\
             /// A procedure's entry in [`PROCEDURES`].",
            string_lit(&p.name.xdr)
        );
        fn_sig(
            &mut m,
            0,
            "pub fn procedure_info",
            &["number: i32".into()],
            &format!("::core::option::Option<&'static {rt}::LibvirtProcedureInfo>"),
        );
        m.push_str(
            "    PROCEDURES\n        .binary_search_by_key(&number, |p| p.number)\n        \
             .ok()\n        .map(|i| &PROCEDURES[i])\n}\n",
        );
        // Zero-copy types borrow from a buffer the stubs do not keep.
        if g.o.client && !g.o.zero_copy {
            g.libvirt_client(&mut m, p);
        }
        if g.o.server && !g.o.zero_copy {
            g.libvirt_server(&mut m, p);
        }
        m.insert_str(0, &g.module_uses(&m));
        drop(base);
        let _ = writeln!(
            out,
            "/// libvirt protocol `{0}`: program {1:#x}, version {2}, procedures from `{0}_procedure`.\n\
             pub mod {3} {{",
            p.name.xdr, p.program, p.version, p.name.rust
        );
        out.push_str(&indent(&m, 4));
        out.push_str("}\n");
    }

    fn named(&self, id: Option<TypeId>) -> Option<String> {
        id.map(|id| self.rust_ty(&crate::ir::Ty::Named(id)))
    }

    fn libvirt_client(&self, out: &mut String, p: &LibvirtProgram) {
        let rt = &self.rt;
        let mut methods = String::new();
        let mut variants = String::new();
        let mut decode_arms = String::new();
        let mut number_arms = String::new();
        for proc in &p.procedures {
            let num = number(i128::from(proc.number));
            if let Some(msg) = self.named(proc.event) {
                let variant = &proc.variant;
                let _ = writeln!(
                    variants,
                    "    /// `{}` ({}).\n    {variant}({msg}),",
                    proc.name.xdr, proc.number
                );
                let event = list(
                    16,
                    16,
                    &format!("Event::{variant}"),
                    "(",
                    &[format!("{rt}::XdrDecode::from_xdr_with(body, limits)?")],
                    ")",
                    1,
                );
                let _ = writeln!(
                    decode_arms,
                    "            {num} => ::core::result::Result::Ok(::core::option::Option::Some(\n\
                     {}{event},\n            )),",
                    pad(16)
                );
                let _ = writeln!(number_arms, "            Event::{variant}(_) => {num},");
                continue;
            }
            let method = &proc.name.rust;
            let args = self.named(proc.args);
            let ret = self.named(proc.ret).unwrap_or_else(|| "()".to_string());
            let mut params = vec!["&self".to_string()];
            let wire = match &args {
                Some(ty) => {
                    params.push(format!("args: &{ty}"));
                    "args"
                }
                None => "&()",
            };
            let _ = writeln!(
                methods,
                "    /// Calls `{}` ({}).",
                proc.name.xdr, proc.number
            );
            let streams =
                proc.annotations.readstream.is_some() || proc.annotations.writestream.is_some();
            let (call, ret) = if streams {
                methods.push_str("    /// The stream follows the reply.\n");
                (
                    "self.0.call_with_stream_named",
                    format!(
                        "::core::result::Result<({ret}, {rt}::LibvirtStream), {rt}::LibvirtError>"
                    ),
                )
            } else {
                (
                    "self.0.call_named",
                    format!("::core::result::Result<{ret}, {rt}::LibvirtError>"),
                )
            };
            fn_sig(
                &mut methods,
                4,
                &format!("pub async fn {method}"),
                &params,
                &ret,
            );
            let call_args: Vec<String> = ["&NAMES", "PROGRAM", "VERSION", &num, wire]
                .map(String::from)
                .to_vec();
            let call = list(8, 8, call, "(", &call_args, ")", 6);
            let _ = writeln!(methods, "        {call}.await\n    }}");
        }
        let _ = writeln!(
            out,
            "/// A typed client: one method per procedure that is not an event.\n\
             /// Events arrive through the connection's `subscribe`, decoded\n\
             /// with `Event::decode`.\n#[derive(Clone)]\n\
             pub struct Client(pub {rt}::LibvirtConnection);\nimpl Client {{\n{methods}}}"
        );
        if variants.is_empty() {
            return;
        }
        let _ = writeln!(
            out,
            "/// The events of this protocol (procedures with a `_msg` struct).\n\
             #[derive(Clone, Debug)]\npub enum Event {{\n{variants}}}\n\
             impl Client {{\n    \
             /// This protocol's events from now on, decoded (a\n    \
             /// client registers for them with the protocol's\n    \
             /// register procedures).\n    \
             pub fn events(&self) -> {rt}::LibvirtEventReceiver<Event> {{\n        \
             self.0.subscribe_decoded(PROGRAM, Event::decode)\n    }}\n}}\n\
             impl Event {{\n    \
             /// Decodes the body of an event message; `None` for a\n    \
             /// procedure that is not an event of this protocol."
        );
        fn_sig(
            out,
            4,
            "pub fn decode",
            &[
                "procedure: i32".into(),
                "body: &[u8]".into(),
                format!("limits: &{rt}::Limits"),
            ],
            &format!("::core::result::Result<::core::option::Option<Event>, {rt}::DecodeError>"),
        );
        let _ = writeln!(
            out,
            "        match procedure {{\n{decode_arms}            \
             _ => ::core::result::Result::Ok(::core::option::Option::None),\n        }}\n    }}\n    \
             /// The procedure number the event travels under.\n    \
             pub fn procedure(&self) -> i32 {{\n        match self {{\n{number_arms}        \
             }}\n    }}\n}}"
        );
    }

    fn libvirt_server(&self, out: &mut String, p: &LibvirtProgram) {
        let rt = &self.rt;
        let mut methods = String::new();
        let mut arms = String::new();
        for proc in p.procedures.iter().filter(|proc| proc.event.is_none()) {
            let num = number(i128::from(proc.number));
            let method = &proc.name.rust;
            let args = self.named(proc.args);
            let ret = self.named(proc.ret).unwrap_or_else(|| "()".to_string());
            let mut params = vec!["&self".to_string(), format!("cx: &{rt}::LibvirtContext")];
            let p16 = pad(16);
            let _ = writeln!(arms, "{}{num} => {{", pad(12));
            let (unused, pass) = match &args {
                Some(ty) => {
                    params.push(format!("args: {ty}"));
                    let line = format!("let args: {ty} = {rt}::libvirt_decode_args(args, cx)?;");
                    if super::text::fits(16, &line, 0) {
                        let _ = writeln!(arms, "{p16}{line}");
                    } else {
                        let _ = writeln!(
                            arms,
                            "{p16}let args: {ty} =\n{}{rt}::libvirt_decode_args(args, cx)?;",
                            pad(20)
                        );
                    }
                    ("(cx, args)", ", args")
                }
                None => {
                    let _ = writeln!(arms, "{p16}{rt}::libvirt_decode_args::<()>(args, cx)?;");
                    ("cx", "")
                }
            };
            let output = format!("::core::result::Result<{ret}, {rt}::RemoteError>");
            let flat_ret = format!(
                ") -> impl ::core::future::Future<Output = {output}> + ::core::marker::Send {{"
            );
            let close = if super::text::fits(4, &flat_ret, 0) {
                flat_ret
            } else {
                let output = super::text::generic_type(17, 8, &output, 1);
                format!(
                    ") -> impl ::core::future::Future<\n{}Output = {output},\n{}> + ::core::marker::Send {{",
                    pad(8),
                    pad(4)
                )
            };
            let _ = writeln!(
                methods,
                "    /// Answers `{}` ({}).\n    /// Unless implemented: `VIR_ERR_NO_SUPPORT`.\n    {}",
                proc.name.xdr,
                proc.number,
                list(4, 4, &format!("fn {method}"), "(", &params, &close, 0)
            );
            let err = format!(
                "::core::result::Result::Err({rt}::RemoteError::unsupported({}))",
                string_lit(&proc.name.xdr)
            );
            let body = if super::text::fits(8, &err, 10) {
                format!("async {{ {err} }}")
            } else {
                let unsupported = format!("{rt}::RemoteError::unsupported");
                let inner = list(
                    16,
                    16,
                    &unsupported,
                    "(",
                    &[string_lit(&proc.name.xdr)],
                    ")",
                    1,
                );
                let err = list(12, 12, "::core::result::Result::Err", "(", &[inner], ")", 0);
                format!("async {{\n{}{err}\n{}}}", pad(12), pad(8))
            };
            let _ = writeln!(methods, "        let _ = {unused};\n        {body}\n    }}");
            let call = format!("<S as Service>::{method}(&self.0, cx{pass}).await?");
            if proc.ret.is_some() {
                let _ = writeln!(
                    arms,
                    "{p16}let ret = {call};\n{p16}{rt}::libvirt_encode_ret(&ret)"
                );
            } else {
                let _ = writeln!(
                    arms,
                    "{p16}{call};\n{p16}::core::result::Result::Ok({rt}::Vec::new())"
                );
            }
            let _ = writeln!(arms, "{}}}", pad(12));
        }
        let _ = writeln!(
            out,
            "/// The procedures of this protocol, for a server to implement;\n\
             /// every method has a default that answers `VIR_ERR_NO_SUPPORT`.\n\
             pub trait Service: ::core::marker::Send + ::core::marker::Sync + 'static {{\n\
             {methods}    /// Called when a connection closes.\n    \
             fn disconnected(&self, session: &{rt}::LibvirtSession) {{\n        \
             let _ = session;\n    }}\n}}\n\
             /// Answers calls to this protocol with a [`Service`].\n\
             pub struct Dispatcher<S>(pub S);\n\
             impl<S: Service> {rt}::LibvirtDispatch for Dispatcher<S> {{\n    \
             fn program(&self) -> u32 {{\n        PROGRAM\n    }}\n    \
             fn version(&self) -> u32 {{\n        VERSION\n    }}"
        );
        fn_sig(
            out,
            4,
            "fn names",
            &["&self".into()],
            &format!("&'static {rt}::LibvirtProtocolNames"),
        );
        let _ = writeln!(out, "        &NAMES\n    }}");
        fn_sig(
            out,
            4,
            "fn dispatch<'a>",
            &[
                "&'a self".into(),
                format!("cx: &'a {rt}::LibvirtContext"),
                "args: &'a [u8]".into(),
            ],
            &format!("{rt}::LibvirtDispatchFuture<'a>"),
        );
        let _ = writeln!(
            out,
            "        {rt}::Box::pin(async move {{\n            \
             match cx.procedure() {{\n{arms}                \
             other => ::core::result::Result::Err(\n                    \
             {rt}::RemoteError::unknown_procedure(PROGRAM, other),\n                ),\n            \
             }}\n        }})\n    }}\n    \
             fn disconnected(&self, session: &{rt}::LibvirtSession) {{\n        \
             <S as Service>::disconnected(&self.0, session);\n    }}\n}}"
        );
    }
}

/// One entry of `PROCEDURES`, at indentation 4.
fn procedure_info(out: &mut String, proc: &LibvirtProcedure, rt: &str) {
    let a = &proc.annotations;
    let acl: Vec<String> = a.acl.iter().map(|acl| string_lit(&acl_text(acl))).collect();
    let filter: Vec<String> = a
        .aclfilter
        .iter()
        .map(|acl| string_lit(&acl_text(acl)))
        .collect();
    let _ = writeln!(
        out,
        "    {rt}::LibvirtProcedureInfo {{\n        \
         number: {},\n        name: {},\n        high_priority: {},\n        \
         {},\n        {},\n        \
         read_stream: {},\n        write_stream: {},\n        event: {},\n    }},",
        number(i128::from(proc.number)),
        string_lit(&proc.name.xdr),
        a.priority == Some(Priority::High),
        list(8, 8, "acl: &", "[", &acl, "]", 1),
        list(8, 8, "acl_filter: &", "[", &filter, "]", 1),
        a.readstream.is_some(),
        a.writestream.is_some(),
        proc.event.is_some(),
    );
}

/// An ACL rule as libvirt writes it: `object:permission[:flags][::param:value]`.
fn acl_text(acl: &Acl) -> String {
    match acl {
        Acl::None => "none".to_string(),
        Acl::Check {
            object,
            permission,
            flags,
            param,
        } => {
            let mut s = format!("{object}:{permission}");
            if !flags.is_empty() || param.is_some() {
                s.push(':');
                s.push_str(&flags.join("|"));
            }
            if let Some((p, v)) = param {
                for part in [":", p.as_str(), ":", v.as_str()] {
                    s.push_str(part);
                }
            }
            s
        }
    }
}
