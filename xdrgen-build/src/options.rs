//! Every option, declared once.
//!
//! The `options!` table below names each option's field, type, builder
//! method, command-line flag, `#[xdr_program]` key and documentation. From
//! it come the [`Options`] fields and setters, [`Options::to_args`] and
//! [`Options::from_args`] (the one parser of the `NAME=VALUE` grammar), the
//! macro keys, and [`Options::specs`], which the CLI turns into clap
//! arguments and a test checks `docs/options.md` against.

use std::path::{Path, PathBuf};

use proc_macro2::{Delimiter, TokenStream, TokenTree};

use crate::Error;

/// A part of the generated code that can be switched on alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// Constants, types and their codecs.
    Types,
    /// Per program and version: numbers and the `Procedure` enum.
    Programs,
    /// Per program and version: typed async `Client` and `BlockingClient`
    /// stubs (runtime feature `tokio` for the async one).
    Client,
    /// Per program and version: the `Service` trait and its `Dispatcher`
    /// for the runtime's server (runtime feature `tokio`).
    Server,
}

impl Part {
    /// Every part, in the order they are listed.
    pub const ALL: [Part; 4] = [Part::Types, Part::Programs, Part::Client, Part::Server];

    /// The part's name on the command line and in the macro.
    pub fn name(self) -> &'static str {
        match self {
            Part::Types => "types",
            Part::Programs => "programs",
            Part::Client => "client",
            Part::Server => "server",
        }
    }
}

/// Another `.x` file whose types the input uses without re-emitting them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Import {
    /// The `.x` file.
    pub path: PathBuf,
    /// The Rust module its generated types live in (`crate::remote`).
    pub rust_path: Option<String>,
}

/// The front door options came through. Option errors and diagnostic
/// hints name an option the way that door spells it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Door {
    /// The build-script API: `.define("N", Some("4"))`.
    #[default]
    BuildScript,
    /// The `xdrgen` command: `-D N=4`.
    CommandLine,
    /// `#[xdr_program]`: `define = "N=4"`.
    Macro,
}

impl Door {
    /// The option `name` (a field of [`Options`]) with `value`, as this
    /// door spells it: `-D N=4`, `.define("N", Some("4"))`, `define = "N=4"`.
    pub fn spell_option(self, name: &str, value: &str) -> String {
        spec(name).spell(self, Some(value))
    }
}

/// Which commands take an option.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    /// Reading `.x` files: `xdrgen check` takes these too.
    Frontend,
    /// Shaping the generated code.
    Codegen,
    /// Where the generated code goes.
    Output,
}

/// One option as each door spells it.
#[derive(Clone, Copy, Debug)]
pub struct OptionSpec {
    /// The option's name (its field).
    pub name: &'static str,
    /// The builder method (`include_dir`).
    pub builder: &'static str,
    /// The short flag (`I` for `-I`).
    pub short: Option<char>,
    /// The long flag without dashes (`include-dir`); `None` for options
    /// the command line has no flag for.
    pub long: Option<&'static str>,
    /// What the value looks like (`NAME=RUST_PATH`); `None` for switches.
    pub value_name: Option<&'static str>,
    /// The `#[xdr_program]` key; `None` where the macro has no use for it.
    pub key: Option<&'static str>,
    /// One line of help.
    pub help: &'static str,
    /// Which commands take it.
    pub group: Group,
    /// Whether it may be given more than once.
    pub repeats: bool,
    builder_args: fn(&str) -> String,
}

impl OptionSpec {
    /// The option as `door` spells it, with `value` (a flag's value text).
    pub fn spell(&self, door: Door, value: Option<&str>) -> String {
        match door {
            Door::CommandLine => {
                let flag = match (self.short, self.long) {
                    (Some(c), _) => format!("-{c}"),
                    (None, Some(long)) => format!("--{long}"),
                    (None, None) => self.name.to_string(),
                };
                match value {
                    Some(v) => format!("{flag} {v}"),
                    None => flag,
                }
            }
            Door::Macro => {
                let key = self.key.unwrap_or(self.name);
                match value {
                    Some(v) => format!("{key} = {v:?}"),
                    None => key.to_string(),
                }
            }
            Door::BuildScript => {
                let args = value.map_or_else(|| "true".to_string(), self.builder_args);
                format!(".{}({args})", self.builder)
            }
        }
    }
}

/// A value one flag or key carries.
trait OptionValue: Sized {
    /// Switches carry none.
    const TAKES_VALUE: bool = true;
    /// Parses a flag's value; `None` when it does not have the expected shape.
    fn parse(text: &str) -> Option<Self>;
    /// The flag's value text (the inverse of `parse`).
    fn show(&self) -> String;
    /// The builder call's arguments (`"N", Some("4")`).
    fn builder_args(&self) -> String;
}

impl OptionValue for bool {
    const TAKES_VALUE: bool = false;
    fn parse(_: &str) -> Option<bool> {
        Some(true)
    }
    fn show(&self) -> String {
        String::new()
    }
    fn builder_args(&self) -> String {
        self.to_string()
    }
}

impl OptionValue for String {
    fn parse(text: &str) -> Option<String> {
        (!text.is_empty()).then(|| text.to_string())
    }
    fn show(&self) -> String {
        self.clone()
    }
    fn builder_args(&self) -> String {
        format!("{self:?}")
    }
}

impl OptionValue for PathBuf {
    fn parse(text: &str) -> Option<PathBuf> {
        (!text.is_empty()).then(|| PathBuf::from(text))
    }
    fn show(&self) -> String {
        self.display().to_string()
    }
    fn builder_args(&self) -> String {
        format!("{:?}", self.display().to_string())
    }
}

/// `NAME=VALUE`, both required.
impl OptionValue for (String, String) {
    fn parse(text: &str) -> Option<Self> {
        let (name, value) = text.split_once('=')?;
        (!name.is_empty() && !value.is_empty()).then(|| (name.to_string(), value.to_string()))
    }
    fn show(&self) -> String {
        format!("{}={}", self.0, self.1)
    }
    fn builder_args(&self) -> String {
        format!("{:?}, {:?}", self.0, self.1)
    }
}

/// `NAME[=VALUE]`.
impl OptionValue for (String, Option<String>) {
    fn parse(text: &str) -> Option<Self> {
        let (name, value) = match text.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (text, None),
        };
        (!name.is_empty()).then(|| (name.to_string(), value))
    }
    fn show(&self) -> String {
        match &self.1 {
            Some(v) => format!("{}={v}", self.0),
            None => self.0.clone(),
        }
    }
    fn builder_args(&self) -> String {
        match &self.1 {
            Some(v) => format!("{:?}, Some({v:?})", self.0),
            None => format!("{:?}, None", self.0),
        }
    }
}

/// `FILE.x[=RUST_PATH]`.
impl OptionValue for Import {
    fn parse(text: &str) -> Option<Import> {
        let (path, rust_path) = <(String, Option<String>)>::parse(text)?;
        Some(Import {
            path: path.into(),
            rust_path,
        })
    }
    fn show(&self) -> String {
        let path = self.path.display().to_string();
        match &self.rust_path {
            Some(p) => format!("{path}={p}"),
            None => path,
        }
    }
    fn builder_args(&self) -> String {
        let path = self.path.display().to_string();
        match &self.rust_path {
            Some(p) => format!("{path:?}, Some({p:?})"),
            None => format!("{path:?}, None"),
        }
    }
}

impl OptionValue for Part {
    fn parse(text: &str) -> Option<Part> {
        Part::ALL.into_iter().find(|p| p.name() == text)
    }
    fn show(&self) -> String {
        self.name().to_string()
    }
    fn builder_args(&self) -> String {
        format!("Part::{self:?}")
    }
}

fn builder_args<T: OptionValue>(text: &str) -> String {
    T::parse(text).map_or_else(|| format!("{text:?}"), |v| v.builder_args())
}

/// Where an option's values live: a list, one optional value, a switch.
trait Slot {
    type Value: OptionValue;
    const REPEATS: bool;
    fn put(&mut self, value: Self::Value);
    fn values(&self) -> Vec<&Self::Value>;
}

impl<T: OptionValue> Slot for Vec<T> {
    type Value = T;
    const REPEATS: bool = true;
    fn put(&mut self, value: T) {
        self.push(value);
    }
    fn values(&self) -> Vec<&T> {
        self.iter().collect()
    }
}

impl<T: OptionValue> Slot for Option<T> {
    type Value = T;
    const REPEATS: bool = false;
    fn put(&mut self, value: T) {
        *self = Some(value);
    }
    fn values(&self) -> Vec<&T> {
        self.iter().collect()
    }
}

impl Slot for bool {
    type Value = bool;
    const REPEATS: bool = false;
    fn put(&mut self, value: bool) {
        *self = value;
    }
    fn values(&self) -> Vec<&bool> {
        if *self { vec![&true] } else { Vec::new() }
    }
}

macro_rules! options {
    ($(
        $(#[doc = $doc:literal])*
        $field:ident: $ty:ty, $group:ident {
            fn $setter:ident($($param:ident: $param_ty:ty),*) = $value:expr;
            flag: $short:expr, $long:expr, $value_name:expr;
            key: $key:expr;
            help: $help:literal;
        }
    )*) => {
        /// Every option, shared by the build-script API (as [`Builder`](crate::Builder)),
        /// the CLI and the proc-macro. Setters take `&mut self` so configuration
        /// can be conditional. docs/options.md lists every option with its
        /// builder method, flag and macro key.
        #[allow(clippy::struct_excessive_bools)] // independent switches
        #[derive(Clone, Debug, Default)]
        pub struct Options {
            $($field: $ty,)*
            /// How the options were spelled; not an option, so not compared.
            door: Door,
        }

        impl PartialEq for Options {
            fn eq(&self, other: &Options) -> bool {
                $(self.$field == other.$field)&&*
            }
        }

        impl Eq for Options {}

        impl Options {
            $(
                $(#[doc = $doc])*
                pub fn $setter(&mut self, $($param: $param_ty),*) -> &mut Self {
                    Slot::put(&mut self.$field, $value);
                    self
                }
            )*

            const SPECS: &'static [OptionSpec] = &[$(OptionSpec {
                name: stringify!($field),
                builder: stringify!($setter),
                short: $short,
                long: $long,
                value_name: $value_name,
                key: $key,
                help: $help,
                group: Group::$group,
                repeats: <$ty as Slot>::REPEATS,
                builder_args: builder_args::<<$ty as Slot>::Value>,
            }),*];

            /// Parses `text` as a value of the option `spec` and sets it.
            fn apply(&mut self, spec: &OptionSpec, text: Option<&str>) -> Result<(), String> {
                match spec.name {
                    $(stringify!($field) => {
                        Slot::put(&mut self.$field, parse_value::<<$ty as Slot>::Value>(spec, self.door, text)?);
                    })*
                    _ => unreachable!("`{}` is in the table", spec.name),
                }
                Ok(())
            }

            /// The value texts of the option `spec` (empty text for a switch that is on).
            fn shown(&self, spec: &OptionSpec) -> Vec<String> {
                match spec.name {
                    $(stringify!($field) => Slot::values(&self.$field).into_iter().map(OptionValue::show).collect(),)*
                    _ => unreachable!("`{}` is in the table", spec.name),
                }
            }
        }
    };
}

fn parse_value<T: OptionValue>(
    spec: &OptionSpec,
    door: Door,
    text: Option<&str>,
) -> Result<T, String> {
    match (T::TAKES_VALUE, text) {
        (false, None) => T::parse("").ok_or_else(String::new),
        (false, Some(_)) => Err(format!("`{}` takes no value", spec.spell(door, None))),
        (true, None) => Err(format!(
            "`{}` needs a value: {}",
            spec.spell(door, None),
            spec.value_name.unwrap_or("a value")
        )),
        (true, Some(text)) => T::parse(text).ok_or_else(|| {
            format!(
                "`{}`: expected {}",
                spec.spell(door, Some(text)),
                spec.value_name.unwrap_or("a value")
            )
        }),
    }
}

options! {
    /// Adds a directory searched for `#include`, after the including
    /// file's directory (`-I DIR`).
    include_dirs: Vec<PathBuf>, Frontend {
        fn include_dir(dir: impl Into<PathBuf>) = dir.into();
        flag: Some('I'), Some("include-dir"), Some("DIR");
        key: Some("include_dir");
        help: "Add a directory to search for `#include` files";
    }
    /// Defines a macro before the input, as a C header would
    /// (`-D NAME[=VALUE]`); a missing value means `1`, as in cpp.
    defines: Vec<(String, Option<String>)>, Frontend {
        fn define(name: impl Into<String>, value: Option<&str>) = (name.into(), value.map(str::to_string));
        flag: Some('D'), Some("define"), Some("NAME[=VALUE]");
        key: Some("define");
        help: "Define a macro before the input, as a C header would (`VIR_UUID_BUFLEN=16`)";
    }
    /// Uses the types of another `.x` file without emitting them again
    /// (`--import FILE.x[=RUST_PATH]`); `rust_path` is the module its
    /// generated types live in (`crate::remote`).
    imports: Vec<Import>, Frontend {
        fn import(path: impl Into<PathBuf>, rust_path: Option<&str>) = Import { path: path.into(), rust_path: rust_path.map(str::to_string) };
        flag: None, Some("import"), Some("FILE.x[=RUST_PATH]");
        key: Some("import");
        help: "Use the types of another .x file without emitting them again";
    }
    /// Maps an XDR type name to an existing Rust type, which implements
    /// the runtime's traits (`--extern-type NAME=RUST_PATH`).
    extern_types: Vec<(String, String)>, Frontend {
        fn extern_type(name: impl Into<String>, rust_path: impl Into<String>) = (name.into(), rust_path.into());
        flag: None, Some("extern-type"), Some("NAME=RUST_PATH");
        key: Some("extern_type");
        help: "Map an XDR type name to an existing Rust type";
    }
    /// Sets the path of the runtime crate in generated code
    /// (`--runtime-path`; default `::xdrgen_runtime`).
    runtime_path: Option<String>, Codegen {
        fn runtime_path(path: impl Into<String>) = path.into();
        flag: None, Some("runtime-path"), Some("PATH");
        key: Some("runtime_path");
        help: "Path of the runtime crate in generated code (default `::xdrgen_runtime`)";
    }
    /// Adds a derive to every generated struct, enum and union
    /// (`--derive PATH`), e.g. `serde::Serialize`. Traits generated types
    /// already derive (`Clone`, `Debug`, `PartialEq`, `Eq`, `Hash`,
    /// `Default`, and `Copy`, `PartialOrd`, `Ord` on enums) are errors.
    derives: Vec<String>, Codegen {
        fn derive(path: impl Into<String>) = path.into();
        flag: None, Some("derive"), Some("PATH");
        key: Some("derive");
        help: "Add a derive to every generated type (e.g. `serde::Serialize`)";
    }
    /// Adds attributes to one type by its XDR name, or to all with `*`
    /// (`--type-attribute NAME=ATTR`), e.g. `#[derive(PartialOrd, Ord)]`.
    type_attributes: Vec<(String, String)>, Codegen {
        fn type_attribute(xdr_name: impl Into<String>, attribute: impl Into<String>) = (xdr_name.into(), attribute.into());
        flag: None, Some("type-attribute"), Some("NAME=ATTR");
        key: Some("type_attribute");
        help: "Add attributes to one type, or to all with `*` (`nfs_fh3=#[derive(PartialOrd, Ord)]`)";
    }
    /// Also generates `Random` impls for property tests (`--random`; needs
    /// the runtime's `testing` feature).
    random: bool, Codegen {
        fn random(on: bool) = on;
        flag: None, Some("random"), None;
        key: Some("random");
        help: "Also generate `Random` impls for property tests (runtime feature `testing`)";
    }
    /// Leaves `.x` comments out of the rustdoc (`--no-comments`).
    no_comments: bool, Codegen {
        fn no_comments(on: bool) = on;
        flag: None, Some("no-comments"), None;
        key: Some("no_comments");
        help: "Leave the .x comments out of the rustdoc";
    }
    /// Decodes variable-length opaques and strings without copying: they
    /// become `&'a [u8]` and `XdrStr<'a>` borrowed from the input, and the
    /// types holding them get a lifetime and implement
    /// `XdrDecodeBorrowed<'a>` (`--zero-copy`). Zero-copy output has no
    /// client or server stubs.
    zero_copy: bool, Codegen {
        fn zero_copy(on: bool) = on;
        flag: None, Some("zero-copy"), None;
        key: Some("zero_copy");
        help: "Borrow opaque and string data from the input instead of copying it (no client or server stubs)";
    }
    /// Derives serde's `Serialize`/`Deserialize` on generated types,
    /// through the runtime (enable its `serde` feature) (`--serde`).
    serde: bool, Codegen {
        fn serde(on: bool) = on;
        flag: None, Some("serde"), None;
        key: Some("serde");
        help: "Derive serde's Serialize/Deserialize (runtime feature `serde`)";
    }
    /// Derives `arbitrary::Arbitrary` on generated types, for fuzzing
    /// (`--arbitrary`; the crate using the code depends on `arbitrary` and
    /// enables the runtime's `arbitrary` feature).
    arbitrary: bool, Codegen {
        fn arbitrary(on: bool) = on;
        flag: None, Some("arbitrary"), None;
        key: Some("arbitrary");
        help: "Derive arbitrary::Arbitrary, for fuzzing (needs the `arbitrary` crate)";
    }
    /// Generates only the given parts (`--emit PART`; repeat for several;
    /// none means all).
    emit: Vec<Part>, Codegen {
        fn emit(part: Part) = part;
        flag: None, Some("emit"), Some("types|programs|client|server");
        key: Some("emit");
        help: "Generate only this part (repeatable; default: all)";
    }
    /// Adds a `.x` file for [`compile`](Options::compile) (the CLI's FILE
    /// arguments).
    files: Vec<PathBuf>, Output {
        fn file(path: impl Into<PathBuf>) = path.into();
        flag: None, None, Some("FILE");
        key: None;
        help: "The .x files to compile (one, unless --out-dir is given; `-` reads standard input)";
    }
    /// Sets where [`compile`](Options::compile) writes `<stem>.rs`
    /// (default `OUT_DIR`; CLI `--out-dir`).
    out_dir: Option<PathBuf>, Output {
        fn out_dir(dir: impl Into<PathBuf>) = dir.into();
        flag: None, Some("out-dir"), Some("DIR");
        key: None;
        help: "Write each FILE as DIR/<stem>.rs (several files allowed)";
    }
    /// Whether [`compile`](Options::compile) prints `cargo:rerun-if-changed`
    /// for every file it reads (default true). Cargo then reruns the build
    /// script *only* when one of them changes: a build script that does
    /// other work must print its own `rerun-if-changed` lines, or turn
    /// this off.
    no_rerun_if_changed: bool, Output {
        fn emit_rerun_if_changed(on: bool) = !on;
        flag: None, None, None;
        key: None;
        help: "Print `cargo:rerun-if-changed` for every file read (build scripts only)";
    }
}

impl Options {
    /// Default options.
    pub fn new() -> Options {
        Options::default()
    }

    /// Every option, as each door spells it.
    pub fn specs() -> &'static [OptionSpec] {
        Options::SPECS
    }

    /// The command-line arguments that stand for these options (generate
    /// mode, files last): the inverse of [`from_args`](Options::from_args).
    /// Options without a flag (`emit_rerun_if_changed`) are left out.
    pub fn to_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        for spec in Options::SPECS {
            let Some(long) = spec.long else { continue };
            for value in self.shown(spec) {
                args.push(format!("--{long}"));
                if spec.value_name.is_some() {
                    args.push(value);
                }
            }
        }
        args.extend(self.files.iter().map(|f| f.display().to_string()));
        args
    }

    /// Parses generate-mode command-line arguments (without the program
    /// name): `--flag VALUE`, `--flag=VALUE`, `-I DIR`, `-IDIR`, switches,
    /// and the `.x` files (`--` ends the flags). Errors name the flag.
    pub fn from_args<I, S>(args: I) -> Result<Options, Error>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut options = Options {
            door: Door::CommandLine,
            ..Options::default()
        };
        let mut args = args.into_iter().map(Into::into);
        let mut only_files = false;
        while let Some(arg) = args.next() {
            if only_files || arg == "-" || !arg.starts_with('-') {
                options.file(arg);
                continue;
            }
            if arg == "--" {
                only_files = true;
                continue;
            }
            let (spec, attached) =
                find_flag(&arg).ok_or_else(|| Error::Config(format!("unknown option `{arg}`")))?;
            let value = match (spec.value_name, attached) {
                (Some(_), None) => Some(args.next().ok_or_else(|| {
                    Error::Config(format!(
                        "`{arg}` needs a value: {}",
                        spec.value_name.unwrap_or_default()
                    ))
                })?),
                (_, attached) => attached,
            };
            options
                .apply(spec, value.as_deref())
                .map_err(Error::Config)?;
        }
        Ok(options)
    }

    /// The `#[xdr_program]` keys that stand for these options, each with
    /// its value (`None` for a switch); options the macro has no key for
    /// (files, the output directory) are left out.
    pub fn to_macro_keys(&self) -> Vec<(&'static str, Option<String>)> {
        let mut keys = Vec::new();
        for spec in Options::SPECS {
            let Some(key) = spec.key else { continue };
            for value in self.shown(spec) {
                keys.push((key, spec.value_name.is_some().then_some(value)));
            }
        }
        keys
    }

    /// Sets the option whose `#[xdr_program]` key is `key` (the macro's
    /// parser); `value` is `None` for a switch. Errors name the key.
    pub fn apply_macro_key(&mut self, key: &str, value: Option<&str>) -> Result<(), String> {
        self.door = Door::Macro;
        let spec = Options::SPECS
            .iter()
            .find(|s| s.key == Some(key))
            .ok_or_else(|| format!("unknown #[xdr_program] key `{key}`"))?;
        self.apply(spec, value)
    }

    /// Makes relative paths (include directories, imports, files, the
    /// output directory) relative to `base`, as the macro does with the
    /// crate's manifest directory.
    pub fn resolve_paths(&mut self, base: &Path) -> &mut Self {
        for dir in &mut self.include_dirs {
            *dir = base.join(&*dir);
        }
        for import in &mut self.imports {
            import.path = base.join(&import.path);
        }
        for file in &mut self.files {
            *file = base.join(&*file);
        }
        if let Some(dir) = &mut self.out_dir {
            *dir = base.join(&*dir);
        }
        self
    }

    /// The door these options came through.
    pub fn door(&self) -> Door {
        self.door
    }

    /// Sets the door, which decides how option errors and diagnostic hints
    /// spell options. [`from_args`](Options::from_args) and
    /// [`apply_macro_key`](Options::apply_macro_key) set it themselves.
    pub fn set_door(&mut self, door: Door) -> &mut Self {
        self.door = door;
        self
    }

    /// Spells the option `name` (a field name from the table) as the
    /// options' door does, with `value`.
    pub(crate) fn spell(&self, name: &str, value: Option<&str>) -> String {
        spec(name).spell(self.door, value)
    }

    /// Checks that every option can become valid Rust, before any input is
    /// read. Errors name the option as the door spells it.
    pub(crate) fn validate(&self) -> Result<(), Error> {
        let fail = |name: &str, value: &str, why: String| {
            Err(Error::Config(format!(
                "`{}`: {why}",
                self.spell(name, Some(value))
            )))
        };
        for (name, value) in &self.defines {
            let shown = (name.clone(), value.clone()).show();
            if !crate::syntax::parser::is_identifier(name) {
                return fail(
                    "defines",
                    &shown,
                    "a macro name must be an identifier".into(),
                );
            }
            if value.as_deref().is_some_and(|v| v.contains('\n')) {
                return fail("defines", &shown, "the value must be one line".into());
            }
        }
        for import in &self.imports {
            if let Some(path) = import.rust_path.as_deref().filter(|p| !is_rust_path(p)) {
                return fail(
                    "imports",
                    &import.show(),
                    format!("`{path}` is not a Rust path"),
                );
            }
        }
        for pair in &self.extern_types {
            let (name, path) = pair;
            if !crate::syntax::parser::is_identifier(name) {
                return fail(
                    "extern_types",
                    &pair.show(),
                    format!("`{name}` is not an XDR type name"),
                );
            }
            if !is_rust_type_path(path) {
                return fail(
                    "extern_types",
                    &pair.show(),
                    format!("`{path}` is not a Rust type path"),
                );
            }
        }
        if let Some(path) = self.runtime_path.as_deref().filter(|p| !is_rust_path(p)) {
            return fail("runtime_path", path, "not a Rust path".into());
        }
        for derive in &self.derives {
            if !is_rust_path(derive) {
                return fail("derives", derive, "not a Rust path".into());
            }
            if let Some(why) = self.derived_already(derive, true) {
                return fail("derives", derive, why);
            }
        }
        for pair in &self.type_attributes {
            let (name, attribute) = pair;
            if name != "*" && !crate::syntax::parser::is_identifier(name) {
                return fail(
                    "type_attributes",
                    &pair.show(),
                    format!("`{name}` is not an XDR type name or `*`"),
                );
            }
            let Some(derives) = outer_attribute_derives(attribute) else {
                return fail(
                    "type_attributes",
                    &pair.show(),
                    format!(
                        "`{attribute}` is not one or more attributes like `#[derive(PartialOrd)]`"
                    ),
                );
            };
            if let Some(why) = derives.iter().find_map(|d| self.derived_already(d, false)) {
                return fail("type_attributes", &pair.show(), why);
            }
        }
        if self.zero_copy {
            if let Some(part) = self
                .emit
                .iter()
                .find(|p| matches!(p, Part::Client | Part::Server))
            {
                return Err(Error::Config(format!(
                    "`{}` with `{}`: zero-copy output has no client or server stubs (its types borrow from one input buffer); generate the stubs from owned types",
                    self.spell("emit", Some(part.name())),
                    self.spell("zero_copy", None),
                )));
            }
        }
        Ok(())
    }

    /// Why deriving `path` would repeat a derive generated code already
    /// has, if it would. `on_enums`: the derive also goes on enums.
    fn derived_already(&self, path: &str, on_enums: bool) -> Option<String> {
        let name = path.rsplit("::").next().unwrap_or(path).trim();
        let always = ["Clone", "Debug", "PartialEq", "Eq", "Hash", "Default"];
        if always.contains(&name) {
            return Some(format!(
                "generated types already derive `{name}` wherever it can be derived"
            ));
        }
        if on_enums && ["Copy", "PartialOrd", "Ord"].contains(&name) {
            return Some(format!(
                "every generated enum already derives `{name}`; add it to structs one by one with `{}`",
                self.spell("type_attributes", Some(&format!("NAME=#[derive({name})]")))
            ));
        }
        // Deriving a constructor from the outside would bypass the checks of
        // a union's `<Union>Default` (a discriminant with its own case must
        // not be buildable): the switches generate checked impls instead.
        if name == "Deserialize" || (self.serde && name == "Serialize") {
            return Some(format!(
                "`{}` derives serde's traits, with the checks generated types need",
                self.spell("serde", None)
            ));
        }
        if name == "Arbitrary" {
            return Some(format!(
                "`{}` derives `Arbitrary`, with the checks generated types need",
                self.spell("arbitrary", None)
            ));
        }
        None
    }

    /// The names of types `type_attributes` and `extern_types` refer to,
    /// with the option that names them, for the unknown-type warning.
    pub(crate) fn named_types(&self) -> impl Iterator<Item = (&str, String)> {
        let attributes = self
            .type_attributes
            .iter()
            .filter(|(name, _)| name != "*")
            .map(|pair| {
                (
                    pair.0.as_str(),
                    self.spell("type_attributes", Some(&pair.show())),
                )
            });
        let externs = self.extern_types.iter().map(|pair| {
            (
                pair.0.as_str(),
                self.spell("extern_types", Some(&pair.show())),
            )
        });
        attributes.chain(externs)
    }

    pub(crate) fn include_dirs(&self) -> &[PathBuf] {
        &self.include_dirs
    }
    pub(crate) fn defines(&self) -> &[(String, Option<String>)] {
        &self.defines
    }
    pub(crate) fn imports(&self) -> &[Import] {
        &self.imports
    }
    pub(crate) fn extern_types(&self) -> &[(String, String)] {
        &self.extern_types
    }
    /// The `.x` files given with [`file`](Options::file).
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }
    #[cfg(feature = "format")]
    pub(crate) fn output_dir(&self) -> Option<&Path> {
        self.out_dir.as_deref()
    }
    #[cfg(feature = "format")]
    pub(crate) fn prints_rerun_if_changed(&self) -> bool {
        !self.no_rerun_if_changed
    }

    /// What code generation needs, as tokens (after [`validate`](Options::validate)).
    pub(crate) fn codegen(&self) -> Result<crate::codegen::CodegenOptions, Error> {
        self.validate()?;
        let tokens = |name: &str, text: &str| {
            text.parse::<TokenStream>()
                .map_err(|e| Error::Config(format!("`{}`: {e}", self.spell(name, Some(text)))))
        };
        let runtime_path = match &self.runtime_path {
            Some(path) => tokens("runtime_path", path)?,
            None => quote::quote!(::xdrgen_runtime),
        };
        let wants = |part| self.emit.is_empty() || self.emit.contains(&part);
        Ok(crate::codegen::CodegenOptions {
            runtime_path,
            derives: self
                .derives
                .iter()
                .map(|d| tokens("derives", d))
                .collect::<Result<_, _>>()?,
            type_attributes: self
                .type_attributes
                .iter()
                .map(|(n, a)| Ok((n.clone(), tokens("type_attributes", a)?)))
                .collect::<Result<_, Error>>()?,
            random: self.random,
            comments: !self.no_comments,
            zero_copy: self.zero_copy,
            serde: self.serde,
            arbitrary: self.arbitrary,
            types: wants(Part::Types),
            programs: wants(Part::Programs),
            client: wants(Part::Client),
            server: wants(Part::Server),
        })
    }
}

fn spec(name: &str) -> &'static OptionSpec {
    Options::SPECS
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| unreachable!("`{name}` is in the table"))
}

/// The option a command-line argument names, and its attached value
/// (`--define=N`, `-DN`).
fn find_flag(arg: &str) -> Option<(&'static OptionSpec, Option<String>)> {
    if let Some(long) = arg.strip_prefix("--") {
        let (name, value) = match long.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (long, None),
        };
        let spec = Options::SPECS.iter().find(|s| s.long == Some(name))?;
        return Some((spec, value));
    }
    let mut chars = arg.strip_prefix('-')?.chars();
    let short = chars.next()?;
    let spec = Options::SPECS.iter().find(|s| s.short == Some(short))?;
    let rest = chars.as_str();
    Some((spec, (!rest.is_empty()).then(|| rest.to_string())))
}

/// `::a::b`, `crate::x`, `serde::Serialize`: identifiers joined by `::`.
fn is_rust_path(text: &str) -> bool {
    let Ok(tokens) = text.parse::<TokenStream>() else {
        return false;
    };
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    path_len(&tokens) == Some(tokens.len())
}

/// A path, optionally with generic arguments at the end (`crate::Foo<u8>`).
fn is_rust_type_path(text: &str) -> bool {
    let Ok(tokens) = text.parse::<TokenStream>() else {
        return false;
    };
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    match path_len(&tokens) {
        Some(n) if n == tokens.len() => true,
        Some(n) => is_punct(&tokens[n], '<') && tokens.last().is_some_and(|t| is_punct(t, '>')),
        None => false,
    }
}

/// How many tokens the path at the start of `tokens` takes.
fn path_len(tokens: &[TokenTree]) -> Option<usize> {
    let colons = |at: usize| matches!(tokens.get(at..at + 2), Some([a, b]) if is_punct(a, ':') && is_punct(b, ':'));
    let mut at = if colons(0) { 2 } else { 0 };
    loop {
        match tokens.get(at) {
            Some(TokenTree::Ident(i)) if !is_reserved(&i.to_string()) => at += 1,
            _ => return None,
        }
        if !colons(at) {
            return Some(at);
        }
        at += 2;
    }
}

/// Keywords that cannot be path segments (`crate`, `self`, `super` and
/// `Self` can).
fn is_reserved(word: &str) -> bool {
    const KEYWORDS: &[&str] = &[
        "as", "async", "await", "break", "const", "continue", "dyn", "else", "enum", "extern",
        "false", "fn", "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut",
        "pub", "ref", "return", "static", "struct", "trait", "true", "type", "unsafe", "use",
        "where", "while",
    ];
    KEYWORDS.contains(&word)
}

fn is_punct(token: &TokenTree, c: char) -> bool {
    matches!(token, TokenTree::Punct(p) if p.as_char() == c)
}

/// The derive paths inside `text` if it is one or more outer attributes
/// (`#[derive(A, b::B)] #[serde(rename = "x")]`), else `None`.
fn outer_attribute_derives(text: &str) -> Option<Vec<String>> {
    let tokens: Vec<TokenTree> = text.parse::<TokenStream>().ok()?.into_iter().collect();
    if tokens.is_empty() || tokens.len() % 2 != 0 {
        return None;
    }
    let mut derives = Vec::new();
    for pair in tokens.chunks(2) {
        let [hash, TokenTree::Group(body)] = pair else {
            return None;
        };
        if !is_punct(hash, '#') || body.delimiter() != Delimiter::Bracket {
            return None;
        }
        let inner: Vec<TokenTree> = body.stream().into_iter().collect();
        let Some(TokenTree::Ident(first)) = inner.first() else {
            return None;
        };
        if first == "derive" {
            let [_, TokenTree::Group(list)] = inner.as_slice() else {
                return None;
            };
            let text = list.stream().to_string();
            derives.extend(
                text.split(',')
                    .map(|d| d.replace(' ', ""))
                    .filter(|d| !d.is_empty()),
            );
        }
    }
    Some(derives)
}
