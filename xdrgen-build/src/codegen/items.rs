//! One Rust item (plus impls) per XDR definition.

use proc_macro2::{Literal, TokenStream};
use quote::quote;

use super::codec::{Val, is_copy, number};
use super::{Gen, ident};
use crate::ir::{
    Const, ConstValue, DiscriminantKind, Enum, Field, Prim, Program, Struct, Ty, TypeDef, TypeKind,
    Union,
};

impl Gen<'_> {
    pub(super) fn constant(&self, c: &Const) -> TokenStream {
        let name = ident(&c.name.rust);
        let docs = self.docs(&format!("const {}", c.name.xdr), &c.docs);
        match &c.value {
            ConstValue::Int(v) => {
                let ty = const_type(*v);
                let lit = number(*v);
                quote! {
                    #docs
                    pub const #name: #ty = #lit;
                }
            }
            ConstValue::Str(s) => {
                let lit = Literal::string(&unescape_c(s));
                quote! {
                    #docs
                    pub const #name: &str = #lit;
                }
            }
        }
    }

    pub(super) fn type_def(&self, t: &TypeDef) -> TokenStream {
        match &t.kind {
            TypeKind::Alias { ty } => {
                let name = ident(&t.name.rust);
                let docs = self.docs(&format!("typedef {}", t.name.xdr), &t.docs);
                let rust = self.rust_ty(ty);
                let lt = self.lifetime(t.id);
                quote! {
                    #docs
                    pub type #name #lt = #rust;
                }
            }
            TypeKind::Enum(e) => self.enumeration(t, e),
            TypeKind::Struct(s) => self.structure(t, s),
            TypeKind::Union(u) => self.union(t, u),
            TypeKind::Extern => TokenStream::new(),
        }
    }

    fn derives(&self, t: &TypeDef, base: &[&str]) -> TokenStream {
        let p = self.props[t.id.index()];
        let mut names: Vec<TokenStream> = base
            .iter()
            .map(|d| d.parse().expect("derive names are paths"))
            .collect();
        if p.eq {
            names.push(quote!(::core::cmp::Eq));
        }
        if p.hash {
            names.push(quote!(::core::hash::Hash));
        }
        if p.default && !matches!(t.kind, TypeKind::Enum(_)) {
            names.push(quote!(::core::default::Default));
        }
        if self.o.arbitrary && !p.borrows {
            names.push(quote!(::arbitrary::Arbitrary));
        }
        names.extend(self.o.derives.iter().cloned());
        let extra = self.extra_attributes(&t.name.xdr);
        let serde = self.serde_derives(t.id);
        quote! {
            #[derive(#(#names),*)]
            #serde
            #extra
        }
    }

    /// The encoded size of several values: fixed parts summed at
    /// generation time, the rest added at run time.
    fn sum_len<'t>(&self, parts: impl Iterator<Item = (&'t Ty, Val)>, base: usize) -> TokenStream {
        let mut fixed = base;
        let mut dynamic = Vec::new();
        for (ty, v) in parts {
            match self.fixed_size(ty) {
                Some(n) => fixed += n,
                None => dynamic.push(self.len(ty, &v)),
            }
        }
        let fixed = Literal::usize_unsuffixed(fixed);
        if dynamic.is_empty() {
            quote!(#fixed)
        } else if fixed.to_string() == "0" {
            quote!(#(#dynamic)+*)
        } else {
            quote!(#fixed #(+ #dynamic)*)
        }
    }

    /// `impl XdrDecode` for owned types, `impl XdrDecodeBorrowed<'a>` for
    /// types that borrow from the input.
    fn decode_impl(&self, t: &TypeDef, body: &TokenStream) -> TokenStream {
        self.decode_impl_with(t, &self.inline(t.id), body)
    }

    fn decode_impl_with(
        &self,
        t: &TypeDef,
        attrs: &TokenStream,
        body: &TokenStream,
    ) -> TokenStream {
        let rt = &self.rt;
        let name = ident(&t.name.rust);
        if self.props[t.id.index()].borrows {
            quote! {
                impl<'a> #rt::XdrDecodeBorrowed<'a> for #name<'a> {
                    #attrs
                    fn decode_borrowed(d: &mut #rt::Decoder<'a>) -> ::core::result::Result<Self, #rt::DecodeError> {
                        #body
                    }
                }
            }
        } else {
            quote! {
                impl #rt::XdrDecode for #name {
                    #attrs
                    fn decode(d: &mut #rt::Decoder<'_>) -> ::core::result::Result<Self, #rt::DecodeError> {
                        #body
                    }
                }
            }
        }
    }

    // ----- enums -----

    fn enumeration(&self, t: &TypeDef, e: &Enum) -> TokenStream {
        let rt = &self.rt;
        let name = ident(&t.name.rust);
        let xdr = &t.name.xdr;
        let docs = self.docs(&format!("enum {xdr}"), &t.docs);
        let extra = self.extra_attributes(xdr);
        let serde = self.serde_derives(t.id);
        let arbitrary = self.o.arbitrary.then(|| quote!(, ::arbitrary::Arbitrary));
        let derives = &self.o.derives;
        let members: Vec<_> = e.members.iter().filter(|m| m.alias_of.is_none()).collect();
        if members.is_empty() {
            // An enum with no members has no values to encode or decode.
            return quote! {
                #docs
                #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash #(, #derives)*)]
                #extra
                pub enum #name {}
            };
        }
        let variants = members.iter().enumerate().map(|(i, m)| {
            let v = ident(&m.name.rust);
            let value = number(i128::from(m.value));
            let d = self.docs(&m.name.xdr, &m.docs);
            let default = (i == 0).then(|| quote!(#[default]));
            quote!(#d #default #v = #value)
        });
        let aliases = e.members.iter().filter_map(|m| {
            let target = &e.members[m.alias_of?];
            let alias = ident(&crate::ir::names::const_name(&m.name.xdr));
            let target = ident(&target.name.rust);
            let doc = format!(" XDR `{}`, another name for the same value.", m.name.xdr);
            Some(quote!(#[doc = #doc] pub const #alias: Self = Self::#target;))
        });
        let all = members.iter().map(|m| ident(&m.name.rust));
        let names = members.iter().map(|m| {
            let v = ident(&m.name.rust);
            let n = &m.name.xdr;
            quote!(Self::#v => #n)
        });
        let from = members.iter().map(|m| {
            let v = ident(&m.name.rust);
            let value = number(i128::from(m.value));
            quote!(#value => ::core::result::Result::Ok(Self::#v))
        });
        let random = self.o.random.then(|| {
            let n = members.len() as u64;
            quote! {
                impl #rt::Random for #name {
                    fn random(rng: &mut #rt::Rng) -> Self {
                        Self::VALUES[usize::try_from(rng.below(#n)).unwrap_or(0)]
                    }
                }
            }
        });
        quote! {
            #docs
            #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord #arbitrary #(, #derives)*)]
            #serde
            #extra
            #[repr(i32)]
            pub enum #name {
                #(#variants,)*
            }

            impl #name {
                #(#aliases)*
                /// Every member, in declaration order.
                pub const VALUES: &'static [Self] = &[#(Self::#all),*];

                /// The member's name in the `.x` file.
                pub const fn xdr_name(self) -> &'static str {
                    match self {
                        #(#names,)*
                    }
                }
            }

            impl ::core::convert::TryFrom<i32> for #name {
                type Error = i32;
                fn try_from(value: i32) -> ::core::result::Result<Self, i32> {
                    match value {
                        #(#from,)*
                        other => ::core::result::Result::Err(other),
                    }
                }
            }

            impl ::core::convert::From<#name> for i32 {
                fn from(value: #name) -> i32 {
                    value as i32
                }
            }

            impl #rt::XdrEncode for #name {
                #[inline]
                fn encoded_len(&self) -> usize {
                    4
                }
                #[inline]
                fn encode(&self, out: &mut #rt::Vec<u8>) -> ::core::result::Result<(), #rt::EncodeError> {
                    #rt::put_i32(out, *self as i32);
                    ::core::result::Result::Ok(())
                }
            }

            impl #rt::XdrDecode for #name {
                #[inline]
                fn decode(d: &mut #rt::Decoder<'_>) -> ::core::result::Result<Self, #rt::DecodeError> {
                    let at = d.position();
                    let value = d.i32()?;
                    Self::try_from(value).map_err(|value| #rt::DecodeError::InvalidEnum {
                        at,
                        type_name: #xdr,
                        value,
                    })
                }
            }

            #random
        }
    }

    // ----- structs -----

    fn fields(&self, fields: &[Field]) -> Vec<TokenStream> {
        fields
            .iter()
            .map(|f| {
                let name = ident(&f.name.rust);
                let ty = self.rust_ty(&f.ty);
                let docs = self.docs(&f.name.xdr, &f.docs);
                let with = self.serde_field(&f.ty);
                quote!(#docs #with pub #name: #ty)
            })
            .collect()
    }

    fn structure(&self, t: &TypeDef, s: &Struct) -> TokenStream {
        let name = ident(&t.name.rust);
        let lt = self.lifetime(t.id);
        let anon = self.anon_lifetime(t.id);
        let borrows = self.props[t.id.index()].borrows;
        let docs = self.docs(&format!("struct {}", t.name.xdr), &t.docs);
        let fields = self.fields(&s.fields);
        let props = self.props[t.id.index()];
        // The struct mirrors the protocol: many flags are its design.
        let bools = s
            .fields
            .iter()
            .filter(|f| matches!(self.expand(&f.ty), Ty::Prim(Prim::Bool)))
            .count();
        let docs = if bools > 3 {
            quote!(#docs #[allow(clippy::struct_excessive_bools)])
        } else {
            docs
        };
        if let Some(link) = props.list_link {
            let derives = self.derives(t, &[]);
            let impls = self.list_impls(t, s, link);
            return quote! {
                #docs
                #derives
                pub struct #name #lt {
                    #(#fields,)*
                }
                #impls
            };
        }
        let derives = self.derives(
            t,
            &[
                "::core::clone::Clone",
                "::core::fmt::Debug",
                "::core::cmp::PartialEq",
            ],
        );
        let rt = &self.rt;
        let what = |f: &Field| format!("{}.{}", t.name.xdr, f.name.xdr);
        let names: Vec<_> = s.fields.iter().map(|f| ident(&f.name.rust)).collect();
        let encs = s
            .fields
            .iter()
            .zip(&names)
            .map(|(f, n)| self.encode(&f.ty, &Val::place(quote!(self.#n)), &what(f)));
        let len = self.sum_len(
            s.fields
                .iter()
                .zip(&names)
                .map(|(f, n)| (&f.ty, Val::place(quote!(self.#n)))),
            0,
        );
        let decs = s.fields.iter().map(|f| self.decode(&f.ty));
        let random = (self.o.random && !borrows).then(|| {
            let rands = s.fields.iter().map(|f| self.random(&f.ty));
            quote! {
                impl #rt::Random for #name {
                    fn random(rng: &mut #rt::Rng) -> Self {
                        let _ = &rng;
                        Self { #(#names: #rands,)* }
                    }
                }
            }
        });
        let unused_out = s.fields.is_empty().then(|| quote!(let _ = &out;));
        let unused_d = s.fields.is_empty().then(|| quote!(let _ = &d;));
        let inline = self.inline(t.id);
        let decode_impl = self.decode_impl(
            t,
            &quote! {
                #unused_d
                ::core::result::Result::Ok(Self {
                    #(#names: #decs,)*
                })
            },
        );
        quote! {
            #docs
            #derives
            pub struct #name #lt {
                #(#fields,)*
            }

            impl #rt::XdrEncode for #name #anon {
                #inline
                fn encoded_len(&self) -> usize {
                    #len
                }
                #inline
                fn encode(&self, out: &mut #rt::Vec<u8>) -> ::core::result::Result<(), #rt::EncodeError> {
                    #unused_out
                    #(#encs)*
                    ::core::result::Result::Ok(())
                }
            }

            #decode_impl

            #random
        }
    }

    /// A singly linked list (`entry *nextentry` last): every walk is a loop.
    fn list_impls(&self, t: &TypeDef, s: &Struct, link: usize) -> TokenStream {
        let rt = &self.rt;
        let name = ident(&t.name.rust);
        let anon = self.anon_lifetime(t.id);
        let borrows = self.props[t.id.index()].borrows;
        let xdr = &t.name.xdr;
        let link_name = ident(&s.fields[link].name.rust);
        let body: Vec<&Field> = s.fields[..link].iter().collect();
        let names: Vec<_> = body.iter().map(|f| ident(&f.name.rust)).collect();
        let what = |f: &Field| format!("{}.{}", xdr, f.name.xdr);
        let encs = body
            .iter()
            .zip(&names)
            .map(|(f, n)| self.encode(&f.ty, &Val::place(quote!(node.#n)), &what(f)));
        let node_len = self.sum_len(
            body.iter()
                .zip(&names)
                .map(|(f, n)| (&f.ty, Val::place(quote!(node.#n)))),
            4,
        );
        let decs: Vec<_> = body.iter().map(|f| self.decode(&f.ty)).collect();
        let decode_impl = self.decode_impl(
            t,
            &quote! {
                let mut head = Self { #(#names: #decs,)* #link_name: ::core::option::Option::None };
                let mut tail = &mut head.#link_name;
                while d.bool()? {
                    d.charge(::core::mem::size_of::<Self>())?;
                    let node = Self { #(#names: #decs,)* #link_name: ::core::option::Option::None };
                    tail = &mut tail.insert(#rt::Box::new(node)).#link_name;
                }
                ::core::result::Result::Ok(head)
            },
        );
        let node_struct = if borrows {
            quote! {
                struct Node<'n, 'a>(&'n #name<'a>);
                impl ::core::fmt::Debug for Node<'_, '_>
            }
        } else {
            quote! {
                struct Node<'n>(&'n #name);
                impl ::core::fmt::Debug for Node<'_>
            }
        };
        let copies: Vec<TokenStream> = body
            .iter()
            .zip(&names)
            .map(|(f, n)| {
                if is_copy(self, &f.ty) {
                    quote!(node.#n)
                } else {
                    quote!(node.#n.clone())
                }
            })
            .collect();
        let self_copies: Vec<TokenStream> = body
            .iter()
            .zip(&names)
            .map(|(f, n)| {
                if is_copy(self, &f.ty) {
                    quote!(self.#n)
                } else {
                    quote!(self.#n.clone())
                }
            })
            .collect();
        let differs = if names.is_empty() {
            quote!(false)
        } else {
            quote!(#(a.#names != b.#names)||*)
        };
        let field_strs = body
            .iter()
            .map(|f| f.name.rust.trim_start_matches("r#").to_string());
        let random = (self.o.random && !borrows).then(|| {
            let rands: Vec<_> = body.iter().map(|f| self.random(&f.ty)).collect();
            quote! {
                impl #rt::Random for #name {
                    fn random(rng: &mut #rt::Rng) -> Self {
                        let mut head = Self { #(#names: #rands,)* #link_name: ::core::option::Option::None };
                        let mut tail = &mut head.#link_name;
                        for _ in 0..rng.len(6) {
                            let node = Self { #(#names: #rands,)* #link_name: ::core::option::Option::None };
                            tail = &mut tail.insert(#rt::Box::new(node)).#link_name;
                        }
                        head
                    }
                }
            }
        });
        quote! {
            impl #rt::XdrEncode for #name #anon {
                fn encoded_len(&self) -> usize {
                    let mut len = 0;
                    let mut next = ::core::option::Option::Some(self);
                    while let ::core::option::Option::Some(node) = next {
                        len += #node_len;
                        next = node.#link_name.as_deref();
                    }
                    len
                }
                fn encode(&self, out: &mut #rt::Vec<u8>) -> ::core::result::Result<(), #rt::EncodeError> {
                    let mut node = self;
                    loop {
                        #(#encs)*
                        match node.#link_name.as_deref() {
                            ::core::option::Option::Some(next) => {
                                #rt::put_bool(out, true);
                                node = next;
                            }
                            ::core::option::Option::None => {
                                #rt::put_bool(out, false);
                                return ::core::result::Result::Ok(());
                            }
                        }
                    }
                }
            }

            #decode_impl

            impl ::core::ops::Drop for #name #anon {
                fn drop(&mut self) {
                    // Unlink node by node: the default drop would recurse
                    // once per node.
                    let mut next = self.#link_name.take();
                    while let ::core::option::Option::Some(mut node) = next {
                        next = node.#link_name.take();
                    }
                }
            }

            impl ::core::clone::Clone for #name #anon {
                fn clone(&self) -> Self {
                    let mut head = Self { #(#names: #self_copies,)* #link_name: ::core::option::Option::None };
                    let mut tail = &mut head.#link_name;
                    let mut next = self.#link_name.as_deref();
                    while let ::core::option::Option::Some(node) = next {
                        let copy = Self { #(#names: #copies,)* #link_name: ::core::option::Option::None };
                        tail = &mut tail.insert(#rt::Box::new(copy)).#link_name;
                        next = node.#link_name.as_deref();
                    }
                    head
                }
            }

            impl ::core::cmp::PartialEq for #name #anon {
                fn eq(&self, other: &Self) -> bool {
                    let (mut a, mut b) = (self, other);
                    loop {
                        if #differs {
                            return false;
                        }
                        match (a.#link_name.as_deref(), b.#link_name.as_deref()) {
                            (::core::option::Option::Some(x), ::core::option::Option::Some(y)) => {
                                a = x;
                                b = y;
                            }
                            (::core::option::Option::None, ::core::option::Option::None) => return true,
                            _ => return false,
                        }
                    }
                }
            }

            /// Prints the list as a sequence of nodes (without recursing).
            impl ::core::fmt::Debug for #name #anon {
                fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                    #node_struct {
                        fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                            f.debug_struct(#xdr)
                                #(.field(#field_strs, &self.0.#names))*
                                .finish_non_exhaustive()
                        }
                    }
                    let mut list = f.debug_list();
                    let mut next = ::core::option::Option::Some(self);
                    while let ::core::option::Option::Some(node) = next {
                        list.entry(&Node(node));
                        next = node.#link_name.as_deref();
                    }
                    list.finish()
                }
            }

            #random
        }
    }

    // ----- unions -----

    #[allow(clippy::many_single_char_names)] // d, v, u, t, c: short-lived in quote! blocks
    fn union(&self, t: &TypeDef, u: &Union) -> TokenStream {
        let rt = &self.rt;
        let name = ident(&t.name.rust);
        let lt = self.lifetime(t.id);
        let anon = self.anon_lifetime(t.id);
        let borrows = self.props[t.id.index()].borrows;
        let xdr = &t.name.xdr;
        let docs = self.docs(&format!("union {xdr}"), &t.docs);
        let derives = self.derives(
            t,
            &[
                "::core::clone::Clone",
                "::core::fmt::Debug",
                "::core::cmp::PartialEq",
            ],
        );
        let disc_ty = self.rust_ty(&u.discriminant.ty);
        let what = |f: &Field| format!("{}.{}", xdr, f.name.xdr);

        struct Case<'a> {
            variant: proc_macro2::Ident,
            value: i128,
            field: Option<&'a Field>,
            docs: &'a [String],
            label: &'a str,
        }
        let cases: Vec<Case<'_>> = u
            .arms
            .iter()
            .flat_map(|arm| {
                arm.cases.iter().map(move |c| Case {
                    variant: ident(&c.rust),
                    value: c.value,
                    field: arm.field.as_ref(),
                    docs: &arm.docs,
                    label: &c.label,
                })
            })
            .collect();

        let variants = cases.iter().map(|c| {
            let d = self.docs(&format!("case {}", c.label), c.docs);
            let v = &c.variant;
            match c.field {
                Some(f) => {
                    let ty = self.rust_ty(&f.ty);
                    let with = self.serde_field(&f.ty);
                    quote!(#d #with #v(#ty))
                }
                None => quote!(#d #v),
            }
        });
        let default_type = u
            .default
            .as_ref()
            .map(|dflt| ident(&dflt.discriminant_type.rust));
        let default_variant = u
            .default
            .as_ref()
            .zip(default_type.as_ref())
            .map(|(dflt, dt)| {
                let d = self.docs("default", &dflt.docs);
                match &dflt.field {
                    Some(f) => {
                        let ty = self.rust_ty(&f.ty);
                        quote! {
                            #d
                            Default {
                                /// The discriminant: a value no `case` lists.
                                discriminant: #dt,
                                /// The arm's data.
                                value: #ty,
                            }
                        }
                    }
                    None => quote!(#d Default(#dt)),
                }
            });
        let disc_size = Literal::usize_unsuffixed(u.discriminant_kind.wire_size());

        // Encoding the discriminant.
        let put_disc = |value: i128| -> TokenStream {
            match u.discriminant_kind {
                DiscriminantKind::Enum(_) => {
                    let lit = number(value);
                    quote!(#rt::put_i32(out, #lit);)
                }
                DiscriminantKind::Prim(Prim::Bool) => {
                    let b = value != 0;
                    quote!(#rt::put_bool(out, #b);)
                }
                DiscriminantKind::Prim(p) => {
                    let lit = number(value);
                    let put = super::codec::prim_put(p);
                    quote!(#rt::#put(out, #lit);)
                }
            }
        };
        let disc_field = crate::ir::Field {
            name: u.discriminant.name.clone(),
            ty: u.discriminant.ty.clone(),
            docs: Vec::new(),
        };
        let enc_arms = cases.iter().map(|c| {
            let v = &c.variant;
            let disc = put_disc(c.value);
            match c.field {
                Some(f) => {
                    let body = self.encode(&f.ty, &Val::reference(quote!(value)), &what(f));
                    quote!(Self::#v(value) => { #disc #body })
                }
                None => quote!(Self::#v => { #disc }),
            }
        });
        let enc_default = u.default.as_ref().map(|dflt| {
            let disc = self.encode(&disc_field.ty, &Val::place(quote!(discriminant.0)), xdr);
            match &dflt.field {
                Some(f) => {
                    let body = self.encode(&f.ty, &Val::reference(quote!(value)), &what(f));
                    quote!(Self::Default { discriminant, value } => { #disc #body })
                }
                None => quote!(Self::Default(discriminant) => { #disc }),
            }
        });
        let len_arms = cases.iter().map(|c| {
            let v = &c.variant;
            match c.field {
                Some(f) => match self.fixed_size(&f.ty) {
                    Some(n) => {
                        let total = Literal::usize_unsuffixed(u.discriminant_kind.wire_size() + n);
                        quote!(Self::#v(_) => #total)
                    }
                    None => {
                        let l = self.len(&f.ty, &Val::reference(quote!(value)));
                        quote!(Self::#v(value) => #disc_size + #l)
                    }
                },
                None => quote!(Self::#v => #disc_size),
            }
        });
        let len_default = u.default.as_ref().map(|dflt| match &dflt.field {
            Some(f) => {
                let l = self.len(&f.ty, &Val::reference(quote!(value)));
                if self.fixed_size(&f.ty).is_some() {
                    quote!(Self::Default { .. } => #disc_size + #l)
                } else {
                    quote!(Self::Default { value, .. } => #disc_size + #l)
                }
            }
            None => quote!(Self::Default(_) => #disc_size),
        });

        // Decoding: patterns on the discriminant's Rust value.
        let enum_def = match u.discriminant_kind {
            DiscriminantKind::Enum(id) => match &self.m.ty(id).kind {
                TypeKind::Enum(e) => Some((id, e)),
                _ => None,
            },
            DiscriminantKind::Prim(_) => None,
        };
        let pattern = |value: i128| -> TokenStream {
            match (u.discriminant_kind, enum_def) {
                (DiscriminantKind::Enum(_), Some((id, e))) => {
                    let path = self.type_path(id);
                    let member = e
                        .members
                        .iter()
                        .find(|m| i128::from(m.value) == value && m.alias_of.is_none())
                        .map_or_else(|| ident("Unknown"), |m| ident(&m.name.rust));
                    quote!(#path::#member)
                }
                (DiscriminantKind::Prim(Prim::Bool), _) => {
                    let b = value != 0;
                    quote!(#b)
                }
                _ => number(value),
            }
        };
        let dec_arms = cases.iter().map(|c| {
            let v = &c.variant;
            let pat = pattern(c.value);
            match c.field {
                Some(f) => {
                    let dec = self.decode(&f.ty);
                    quote!(#pat => Self::#v(#dec))
                }
                None => quote!(#pat => Self::#v),
            }
        });
        let covered = match (u.discriminant_kind, enum_def) {
            (DiscriminantKind::Prim(Prim::Bool), _) => {
                cases.iter().any(|c| c.value == 0) && cases.iter().any(|c| c.value == 1)
            }
            (DiscriminantKind::Enum(_), Some((_, e))) => e
                .members
                .iter()
                .filter(|m| m.alias_of.is_none())
                .all(|m| cases.iter().any(|c| c.value == i128::from(m.value))),
            _ => false,
        };
        let disc_value = match u.discriminant_kind {
            DiscriminantKind::Enum(_) => quote!(i64::from(i32::from(other))),
            DiscriminantKind::Prim(Prim::Hyper) => quote!(other),
            // The error reports the same 64 bits, read as signed.
            DiscriminantKind::Prim(Prim::UHyper) => quote!(i64::from_ne_bytes(other.to_ne_bytes())),
            DiscriminantKind::Prim(_) => quote!(i64::from(other)),
        };
        let dec_default = match (&u.default, &default_type) {
            // Every value has a case: the default arm can never be decoded.
            (Some(_), _) if covered => None,
            (Some(dflt), Some(dt)) => Some(match &dflt.field {
                Some(f) => {
                    let dec = self.decode(&f.ty);
                    quote!(other => Self::Default { discriminant: #dt(other), value: #dec })
                }
                None => quote!(other => Self::Default(#dt(other))),
            }),
            (Some(_), None) => None,
            (None, _) if covered => None,
            (None, _) => Some(quote! {
                other => {
                    return ::core::result::Result::Err(#rt::DecodeError::InvalidDiscriminant {
                        at,
                        type_name: #xdr,
                        value: #disc_value,
                    })
                }
            }),
        };
        let disc_dec = self.decode(&disc_field.ty);
        // A `default` arm may stand for one remaining enum member, and bool
        // discriminants are matched like any other: both are intended.
        let allow_match_bool = match u.discriminant_kind {
            DiscriminantKind::Prim(Prim::Bool) => Some(quote!(#[allow(clippy::match_bool)])),
            DiscriminantKind::Enum(_) if u.default.is_some() => {
                Some(quote!(#[allow(clippy::match_wildcard_for_single_variants)]))
            }
            DiscriminantKind::Prim(_) | DiscriminantKind::Enum(_) => None,
        };
        let at_used = if dec_default.is_some() && u.default.is_none() {
            quote!(let at = d.position();)
        } else {
            quote!()
        };

        let inline = self.inline(t.id);
        let decode_attrs = {
            let allow = allow_match_bool.unwrap_or_default();
            quote!(#inline #allow)
        };
        let decode_impl = self.decode_impl_with(
            t,
            &decode_attrs,
            &quote! {
                #at_used
                let discriminant: #disc_ty = #disc_dec;
                ::core::result::Result::Ok(match discriminant {
                    #(#dec_arms,)*
                    #dec_default
                })
            },
        );
        let random = (self.o.random && !borrows).then(|| {
            self.union_random(
                t,
                u,
                &cases
                    .iter()
                    .map(|c| (c.variant.clone(), c.field))
                    .collect::<Vec<_>>(),
                enum_def.map(|(_, e)| e),
            )
        });
        let default_type_item = u.default.as_ref().map(|dflt| {
            let patterns: Vec<TokenStream> = cases.iter().map(|c| pattern(c.value)).collect();
            // Enum and bool discriminants have few values: list the ones
            // without a case, for `arbitrary` to choose from.
            let uncased = |v: i128| !cases.iter().any(|c| c.value == v);
            let unlisted: Option<Vec<TokenStream>> = match (u.discriminant_kind, enum_def) {
                (DiscriminantKind::Enum(_), Some((_, e))) => Some(
                    e.members
                        .iter()
                        .filter(|m| m.alias_of.is_none() && uncased(i128::from(m.value)))
                        .map(|m| pattern(i128::from(m.value)))
                        .collect(),
                ),
                (DiscriminantKind::Prim(Prim::Bool), _) => Some(
                    [0, 1]
                        .into_iter()
                        .filter(|v| uncased(*v))
                        .map(pattern)
                        .collect(),
                ),
                _ => None,
            };
            self.union_default_type(t, u, dflt, &patterns, covered, unlisted.as_deref())
        });
        quote! {
            #docs
            #derives
            pub enum #name #lt {
                #(#variants,)*
                #default_variant
            }

            impl #rt::XdrEncode for #name #anon {
                #inline
                fn encoded_len(&self) -> usize {
                    match self {
                        #(#len_arms,)*
                        #len_default
                    }
                }
                #inline
                fn encode(&self, out: &mut #rt::Vec<u8>) -> ::core::result::Result<(), #rt::EncodeError> {
                    match self {
                        #(#enc_arms)*
                        #enc_default
                    }
                    ::core::result::Result::Ok(())
                }
            }

            #decode_impl

            #random

            #default_type_item
        }
    }

    /// The type a `default` arm holds its discriminant in: a newtype whose
    /// values exclude every `case` label, so that a value which would
    /// encode as another arm (and then decode differently, or not at all)
    /// cannot be built. Decoding builds it directly.
    fn union_default_type(
        &self,
        t: &TypeDef,
        u: &Union,
        dflt: &crate::ir::DefaultArm,
        case_patterns: &[TokenStream],
        covered: bool,
        unlisted: Option<&[TokenStream]>,
    ) -> TokenStream {
        let rt = &self.rt;
        let name = ident(&dflt.discriminant_type.rust);
        let disc_ty = self.rust_ty(&u.discriminant.ty);
        let doc = format!(
            " The `{}` of `{}` values in the `default` arm: any value that no `case` lists.",
            u.discriminant.name.xdr, t.name.xdr
        );
        let derives = &self.o.derives;
        let check = if case_patterns.is_empty() {
            quote!(::core::option::Option::Some(Self(discriminant)))
        } else {
            // Every value has a case: no value belongs to the default arm.
            let rest =
                (!covered).then(|| quote!(_ => ::core::option::Option::Some(Self(discriminant)),));
            quote! {
                match discriminant {
                    #(#case_patterns)|* => ::core::option::Option::None,
                    #rest
                }
            }
        };
        // Matching a bool, or all but one enum member, is intended here.
        let allow = match u.discriminant_kind {
            _ if case_patterns.is_empty() => None,
            DiscriminantKind::Prim(Prim::Bool) => Some(quote!(#[allow(clippy::match_bool)])),
            DiscriminantKind::Enum(_) => {
                Some(quote!(#[allow(clippy::match_wildcard_for_single_variants)]))
            }
            DiscriminantKind::Prim(_) => None,
        };
        let serde = self.o.serde.then(|| {
            let krate = format!("{}::serde", self.rt).replace(' ', "");
            let message = format!(
                "`{}` has its own `case` arm in union `{}`",
                u.discriminant.name.xdr, t.name.xdr
            );
            let serde_attr = quote! {
                #[derive(#rt::serde::Serialize)]
                #[serde(crate = #krate, transparent)]
            };
            let deserialize = quote! {
                impl<'de> #rt::serde::Deserialize<'de> for #name {
                    fn deserialize<D: #rt::serde::Deserializer<'de>>(deserializer: D) -> ::core::result::Result<Self, D::Error> {
                        let discriminant = <#disc_ty as #rt::serde::Deserialize<'de>>::deserialize(deserializer)?;
                        Self::new(discriminant).ok_or_else(|| <D::Error as #rt::serde::de::Error>::custom(#message))
                    }
                }
            };
            (serde_attr, deserialize)
        });
        let (serde_attr, deserialize) = serde.unzip();
        let arbitrary = self.o.arbitrary.then(|| {
            // Few values: choose among those without a case (none left is
            // an error). Many: take any, and refuse the rare one with a case.
            let body = match unlisted {
                Some(values) => quote! {
                    u.choose(&[#(#values),*]).map(|discriminant| Self(*discriminant))
                },
                None => quote! {
                    let discriminant = <#disc_ty as ::arbitrary::Arbitrary<'a>>::arbitrary(u)?;
                    Self::new(discriminant).ok_or(::arbitrary::Error::IncorrectFormat)
                },
            };
            quote! {
                impl<'a> ::arbitrary::Arbitrary<'a> for #name {
                    fn arbitrary(u: &mut ::arbitrary::Unstructured<'a>) -> ::arbitrary::Result<Self> {
                        #body
                    }
                }
            }
        });
        quote! {
            #[doc = #doc]
            #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord #(, #derives)*)]
            #serde_attr
            pub struct #name(#disc_ty);

            impl #name {
                /// `None` when `discriminant` has a `case` arm of its own.
                #allow
                pub const fn new(discriminant: #disc_ty) -> ::core::option::Option<Self> {
                    #check
                }

                /// The discriminant.
                pub const fn get(self) -> #disc_ty {
                    self.0
                }
            }

            impl ::core::convert::TryFrom<#disc_ty> for #name {
                /// The refused discriminant.
                type Error = #disc_ty;
                fn try_from(discriminant: #disc_ty) -> ::core::result::Result<Self, #disc_ty> {
                    Self::new(discriminant).ok_or(discriminant)
                }
            }

            impl ::core::convert::From<#name> for #disc_ty {
                fn from(value: #name) -> Self {
                    value.0
                }
            }

            #deserialize

            #arbitrary
        }
    }

    fn union_random(
        &self,
        t: &TypeDef,
        u: &Union,
        cases: &[(proc_macro2::Ident, Option<&Field>)],
        enum_def: Option<&crate::ir::Enum>,
    ) -> TokenStream {
        let rt = &self.rt;
        let name = ident(&t.name.rust);
        let mut choices: Vec<(TokenStream, bool)> = cases
            .iter()
            .map(|(v, field)| match field {
                Some(f) => {
                    let r = self.random(&f.ty);
                    (quote!(Self::#v(#r)), has_box(&f.ty))
                }
                None => (quote!(Self::#v), false),
            })
            .collect();
        // A default arm needs a discriminant no case uses.
        let used: Vec<i128> = u
            .arms
            .iter()
            .flat_map(|a| a.cases.iter().map(|c| c.value))
            .collect();
        let free: Option<TokenStream> = match (u.discriminant_kind, enum_def) {
            (DiscriminantKind::Enum(id), Some(e)) => e
                .members
                .iter()
                .find(|m| m.alias_of.is_none() && !used.contains(&i128::from(m.value)))
                .map(|m| {
                    let path = self.type_path(id);
                    let v = ident(&m.name.rust);
                    quote!(#path::#v)
                }),
            (DiscriminantKind::Prim(p), _) => {
                let (lo, hi) = p.range().unwrap_or((0, 0));
                (lo..=hi.min(lo + 1000))
                    .find(|v| !used.contains(v))
                    .map(|v| {
                        if p == Prim::Bool {
                            let b = v != 0;
                            quote!(#b)
                        } else {
                            number(v)
                        }
                    })
            }
            _ => None,
        };
        if let (Some(dflt), Some(disc)) = (&u.default, free) {
            let dt = ident(&dflt.discriminant_type.rust);
            choices.push(match &dflt.field {
                Some(f) => {
                    let r = self.random(&f.ty);
                    (
                        quote!(Self::Default { discriminant: #dt(#disc), value: #r }),
                        has_box(&f.ty),
                    )
                }
                None => (quote!(Self::Default(#dt(#disc))), false),
            });
        }
        if choices.is_empty() {
            return TokenStream::new();
        }
        let n = choices.len() as u64;
        let shallow = choices.iter().position(|(_, deep)| !deep).unwrap_or(0);
        let shallow_choice = &choices[shallow].0;
        let arms = choices.iter().enumerate().map(|(i, (c, _))| {
            let i = i as u64;
            quote!(#i => #c)
        });
        quote! {
            impl #rt::Random for #name {
                fn random(rng: &mut #rt::Rng) -> Self {
                    if !rng.some() {
                        return #shallow_choice;
                    }
                    rng.enter();
                    let value = match rng.below(#n) {
                        #(#arms,)*
                        _ => #shallow_choice,
                    };
                    rng.leave();
                    value
                }
            }
        }
    }

    // ----- programs -----

    pub(super) fn program(&self, p: &Program) -> TokenStream {
        let module = ident(&p.name.rust);
        let program_number = number(i128::from(p.number));
        let mut docs = self.docs(&format!("program {} = {}", p.name.xdr, p.number), &p.docs);
        docs.extend(self.program_contents_doc(p));
        // Stubs sit in `program::version`: two levels down.
        self.depth.set(2);
        let stubs_wanted = !self.o.zero_copy;
        let versions: Vec<_> = p
            .versions
            .iter()
            .map(|v| {
                let client = if self.o.client && stubs_wanted {
                    self.clients(v)
                } else {
                    TokenStream::new()
                };
                let server = if self.o.server && stubs_wanted {
                    self.server(v)
                } else {
                    TokenStream::new()
                };
                let names_table = self.names_table(p, v);
                let vmod = ident(&v.name.rust);
                let vnum = number(i128::from(v.number));
                let vdocs = self.docs(&format!("version {} = {}", v.name.xdr, v.number), &v.docs);
                let variants = v.procedures.iter().map(|proc| {
                    let var = ident(&proc.variant);
                    let num = number(i128::from(proc.number));
                    let d = self.docs(
                        &format!("procedure {} = {}", proc.name.xdr, proc.number),
                        &proc.docs,
                    );
                    quote!(#d #var = #num)
                });
                let all = v.procedures.iter().map(|proc| ident(&proc.variant));
                let names = v.procedures.iter().map(|proc| {
                    let var = ident(&proc.variant);
                    let n = &proc.name.xdr;
                    quote!(Self::#var => #n)
                });
                let from = v.procedures.iter().map(|proc| {
                    let var = ident(&proc.variant);
                    let num = number(i128::from(proc.number));
                    quote!(#num => ::core::result::Result::Ok(Self::#var))
                });
                quote! {
                    #vdocs
                    pub mod #vmod {
                        /// The version number.
                        pub const VERSION: u32 = #vnum;

                        #names_table

                        /// The procedures of this version.
                        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
                        #[repr(u32)]
                        pub enum Procedure {
                            #(#variants,)*
                        }

                        impl Procedure {
                            /// Every procedure, in declaration order.
                            pub const ALL: &'static [Self] = &[#(Self::#all),*];

                            /// The procedure number.
                            pub const fn number(self) -> u32 {
                                self as u32
                            }

                            /// The procedure's name in the `.x` file.
                            pub const fn xdr_name(self) -> &'static str {
                                match self {
                                    #(#names,)*
                                }
                            }
                        }

                        impl ::core::convert::TryFrom<u32> for Procedure {
                            type Error = u32;
                            fn try_from(number: u32) -> ::core::result::Result<Self, u32> {
                                match number {
                                    #(#from,)*
                                    other => ::core::result::Result::Err(other),
                                }
                            }
                        }

                        #client
                        #server
                    }
                }
            })
            .collect();
        self.depth.set(0);
        quote! {
            #docs
            pub mod #module {
                /// The program number.
                pub const PROGRAM: u32 = #program_number;
                #(#versions)*
            }
        }
    }
}

/// Whether the type (directly) goes through heap recursion.
fn has_box(ty: &Ty) -> bool {
    match ty {
        Ty::Boxed(_) => true,
        Ty::Optional(inner) | Ty::Array { elem: inner, .. } => has_box(inner),
        _ => false,
    }
}

/// The Rust type for an integer constant: `u32` when it fits (the usual
/// use is a size), else `i32`, `i64`, `u64`.
fn const_type(v: i128) -> TokenStream {
    if u32::try_from(v).is_ok() {
        quote!(u32)
    } else if i32::try_from(v).is_ok() {
        quote!(i32)
    } else if i64::try_from(v).is_ok() {
        quote!(i64)
    } else {
        quote!(u64)
    }
}

/// C string-literal escapes to the characters they mean.
fn unescape_c(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('0') => out.push('\0'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}
