//! Per libvirt protocol (a `<p>_procedure` enum): the procedure table with
//! its annotations, a typed client and event enum over the runtime's
//! libvirt connection, and a service trait with a dispatcher for its
//! server.

use proc_macro2::TokenStream;
use quote::quote;

use super::codec::number;
use super::{Gen, ident};
use crate::ir::{Acl, LibvirtProcedure, LibvirtProgram, Priority, TypeId};

impl Gen<'_> {
    pub(super) fn libvirt_program(&self, p: &LibvirtProgram) -> TokenStream {
        // Everything sits in `<p>_program`, one module down.
        self.depth.set(1);
        let rt = &self.rt;
        let module = ident(&p.name.rust);
        let program = number(i128::from(p.program));
        let version = number(i128::from(p.version));
        let name = &p.name.xdr;
        let doc = format!(
            " libvirt protocol `{}`: program {:#x}, version {}, procedures from `{}_procedure`.",
            p.name.xdr, p.program, p.version, p.name.xdr
        );
        let mut sorted: Vec<&LibvirtProcedure> = p.procedures.iter().collect();
        sorted.sort_by_key(|proc| proc.number);
        sorted.dedup_by_key(|proc| proc.number);
        let infos = sorted.iter().map(|proc| procedure_info(proc, rt));
        // Zero-copy types borrow from a buffer the stubs do not keep.
        let client = if self.o.client && !self.o.zero_copy {
            self.libvirt_client(p)
        } else {
            TokenStream::new()
        };
        let server = if self.o.server && !self.o.zero_copy {
            self.libvirt_server(p)
        } else {
            TokenStream::new()
        };
        let out = quote! {
            #[doc = #doc]
            pub mod #module {
                /// The program number.
                pub const PROGRAM: u32 = #program;
                /// The protocol version.
                pub const VERSION: u32 = #version;

                /// Every procedure with its annotations, by number.
                pub const PROCEDURES: &[#rt::LibvirtProcedureInfo] = &[#(#infos),*];

                /// The protocol's and procedures' names, for the runtime's
                /// call spans and events.
                pub const NAMES: #rt::LibvirtProtocolNames = #rt::LibvirtProtocolNames {
                    program: #name,
                    procedures: PROCEDURES,
                };

                /// A procedure's entry in [`PROCEDURES`].
                pub fn procedure_info(number: i32) -> ::core::option::Option<&'static #rt::LibvirtProcedureInfo> {
                    PROCEDURES
                        .binary_search_by_key(&number, |p| p.number)
                        .ok()
                        .map(|i| &PROCEDURES[i])
                }

                #client
                #server
            }
        };
        self.depth.set(0);
        out
    }

    fn named(&self, id: Option<TypeId>) -> Option<TokenStream> {
        id.map(|id| self.rust_ty(&crate::ir::Ty::Named(id)))
    }

    fn libvirt_client(&self, p: &LibvirtProgram) -> TokenStream {
        let rt = &self.rt;
        let mut methods = Vec::new();
        let mut variants = Vec::new();
        let mut decode_arms = Vec::new();
        let mut number_arms = Vec::new();
        for proc in &p.procedures {
            let num = number(i128::from(proc.number));
            if let Some(msg) = self.named(proc.event) {
                let variant = ident(&proc.variant);
                let doc = format!(" `{}` ({}).", proc.name.xdr, proc.number);
                variants.push(quote!(#[doc = #doc] #variant(#msg)));
                decode_arms.push(quote! {
                    #num => ::core::result::Result::Ok(::core::option::Option::Some(
                        Event::#variant(#rt::XdrDecode::from_xdr_with(body, limits)?),
                    ))
                });
                number_arms.push(quote!(Event::#variant(_) => #num));
                continue;
            }
            let method = ident(&proc.name.rust);
            let args = self.named(proc.args);
            let ret = self.named(proc.ret).unwrap_or_else(|| quote!(()));
            let (param, wire) = match &args {
                Some(ty) => (quote!(args: &#ty), quote!(args)),
                None => (quote!(), quote!(&())),
            };
            let doc = format!(" Calls `{}` ({}).", proc.name.xdr, proc.number);
            let streams =
                proc.annotations.readstream.is_some() || proc.annotations.writestream.is_some();
            methods.push(if streams {
                quote! {
                    #[doc = #doc]
                    /// The stream follows the reply.
                    pub async fn #method(&self, #param)
                        -> ::core::result::Result<(#ret, #rt::LibvirtStream), #rt::LibvirtError>
                    {
                        self.0.call_with_stream_named(&NAMES, PROGRAM, VERSION, #num, #wire).await
                    }
                }
            } else {
                quote! {
                    #[doc = #doc]
                    pub async fn #method(&self, #param)
                        -> ::core::result::Result<#ret, #rt::LibvirtError>
                    {
                        self.0.call_named(&NAMES, PROGRAM, VERSION, #num, #wire).await
                    }
                }
            });
        }
        let events = if variants.is_empty() {
            TokenStream::new()
        } else {
            quote! {
                /// The events of this protocol (procedures with a `_msg` struct).
                #[derive(Clone, Debug)]
                pub enum Event {
                    #(#variants,)*
                }

                impl Client {
                    /// This protocol's events from now on, decoded (a
                    /// client registers for them with the protocol's
                    /// register procedures).
                    pub fn events(&self) -> #rt::LibvirtEventReceiver<Event> {
                        self.0.subscribe_decoded(PROGRAM, Event::decode)
                    }
                }

                impl Event {
                    /// Decodes the body of an event message; `None` for a
                    /// procedure that is not an event of this protocol.
                    pub fn decode(
                        procedure: i32,
                        body: &[u8],
                        limits: &#rt::Limits,
                    ) -> ::core::result::Result<::core::option::Option<Event>, #rt::DecodeError> {
                        match procedure {
                            #(#decode_arms,)*
                            _ => ::core::result::Result::Ok(::core::option::Option::None),
                        }
                    }

                    /// The procedure number the event travels under.
                    pub fn procedure(&self) -> i32 {
                        match self {
                            #(#number_arms,)*
                        }
                    }
                }
            }
        };
        quote! {
            /// A typed client: one method per procedure that is not an event.
            /// Events arrive through the connection's `subscribe`, decoded
            /// with `Event::decode`.
            #[derive(Clone)]
            pub struct Client(pub #rt::LibvirtConnection);

            impl Client {
                #(#methods)*
            }

            #events
        }
    }

    fn libvirt_server(&self, p: &LibvirtProgram) -> TokenStream {
        let rt = &self.rt;
        let mut methods = Vec::new();
        let mut arms = Vec::new();
        for proc in p.procedures.iter().filter(|proc| proc.event.is_none()) {
            let num = number(i128::from(proc.number));
            let method = ident(&proc.name.rust);
            let args = self.named(proc.args);
            let ret = self.named(proc.ret).unwrap_or_else(|| quote!(()));
            let member = &proc.name.xdr;
            let doc = format!(" Answers `{}` ({}).", proc.name.xdr, proc.number);
            let (param, unused, decode, pass) = match &args {
                Some(ty) => (
                    quote!(args: #ty),
                    quote!((cx, args)),
                    quote!(let args: #ty = #rt::libvirt_decode_args(args, cx)?;),
                    quote!(, args),
                ),
                None => (
                    quote!(),
                    quote!(cx),
                    quote!(#rt::libvirt_decode_args::<()>(args, cx)?;),
                    quote!(),
                ),
            };
            methods.push(quote! {
                #[doc = #doc]
                /// Unless implemented: `VIR_ERR_NO_SUPPORT`.
                fn #method(&self, cx: &#rt::LibvirtContext, #param)
                    -> impl ::core::future::Future<Output = ::core::result::Result<#ret, #rt::RemoteError>> + ::core::marker::Send
                {
                    let _ = #unused;
                    async { ::core::result::Result::Err(#rt::RemoteError::unsupported(#member)) }
                }
            });
            let call = if proc.ret.is_some() {
                quote! {
                    let ret = <S as Service>::#method(&self.0, cx #pass).await?;
                    #rt::libvirt_encode_ret(&ret)
                }
            } else {
                quote! {
                    <S as Service>::#method(&self.0, cx #pass).await?;
                    ::core::result::Result::Ok(#rt::Vec::new())
                }
            };
            arms.push(quote! {
                #num => {
                    #decode
                    #call
                }
            });
        }
        quote! {
            /// The procedures of this protocol, for a server to implement;
            /// every method has a default that answers `VIR_ERR_NO_SUPPORT`.
            pub trait Service: ::core::marker::Send + ::core::marker::Sync + 'static {
                #(#methods)*

                /// Called when a connection closes.
                fn disconnected(&self, session: &#rt::LibvirtSession) {
                    let _ = session;
                }
            }

            /// Answers calls to this protocol with a [`Service`].
            pub struct Dispatcher<S>(pub S);

            impl<S: Service> #rt::LibvirtDispatch for Dispatcher<S> {
                fn program(&self) -> u32 {
                    PROGRAM
                }

                fn version(&self) -> u32 {
                    VERSION
                }

                fn names(&self) -> &'static #rt::LibvirtProtocolNames {
                    &NAMES
                }

                fn dispatch<'a>(
                    &'a self,
                    cx: &'a #rt::LibvirtContext,
                    args: &'a [u8],
                ) -> #rt::LibvirtDispatchFuture<'a> {
                    #rt::Box::pin(async move {
                        match cx.procedure() {
                            #(#arms)*
                            other => ::core::result::Result::Err(
                                #rt::RemoteError::unknown_procedure(PROGRAM, other),
                            ),
                        }
                    })
                }

                fn disconnected(&self, session: &#rt::LibvirtSession) {
                    <S as Service>::disconnected(&self.0, session);
                }
            }
        }
    }
}

fn procedure_info(proc: &LibvirtProcedure, rt: &TokenStream) -> TokenStream {
    let a = &proc.annotations;
    let number = number(i128::from(proc.number));
    let name = &proc.name.xdr;
    let high = a.priority == Some(Priority::High);
    let acl = a.acl.iter().map(acl_text);
    let filter = a.aclfilter.iter().map(acl_text);
    let read = a.readstream.is_some();
    let write = a.writestream.is_some();
    let event = proc.event.is_some();
    quote! {
        #rt::LibvirtProcedureInfo {
            number: #number,
            name: #name,
            high_priority: #high,
            acl: &[#(#acl),*],
            acl_filter: &[#(#filter),*],
            read_stream: #read,
            write_stream: #write,
            event: #event,
        }
    }
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
