//! Per program version: typed clients over the runtime's RPC clients, and
//! a service trait with a dispatcher for the runtime's server. Written at
//! indentation 0 into the version module, which is indented as a whole.

use std::fmt::Write as _;

use super::Gen;
use super::codec::{Val, number};
use super::items::fn_sig;
use super::text::{list, pad, string_lit};
use crate::ir::{Procedure, Program, Ty, Version};

impl Gen<'_> {
    /// How one argument or result goes on the wire: straight through its
    /// type's codec, or (for strings, opaques, arrays and optionals, whose
    /// bounds live in the code) through a wrapper generated for it.
    fn slot(&self, ty: &Ty, wrapper: &str) -> Slot {
        let plain = self.rust_ty(ty);
        let direct = matches!(self.expand(ty), Ty::Prim(_) | Ty::Named(_));
        Slot {
            plain,
            wrapper: (!direct).then(|| Wrapper {
                owned: wrapper.to_string(),
                by_ref: format!("{wrapper}Ref"),
                ty: ty.clone(),
            }),
        }
    }

    /// The argument slots of a procedure, then its result slot.
    fn slots(&self, proc: &Procedure) -> (Vec<Slot>, Slot) {
        let args = proc
            .args
            .iter()
            .enumerate()
            .map(|(i, a)| self.slot(&a.ty, &format!("{}Arg{i}", proc.variant)))
            .collect();
        let result = match &proc.result {
            Some(ty) => self.slot(ty, &format!("{}Result", proc.variant)),
            None => Slot {
                plain: "()".to_string(),
                wrapper: None,
            },
        };
        (args, result)
    }

    /// The wrapper types a slot needs: `owned` to decode, `by_ref` to encode.
    fn wrappers(&self, out: &mut String, slot: &Slot, what: &str, owned: bool, by_ref: bool) {
        let Some(Wrapper {
            owned: owned_name,
            by_ref: ref_name,
            ty,
        }) = &slot.wrapper
        else {
            return;
        };
        let rt = &self.rt;
        let plain = &slot.plain;
        if by_ref {
            let v = Val::reference("self.0");
            let len = self.len(ty, &v, 8, 8);
            let _ = writeln!(
                out,
                "struct {ref_name}<'a>(&'a {plain});\n\
                 impl {rt}::XdrEncode for {ref_name}<'_> {{\n    \
                 fn encoded_len(&self) -> usize {{\n        {len}\n    }}"
            );
            self.encode_sig(out);
            self.encode(out, ty, &v, what, 8);
            out.push_str("        ::core::result::Result::Ok(())\n    }\n}\n");
        }
        if owned {
            let decode = self.decode(ty, 17, 12);
            let ok = list(
                8,
                8,
                "::core::result::Result::Ok",
                "(",
                &[format!("Self({decode})")],
                ")",
                0,
            );
            let _ = writeln!(
                out,
                "struct {owned_name}({plain});\nimpl {rt}::XdrDecode for {owned_name} {{"
            );
            fn_sig(
                out,
                4,
                "fn decode",
                &[format!("d: &mut {rt}::Decoder<'_>")],
                &format!("::core::result::Result<Self, {rt}::DecodeError>"),
            );
            let _ = writeln!(out, "        {ok}\n    }}\n}}");
        }
    }

    /// `Client` and `BlockingClient` for one version.
    pub(super) fn clients(&self, out: &mut String, v: &Version) {
        let rt = &self.rt;
        let vname = &v.name.xdr;
        let mut async_methods = String::new();
        let mut blocking_methods = String::new();
        let mut wrappers = String::new();
        for proc in &v.procedures {
            let method = &proc.name.rust;
            let num = number(i128::from(proc.number));
            let (args, result) = self.slots(proc);
            let params: Vec<String> = proc
                .args
                .iter()
                .zip(&args)
                .map(|(a, slot)| format!("{}: &{}", a.name.rust, slot.plain))
                .collect();
            let what = format!("{} argument", proc.name.xdr);
            for slot in &args {
                self.wrappers(&mut wrappers, slot, &what, false, true);
            }
            self.wrappers(
                &mut wrappers,
                &result,
                &format!("{} result", proc.name.xdr),
                true,
                false,
            );
            let wire: Vec<String> = args
                .iter()
                .zip(&proc.args)
                .map(|(slot, a)| match &slot.wrapper {
                    Some(w) => format!("{}({})", w.by_ref, a.name.rust),
                    None => a.name.rust.clone(),
                })
                .collect();
            let wire = match wire.as_slice() {
                [] => "&()".to_string(),
                [one] if args[0].wrapper.is_none() => one.clone(),
                [one] => format!("&{one}"),
                many => format!("&({},)", many.join(", ")),
            };
            let plain_result = &result.plain;
            let (decoded, unwrap) = match &result.wrapper {
                Some(w) => (w.owned.as_str(), ".map(|r| r.0)"),
                None => (plain_result.as_str(), ""),
            };
            let ret = format!("::core::result::Result<{plain_result}, {rt}::RpcError>");
            let call_args = [
                "&NAMES".to_string(),
                "super::PROGRAM".to_string(),
                "VERSION".to_string(),
                num,
                wire,
            ];
            let head = format!("self.0.call_named::<_, {decoded}>");
            for (methods, asyncness, receiver, await_) in [
                (&mut async_methods, "async ", "&self", ".await"),
                (&mut blocking_methods, "", "&mut self", ""),
            ] {
                self.docs(methods, 4, &self.xdr_procedure(proc), &proc.docs);
                let mut sig_params = vec![receiver.to_string()];
                sig_params.extend(params.iter().cloned());
                fn_sig(
                    methods,
                    4,
                    &format!("pub {asyncness}fn {method}"),
                    &sig_params,
                    &ret,
                );
                let tail = format!("{await_}{unwrap}");
                let call = list(8, 8, &head, "(", &call_args, ")", tail.len());
                let _ = writeln!(methods, "        {call}{tail}\n    }}");
            }
        }
        let connect_doc = format!("/// Connects to a server of {vname} at `endpoint`.");
        let rpcbind_doc = format!(
            "/// Asks the port mapper on `host` where {vname} listens over `protocol`, then \
             connects there."
        );
        for (client, runtime_client, asyncness, await_, doc, methods) in [
            (
                "Client",
                "RpcClient",
                "async ",
                ".await",
                format!(
                    "/// An async client of {vname}: one method per procedure. Clones share the \
                     connection.\n#[derive(Clone)]"
                ),
                &async_methods,
            ),
            (
                "BlockingClient",
                "RpcBlockingClient",
                "",
                "",
                format!("/// A blocking client of {vname}: one method per procedure."),
                &blocking_methods,
            ),
        ] {
            let ret = format!("::core::result::Result<Self, {rt}::RpcError>");
            let _ = writeln!(
                out,
                "{doc}\npub struct {client}(pub {rt}::{runtime_client});\nimpl {client} {{\n    {connect_doc}"
            );
            fn_sig(
                out,
                4,
                &format!("pub {asyncness}fn connect"),
                &[
                    format!("endpoint: {rt}::RpcEndpoint"),
                    format!("config: {rt}::RpcClientConfig"),
                ],
                &ret,
            );
            let tail = format!("{await_}?;");
            let connect = list(
                18,
                8,
                &format!("{rt}::{runtime_client}::connect"),
                "(",
                &["endpoint".into(), "config".into()],
                ")",
                tail.len(),
            );
            let _ = writeln!(
                out,
                "        let rpc = {connect}{tail}\n        \
                 ::core::result::Result::Ok(Self(rpc))\n    }}\n    {rpcbind_doc}"
            );
            fn_sig(
                out,
                4,
                &format!("pub {asyncness}fn connect_rpcbind"),
                &[
                    "host: &str".into(),
                    format!("protocol: {rt}::RpcProtocol"),
                    format!("config: {rt}::RpcClientConfig"),
                ],
                &ret,
            );
            let connect = list(
                18,
                8,
                &format!("{rt}::{runtime_client}::connect_rpcbind"),
                "(",
                &[
                    "host".into(),
                    "protocol".into(),
                    "super::PROGRAM".into(),
                    "VERSION".into(),
                    "config".into(),
                ],
                ")",
                tail.len(),
            );
            let _ = writeln!(
                out,
                "        let rpc = {connect}{tail}\n        \
                 ::core::result::Result::Ok(Self(rpc))\n    }}\n{methods}}}"
            );
        }
        out.push_str(&wrappers);
    }

    /// The `Service` trait and its `Dispatcher` for one version.
    pub(super) fn server(&self, out: &mut String, v: &Version) {
        let rt = &self.rt;
        let vname = &v.name.xdr;
        let mut methods = String::new();
        let mut arms = String::new();
        let mut wrappers = String::new();
        for proc in &v.procedures {
            let method = &proc.name.rust;
            let num = number(i128::from(proc.number));
            let (args, result) = self.slots(proc);
            let what = format!("{} argument", proc.name.xdr);
            for slot in &args {
                self.wrappers(&mut wrappers, slot, &what, true, false);
            }
            self.wrappers(
                &mut wrappers,
                &result,
                &format!("{} result", proc.name.xdr),
                false,
                true,
            );
            let plain_result = &result.plain;
            let cx = &proc.context;
            self.docs(&mut methods, 4, &self.xdr_procedure(proc), &proc.docs);
            // NULL (procedure 0, void to void) answers by itself, as
            // every ONC server must; the rest are the implementor's.
            let null = proc.number == 0 && proc.args.is_empty() && proc.result.is_none();
            let mut params = vec!["&self".to_string(), format!("{cx}: &{rt}::CallContext")];
            params.extend(
                proc.args
                    .iter()
                    .zip(&args)
                    .map(|(a, slot)| format!("{}: {}", a.name.rust, slot.plain)),
            );
            let output = format!("::core::result::Result<{plain_result}, {rt}::Fault>");
            let end = if null { " {" } else { ";" };
            let flat_ret = format!(
                ") -> impl ::core::future::Future<Output = {output}> + ::core::marker::Send{end}"
            );
            let close = if super::text::fits(4, &flat_ret, 0) {
                flat_ret
            } else {
                let output = super::text::generic_type(17, 8, &output, 1);
                format!(
                    ") -> impl ::core::future::Future<\n{}Output = {output},\n{}> + ::core::marker::Send{end}",
                    pad(8),
                    pad(4)
                )
            };
            methods.push_str(pad(4));
            methods.push_str(&list(
                4,
                4,
                &format!("fn {method}"),
                "(",
                &params,
                &close,
                0,
            ));
            methods.push('\n');
            if null {
                let _ = writeln!(
                    methods,
                    "        let _ = {cx};\n        \
                     async {{ ::core::result::Result::Ok(()) }}\n    }}"
                );
            }
            // The trait's parameter names; the IR keeps them off `cx`, and
            // one named `args` shadows the bytes only once they are decoded.
            let locals: Vec<String> = proc.args.iter().map(|a| a.name.rust.clone()).collect();
            let wire_tys: Vec<&str> = args
                .iter()
                .map(|slot| match &slot.wrapper {
                    Some(w) => w.owned.as_str(),
                    None => slot.plain.as_str(),
                })
                .collect();
            let unwrapped: Vec<String> = args
                .iter()
                .zip(&locals)
                .map(|(slot, local)| match slot.wrapper {
                    Some(_) => format!("{local}.0"),
                    None => local.clone(),
                })
                .collect();
            let p16 = pad(16);
            let _ = writeln!(arms, "{}{num} => {{", pad(12));
            match (locals.as_slice(), wire_tys.as_slice()) {
                ([], _) => {
                    let _ = writeln!(arms, "{p16}{rt}::decode_args::<()>(args, cx)?;");
                }
                ([one], [ty]) => {
                    let line = format!("let {one} = {rt}::decode_args::<{ty}>(args, cx)?;");
                    if super::text::fits(16, &line, 0) {
                        let _ = writeln!(arms, "{p16}{line}");
                    } else {
                        let _ = writeln!(
                            arms,
                            "{p16}let {one} =\n{}{rt}::decode_args::<{ty}>(args, cx)?;",
                            pad(20)
                        );
                    }
                }
                (many, tys) => {
                    let _ = writeln!(
                        arms,
                        "{p16}let ({},) =\n{}{rt}::decode_args::<({},)>(args, cx)?;",
                        many.join(", "),
                        pad(20),
                        tys.join(", ")
                    );
                }
            }
            let mut call_args = vec!["&self.0".to_string(), "cx".to_string()];
            call_args.extend(unwrapped);
            let call = |col: usize| {
                list(
                    col,
                    16,
                    &format!("<S as Service>::{method}"),
                    "(",
                    &call_args,
                    ")",
                    8,
                ) + ".await?"
            };
            match &result.wrapper {
                Some(w) => {
                    let _ = writeln!(
                        arms,
                        "{p16}let results = {};\n{p16}{rt}::encode_results(&{}(&results))",
                        call(30),
                        w.by_ref
                    );
                }
                None if proc.result.is_none() => {
                    let _ = writeln!(arms, "{p16}{};\n{p16}{rt}::encode_results(&())", call(16));
                }
                None => {
                    let _ = writeln!(
                        arms,
                        "{p16}let results = {};\n{p16}{rt}::encode_results(&results)",
                        call(30)
                    );
                }
            }
            let _ = writeln!(arms, "{}}}", pad(12));
        }
        // NULL (procedure 0, void to void) is answered even when the `.x`
        // does not declare it, as rpcgen's dispatchers do: `rpcinfo -t/-u`
        // and clients checking a server is up call it.
        if !v.procedures.iter().any(|proc| proc.number == 0) {
            let _ = writeln!(
                arms,
                "            0 => {{\n                \
                 {rt}::decode_args::<()>(args, cx)?;\n                \
                 {rt}::encode_results(&())\n            }}"
            );
        }
        let _ = writeln!(
            out,
            "/// The procedures of {vname}, for a server to implement. Wrap the implementation in \
             a [`Dispatcher`] and add it to the runtime's server.\n\
             pub trait Service: ::core::marker::Send + ::core::marker::Sync + 'static {{\n\
             {methods}}}\n\
             /// Answers calls to {vname} with a [`Service`].\n\
             pub struct Dispatcher<S>(pub S);\n\
             impl<S: Service> {rt}::Dispatch for Dispatcher<S> {{\n    \
             fn program(&self) -> u32 {{\n        super::PROGRAM\n    }}\n    \
             fn version(&self) -> u32 {{\n        VERSION\n    }}"
        );
        fn_sig(
            out,
            4,
            "fn names",
            &["&self".into()],
            &format!("&'static {rt}::RpcProgramNames"),
        );
        let _ = writeln!(out, "        &NAMES\n    }}");
        fn_sig(
            out,
            4,
            "fn dispatch<'a>",
            &[
                "&'a self".into(),
                format!("cx: &'a {rt}::CallContext"),
                "args: &'a [u8]".into(),
            ],
            &format!("{rt}::DispatchFuture<'a>"),
        );
        let _ = writeln!(
            out,
            "        {rt}::Box::pin(async move {{\n            \
             match cx.procedure() {{\n{arms}                \
             _ => ::core::result::Result::Err({rt}::Fault::ProcUnavail),\n            \
             }}\n        }})\n    }}\n}}"
        );
        out.push_str(&wrappers);
    }

    /// `NAMES`: the program's and procedures' `.x` names, which the stubs
    /// hand the runtime for its call spans and events (static data: the
    /// generated code makes no tracing calls).
    pub(super) fn names_table(&self, out: &mut String, p: &Program, v: &Version) {
        if !(self.o.client || self.o.server) || self.o.zero_copy {
            return;
        }
        let rt = &self.rt;
        let entries: Vec<String> = v
            .procedures
            .iter()
            .map(|proc| {
                format!(
                    "({}, {})",
                    number(i128::from(proc.number)),
                    string_lit(&proc.name.xdr)
                )
            })
            .collect();
        let procedures = list(4, 4, "procedures: &", "[", &entries, "]", 1);
        let _ = writeln!(
            out,
            "/// The program's and procedures' names, for the runtime's call\n\
             /// spans and events.\n\
             pub const NAMES: {rt}::RpcProgramNames = {rt}::RpcProgramNames {{\n    \
             program: {},\n    {procedures},\n}};",
            string_lit(&p.name.xdr)
        );
    }

    /// What a program module holds, for its doc: the version modules and,
    /// when stubs are generated, their clients and servers.
    pub(super) fn program_contents_doc(&self, out: &mut String, p: &Program) {
        let versions: Vec<String> = p
            .versions
            .iter()
            .map(|v| format!("`{}` ({} = {})", v.name.rust, v.name.xdr, v.number))
            .collect();
        let stubs = !self.o.zero_copy;
        let mut holds = vec!["`VERSION`", "the `Procedure` enum"];
        if self.o.client && stubs {
            holds.push(
                "`Client` and `BlockingClient` (open one with `connect` or `connect_rpcbind`)",
            );
        }
        if self.o.server && stubs {
            holds.push("the `Service` trait and its `Dispatcher` for the runtime's server");
        }
        let (last, rest) = holds.split_last().unwrap_or((&"", &[]));
        let holds = if rest.is_empty() {
            (*last).to_string()
        } else {
            format!("{}, and {last}", rest.join(", "))
        };
        let _ = writeln!(
            out,
            "///\n/// Version modules: {}. Each holds {holds}.",
            versions.join(", ")
        );
    }
}

/// One argument or the result of a procedure.
struct Slot {
    /// The Rust type users see.
    plain: String,
    /// The wrapper types when the type has no codec of its own; `None`
    /// for one that has, and for `void`.
    wrapper: Option<Wrapper>,
}

/// Generated types carrying a string, opaque, array or optional argument
/// or result, whose bounds live in code.
struct Wrapper {
    /// The owned wrapper's name (decoding).
    owned: String,
    /// The borrowing wrapper's name (encoding).
    by_ref: String,
    /// The type they encode.
    ty: Ty,
}
