//! Encode, decode, length and random-value code for a type expression.
//!
//! Aliases are expanded in place, so a field of type `filename`
//! (`typedef string filename<255>`) checks its 255 bound right where it
//! is encoded and decoded: bounds live in the code, the Rust types stay
//! plain (`XdrString`, `Vec<T>`).

use proc_macro2::{Literal, TokenStream};
use quote::quote;

use super::Gen;
use crate::ir::{Len, Prim, Ty, TypeKind};

/// A value in generated code: a place (`self.field`) or a reference
/// (`e`, `value`), so the code can take `&` or `*` without `*&x` noise.
#[derive(Clone)]
pub(super) struct Val {
    expr: TokenStream,
    by_ref: bool,
    /// Needs parentheses to be a method receiver (`(&**x).len()`).
    compound: bool,
}

impl Val {
    /// A place expression of type `T`.
    pub(super) fn place(expr: TokenStream) -> Val {
        Val {
            expr,
            by_ref: false,
            compound: false,
        }
    }

    /// An expression of type `&T`.
    pub(super) fn reference(expr: TokenStream) -> Val {
        Val {
            expr,
            by_ref: true,
            compound: false,
        }
    }

    /// `&T`.
    fn r(&self) -> TokenStream {
        let e = &self.expr;
        if self.by_ref { quote!(#e) } else { quote!(&#e) }
    }

    /// `T` (for `Copy` scalars).
    fn copied(&self) -> TokenStream {
        let e = &self.expr;
        if self.by_ref { quote!(*#e) } else { quote!(#e) }
    }

    /// A method-call receiver.
    fn recv(&self) -> TokenStream {
        let e = &self.expr;
        if self.compound {
            quote!((#e))
        } else {
            quote!(#e)
        }
    }

    /// The `T` inside a `Box<T>` this value holds, as a reference.
    fn unbox(&self) -> Val {
        let e = &self.expr;
        let expr = if self.by_ref {
            quote!(&**#e)
        } else {
            quote!(&*#e)
        };
        Val {
            expr,
            by_ref: true,
            compound: true,
        }
    }
}

impl Gen<'_> {
    /// Follows aliases to the type actually on the wire.
    pub(super) fn expand<'t>(&'t self, ty: &'t Ty) -> &'t Ty {
        let mut ty = ty;
        while let Ty::Named(id) = ty {
            match &self.m.ty(*id).kind {
                TypeKind::Alias { ty: inner } => ty = inner,
                _ => break,
            }
        }
        ty
    }

    /// The encoded size when it does not depend on the value.
    pub(super) fn fixed_size(&self, ty: &Ty) -> Option<usize> {
        match self.expand(ty) {
            Ty::Prim(p) => Some(p.wire_size()),
            Ty::Opaque(Len::Fixed(n)) => Some(padded(*n)),
            Ty::Array {
                elem,
                len: Len::Fixed(n),
            } => self
                .fixed_size(elem)
                .and_then(|s| s.checked_mul(*n as usize)),
            Ty::Named(id) => self.props[id.index()].fixed_size,
            Ty::Boxed(inner) => self.fixed_size(inner),
            _ => None,
        }
    }

    /// The fewest bytes a value of `ty` can take on the wire, to check
    /// declared counts against the bytes left.
    pub(super) fn min_size(&self, ty: &Ty) -> usize {
        match self.expand(ty) {
            Ty::Prim(p) => p.wire_size(),
            Ty::Opaque(Len::Fixed(n)) => padded(*n),
            Ty::Opaque(Len::Variable(_)) | Ty::String(_) | Ty::Optional(_) => 4,
            Ty::Array { elem, len } => match len {
                Len::Fixed(n) => self.min_size(elem).saturating_mul(*n as usize),
                Len::Variable(_) => 4,
            },
            Ty::Named(id) => self.props[id.index()].min_size,
            Ty::Boxed(inner) => self.min_size(inner),
        }
    }

    /// Statements appending `v` to `out`.
    pub(super) fn encode(&self, ty: &Ty, v: &Val, what: &str) -> TokenStream {
        let rt = &self.rt;
        match self.expand(ty) {
            Ty::Prim(p) => {
                let put = prim_put(*p);
                let v = v.copied();
                quote!(#rt::#put(out, #v);)
            }
            Ty::Opaque(Len::Fixed(_)) => {
                let v = v.r();
                quote!(#rt::put_opaque_fixed(out, #v);)
            }
            Ty::Opaque(Len::Variable(max)) => {
                let max = bound(*max);
                // A borrowed `&[u8]` is passed as it is.
                let v = if self.o.zero_copy { v.recv() } else { v.r() };
                quote!(#rt::put_opaque_var(out, #v, #max, #what)?;)
            }
            Ty::String(max) => {
                let max = bound(*max);
                let v = v.recv();
                quote!(#rt::put_opaque_var(out, #v.as_bytes(), #max, #what)?;)
            }
            Ty::Array { elem, len } => {
                let body = self.encode(elem, &Val::reference(quote!(e)), what);
                let items = v.r();
                let v = v.recv();
                let count = match len {
                    Len::Fixed(_) => quote!(),
                    Len::Variable(max) => {
                        let max = bound(*max);
                        quote!(#rt::put_count(out, #v.len(), #max, #what)?;)
                    }
                };
                quote! {
                    #count
                    for e in #items {
                        #body
                    }
                }
            }
            Ty::Optional(inner) => {
                let body = self.encode(inner, &Val::reference(quote!(x)), what);
                let v = v.r();
                quote! {
                    match #v {
                        ::core::option::Option::Some(x) => {
                            #rt::put_bool(out, true);
                            #body
                        }
                        ::core::option::Option::None => {
                            #rt::put_bool(out, false);
                        }
                    }
                }
            }
            Ty::Boxed(inner) => self.encode(inner, &v.unbox(), what),
            Ty::Named(_) => {
                let v = v.r();
                quote!(#rt::XdrEncode::encode(#v, out)?;)
            }
        }
    }

    /// An expression of type `usize`: the encoded size of `v`.
    pub(super) fn len(&self, ty: &Ty, v: &Val) -> TokenStream {
        let rt = &self.rt;
        if let Some(n) = self.fixed_size(ty) {
            let n = Literal::usize_unsuffixed(n);
            return quote!(#n);
        }
        match self.expand(ty) {
            Ty::Opaque(Len::Variable(_)) | Ty::String(_) => {
                let v = v.recv();
                quote!(#rt::opaque_var_len(#v.len()))
            }
            Ty::Array { elem, len } => {
                let v = v.recv();
                let count = match len {
                    Len::Fixed(_) => quote!(),
                    Len::Variable(_) => quote!(4 +),
                };
                if let Some(each) = self.fixed_size(elem) {
                    let each = Literal::usize_unsuffixed(each);
                    quote!(#count #v.len() * #each)
                } else if matches!(self.expand(elem), Ty::Named(_)) {
                    quote!(#count #v.iter().map(#rt::XdrEncode::encoded_len).sum::<usize>())
                } else {
                    let each = self.len(elem, &Val::reference(quote!(e)));
                    quote!(#count #v.iter().map(|e| #each).sum::<usize>())
                }
            }
            Ty::Optional(inner) => {
                let each = self.len(inner, &Val::reference(quote!(x)));
                let bind = if self.fixed_size(inner).is_some() {
                    quote!(_)
                } else {
                    quote!(x)
                };
                let v = v.r();
                quote! {
                    4 + match #v {
                        ::core::option::Option::Some(#bind) => #each,
                        ::core::option::Option::None => 0,
                    }
                }
            }
            Ty::Boxed(inner) => self.len(inner, &v.unbox()),
            _ => {
                let v = v.r();
                quote!(#rt::XdrEncode::encoded_len(#v))
            }
        }
    }

    /// An expression decoding a `T` from `d`.
    pub(super) fn decode(&self, ty: &Ty) -> TokenStream {
        let rt = &self.rt;
        match self.expand(ty) {
            Ty::Prim(p) => {
                let get = prim_get(*p);
                quote!(d.#get()?)
            }
            Ty::Opaque(Len::Fixed(n)) => {
                let n = Literal::usize_unsuffixed(*n as usize);
                quote!(d.opaque_fixed::<#n>()?)
            }
            Ty::Opaque(Len::Variable(max)) => {
                let max = bound(*max);
                if self.o.zero_copy {
                    quote!(d.opaque_var_borrowed(#max)?)
                } else {
                    quote!(d.opaque_var(#max)?)
                }
            }
            Ty::String(max) => {
                let max = bound(*max);
                if self.o.zero_copy {
                    quote!(d.string_borrowed(#max)?)
                } else {
                    quote!(d.string(#max)?)
                }
            }
            Ty::Array { elem, len } => {
                let each = self.decode(elem);
                let elem_ty = self.rust_ty(elem);
                let min = Literal::usize_unsuffixed(self.min_size(elem));
                match len {
                    Len::Fixed(n) => {
                        let n = Literal::usize_unsuffixed(*n as usize);
                        let f = if let Ty::Named(id) = self.expand(elem) {
                            self.decode_fn(*id)
                        } else if let Ty::Prim(p) = self.expand(elem) {
                            let t = prim_ty(*p, rt);
                            quote!(<#t as #rt::XdrDecode>::decode)
                        } else {
                            quote!(|d| ::core::result::Result::Ok(#each))
                        };
                        quote!(#rt::decode_array::<#elem_ty, #n>(d, #min, #f)?)
                    }
                    Len::Variable(max) => {
                        let max = bound(*max);
                        quote! {{
                            let n = d.count(#max, #min, ::core::mem::size_of::<#elem_ty>())?;
                            let mut v = #rt::Vec::with_capacity(n);
                            for _ in 0..n {
                                v.push(#each);
                            }
                            v
                        }}
                    }
                }
            }
            Ty::Optional(inner) => {
                let each = self.decode(inner);
                quote! {
                    if d.bool()? {
                        ::core::option::Option::Some(#each)
                    } else {
                        ::core::option::Option::None
                    }
                }
            }
            Ty::Boxed(inner) => {
                let each = self.decode(inner);
                let inner_ty = self.rust_ty(inner);
                quote! {{
                    d.enter()?;
                    d.charge(::core::mem::size_of::<#inner_ty>())?;
                    let v = #each;
                    d.leave();
                    #rt::Box::new(v)
                }}
            }
            Ty::Named(id) => {
                let f = self.decode_fn(*id);
                quote!(#f(d)?)
            }
        }
    }

    /// The function that decodes a named type: borrowing or owned.
    pub(super) fn decode_fn(&self, id: crate::ir::TypeId) -> TokenStream {
        let rt = &self.rt;
        let t = self.type_path(id);
        if self.props[id.index()].borrows {
            quote!(<#t<'a> as #rt::XdrDecodeBorrowed<'a>>::decode_borrowed)
        } else {
            quote!(<#t as #rt::XdrDecode>::decode)
        }
    }

    /// An expression producing a random `T` from `rng` (within bounds).
    pub(super) fn random(&self, ty: &Ty) -> TokenStream {
        let rt = &self.rt;
        match self.expand(ty) {
            Ty::Prim(p) => {
                let t = prim_ty(*p, rt);
                quote!(<#t as #rt::Random>::random(rng))
            }
            Ty::Opaque(Len::Fixed(n)) => {
                let n = Literal::usize_unsuffixed(*n as usize);
                quote!(::core::array::from_fn::<u8, #n, _>(|_| <u8 as #rt::Random>::random(rng)))
            }
            Ty::Opaque(Len::Variable(max)) => {
                let max = bound(*max);
                quote!(rng.bytes(#max))
            }
            Ty::String(max) => {
                let max = bound(*max);
                quote!(rng.string(#max))
            }
            Ty::Array { elem, len } => {
                let each = self.random(elem);
                match len {
                    Len::Fixed(n) => {
                        let n = Literal::usize_unsuffixed(*n as usize);
                        quote!(::core::array::from_fn::<_, #n, _>(|_| #each))
                    }
                    Len::Variable(max) => {
                        let max = bound(*max);
                        // Arrays can hold the type they are in: they nest
                        // like optionals, within the same depth budget.
                        quote! {{
                            let n = if rng.at_limit() { 0 } else { rng.bounded_len(#max) };
                            rng.enter();
                            let v = (0..n).map(|_| #each).collect::<#rt::Vec<_>>();
                            rng.leave();
                            v
                        }}
                    }
                }
            }
            Ty::Optional(inner) => {
                let each = self.random(inner);
                quote! {
                    if rng.some() {
                        rng.enter();
                        let v = #each;
                        rng.leave();
                        ::core::option::Option::Some(v)
                    } else {
                        ::core::option::Option::None
                    }
                }
            }
            Ty::Boxed(inner) => {
                let each = self.random(inner);
                quote!(#rt::Box::new(#each))
            }
            Ty::Named(id) => {
                let t = self.type_path(*id);
                quote!(<#t as #rt::Random>::random(rng))
            }
        }
    }
}

pub(super) fn padded(n: u32) -> usize {
    (n as usize).div_ceil(4) * 4
}

/// The `<N>` bound as a literal; unbounded is `u32::MAX`.
fn bound(max: Option<u32>) -> TokenStream {
    match max {
        Some(n) => number(i128::from(n)),
        None => quote!(u32::MAX),
    }
}

/// A decimal literal, with `_` every three digits when long (as clippy
/// and people prefer).
pub(super) fn number(v: i128) -> TokenStream {
    let digits = v.unsigned_abs().to_string();
    let text = if digits.len() > 4 {
        let mut grouped = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                grouped.push('_');
            }
            grouped.push(c);
        }
        grouped
    } else {
        digits
    };
    let lit: Literal = text.parse().expect("digits form a literal");
    if v < 0 { quote!(-#lit) } else { quote!(#lit) }
}

/// Whether values of the type are `Copy` in Rust.
pub(super) fn is_copy(g: &Gen<'_>, ty: &Ty) -> bool {
    match g.expand(ty) {
        Ty::Prim(_) | Ty::Opaque(Len::Fixed(_)) => true,
        // Borrowed `&[u8]` and `XdrStr` are `Copy`.
        Ty::Opaque(Len::Variable(_)) | Ty::String(_) => g.o.zero_copy,
        Ty::Array {
            elem,
            len: Len::Fixed(_),
        } => is_copy(g, elem),
        Ty::Named(id) => matches!(g.m.ty(*id).kind, TypeKind::Enum(_)),
        _ => false,
    }
}

pub(super) fn prim_put(p: Prim) -> proc_macro2::Ident {
    let name = match p {
        Prim::Int => "put_i32",
        Prim::UInt => "put_u32",
        Prim::Hyper => "put_i64",
        Prim::UHyper => "put_u64",
        Prim::Float => "put_f32",
        Prim::Double => "put_f64",
        Prim::Quadruple => "put_quadruple",
        Prim::Bool => "put_bool",
        Prim::Char => "put_i8",
        Prim::UChar => "put_u8",
        Prim::Short => "put_i16",
        Prim::UShort => "put_u16",
    };
    proc_macro2::Ident::new(name, proc_macro2::Span::call_site())
}

fn prim_get(p: Prim) -> proc_macro2::Ident {
    let name = match p {
        Prim::Int => "i32",
        Prim::UInt => "u32",
        Prim::Hyper => "i64",
        Prim::UHyper => "u64",
        Prim::Float => "f32",
        Prim::Double => "f64",
        Prim::Quadruple => "quadruple",
        Prim::Bool => "bool",
        Prim::Char => "i8",
        Prim::UChar => "u8",
        Prim::Short => "i16",
        Prim::UShort => "u16",
    };
    proc_macro2::Ident::new(name, proc_macro2::Span::call_site())
}

/// The Rust type of a scalar.
pub(super) fn prim_ty(p: Prim, rt: &TokenStream) -> TokenStream {
    match p {
        Prim::Int => quote!(i32),
        Prim::UInt => quote!(u32),
        Prim::Hyper => quote!(i64),
        Prim::UHyper => quote!(u64),
        Prim::Float => quote!(f32),
        Prim::Double => quote!(f64),
        Prim::Quadruple => quote!(#rt::Quadruple),
        Prim::Bool => quote!(bool),
        Prim::Char => quote!(i8),
        Prim::UChar => quote!(u8),
        Prim::Short => quote!(i16),
        Prim::UShort => quote!(u16),
    }
}
