//! The syntax tree of a `.x` file, as written: no names resolved, no
//! constants evaluated. Every node carries a [`Span`].

use crate::source::Span;

/// An identifier and where it was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ident {
    /// The identifier text.
    pub name: String,
    /// Where it was written.
    pub span: Span,
}

/// A comment, without its `/* */` or `//` delimiters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comment {
    /// The text between the delimiters.
    pub text: String,
    /// The whole comment, delimiters included.
    pub span: Span,
}

/// Comments attached to the node that follows them (and a trailing comment
/// on the same line as the node's end).
pub type Docs = Vec<Comment>;

/// A whole parsed input: the root file with its `#include`s spliced in.
#[derive(Clone, Debug, Default)]
pub struct Spec {
    /// Definitions in source order.
    pub items: Vec<Item>,
    /// Object-like macros from `#define`, `%#define` and `-D`, in order,
    /// their bodies classified.
    pub macros: Vec<Macro>,
}

/// Where a macro definition came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefineOrigin {
    /// `-D NAME=VALUE` on the command line or a builder option.
    CommandLine,
    /// A `#define` directive.
    Directive,
    /// A `%#define` passthrough line, which rpcgen copies to the C header.
    Passthrough,
    /// Symbols rpcgen itself defines (`RPC_HDR`, `RPC_XDR`).
    Builtin,
}

/// An object-like macro as written. [`Macro`] holds it with its body
/// classified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Define {
    /// The macro name.
    pub name: Ident,
    /// The replacement text, continuation backslashes blanked out.
    pub body: String,
    /// Where the body text is (same length as `body`).
    pub body_span: Span,
    /// Where the definition came from.
    pub origin: DefineOrigin,
}

/// An object-like macro whose body has been read once, here, so the
/// stages after syntax never parse text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Macro {
    /// The definition as written (its text is kept for messages).
    pub define: Define,
    /// What the body is.
    pub body: MacroBody,
}

/// What a macro body is. Which reading matters is decided by a use: a
/// constant needs an expression, a type reports C type words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MacroBody {
    /// No replacement text (`#define FLAG`).
    Empty,
    /// An integer expression (`16`, `(1 << 4)`, `MAX + 1`).
    Expr {
        /// The expression; its spans point into the body.
        expr: Expr,
        /// Whether the text also reads as C type words (a bare name such
        /// as `uint32_t`, `a * b`).
        c_type: bool,
    },
    /// C type words that are no expression: identifiers and `*` only
    /// (`unsigned long long`, `struct foo *`).
    CType,
    /// Anything else (a string, a cast, C code).
    Other,
}

impl MacroBody {
    /// The body as an integer expression, when it is one.
    pub fn expr(&self) -> Option<&Expr> {
        match self {
            MacroBody::Expr { expr, .. } => Some(expr),
            _ => None,
        }
    }

    /// Whether the body reads as C type words (a type from a C header).
    pub fn is_c_type(&self) -> bool {
        matches!(
            self,
            MacroBody::CType | MacroBody::Expr { c_type: true, .. }
        )
    }
}

/// An integer (or character) expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expr {
    /// A number literal (sign is a separate unary operator).
    Int {
        /// The literal's value.
        value: u64,
        /// Where it was written.
        span: Span,
    },
    /// A character constant such as `'a'`.
    Char {
        /// The byte value.
        value: u8,
        /// Where it was written.
        span: Span,
    },
    /// A named constant or enum member.
    Name(Ident),
    /// A prefix operator.
    Unary {
        /// The operator.
        op: UnaryOp,
        /// Its operand.
        operand: Box<Expr>,
        /// The whole expression.
        span: Span,
    },
    /// An infix operator.
    Binary {
        /// The operator.
        op: BinaryOp,
        /// Left operand.
        lhs: Box<Expr>,
        /// Right operand.
        rhs: Box<Expr>,
        /// The whole expression.
        span: Span,
    },
    /// `cond ? then : otherwise`.
    Conditional {
        /// The condition.
        cond: Box<Expr>,
        /// Value when non-zero.
        then: Box<Expr>,
        /// Value when zero.
        otherwise: Box<Expr>,
        /// The whole expression.
        span: Span,
    },
    /// `defined(NAME)`, only in `#if` lines.
    Defined {
        /// The macro tested.
        name: Ident,
        /// The whole expression.
        span: Span,
    },
}

impl Expr {
    /// Where the expression was written.
    pub fn span(&self) -> Span {
        match self {
            Expr::Int { span, .. }
            | Expr::Char { span, .. }
            | Expr::Unary { span, .. }
            | Expr::Binary { span, .. }
            | Expr::Conditional { span, .. }
            | Expr::Defined { span, .. } => *span,
            Expr::Name(id) => id.span,
        }
    }
}

/// Prefix operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnaryOp {
    /// `-`
    Neg,
    /// `+`
    Plus,
    /// `!`
    Not,
    /// `~`
    BitNot,
}

/// Infix operators, C precedence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum BinaryOp {
    Mul,
    Div,
    Rem,
    Add,
    Sub,
    Shl,
    Shr,
    Lt,
    Gt,
    Le,
    Ge,
    Eq,
    Ne,
    BitAnd,
    BitXor,
    BitOr,
    And,
    Or,
}

/// Built-in scalar types, including the C names rpcgen accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Prim {
    Int,
    UInt,
    Hyper,
    UHyper,
    Float,
    Double,
    Quadruple,
    Bool,
    /// C `char` (rpcgen: `xdr_char`, a 4-byte int on the wire).
    Char,
    UChar,
    Short,
    UShort,
    /// C `long` (rpcgen: `xdr_long`, 4 bytes on the wire).
    Long,
    ULong,
}

/// A keyword that may precede a type name in rpcgen's dialect (`struct foo`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tag {
    /// `struct NAME`
    Struct,
    /// `enum NAME`
    Enum,
    /// `union NAME`
    Union,
}

/// A type as written before a declarator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TypeSpec {
    /// A built-in scalar.
    Prim {
        /// Which scalar.
        prim: Prim,
        /// Where it was written (all keywords).
        span: Span,
    },
    /// A reference to a named type, optionally with its tag keyword.
    Named {
        /// The type name.
        name: Ident,
        /// `struct`/`enum`/`union` if written.
        tag: Option<Tag>,
    },
    /// `opaque` (only valid with a `[N]` or `<N>` declarator).
    Opaque(Span),
    /// `string` (only valid with a `<N>` declarator).
    String(Span),
    /// `enum { ... }` written in place.
    InlineEnum(EnumBody),
    /// `struct { ... }` written in place.
    InlineStruct(StructBody),
    /// `union switch (...) { ... }` written in place.
    InlineUnion(Box<UnionBody>),
}

impl TypeSpec {
    /// Where the type was written.
    pub fn span(&self) -> Span {
        match self {
            TypeSpec::Prim { span, .. } | TypeSpec::Opaque(span) | TypeSpec::String(span) => *span,
            TypeSpec::Named { name, .. } => name.span,
            TypeSpec::InlineEnum(b) => b.span,
            TypeSpec::InlineStruct(b) => b.span,
            TypeSpec::InlineUnion(b) => b.span,
        }
    }
}

/// The declarator shape after the name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Shape {
    /// `T name`
    Scalar,
    /// `T name[N]`
    Fixed(Expr),
    /// `T name<N>` or `T name<>`
    Variable(Option<Expr>),
    /// `T *name`
    Optional,
}

/// A declaration: a struct field, union arm, typedef or discriminant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decl {
    /// `void`
    Void(Span),
    /// A named, typed declaration.
    Named {
        /// The element type.
        ty: TypeSpec,
        /// The declared name.
        name: Ident,
        /// Array, optional or plain.
        shape: Shape,
        /// The whole declaration.
        span: Span,
    },
}

impl Decl {
    /// Where the declaration was written.
    pub fn span(&self) -> Span {
        match self {
            Decl::Void(span) | Decl::Named { span, .. } => *span,
        }
    }
}

/// A struct field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// Comments on the field.
    pub docs: Docs,
    /// The declaration.
    pub decl: Decl,
}

/// `{ decl; decl; ... }`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StructBody {
    /// Fields in order.
    pub members: Vec<Member>,
    /// From `{` to `}`.
    pub span: Span,
}

/// One `NAME [= value]` of an enum.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnumMember {
    /// Comments on the member (libvirt puts its annotations here).
    pub docs: Docs,
    /// The member name.
    pub name: Ident,
    /// The value, if written (rpcgen counts on from the previous one).
    pub value: Option<Expr>,
}

/// `{ A = 1, B = 2 }`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnumBody {
    /// Members in order.
    pub members: Vec<EnumMember>,
    /// From `{` to `}`.
    pub span: Span,
}

/// One `case X: case Y: decl;` group of a union.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Arm {
    /// Comments on the arm.
    pub docs: Docs,
    /// The case labels sharing this arm.
    pub labels: Vec<Expr>,
    /// What the arm holds.
    pub decl: Decl,
}

/// `switch (decl) { arms... default: decl; }`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnionBody {
    /// The discriminant declaration.
    pub discriminant: Decl,
    /// The `case` arms in order.
    pub arms: Vec<Arm>,
    /// The `default:` arm: where `default` was written, and its declaration.
    pub default: Option<(Span, Member)>,
    /// From `switch` to `}`.
    pub span: Span,
}

/// A procedure argument or result type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProcType {
    /// `void`
    Void(Span),
    /// A type with an optional array/optional shape (`string<>`, `opaque<N>`, `T *`).
    Type {
        /// The element type.
        ty: TypeSpec,
        /// The shape written after it.
        shape: Shape,
        /// The whole type.
        span: Span,
    },
}

impl ProcType {
    /// Where the type was written.
    pub fn span(&self) -> Span {
        match self {
            ProcType::Void(span) | ProcType::Type { span, .. } => *span,
        }
    }
}

/// A procedure argument, with the name rpcgen `-N` files may give it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcArg {
    /// The argument type.
    pub ty: ProcType,
    /// The parameter name, if written.
    pub name: Option<Ident>,
}

/// `RESULT NAME(ARGS) = N;`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Procedure {
    /// Comments on the procedure.
    pub docs: Docs,
    /// The procedure name.
    pub name: Ident,
    /// The result type.
    pub result: ProcType,
    /// The arguments (`void` is one argument of type void).
    pub args: Vec<ProcArg>,
    /// The procedure number.
    pub number: Expr,
    /// The whole definition.
    pub span: Span,
}

/// `version NAME { procedures } = N;`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Version {
    /// Comments on the version.
    pub docs: Docs,
    /// The version name.
    pub name: Ident,
    /// Procedures in order.
    pub procedures: Vec<Procedure>,
    /// The version number.
    pub number: Expr,
    /// The whole definition.
    pub span: Span,
}

/// `program NAME { versions } = N;`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Program {
    /// Comments on the program.
    pub docs: Docs,
    /// The program name.
    pub name: Ident,
    /// Versions in order.
    pub versions: Vec<Version>,
    /// The program number.
    pub number: Expr,
    /// The whole definition.
    pub span: Span,
}

/// The value of a `const`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConstValue {
    /// An integer expression.
    Int(Expr),
    /// A string constant (rpcgen extension): the text between the quotes.
    Str(String, Span),
}

/// A top-level definition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    /// `const NAME = value;`
    Const {
        /// Comments.
        docs: Docs,
        /// The constant name.
        name: Ident,
        /// Its value.
        value: ConstValue,
        /// The whole definition.
        span: Span,
    },
    /// `typedef decl;`
    Typedef {
        /// Comments.
        docs: Docs,
        /// The declaration (its name is the new type name).
        decl: Decl,
        /// The whole definition.
        span: Span,
    },
    /// `enum NAME { ... };`
    Enum {
        /// Comments.
        docs: Docs,
        /// The type name.
        name: Ident,
        /// The members.
        body: EnumBody,
        /// The whole definition.
        span: Span,
    },
    /// `struct NAME { ... };`
    Struct {
        /// Comments.
        docs: Docs,
        /// The type name.
        name: Ident,
        /// The fields.
        body: StructBody,
        /// The whole definition.
        span: Span,
    },
    /// `union NAME switch (...) { ... };`
    Union {
        /// Comments.
        docs: Docs,
        /// The type name.
        name: Ident,
        /// Discriminant and arms.
        body: UnionBody,
        /// The whole definition.
        span: Span,
    },
    /// `program NAME { ... } = N;`
    Program(Program),
    /// A `%` line, copied by rpcgen into its C output.
    Passthrough {
        /// The text after `%` (continuation lines joined with newlines).
        text: String,
        /// The whole line(s).
        span: Span,
    },
    /// A Linux kernel xdrgen `pragma WORD...;` statement.
    Pragma {
        /// The words after `pragma`.
        words: Vec<Ident>,
        /// The whole statement.
        span: Span,
    },
    /// xdrpp's `namespace NAME { definitions }`.
    Namespace {
        /// The namespace name.
        name: Ident,
        /// The definitions inside.
        items: Vec<Item>,
        /// The whole block.
        span: Span,
    },
}

impl Item {
    /// The comments documenting the definition, if it can have any.
    pub fn docs_mut(&mut self) -> Option<&mut Docs> {
        match self {
            Item::Const { docs, .. }
            | Item::Typedef { docs, .. }
            | Item::Enum { docs, .. }
            | Item::Struct { docs, .. }
            | Item::Union { docs, .. } => Some(docs),
            Item::Program(p) => Some(&mut p.docs),
            Item::Passthrough { .. } | Item::Pragma { .. } | Item::Namespace { .. } => None,
        }
    }

    /// Where the definition starts, for ordering spliced files.
    pub fn span(&self) -> Span {
        match self {
            Item::Const { span, .. }
            | Item::Typedef { span, .. }
            | Item::Enum { span, .. }
            | Item::Struct { span, .. }
            | Item::Union { span, .. }
            | Item::Passthrough { span, .. }
            | Item::Pragma { span, .. }
            | Item::Namespace { span, .. } => *span,
            Item::Program(p) => p.span,
        }
    }
}
