//! Per program version: typed clients over the runtime's RPC clients, and
//! a service trait with a dispatcher for the runtime's server.

use proc_macro2::TokenStream;
use quote::quote;

use super::codec::Val;
use super::codec::number;
use super::{Gen, ident};
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
            wrapper: (!direct).then(|| (ident(wrapper), ident(&format!("{wrapper}Ref")))),
            ty: ty.clone(),
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
                plain: quote!(()),
                wrapper: None,
                ty: Ty::Prim(crate::ir::Prim::Bool),
            },
        };
        (args, result)
    }

    /// The wrapper types a slot needs: `owned` to decode, `by_ref` to encode.
    fn wrappers(&self, slot: &Slot, what: &str, owned: bool, by_ref: bool) -> TokenStream {
        let Some((owned_name, ref_name)) = &slot.wrapper else {
            return TokenStream::new();
        };
        let rt = &self.rt;
        let plain = &slot.plain;
        let mut out = TokenStream::new();
        if by_ref {
            let v = Val::reference(quote!(self.0));
            let len = self.len(&slot.ty, &v);
            let encode = self.encode(&slot.ty, &v, what);
            out.extend(quote! {
                struct #ref_name<'a>(&'a #plain);

                impl #rt::XdrEncode for #ref_name<'_> {
                    fn encoded_len(&self) -> usize {
                        #len
                    }
                    fn encode(&self, out: &mut #rt::Vec<u8>) -> ::core::result::Result<(), #rt::EncodeError> {
                        #encode
                        ::core::result::Result::Ok(())
                    }
                }
            });
        }
        if owned {
            let decode = self.decode(&slot.ty);
            out.extend(quote! {
                struct #owned_name(#plain);

                impl #rt::XdrDecode for #owned_name {
                    fn decode(d: &mut #rt::Decoder<'_>) -> ::core::result::Result<Self, #rt::DecodeError> {
                        ::core::result::Result::Ok(Self(#decode))
                    }
                }
            });
        }
        out
    }

    /// `Client` and `BlockingClient` for one version.
    pub(super) fn clients(&self, v: &Version) -> TokenStream {
        let rt = &self.rt;
        let vname = &v.name.xdr;
        let mut async_methods = Vec::new();
        let mut blocking_methods = Vec::new();
        let mut wrappers = TokenStream::new();
        for proc in &v.procedures {
            let method = ident(&proc.name.rust);
            let num = number(i128::from(proc.number));
            let (args, result) = self.slots(proc);
            let names: Vec<_> = proc.args.iter().map(|a| ident(&a.name.rust)).collect();
            let types = args.iter().map(|a| &a.plain);
            let params = quote!(#(#names: &#types),*);
            let what = format!("{} argument", proc.name.xdr);
            for slot in &args {
                wrappers.extend(self.wrappers(slot, &what, false, true));
            }
            wrappers.extend(self.wrappers(
                &result,
                &format!("{} result", proc.name.xdr),
                true,
                false,
            ));
            let wire: Vec<_> = args
                .iter()
                .zip(&names)
                .map(|(slot, name)| match &slot.wrapper {
                    Some((_, by_ref)) => quote!(#by_ref(#name)),
                    None => quote!(#name),
                })
                .collect();
            let wire = match wire.as_slice() {
                [] => quote!(&()),
                [one] if args[0].wrapper.is_none() => quote!(#one),
                [one] => quote!(&#one),
                many => quote!(&(#(#many,)*)),
            };
            let plain_result = &result.plain;
            let (decoded, unwrap) = match &result.wrapper {
                Some((owned, _)) => (quote!(#owned), quote!(.map(|r| r.0))),
                None => (quote!(#plain_result), quote!()),
            };
            let docs = self.docs(
                &format!("procedure {} = {}", proc.name.xdr, proc.number),
                &proc.docs,
            );
            async_methods.push(quote! {
                #docs
                pub async fn #method(&self, #params)
                    -> ::core::result::Result<#plain_result, #rt::RpcError>
                {
                    self.0.call_named::<_, #decoded>(&NAMES, super::PROGRAM, VERSION, #num, #wire)
                        .await #unwrap
                }
            });
            blocking_methods.push(quote! {
                #docs
                pub fn #method(&mut self, #params)
                    -> ::core::result::Result<#plain_result, #rt::RpcError>
                {
                    self.0.call_named::<_, #decoded>(&NAMES, super::PROGRAM, VERSION, #num, #wire)
                        #unwrap
                }
            });
        }
        let async_doc = format!(
            " An async client of {vname}: one method per procedure. Clones share the connection."
        );
        let blocking_doc = format!(" A blocking client of {vname}: one method per procedure.");
        let connect_doc = format!(" Connects to a server of {vname} at `endpoint`.");
        let rpcbind_doc = format!(
            " Asks the port mapper on `host` where {vname} listens over `protocol`, then \
             connects there."
        );
        quote! {
            #[doc = #async_doc]
            #[derive(Clone)]
            pub struct Client(pub #rt::RpcClient);

            impl Client {
                #[doc = #connect_doc]
                pub async fn connect(
                    endpoint: #rt::RpcEndpoint,
                    config: #rt::RpcClientConfig,
                ) -> ::core::result::Result<Self, #rt::RpcError> {
                    let rpc = #rt::RpcClient::connect(endpoint, config).await?;
                    ::core::result::Result::Ok(Self(rpc))
                }

                #[doc = #rpcbind_doc]
                pub async fn connect_rpcbind(
                    host: &str,
                    protocol: #rt::RpcProtocol,
                    config: #rt::RpcClientConfig,
                ) -> ::core::result::Result<Self, #rt::RpcError> {
                    let rpc = #rt::RpcClient::connect_rpcbind(
                        host, protocol, super::PROGRAM, VERSION, config,
                    ).await?;
                    ::core::result::Result::Ok(Self(rpc))
                }

                #(#async_methods)*
            }

            #[doc = #blocking_doc]
            pub struct BlockingClient(pub #rt::RpcBlockingClient);

            impl BlockingClient {
                #[doc = #connect_doc]
                pub fn connect(
                    endpoint: #rt::RpcEndpoint,
                    config: #rt::RpcClientConfig,
                ) -> ::core::result::Result<Self, #rt::RpcError> {
                    let rpc = #rt::RpcBlockingClient::connect(endpoint, config)?;
                    ::core::result::Result::Ok(Self(rpc))
                }

                #[doc = #rpcbind_doc]
                pub fn connect_rpcbind(
                    host: &str,
                    protocol: #rt::RpcProtocol,
                    config: #rt::RpcClientConfig,
                ) -> ::core::result::Result<Self, #rt::RpcError> {
                    let rpc = #rt::RpcBlockingClient::connect_rpcbind(
                        host, protocol, super::PROGRAM, VERSION, config,
                    )?;
                    ::core::result::Result::Ok(Self(rpc))
                }

                #(#blocking_methods)*
            }

            #wrappers
        }
    }

    /// The `Service` trait and its `Dispatcher` for one version.
    pub(super) fn server(&self, v: &Version) -> TokenStream {
        let rt = &self.rt;
        let vname = &v.name.xdr;
        let mut methods = Vec::new();
        let mut arms = Vec::new();
        let mut wrappers = TokenStream::new();
        for proc in &v.procedures {
            let method = ident(&proc.name.rust);
            let num = number(i128::from(proc.number));
            let (args, result) = self.slots(proc);
            let names: Vec<_> = proc.args.iter().map(|a| ident(&a.name.rust)).collect();
            let types = args.iter().map(|a| &a.plain);
            let what = format!("{} argument", proc.name.xdr);
            for slot in &args {
                wrappers.extend(self.wrappers(slot, &what, true, false));
            }
            wrappers.extend(self.wrappers(
                &result,
                &format!("{} result", proc.name.xdr),
                false,
                true,
            ));
            let plain_result = &result.plain;
            let cx = context_name(proc);
            let docs = self.docs(
                &format!("procedure {} = {}", proc.name.xdr, proc.number),
                &proc.docs,
            );
            let output = quote! {
                impl ::core::future::Future<
                    Output = ::core::result::Result<#plain_result, #rt::Fault>
                > + ::core::marker::Send
            };
            // NULL (procedure 0, void to void) answers by itself, as
            // every ONC server must; the rest are the implementor's.
            let body = if proc.number == 0 && proc.args.is_empty() && proc.result.is_none() {
                quote! {{
                    let _ = #cx;
                    async { ::core::result::Result::Ok(()) }
                }}
            } else {
                quote!(;)
            };
            methods.push(quote! {
                #docs
                fn #method(&self, #cx: &#rt::CallContext, #(#names: #types),*) -> #output #body
            });
            // Positional locals: the `.x` names could shadow `cx` or `args`.
            let locals: Vec<_> = (0..args.len()).map(|i| ident(&format!("arg{i}"))).collect();
            let wire_tys: Vec<_> = args
                .iter()
                .map(|slot| match &slot.wrapper {
                    Some((owned, _)) => quote!(#owned),
                    None => slot.plain.clone(),
                })
                .collect();
            let unwrapped: Vec<_> = args
                .iter()
                .zip(&locals)
                .map(|(slot, local)| match slot.wrapper {
                    Some(_) => quote!(#local.0),
                    None => quote!(#local),
                })
                .collect();
            let decode = match (locals.as_slice(), wire_tys.as_slice()) {
                ([], _) => quote!(#rt::decode_args::<()>(args, cx)?;),
                ([one], [ty]) => quote!(let #one = #rt::decode_args::<#ty>(args, cx)?;),
                (many, tys) => {
                    quote!(let (#(#many,)*) = #rt::decode_args::<(#(#tys,)*)>(args, cx)?;)
                }
            };
            let call = quote!(<S as Service>::#method(&self.0, cx, #(#unwrapped),*).await?);
            let answer = match &result.wrapper {
                Some((_, by_ref)) => quote! {
                    let results = #call;
                    #rt::encode_results(&#by_ref(&results))
                },
                None if proc.result.is_none() => quote! {
                    #call;
                    #rt::encode_results(&())
                },
                None => quote! {
                    let results = #call;
                    #rt::encode_results(&results)
                },
            };
            arms.push(quote! {
                #num => {
                    #decode
                    #answer
                }
            });
        }
        // NULL (procedure 0, void to void) is answered even when the `.x`
        // does not declare it, as rpcgen's dispatchers do: `rpcinfo -t/-u`
        // and clients checking a server is up call it.
        if !v.procedures.iter().any(|proc| proc.number == 0) {
            arms.push(quote! {
                0 => {
                    #rt::decode_args::<()>(args, cx)?;
                    #rt::encode_results(&())
                }
            });
        }
        let trait_doc = format!(
            " The procedures of {vname}, for a server to implement. Wrap the implementation in \
             a [`Dispatcher`] and add it to the runtime's server."
        );
        let dispatcher_doc = format!(" Answers calls to {vname} with a [`Service`].");
        quote! {
            #[doc = #trait_doc]
            pub trait Service: ::core::marker::Send + ::core::marker::Sync + 'static {
                #(#methods)*
            }

            #[doc = #dispatcher_doc]
            pub struct Dispatcher<S>(pub S);

            impl<S: Service> #rt::Dispatch for Dispatcher<S> {
                fn program(&self) -> u32 {
                    super::PROGRAM
                }

                fn version(&self) -> u32 {
                    VERSION
                }

                fn names(&self) -> &'static #rt::RpcProgramNames {
                    &NAMES
                }

                fn dispatch<'a>(
                    &'a self,
                    cx: &'a #rt::CallContext,
                    args: &'a [u8],
                ) -> #rt::DispatchFuture<'a> {
                    #rt::Box::pin(async move {
                        match cx.procedure() {
                            #(#arms)*
                            _ => ::core::result::Result::Err(#rt::Fault::ProcUnavail),
                        }
                    })
                }
            }

            #wrappers
        }
    }
}

impl Gen<'_> {
    /// `NAMES`: the program's and procedures' `.x` names, which the stubs
    /// hand the runtime for its call spans and events (static data: the
    /// generated code makes no tracing calls).
    pub(super) fn names_table(&self, p: &Program, v: &Version) -> TokenStream {
        if !(self.o.client || self.o.server) || self.o.zero_copy {
            return TokenStream::new();
        }
        let rt = &self.rt;
        let program = &p.name.xdr;
        let entries = v.procedures.iter().map(|proc| {
            let num = number(i128::from(proc.number));
            let name = &proc.name.xdr;
            quote!((#num, #name))
        });
        quote! {
            /// The program's and procedures' names, for the runtime's call
            /// spans and events.
            pub const NAMES: #rt::RpcProgramNames = #rt::RpcProgramNames {
                program: #program,
                procedures: &[#(#entries),*],
            };
        }
    }

    /// What a program module holds, for its doc: the version modules and,
    /// when stubs are generated, their clients and servers.
    pub(super) fn program_contents_doc(&self, p: &Program) -> TokenStream {
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
        let line = format!(
            " Version modules: {}. Each holds {holds}.",
            versions.join(", ")
        );
        quote!(#[doc = ""] #[doc = #line])
    }
}

/// One argument or the result of a procedure.
struct Slot {
    /// The Rust type users see.
    plain: TokenStream,
    /// Wrapper type names (owned, by reference) when the type has no codec
    /// of its own.
    wrapper: Option<(proc_macro2::Ident, proc_macro2::Ident)>,
    ty: Ty,
}

/// The call-context parameter's name, clear of the procedure's own.
fn context_name(proc: &Procedure) -> proc_macro2::Ident {
    let taken = |n: &str| proc.args.iter().any(|a| a.name.rust == n);
    let name = ["cx", "call", "context"]
        .into_iter()
        .find(|n| !taken(n))
        .unwrap_or("call_context");
    ident(name)
}
