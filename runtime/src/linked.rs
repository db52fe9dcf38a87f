//! Singly linked lists: a struct whose last field is `T *next` of its own
//! type (NFS's `entry3`, mount's `groupnode`). Every walk here is a loop,
//! so a list of a million nodes (a large READDIR reply) needs no deeper
//! stack than a list of one; the derived impls would recurse once per node.
//!
//! Generated code implements [`LinkedEncode`] and [`LinkedDecode`] with
//! one node's codec and calls [`linked_list!`](crate::__private_v1::linked_list)
//! with the field names: it implements [`Linked`] and forwards `XdrEncode`,
//! `XdrDecode`, `Drop`, `Clone`, `PartialEq` and `Debug` to the functions
//! here.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::fmt;

use crate::{DecodeError, Decoder, EncodeError};

/// One node of a linked list: its link, and what to do with the fields
/// before it. Each method handles this node alone; the functions of this
/// module walk the list. [`linked_list!`](crate::__private_v1::linked_list)
/// implements it from the field names.
pub trait Linked: Sized {
    /// The last field: the rest of the list.
    fn link(&self) -> &Option<Box<Self>>;

    /// The last field, to unlink or append.
    fn link_mut(&mut self) -> &mut Option<Box<Self>>;

    /// A copy of this node's fields, with no link.
    #[must_use]
    fn clone_node(&self) -> Self;

    /// Whether this node's fields equal `other`'s, links aside.
    fn eq_node(&self, other: &Self) -> bool;

    /// This node's fields as a struct, without the link.
    ///
    /// # Errors
    ///
    /// When the formatter fails.
    fn fmt_node(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result;
}

/// Encoding one node of a [`Linked`] list.
pub trait LinkedEncode: Linked {
    /// The encoded length of this node's fields, without the link's word.
    fn node_len(&self) -> usize;

    /// Encodes this node's fields, then the link's bool: `more`, whether
    /// another node follows. (The bool is the node's last word, so it can
    /// join the fields before it in one `Words` block.)
    ///
    /// # Errors
    ///
    /// When a field is longer than its bound.
    fn encode_node(&self, out: &mut Vec<u8>, more: bool) -> Result<(), EncodeError>;
}

/// Decoding one node of a [`Linked`] list, borrowing from input that
/// lives for `'a` (owned types implement it for every `'a`).
pub trait LinkedDecode<'a>: Linked {
    /// Decodes this node's fields; the link is `None`.
    ///
    /// # Errors
    ///
    /// When the input is malformed or over the decoder's limits.
    fn decode_node(d: &mut Decoder<'a>) -> Result<Self, DecodeError>;
}

/// `XdrEncode::encoded_len`: every node's fields and one bool word per node.
pub fn encoded_len<T: LinkedEncode>(head: &T) -> usize {
    let mut len = 0;
    let mut next = Some(head);
    while let Some(node) = next {
        len += 4 + node.node_len();
        next = node.link().as_deref();
    }
    len
}

/// `XdrEncode::encode`: each node's fields followed by `TRUE`, the last
/// node's by `FALSE`.
///
/// # Errors
///
/// When a field is longer than its bound; `out` then holds a partial
/// encoding.
#[inline]
pub fn encode<T: LinkedEncode>(head: &T, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    // `more` is a constant at each call, so the link's word is a constant
    // store (measured: passing `next.is_some()` cost 5 instructions a node).
    let mut node = head;
    while let Some(next) = node.link().as_deref() {
        node.encode_node(out, true)?;
        node = next;
    }
    node.encode_node(out, false)
}

/// `XdrDecode::decode`: nodes appended in order while the link's bool is
/// `TRUE`; every node after the head is charged against the allocation
/// limit before it is boxed.
///
/// # Errors
///
/// When the input is malformed or over the decoder's limits.
// Measured: `#[inline]` left a node's decode one instruction dearer.
#[inline(always)]
#[allow(clippy::inline_always)]
pub fn decode<'a, T: LinkedDecode<'a>>(d: &mut Decoder<'a>) -> Result<T, DecodeError> {
    let mut head = T::decode_node(d)?;
    let mut tail = head.link_mut();
    while d.bool()? {
        d.charge(core::mem::size_of::<T>())?;
        tail = tail.insert(Box::new(T::decode_node(d)?)).link_mut();
    }
    Ok(head)
}

/// `Drop::drop`: unlinks node by node, so that dropping each box finds
/// its own link already empty. The test is inline and the walk is not:
/// every node's own drop then costs one comparison (measured: a zero-copy
/// list's decode and drop 13 instructions a node cheaper than the walk out
/// of line, 16 cheaper than the walk inline).
#[inline]
pub fn drop<T: Linked>(head: &mut T) {
    if head.link().is_some() {
        unlink(head);
    }
}

fn unlink<T: Linked>(head: &mut T) {
    let mut next = head.link_mut().take();
    while let Some(mut node) = next {
        next = node.link_mut().take();
    }
}

/// `Clone::clone`: node by node, appending at the tail.
#[must_use]
pub fn clone<T: Linked>(head: &T) -> T {
    let mut copy = head.clone_node();
    let mut tail = copy.link_mut();
    let mut next = head.link().as_deref();
    while let Some(node) = next {
        tail = tail.insert(Box::new(node.clone_node())).link_mut();
        next = node.link().as_deref();
    }
    copy
}

/// `PartialEq::eq`: equal fields node by node, and equal lengths.
pub fn eq<T: Linked>(mut a: &T, mut b: &T) -> bool {
    loop {
        if !a.eq_node(b) {
            return false;
        }
        match (a.link().as_deref(), b.link().as_deref()) {
            (Some(x), Some(y)) => {
                a = x;
                b = y;
            }
            (None, None) => return true,
            _ => return false,
        }
    }
}

/// `Debug::fmt`: the list as a sequence of nodes, each a struct of its
/// fields without the link.
///
/// # Errors
///
/// When the formatter fails.
pub fn fmt<T: Linked>(head: &T, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    struct Node<'n, T>(&'n T);
    impl<T: Linked> fmt::Debug for Node<'_, T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            self.0.fmt_node(f)
        }
    }
    let mut list = f.debug_list();
    let mut next = Some(head);
    while let Some(node) = next {
        list.entry(&Node(node));
        next = node.link().as_deref();
    }
    list.finish()
}

/// `Random::random`: a head and up to 6 more nodes, each made by `node`.
#[cfg(feature = "testing")]
pub fn random<T: Linked>(
    rng: &mut crate::testing::Rng,
    mut node: impl FnMut(&mut crate::testing::Rng) -> T,
) -> T {
    let mut head = node(rng);
    let mut tail = head.link_mut();
    for _ in 0..rng.len(6) {
        tail = tail.insert(Box::new(node(rng))).link_mut();
    }
    head
}

/// Makes a struct whose last field links to the next node a list:
/// implements [`Linked`] from the field names, and `XdrEncode`,
/// `XdrDecode` (`XdrDecodeBorrowed<'a>` for `Name<'a>`), `Drop`, `Clone`,
/// `PartialEq` and `Debug` through this module's loops. The type itself
/// implements [`LinkedEncode`] and [`LinkedDecode`].
///
/// ```text
/// linked_list!(Entry, "entry", [fileid, name, cookie], next: nextentry);
/// linked_list!(Entry<'a>, "entry", [r#type as "type"], next: next);
/// ```
///
/// The string is the XDR name `Debug` prints; `as "label"` names a field
/// whose Rust name is a raw identifier.
#[doc(hidden)]
#[macro_export]
macro_rules! __xdrgen_linked_list {
    ($name:ident, $xdr:literal, [$($field:ident $(as $label:literal)?),* $(,)?], next: $link:ident $(,)?) => {
        $crate::__xdrgen_linked_list!(@impls [] $name, $xdr, [$($field $(as $label)?),*], $link);
        impl $crate::__private_v1::XdrDecode for $name {
            #[inline]
            fn decode(
                d: &mut $crate::__private_v1::Decoder<'_>,
            ) -> ::core::result::Result<Self, $crate::__private_v1::DecodeError> {
                $crate::__private_v1::linked::decode(d)
            }
        }
    };
    ($name:ident<$lt:lifetime>, $xdr:literal, [$($field:ident $(as $label:literal)?),* $(,)?], next: $link:ident $(,)?) => {
        $crate::__xdrgen_linked_list!(@impls [$lt] $name<$lt>, $xdr, [$($field $(as $label)?),*], $link);
        impl<$lt> $crate::__private_v1::XdrDecodeBorrowed<$lt> for $name<$lt> {
            #[inline]
            fn decode_borrowed(
                d: &mut $crate::__private_v1::Decoder<$lt>,
            ) -> ::core::result::Result<Self, $crate::__private_v1::DecodeError> {
                $crate::__private_v1::linked::decode(d)
            }
        }
    };
    (@impls [$($lt:lifetime)?] $ty:ty, $xdr:literal, [$($field:ident $(as $label:literal)?),*], $link:ident) => {
        impl<$($lt)?> $crate::__private_v1::Linked for $ty {
            fn link(&self) -> &::core::option::Option<$crate::__private_v1::Box<Self>> {
                &self.$link
            }
            fn link_mut(&mut self) -> &mut ::core::option::Option<$crate::__private_v1::Box<Self>> {
                &mut self.$link
            }
            fn clone_node(&self) -> Self {
                Self {
                    $($field: ::core::clone::Clone::clone(&self.$field),)*
                    $link: ::core::option::Option::None,
                }
            }
            fn eq_node(&self, other: &Self) -> bool {
                let _ = other;
                true $(&& self.$field == other.$field)*
            }
            fn fmt_node(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.debug_struct($xdr)
                    $(.field($crate::__xdrgen_linked_list!(@label $field $($label)?), &self.$field))*
                    .finish_non_exhaustive()
            }
        }
        impl<$($lt)?> $crate::__private_v1::XdrEncode for $ty {
            fn encoded_len(&self) -> usize {
                $crate::__private_v1::linked::encoded_len(self)
            }
            fn encode(
                &self,
                out: &mut $crate::__private_v1::Vec<u8>,
            ) -> ::core::result::Result<(), $crate::__private_v1::EncodeError> {
                $crate::__private_v1::linked::encode(self, out)
            }
        }
        impl<$($lt)?> ::core::ops::Drop for $ty {
            fn drop(&mut self) {
                $crate::__private_v1::linked::drop(self);
            }
        }
        impl<$($lt)?> ::core::clone::Clone for $ty {
            fn clone(&self) -> Self {
                $crate::__private_v1::linked::clone(self)
            }
        }
        impl<$($lt)?> ::core::cmp::PartialEq for $ty {
            fn eq(&self, other: &Self) -> bool {
                $crate::__private_v1::linked::eq(self, other)
            }
        }
        /// The list as a sequence of nodes (without recursing).
        impl<$($lt)?> ::core::fmt::Debug for $ty {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                $crate::__private_v1::linked::fmt(self, f)
            }
        }
    };
    (@label $field:ident $label:literal) => {
        $label
    };
    (@label $field:ident) => {
        ::core::stringify!($field)
    };
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use crate::Limits;
    use alloc::format;

    /// `struct item { unsigned value; item *next; }`, as generated code
    /// implements it.
    struct Item {
        value: u32,
        next: Option<Box<Item>>,
    }

    impl LinkedEncode for Item {
        fn node_len(&self) -> usize {
            4
        }
        fn encode_node(&self, out: &mut Vec<u8>, more: bool) -> Result<(), EncodeError> {
            crate::encode::Words::<8>::new()
                .u32(self.value)
                .bool(more)
                .append_to(out);
            Ok(())
        }
    }

    impl LinkedDecode<'_> for Item {
        fn decode_node(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
            Ok(Item {
                value: d.u32()?,
                next: None,
            })
        }
    }

    crate::__private_v1::linked_list!(Item, "item", [value], next: next);

    /// `struct word { opaque type<>; word *next; }` with zero-copy
    /// decoding: a borrowing node, and a field named by a keyword.
    struct Word<'a> {
        r#type: &'a [u8],
        next: Option<Box<Word<'a>>>,
    }

    impl LinkedEncode for Word<'_> {
        fn node_len(&self) -> usize {
            crate::encode::opaque_var_len(self.r#type.len())
        }
        fn encode_node(&self, out: &mut Vec<u8>, more: bool) -> Result<(), EncodeError> {
            crate::encode::put_opaque_var(out, self.r#type, u32::MAX, "word.type")?;
            crate::encode::put_bool(out, more);
            Ok(())
        }
    }

    impl<'a> LinkedDecode<'a> for Word<'a> {
        fn decode_node(d: &mut Decoder<'a>) -> Result<Self, DecodeError> {
            Ok(Word {
                r#type: d.opaque_var_borrowed(u32::MAX)?,
                next: None,
            })
        }
    }

    crate::__private_v1::linked_list!(Word<'a>, "word", [r#type as "type"], next: next);

    #[test]
    fn the_macro_makes_a_borrowing_list() {
        use crate::{XdrDecodeBorrowed, XdrEncode};
        let bytes = [
            0, 0, 0, 2, b'h', b'i', 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, b'!', 0, 0, 0, 0, 0, 0, 0,
        ];
        let words = Word::from_xdr_borrowed(&bytes).unwrap();
        assert_eq!(words.encoded_len(), bytes.len());
        assert_eq!(words.to_xdr().unwrap(), bytes);
        assert_eq!(
            format!("{words:?}"),
            "[word { type: [104, 105], .. }, word { type: [33], .. }]"
        );
        assert!(words == words.clone());
        let first_only = [0, 0, 0, 2, b'h', b'i', 0, 0, 0, 0, 0, 0];
        assert!(words != Word::from_xdr_borrowed(&first_only).unwrap());
    }

    fn list(values: impl DoubleEndedIterator<Item = u32>) -> Item {
        let mut values = values.rev();
        let mut head = Item {
            value: values.next().unwrap(),
            next: None,
        };
        for value in values {
            head = Item {
                value,
                next: Some(Box::new(head)),
            };
        }
        head
    }

    fn decode_all(bytes: &[u8], limits: &Limits) -> Result<Item, DecodeError> {
        let mut d = Decoder::new(bytes, limits)?;
        let item = decode(&mut d)?;
        d.finish()?;
        Ok(item)
    }

    #[test]
    fn encodes_and_decodes_in_order() {
        let head = list(1..=3);
        let mut out = Vec::new();
        encode(&head, &mut out).unwrap();
        assert_eq!(
            out,
            [
                0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 3, 0, 0, 0, 0
            ]
        );
        assert_eq!(encoded_len(&head), out.len());
        let back = decode_all(&out, &Limits::default()).unwrap();
        assert!(eq(&head, &back));
        assert_eq!(
            format!("{back:?}"),
            "[item { value: 1, .. }, item { value: 2, .. }, item { value: 3, .. }]"
        );
    }

    #[test]
    fn eq_tells_values_and_lengths_apart() {
        assert!(eq(&list(1..=3), &clone(&list(1..=3))));
        assert!(!eq(&list(1..=3), &list(1..=2)));
        assert!(!eq(&list(1..=2), &list(1..=3)));
        assert!(!eq(&list(1..=3), &list([1, 5, 3].into_iter())));
    }

    #[test]
    fn every_later_node_is_charged() {
        let mut bytes = Vec::new();
        encode(&list(0..100), &mut bytes).unwrap();
        let node = core::mem::size_of::<Item>();
        let enough = Limits {
            max_alloc_bytes: 99 * node,
            ..Limits::default()
        };
        assert!(decode_all(&bytes, &enough).is_ok());
        let short = Limits {
            max_alloc_bytes: 99 * node - 1,
            ..Limits::default()
        };
        let err = decode_all(&bytes, &short).unwrap_err();
        assert!(format!("{err}").contains("limit"), "{err}");
    }

    #[test]
    fn a_million_nodes_need_no_deep_stack() {
        // Run on a small stack: any per-node recursion would overflow it.
        let count = 1_000_000;
        std::thread::Builder::new()
            .stack_size(64 * 1024)
            .spawn(move || {
                let head = list(0..count);
                let mut bytes = Vec::new();
                encode(&head, &mut bytes).unwrap();
                assert_eq!(bytes.len(), encoded_len(&head));
                let limits = Limits {
                    max_message_bytes: bytes.len(),
                    max_alloc_bytes: usize::MAX,
                    ..Limits::default()
                };
                let back = decode_all(&bytes, &limits).unwrap();
                assert!(eq(&head, &clone(&back)));
            })
            .unwrap()
            .join()
            .unwrap();
    }
}
