//! Decoding bytes as any type of an [`ir::Module`](crate::ir::Module),
//! without generated code: the IR says what comes next, and each value
//! becomes a [`Node`] with its byte range and its XDR type.
//!
//! Decoding never fails outright. It goes as far as the bytes allow and
//! records the first problem, with its offset, in [`Decoded::error`]; the
//! tree holds everything decoded before it. Nesting, the number of nodes
//! and every length are bounded ([`DumpLimits`]), and lengths are checked
//! against the bytes left before anything is allocated.

use std::fmt;

use crate::ir::{DiscriminantKind, Len, Module, Prim, Ty, TypeId, TypeKind};

/// Bounds on one decoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DumpLimits {
    /// Nesting of values (a linked list counts once, however long).
    pub max_depth: usize,
    /// Nodes in one decoded value.
    pub max_nodes: usize,
}

impl Default for DumpLimits {
    fn default() -> Self {
        DumpLimits {
            max_depth: 64,
            max_nodes: 1_000_000,
        }
    }
}

/// A decoded value: where it is, what type it has, what it holds.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// The field, arm or argument name; `None` for array elements and
    /// top-level values.
    pub name: Option<String>,
    /// The XDR type as the `.x` file spells it (`unsigned int`,
    /// `opaque<64>`, `entry3 *`, `nfs_fh3`).
    pub ty: String,
    /// Offset of the first byte, from the start of the input.
    pub offset: usize,
    /// Bytes the value takes (what was decoded of it, if cut short).
    pub len: usize,
    /// The value.
    pub value: Value,
}

/// What a [`Node`] holds.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// An integer type, `char`/`short` included.
    Int(i128),
    /// `bool`.
    Bool(bool),
    /// `float` or `double`.
    Float(f64),
    /// `quadruple`: the 16 bytes (no Rust type holds it).
    Quadruple([u8; 16]),
    /// An enum value and the member it names (`None`: no member has it).
    Enum {
        /// The value on the wire.
        value: i32,
        /// The member's name.
        member: Option<String>,
    },
    /// `opaque` data.
    Opaque(Vec<u8>),
    /// `string` data (XDR strings are bytes; shown lossily as UTF-8).
    String(Vec<u8>),
    /// Struct fields, procedure arguments, header fields.
    Struct(Vec<Node>),
    /// A union: its discriminant and the arm's data (`None`: a void arm).
    Union {
        /// The discriminant.
        discriminant: Box<Node>,
        /// The selected arm's data.
        arm: Option<Box<Node>>,
    },
    /// Array elements.
    Array(Vec<Node>),
    /// Optional data (`T *`): absent, or present.
    Optional(Option<Box<Node>>),
    /// A linked list (`T *` where `T` ends with a `T *` to the next one),
    /// flattened: each item is the struct without its link field.
    List(Vec<Node>),
    /// `void`.
    Void,
    /// Bytes with no type to decode them by (an external type, an unknown
    /// procedure's body, stream data).
    Raw(Vec<u8>),
    /// Decoding stopped here; [`Decoded::error`] says why.
    Missing,
}

/// Why decoding stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DumpError {
    /// Offset of the offending bytes, from the start of the input.
    pub offset: usize,
    /// What was wrong.
    pub message: String,
}

impl fmt::Display for DumpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at byte {}: {}", self.offset, self.message)
    }
}

impl std::error::Error for DumpError {}

/// The result of decoding: the tree, where decoding ended, the first error.
#[derive(Clone, Debug, PartialEq)]
pub struct Decoded {
    /// What was decoded.
    pub node: Node,
    /// Offset just past the last byte decoded.
    pub end: usize,
    /// The first problem, if any; decoding stopped there.
    pub error: Option<DumpError>,
}

/// Decodes `bytes` as the type named `type_name` (its XDR name) of
/// `module`. Trailing bytes after the value are an error. `Err` when the
/// module has no such type.
pub fn decode_named(
    module: &Module,
    type_name: &str,
    bytes: &[u8],
    limits: DumpLimits,
) -> Result<Decoded, String> {
    let Some(def) = module.type_by_name(type_name) else {
        return Err(format!("no type named `{type_name}` in the .x file"));
    };
    let mut decoder = Decoder::new(module, bytes, 0, limits);
    let node = decoder.ty(None, &Ty::Named(def.id));
    Ok(decoder.finish(node, true))
}

/// Walks the IR over a byte slice. `base` is added to every offset, so a
/// body inside a larger input reports offsets in that input.
pub(crate) struct Decoder<'a> {
    module: &'a Module,
    bytes: &'a [u8],
    pos: usize,
    base: usize,
    limits: DumpLimits,
    depth: usize,
    nodes: usize,
    error: Option<DumpError>,
}

impl<'a> Decoder<'a> {
    pub(crate) fn new(
        module: &'a Module,
        bytes: &'a [u8],
        base: usize,
        limits: DumpLimits,
    ) -> Self {
        Decoder {
            module,
            bytes,
            pos: 0,
            base,
            limits,
            depth: 0,
            nodes: 0,
            error: None,
        }
    }

    /// Ends a decoding: with `whole`, bytes left over are an error.
    pub(crate) fn finish(mut self, node: Node, whole: bool) -> Decoded {
        if whole && self.error.is_none() && self.pos < self.bytes.len() {
            let left = self.bytes.len() - self.pos;
            self.fail(format!("{left} byte(s) left after the value"));
        }
        Decoded {
            node,
            end: self.base + self.pos,
            error: self.error,
        }
    }

    pub(crate) fn module(&self) -> &'a Module {
        self.module
    }

    pub(crate) fn failed(&self) -> bool {
        self.error.is_some()
    }

    /// Records the first error, at the current offset.
    pub(crate) fn fail(&mut self, message: String) {
        if self.error.is_none() {
            self.error = Some(DumpError {
                offset: self.base + self.pos,
                message,
            });
        }
    }

    fn take(&mut self, n: usize, what: &str) -> Option<&'a [u8]> {
        if self.failed() {
            return None;
        }
        let left = self.bytes.len() - self.pos;
        if n > left {
            self.fail(format!("{what} needs {n} byte(s), {left} left"));
            return None;
        }
        let out = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Some(out)
    }

    pub(crate) fn word(&mut self, what: &str) -> Option<u32> {
        self.take(4, what)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn start(&mut self, name: Option<&str>, ty: String) -> Option<Node> {
        if self.failed() {
            return None;
        }
        self.nodes += 1;
        if self.nodes > self.limits.max_nodes {
            self.fail(format!(
                "more than {} values (the node limit)",
                self.limits.max_nodes
            ));
            return None;
        }
        Some(Node {
            name: name.map(str::to_string),
            ty,
            offset: self.base + self.pos,
            len: 0,
            value: Value::Missing,
        })
    }

    fn done(&self, mut node: Node, value: Value) -> Node {
        node.len = self.base + self.pos - node.offset;
        node.value = value;
        node
    }

    /// A node for a value that could not be started (after an error).
    fn missing(&self, name: Option<&str>, ty: String) -> Node {
        Node {
            name: name.map(str::to_string),
            ty,
            offset: self.base + self.pos,
            len: 0,
            value: Value::Missing,
        }
    }

    /// A header field decoded by hand (RPC headers), as an unsigned or
    /// signed word.
    pub(crate) fn header_word(
        &mut self,
        name: &str,
        ty: &str,
        is_signed: bool,
    ) -> (Node, Option<u32>) {
        let Some(node) = self.start(Some(name), ty.to_string()) else {
            return (self.missing(Some(name), ty.to_string()), None);
        };
        match self.word(name) {
            Some(w) => {
                let v = if is_signed {
                    i128::from(signed(w))
                } else {
                    i128::from(w)
                };
                (self.done(node, Value::Int(v)), Some(w))
            }
            None => (node, None),
        }
    }

    /// A header field whose value names something (`CALL`, `SUCCESS`).
    pub(crate) fn header_enum(
        &mut self,
        name: &str,
        ty: &str,
        names: &dyn Fn(u32) -> Option<&'static str>,
    ) -> (Node, Option<u32>) {
        let Some(node) = self.start(Some(name), ty.to_string()) else {
            return (self.missing(Some(name), ty.to_string()), None);
        };
        match self.word(name) {
            Some(w) => (
                self.done(
                    node,
                    Value::Enum {
                        value: signed(w),
                        member: names(w).map(str::to_string),
                    },
                ),
                Some(w),
            ),
            None => (node, None),
        }
    }

    /// Several nodes under one (a header, a procedure's arguments).
    pub(crate) fn group(&self, name: &str, ty: &str, offset: usize, children: Vec<Node>) -> Node {
        Node {
            name: Some(name.to_string()),
            ty: ty.to_string(),
            offset,
            len: self.base + self.pos - offset,
            value: Value::Struct(children),
        }
    }

    /// The current offset in the input.
    pub(crate) fn offset(&self) -> usize {
        self.base + self.pos
    }

    /// The bytes not decoded yet, taken as raw data.
    pub(crate) fn rest(&mut self, name: &str, ty: &str) -> Node {
        let Some(node) = self.start(Some(name), ty.to_string()) else {
            return self.missing(Some(name), ty.to_string());
        };
        let rest = self.bytes[self.pos..].to_vec();
        self.pos = self.bytes.len();
        self.done(node, Value::Raw(rest))
    }

    /// Opaque data of XDR's shape (length word, bytes, padding) in a
    /// header (credentials), bounded by `max`.
    pub(crate) fn header_opaque(&mut self, name: &str, max: u32) -> Node {
        self.opaque(
            Some(name),
            Len::Variable(Some(max)),
            format!("opaque<{max}>"),
        )
    }

    /// Decodes one value of type `ty`.
    pub(crate) fn ty(&mut self, name: Option<&str>, ty: &Ty) -> Node {
        let text = self.module.xdr_spelling(ty);
        if self.depth >= self.limits.max_depth {
            self.fail(format!(
                "values nested more than {} deep",
                self.limits.max_depth
            ));
            return self.missing(name, text);
        }
        self.depth += 1;
        let node = self.ty_inner(name, ty, text);
        self.depth -= 1;
        node
    }

    fn ty_inner(&mut self, name: Option<&str>, ty: &Ty, text: String) -> Node {
        match ty {
            Ty::Prim(p) => self.prim(name, *p, text),
            Ty::Opaque(len) => self.opaque(name, *len, text),
            Ty::String(max) => self.string(name, *max, text),
            Ty::Array { elem, len } => self.array(name, elem, *len, text),
            Ty::Optional(inner) => self.optional(name, inner, text),
            Ty::Boxed(inner) => self.ty_inner(name, inner, text),
            Ty::Named(id) => self.named(name, *id, text),
        }
    }

    fn prim(&mut self, name: Option<&str>, p: Prim, text: String) -> Node {
        let Some(node) = self.start(name, text) else {
            return self.missing(name, self.module.xdr_spelling(&Ty::Prim(p)));
        };
        let what = node.ty.clone();
        let Some(b) = self.take(p.wire_size(), &what) else {
            return node;
        };
        let word = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        let value = match p {
            Prim::Hyper => Value::Int(i128::from(i64::from_be_bytes(eight(b)))),
            Prim::UHyper => Value::Int(i128::from(u64::from_be_bytes(eight(b)))),
            Prim::Double => Value::Float(f64::from_be_bytes(eight(b))),
            Prim::Float => Value::Float(f64::from(f32::from_bits(word(b)))),
            Prim::Quadruple => {
                let mut q = [0; 16];
                q.copy_from_slice(b);
                Value::Quadruple(q)
            }
            Prim::Bool => match word(b) {
                0 => Value::Bool(false),
                1 => Value::Bool(true),
                other => {
                    self.pos -= 4;
                    self.fail(format!("bool is {other}, not 0 or 1"));
                    return node;
                }
            },
            Prim::UInt => Value::Int(i128::from(word(b))),
            _ => {
                let v = i128::from(signed(word(b)));
                let v = if p == Prim::UChar || p == Prim::UShort {
                    i128::from(word(b))
                } else {
                    v
                };
                if let Some((lo, hi)) = p.range() {
                    if v < lo || v > hi {
                        self.pos -= 4;
                        self.fail(format!("{what} value {v} is out of its range {lo}..={hi}"));
                        return node;
                    }
                }
                Value::Int(v)
            }
        };
        self.done(node, value)
    }

    /// A length word checked against its bound and the bytes left.
    fn length(&mut self, max: Option<u32>, what: &str) -> Option<usize> {
        let at = self.pos;
        let n = self.word(&format!("the length of {what}"))?;
        if let Some(max) = max {
            if n > max {
                self.pos = at;
                self.fail(format!("{what} has length {n}, more than its bound {max}"));
                return None;
            }
        }
        let left = self.bytes.len() - self.pos;
        let n = n as usize;
        if n > left {
            self.pos = at;
            self.fail(format!("{what} has length {n}, only {left} byte(s) left"));
            return None;
        }
        Some(n)
    }

    /// Data bytes and their padding to a multiple of four (padding must
    /// be zero, as RFC 4506 says).
    fn padded(&mut self, n: usize, what: &str) -> Option<Vec<u8>> {
        let data = self.take(n, what)?.to_vec();
        let pad = (4 - n % 4) % 4;
        let padding = self.take(pad, &format!("the padding of {what}"))?;
        if padding.iter().any(|&b| b != 0) {
            self.pos -= pad;
            self.fail(format!("the padding of {what} is not zero"));
            return None;
        }
        Some(data)
    }

    fn opaque(&mut self, name: Option<&str>, len: Len, text: String) -> Node {
        let Some(node) = self.start(name, text) else {
            return self.missing(name, self.module.xdr_spelling(&Ty::Opaque(len)));
        };
        let what = node.ty.clone();
        let n = match len {
            Len::Fixed(n) => Some(n as usize),
            Len::Variable(max) => self.length(max, &what),
        };
        match n.and_then(|n| self.padded(n, &what)) {
            Some(data) => self.done(node, Value::Opaque(data)),
            None => node,
        }
    }

    fn string(&mut self, name: Option<&str>, max: Option<u32>, text: String) -> Node {
        let Some(node) = self.start(name, text) else {
            return self.missing(name, self.module.xdr_spelling(&Ty::String(max)));
        };
        let what = node.ty.clone();
        match self.length(max, &what).and_then(|n| self.padded(n, &what)) {
            Some(data) => self.done(node, Value::String(data)),
            None => node,
        }
    }

    fn array(&mut self, name: Option<&str>, elem: &Ty, len: Len, text: String) -> Node {
        let Some(node) = self.start(name, text) else {
            return self.missing(
                name,
                self.module.xdr_spelling(&Ty::Array {
                    elem: Box::new(elem.clone()),
                    len,
                }),
            );
        };
        let what = node.ty.clone();
        let n = match len {
            Len::Fixed(n) => {
                let n = n as usize;
                // Every element takes at least one word.
                let left = self.bytes.len() - self.pos;
                if n > left / 4 {
                    self.fail(format!(
                        "{what} needs {n} elements, only {left} byte(s) left"
                    ));
                    return node;
                }
                n
            }
            Len::Variable(max) => {
                let at = self.pos;
                let Some(n) = self.word(&format!("the length of {what}")) else {
                    return node;
                };
                if max.is_some_and(|max| n > max) {
                    self.pos = at;
                    self.fail(format!(
                        "{what} has {n} elements, more than its bound {}",
                        max.unwrap_or(0)
                    ));
                    return node;
                }
                let left = self.bytes.len() - self.pos;
                let n = n as usize;
                if n > left / 4 {
                    self.pos = at;
                    self.fail(format!("{what} has {n} elements, only {left} byte(s) left"));
                    return node;
                }
                n
            }
        };
        let mut items = Vec::with_capacity(n);
        for _ in 0..n {
            let item = self.ty(None, elem);
            items.push(item);
            if self.failed() {
                break;
            }
        }
        self.done(node, Value::Array(items))
    }

    /// A present/absent word: `Some(true)` when data follows.
    fn presence(&mut self, what: &str) -> Option<bool> {
        let at = self.pos;
        match self.word(&format!("the presence flag of {what}"))? {
            0 => Some(false),
            1 => Some(true),
            other => {
                self.pos = at;
                self.fail(format!(
                    "the presence flag of {what} is {other}, not 0 or 1"
                ));
                None
            }
        }
    }

    fn optional(&mut self, name: Option<&str>, inner: &Ty, text: String) -> Node {
        if let Some((id, link)) = linked_list(self.module, inner) {
            return self.list(name, id, link, text);
        }
        let Some(node) = self.start(name, text) else {
            return self.missing(
                name,
                self.module
                    .xdr_spelling(&Ty::Optional(Box::new(inner.clone()))),
            );
        };
        let what = node.ty.clone();
        match self.presence(&what) {
            Some(false) => self.done(node, Value::Optional(None)),
            Some(true) => {
                let value = self.ty(None, inner);
                self.done(node, Value::Optional(Some(Box::new(value))))
            }
            None => node,
        }
    }

    /// A linked list, iteratively: presence flag, struct fields but the
    /// link, and the link's presence flag again.
    fn list(&mut self, name: Option<&str>, id: TypeId, link: usize, text: String) -> Node {
        let Some(node) = self.start(name, text) else {
            return self.missing(name, self.module.xdr_spelling(&Ty::Named(id)));
        };
        let what = node.ty.clone();
        let def = self.module.ty(id);
        let item_name = def.name.xdr.clone();
        let TypeKind::Struct(s) = &def.kind else {
            return node;
        };
        let fields = &s.fields[..link];
        let mut items = Vec::new();
        while let Some(true) = self.presence(&what) {
            let Some(mut item) = self.start(None, item_name.clone()) else {
                break;
            };
            let mut children = Vec::with_capacity(fields.len());
            for f in fields {
                children.push(self.ty(Some(&f.name.xdr), &f.ty));
                if self.failed() {
                    break;
                }
            }
            item = self.done(item, Value::Struct(children));
            items.push(item);
            if self.failed() {
                break;
            }
        }
        self.done(node, Value::List(items))
    }

    fn named(&mut self, name: Option<&str>, id: TypeId, text: String) -> Node {
        let module = self.module;
        let def = module.ty(id);
        match &def.kind {
            TypeKind::Alias { ty } => {
                let mut node = self.ty(name, ty);
                // Keep the alias's name: it is what the `.x` file says.
                node.ty = text;
                node
            }
            TypeKind::Enum(e) => {
                let Some(node) = self.start(name, text) else {
                    return self.missing(name, def.name.xdr.clone());
                };
                let Some(w) = self.word(&def.name.xdr) else {
                    return node;
                };
                let v = signed(w);
                let member = e.members.iter().find(|m| m.value == v);
                match member {
                    Some(m) => self.done(
                        node,
                        Value::Enum {
                            value: v,
                            member: Some(m.name.xdr.clone()),
                        },
                    ),
                    None => {
                        self.pos -= 4;
                        self.fail(format!("{v} is not a value of enum {}", def.name.xdr));
                        node
                    }
                }
            }
            TypeKind::Struct(s) => {
                let Some(node) = self.start(name, text) else {
                    return self.missing(name, def.name.xdr.clone());
                };
                let mut children = Vec::with_capacity(s.fields.len());
                for f in &s.fields {
                    children.push(self.ty(Some(&f.name.xdr), &f.ty));
                    if self.failed() {
                        break;
                    }
                }
                self.done(node, Value::Struct(children))
            }
            TypeKind::Union(u) => {
                let Some(node) = self.start(name, text) else {
                    return self.missing(name, def.name.xdr.clone());
                };
                let disc = self.ty(Some(&u.discriminant.name.xdr), &u.discriminant.ty);
                let value = match (&disc.value, u.discriminant_kind) {
                    (Value::Int(v), _) => Some(*v),
                    (Value::Bool(b), _) => Some(i128::from(*b)),
                    (Value::Enum { value, .. }, DiscriminantKind::Enum(_)) => {
                        Some(i128::from(*value))
                    }
                    _ => None,
                };
                let Some(value) = value else {
                    return self.done(
                        node,
                        Value::Union {
                            discriminant: Box::new(disc),
                            arm: None,
                        },
                    );
                };
                let arm = u
                    .arms
                    .iter()
                    .find(|a| a.cases.iter().any(|c| c.value == value));
                let field = match (arm, &u.default) {
                    (Some(a), _) => a.field.as_ref(),
                    (None, Some(d)) => d.field.as_ref(),
                    (None, None) => {
                        self.pos = disc.offset - self.base;
                        self.fail(format!(
                            "{value} selects no arm of union {} (it has no default)",
                            def.name.xdr
                        ));
                        return self.done(
                            node,
                            Value::Union {
                                discriminant: Box::new(disc),
                                arm: None,
                            },
                        );
                    }
                };
                let arm = field.map(|f| Box::new(self.ty(Some(&f.name.xdr), &f.ty)));
                self.done(
                    node,
                    Value::Union {
                        discriminant: Box::new(disc),
                        arm,
                    },
                )
            }
            TypeKind::Extern => {
                self.fail(format!(
                    "{} is an external type: its wire form is not in the .x file",
                    def.name.xdr
                ));
                self.missing(name, text)
            }
        }
    }
}

/// A word read as two's complement.
pub(crate) fn signed(w: u32) -> i32 {
    i32::from_be_bytes(w.to_be_bytes())
}

fn eight(b: &[u8]) -> [u8; 8] {
    let mut out = [0; 8];
    out.copy_from_slice(&b[..8]);
    out
}

/// Follows aliases and boxes to the named type a type expression is.
fn resolve_named(module: &Module, ty: &Ty) -> Option<TypeId> {
    let mut ty = ty;
    // Alias chains are finite (the IR rejects cycles); the bound only
    // guards against a malformed module.
    for _ in 0..64 {
        match ty {
            Ty::Boxed(inner) => ty = inner,
            Ty::Named(id) => match &module.ty(*id).kind {
                TypeKind::Alias { ty: inner } => ty = inner,
                _ => return Some(*id),
            },
            _ => return None,
        }
    }
    None
}

/// Whether `T *` (with `T` given) is a linked list: `T` is a struct whose
/// last field is a `T *`. Returns the struct and the link field's index.
fn linked_list(module: &Module, inner: &Ty) -> Option<(TypeId, usize)> {
    let id = resolve_named(module, inner)?;
    let TypeKind::Struct(s) = &module.ty(id).kind else {
        return None;
    };
    let last = s.fields.len().checked_sub(1)?;
    let mut link = &s.fields[last].ty;
    for _ in 0..64 {
        match link {
            Ty::Optional(target) => {
                return (resolve_named(module, target) == Some(id)).then_some((id, last));
            }
            Ty::Boxed(inner) => link = inner,
            Ty::Named(a) => match &module.ty(*a).kind {
                TypeKind::Alias { ty } => link = ty,
                _ => return None,
            },
            _ => return None,
        }
    }
    None
}
