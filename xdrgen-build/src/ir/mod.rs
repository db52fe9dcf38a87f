//! The typed, resolved IR: the only thing code generation reads.
//!
//! Every name is resolved to a [`TypeId`] or a value, every constant is
//! evaluated, typedef chains are followed where it matters (union
//! discriminants), recursion is broken with [`Ty::Boxed`], and every Rust
//! identifier is decided here, once.
//!
//! With the `json` feature the whole module serializes to JSON; its shape
//! is documented in `docs/ir-json.md` and versioned by [`IR_JSON_VERSION`].

pub mod annotations;
mod cycles;
mod dump;
mod libvirt;
mod lower;
pub(crate) mod names;
pub(crate) mod prelude;

pub use annotations::{Acl, Annotations, Generate, Priority};
pub use dump::dump;
pub use libvirt::{LibvirtProcedure, LibvirtProgram};
pub(crate) use lower::{Import, Inputs, lower};

use crate::source::Span;

/// The version of the JSON shape printed by `xdrgen check --format json`.
pub const IR_JSON_VERSION: u32 = 1;

#[cfg(feature = "json")]
use serde::Serialize;

/// Index of a type in [`Module::types`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "json", derive(Serialize))]
pub struct TypeId(pub u32);

impl TypeId {
    /// The index into [`Module::types`].
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

#[cfg(feature = "json")]
impl Serialize for Span {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Span", 3)?;
        st.serialize_field("file", &self.file.index())?;
        st.serialize_field("start", &self.start)?;
        st.serialize_field("end", &self.end)?;
        st.end()
    }
}

/// An XDR name and the Rust identifier chosen for it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "json", derive(Serialize))]
pub struct Name {
    /// The name as written in the `.x` file.
    pub xdr: String,
    /// The Rust identifier (raw identifiers keep their `r#`).
    pub rust: String,
    /// Where the name was written.
    pub span: Span,
}

/// Where a definition comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(
    feature = "json",
    derive(Serialize),
    serde(tag = "kind", rename_all = "snake_case")
)]
pub enum Origin {
    /// The input file or a file it `#include`s.
    Local,
    /// The ONC RPC environment rpcgen's C code gets from `<rpc/rpc.h>`.
    Builtin,
    /// Another `.x` file given with `--import`; not emitted again.
    Imported {
        /// The imported file as given.
        file: String,
        /// The Rust module its types live in, if the user named one.
        rust_path: Option<String>,
        /// The module generated code names its types through: `rust_path`,
        /// or the file's stem as a sibling module (`super::nfs_prot`).
        #[cfg_attr(feature = "json", serde(skip))]
        module: ImportedModule,
    },
    /// A type the user maps to an existing Rust type (`--extern-type`).
    Extern {
        /// The Rust path.
        rust_path: String,
        /// For a path starting with `self` or `super`: the same type from
        /// the generated file's module (`other::Thing` through the alias of
        /// one of its [`Module::file_uses`], for `super::other::Thing`), so
        /// program and version modules reach it without `super::super::`.
        #[cfg_attr(feature = "json", serde(skip))]
        in_file: Option<String>,
    },
}

/// How generated code reaches an imported file's module.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImportedModule {
    /// A path that means the same module from every module of the
    /// generated file (`crate::shared`, `::other_crate::shared`).
    Path(String),
    /// A path from the generated file's own module: the alias of one of
    /// its [`Module::file_uses`] (`nfs_prot`, for the user's
    /// `super::nfs_prot`), or what follows the user's `self::`. Program
    /// and version modules reach it through their path to the file's types
    /// (`super::nfs_prot`, `types::nfs_prot`), never `super::super::`.
    InFile(String),
}

/// `use <path> as <alias>;` at the top of the generated file: a user path
/// that climbs out of the module the file is included in (`super::...`),
/// named once where `super` means what the user meant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileUse {
    /// The user's path (`super::nfs_prot`).
    pub path: String,
    /// The name it gets in the file's module (`nfs_prot`); decided against
    /// every other name there.
    pub alias: String,
}

/// The resolved form of one `.x` file.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "json", derive(Serialize))]
pub struct Module {
    /// Names of the source files spans point into, by file index.
    pub files: Vec<String>,
    /// Constants: `const`, `#define`/`%#define`/`-D` ones that are used.
    pub consts: Vec<Const>,
    /// Every type: local ones in source order, then the imported, built-in
    /// and external types they use.
    pub types: Vec<TypeDef>,
    /// `program` definitions.
    pub programs: Vec<Program>,
    /// `%` passthrough lines in source order.
    pub passthrough: Vec<Passthrough>,
    /// Kernel xdrgen `pragma` statements.
    pub pragmas: Vec<Pragma>,
    /// libvirt protocols: `<p>_procedure` enums with their
    /// `<P>_PROGRAM`/`<P>_PROTOCOL_VERSION` constants and the
    /// `_args`/`_ret`/`_msg` structs each member names.
    pub libvirt_programs: Vec<LibvirtProgram>,
    /// The `use` declarations the file's top needs for imports and
    /// external types whose Rust path starts with `super` (see
    /// [`ImportedModule::InFile`]), in order of first use.
    #[cfg_attr(feature = "json", serde(skip))]
    pub file_uses: Vec<FileUse>,
}

impl Module {
    /// A type expression as a `.x` file spells it (`string<255>`,
    /// `entry *`, `opaque[16]`); an id this module does not have reads `#N`.
    pub fn xdr_spelling(&self, ty: &Ty) -> String {
        match ty {
            Ty::Prim(p) => p.xdr_name().to_string(),
            Ty::Opaque(len) => format!("opaque{}", len.xdr_suffix()),
            Ty::String(max) => format!("string{}", Len::Variable(*max).xdr_suffix()),
            Ty::Array { elem, len } => format!("{}{}", self.xdr_spelling(elem), len.xdr_suffix()),
            Ty::Optional(inner) => format!("{} *", self.xdr_spelling(inner)),
            Ty::Boxed(inner) => self.xdr_spelling(inner),
            Ty::Named(id) => self
                .types
                .get(id.index())
                .map_or_else(|| format!("#{}", id.0), |t| t.name.xdr.clone()),
        }
    }

    /// The type with the given id.
    pub fn ty(&self, id: TypeId) -> &TypeDef {
        &self.types[id.index()]
    }

    /// Looks a type up by its XDR name.
    pub fn type_by_name(&self, xdr: &str) -> Option<&TypeDef> {
        self.types.iter().find(|t| t.name.xdr == xdr)
    }

    /// Looks a constant up by its XDR name.
    pub fn const_by_name(&self, xdr: &str) -> Option<&Const> {
        self.consts.iter().find(|c| c.name.xdr == xdr)
    }
}

/// A `%` line.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "json", derive(Serialize))]
pub struct Passthrough {
    /// The text after `%`.
    pub text: String,
    /// Where it was.
    pub span: Span,
}

/// A kernel xdrgen `pragma` statement (`pragma public T;`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "json", derive(Serialize))]
pub struct Pragma {
    /// The words after `pragma`.
    pub words: Vec<String>,
    /// Where it was.
    pub span: Span,
}

/// Where a constant was defined.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "json", derive(Serialize), serde(rename_all = "snake_case"))]
pub enum ConstKind {
    /// `const NAME = value;`
    Const,
    /// `#define` in the source.
    Define,
    /// `%#define` passthrough line.
    PassthroughDefine,
    /// `-D NAME=VALUE`.
    CommandLine,
    /// The ONC RPC environment (`TRUE`, `AUTH_SYS`, ...).
    Builtin,
}

/// A constant's value.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "json", derive(Serialize), serde(untagged))]
pub enum ConstValue {
    /// An integer in `-2^63 ..= 2^64-1`.
    Int(i128),
    /// A string constant.
    Str(String),
}

/// A named constant.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "json", derive(Serialize))]
pub struct Const {
    /// Its name (Rust: `SCREAMING_SNAKE_CASE`).
    pub name: Name,
    /// Its value.
    pub value: ConstValue,
    /// Where it came from.
    pub kind: ConstKind,
    /// Documentation lines.
    pub docs: Vec<String>,
}

/// A scalar type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "json", derive(Serialize), serde(rename_all = "snake_case"))]
pub enum Prim {
    /// `int` (and C `long`): 32-bit signed.
    Int,
    /// `unsigned int` (and `unsigned long`): 32-bit unsigned.
    #[cfg_attr(feature = "json", serde(rename = "unsigned_int"))]
    UInt,
    /// `hyper`: 64-bit signed.
    Hyper,
    /// `unsigned hyper`: 64-bit unsigned.
    #[cfg_attr(feature = "json", serde(rename = "unsigned_hyper"))]
    UHyper,
    /// `float`: IEEE single.
    Float,
    /// `double`: IEEE double.
    Double,
    /// `quadruple`: IEEE quad, 16 bytes.
    Quadruple,
    /// `bool`: 0 or 1 in a 4-byte word.
    Bool,
    /// C `char`: 8-bit signed value in a 4-byte word.
    Char,
    /// C `unsigned char`: 8-bit value in a 4-byte word.
    #[cfg_attr(feature = "json", serde(rename = "unsigned_char"))]
    UChar,
    /// C `short`: 16-bit signed value in a 4-byte word.
    Short,
    /// C `unsigned short`: 16-bit value in a 4-byte word.
    #[cfg_attr(feature = "json", serde(rename = "unsigned_short"))]
    UShort,
}

impl Prim {
    /// The values the type can hold, for case labels.
    pub fn range(self) -> Option<(i128, i128)> {
        Some(match self {
            Prim::Int => (i32::MIN.into(), i32::MAX.into()),
            Prim::UInt => (0, u32::MAX.into()),
            Prim::Hyper => (i64::MIN.into(), i64::MAX.into()),
            Prim::UHyper => (0, u64::MAX.into()),
            Prim::Bool => (0, 1),
            Prim::Char => (i8::MIN.into(), i8::MAX.into()),
            Prim::UChar => (0, u8::MAX.into()),
            Prim::Short => (i16::MIN.into(), i16::MAX.into()),
            Prim::UShort => (0, u16::MAX.into()),
            Prim::Float | Prim::Double | Prim::Quadruple => return None,
        })
    }

    /// The type's name in a `.x` file.
    pub fn xdr_name(self) -> &'static str {
        match self {
            Prim::Int => "int",
            Prim::UInt => "unsigned int",
            Prim::Hyper => "hyper",
            Prim::UHyper => "unsigned hyper",
            Prim::Float => "float",
            Prim::Double => "double",
            Prim::Quadruple => "quadruple",
            Prim::Bool => "bool",
            Prim::Char => "char",
            Prim::UChar => "unsigned char",
            Prim::Short => "short",
            Prim::UShort => "unsigned short",
        }
    }

    /// Bytes the type takes on the wire (`char` and `short` take a word).
    pub fn wire_size(self) -> usize {
        match self {
            Prim::Hyper | Prim::UHyper | Prim::Double => 8,
            Prim::Quadruple => 16,
            _ => 4,
        }
    }
}

/// The size part of an array, opaque or string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "json", derive(Serialize), serde(rename_all = "snake_case"))]
pub enum Len {
    /// `[N]`: exactly N.
    Fixed(u32),
    /// `<N>` (Some) or `<>` (None: up to 2^32-1).
    Variable(Option<u32>),
}

impl Len {
    /// The size as a `.x` file writes it after a name: `[N]`, `<N>` or `<>`.
    pub fn xdr_suffix(self) -> String {
        match self {
            Len::Fixed(n) => format!("[{n}]"),
            Len::Variable(Some(n)) => format!("<{n}>"),
            Len::Variable(None) => "<>".to_string(),
        }
    }
}

/// A type expression.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "json", derive(Serialize), serde(rename_all = "snake_case"))]
pub enum Ty {
    /// A scalar.
    Prim(Prim),
    /// `opaque[N]` / `opaque<N>`.
    Opaque(Len),
    /// `string<N>`; None is unbounded.
    String(Option<u32>),
    /// `T[N]` / `T<N>`.
    Array {
        /// Element type.
        elem: Box<Ty>,
        /// Size.
        len: Len,
    },
    /// `T *`: optional data.
    Optional(Box<Ty>),
    /// A named type.
    Named(TypeId),
    /// Heap indirection inserted to break a recursive type.
    Boxed(Box<Ty>),
}

/// A type definition.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "json", derive(Serialize))]
pub struct TypeDef {
    /// This type's id.
    pub id: TypeId,
    /// Its name (Rust: `UpperCamelCase`).
    pub name: Name,
    /// Where it comes from.
    pub origin: Origin,
    /// Documentation lines.
    pub docs: Vec<String>,
    /// What it is.
    pub kind: TypeKind,
}

/// The body of a type definition.
#[derive(Clone, Debug)]
#[cfg_attr(
    feature = "json",
    derive(Serialize),
    serde(tag = "kind", rename_all = "snake_case")
)]
pub enum TypeKind {
    /// `typedef T name;`
    Alias {
        /// The aliased type.
        ty: Ty,
    },
    /// `enum`
    Enum(Enum),
    /// `struct`
    Struct(Struct),
    /// `union`
    Union(Union),
    /// A user-supplied Rust type (`--extern-type`); its wire form is the
    /// user's business.
    Extern,
}

/// An enum.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "json", derive(Serialize))]
pub struct Enum {
    /// Members in source order.
    pub members: Vec<EnumMember>,
}

/// One enum member.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "json", derive(Serialize))]
pub struct EnumMember {
    /// Its name (Rust: `UpperCamelCase` variant).
    pub name: Name,
    /// Its value.
    pub value: i32,
    /// The earlier member with the same value, if any: this one is an alias
    /// (Rust enums cannot repeat a discriminant).
    #[cfg_attr(feature = "json", serde(skip_serializing_if = "Option::is_none"))]
    pub alias_of: Option<usize>,
    /// The associated constant an alias becomes (`Self::NIS_BOGUS_OBJ`);
    /// set exactly when `alias_of` is.
    #[cfg_attr(feature = "json", serde(skip))]
    pub alias_const: Option<String>,
    /// Documentation lines.
    pub docs: Vec<String>,
    /// libvirt's procedure annotations (`@generate`, `@acl`, ...), on
    /// members of `*_procedure` enums that have them.
    #[cfg_attr(feature = "json", serde(skip_serializing_if = "Option::is_none"))]
    pub annotations: Option<Annotations>,
}

/// A struct.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "json", derive(Serialize))]
pub struct Struct {
    /// Fields in order.
    pub fields: Vec<Field>,
}

/// A named, typed slot: struct field, union arm, discriminant.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "json", derive(Serialize))]
pub struct Field {
    /// Its name (Rust: `snake_case`).
    pub name: Name,
    /// Its type.
    pub ty: Ty,
    /// Documentation lines.
    pub docs: Vec<String>,
}

/// What kind of value a union switches on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "json", derive(Serialize), serde(rename_all = "snake_case"))]
pub enum DiscriminantKind {
    /// A signed or unsigned integer type, or bool.
    Prim(Prim),
    /// An enum.
    Enum(TypeId),
}

impl DiscriminantKind {
    /// Bytes the discriminant takes on the wire: 8 for `hyper` and
    /// `unsigned hyper`, 4 for everything else.
    pub fn wire_size(self) -> usize {
        match self {
            DiscriminantKind::Prim(p) => p.wire_size(),
            DiscriminantKind::Enum(_) => 4,
        }
    }
}

/// A discriminated union.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "json", derive(Serialize))]
pub struct Union {
    /// The discriminant as declared (its type may be an alias).
    pub discriminant: Field,
    /// The discriminant's resolved kind.
    pub discriminant_kind: DiscriminantKind,
    /// The `case` arms.
    pub arms: Vec<UnionArm>,
    /// The `default:` arm, if any.
    pub default: Option<DefaultArm>,
}

impl Union {
    /// The data of every arm, `default` included (void arms have none).
    pub fn arm_fields(&self) -> impl Iterator<Item = &Field> {
        self.arms
            .iter()
            .filter_map(|a| a.field.as_ref())
            .chain(self.default.iter().filter_map(|d| d.field.as_ref()))
    }
}

/// One case label.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "json", derive(Serialize))]
pub struct CaseLabel {
    /// The label's value.
    pub value: i128,
    /// The label as written (`NFS3_OK`, `TRUE`, `3`).
    pub label: String,
    /// The Rust variant name for this label.
    pub rust: String,
    /// Where the label was written.
    pub span: Span,
}

/// A `case` arm: one or more labels and the data they select.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "json", derive(Serialize))]
pub struct UnionArm {
    /// The labels sharing this arm.
    pub cases: Vec<CaseLabel>,
    /// The data; None for `void`.
    pub field: Option<Field>,
    /// Documentation lines.
    pub docs: Vec<String>,
}

/// The `default:` arm.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "json", derive(Serialize))]
pub struct DefaultArm {
    /// The data; None for `void`.
    pub field: Option<Field>,
    /// The Rust variant name.
    pub rust: String,
    /// The generated type holding the discriminant of a value in this arm
    /// (`<union>_default`): it admits only values no `case` arm lists, so
    /// a `default` value that would encode as another arm cannot be built.
    pub discriminant_type: Name,
    /// Documentation lines.
    pub docs: Vec<String>,
}

/// An RPC program.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "json", derive(Serialize))]
pub struct Program {
    /// Its name (Rust: `snake_case` module).
    pub name: Name,
    /// The program number.
    pub number: u32,
    /// Versions in source order.
    pub versions: Vec<Version>,
    /// Documentation lines.
    pub docs: Vec<String>,
}

/// One version of a program.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "json", derive(Serialize))]
pub struct Version {
    /// Its name (Rust: `snake_case` module).
    pub name: Name,
    /// The version number.
    pub number: u32,
    /// Procedures in source order.
    pub procedures: Vec<Procedure>,
    /// Documentation lines.
    pub docs: Vec<String>,
}

/// One procedure.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "json", derive(Serialize))]
pub struct Procedure {
    /// Its name (Rust: `snake_case` method).
    pub name: Name,
    /// The Rust variant name in the procedure enum.
    pub variant: String,
    /// The procedure number.
    pub number: u32,
    /// Arguments; empty for `void`.
    pub args: Vec<Arg>,
    /// The result; None for `void`.
    pub result: Option<Ty>,
    /// The server's call-context parameter, clear of the arguments' names
    /// (`cx`, else `call`, ...).
    #[cfg_attr(feature = "json", serde(skip))]
    pub context: String,
    /// Documentation lines.
    pub docs: Vec<String>,
}

/// A procedure argument.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "json", derive(Serialize))]
pub struct Arg {
    /// The parameter name: as written, or `arg1`, `arg2`...
    pub name: Name,
    /// Its type.
    pub ty: Ty,
}
