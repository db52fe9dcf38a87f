//! Generates `src/generated/constants.rs` from the API description libvirt
//! installs with its headers (Debian: `libvirt-dev`,
//! `/usr/share/libvirt/api/*.xml`) and checks the checked-in file matches.
//! `XDRGEN_BLESS=1 cargo test -p xdrgen-libvirt --test constants` rewrites
//! it.
//!
//! Without the XML the test is skipped loudly (and fails under
//! `XDRGEN_REQUIRE_PEERS=1`). An XML of another libvirt release than the
//! one the file records is not a failure anywhere: the file is the
//! constants of the release it names, and only blessing moves it on.
//!
//! The XML is read by hand rather than with an XML crate: libvirt's
//! `apibuild.py` writes it in one fixed shape (elements `<enum .../>`,
//! `<typedef ...>` and `<macro ...>` with quoted attributes and an optional
//! `<info>` child holding CDATA or escaped text), and this reader only
//! needs that shape; an unexpected one fails the test with its offset.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

const API_DIR: &str = "/usr/share/libvirt/api";

/// The XML files and the module each one's constants go to (`None`: the
/// top level). `libvirt-lxc-api.xml` declares no enum and no field name.
const FILES: &[(&str, Option<&str>, &str)] = &[
    ("libvirt-api.xml", None, "libvirt.h"),
    ("libvirt-qemu-api.xml", Some("qemu"), "libvirt-qemu.h"),
    ("libvirt-admin-api.xml", Some("admin"), "libvirt-admin.h"),
];

#[test]
fn checked_in_constants_match_libvirts_api_description() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = Path::new(API_DIR);
    let Some(main_xml) = xdrgen_testenv::require(
        "xdrgen-libvirt constants",
        "/usr/share/libvirt/api/libvirt-api.xml is missing (Debian: apt-get install libvirt-dev)",
        std::fs::read_to_string(dir.join(FILES[0].0)).ok(),
    ) else {
        return;
    };
    let version = libvirt_version(&main_xml);
    let path = root.join("src/generated/constants.rs");
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    let bless = std::env::var_os("XDRGEN_BLESS").is_some();
    if let Some(recorded) = recorded_version(&current)
        && recorded != version
        && !bless
    {
        // Not a skip that `XDRGEN_REQUIRE_PEERS` turns into a failure:
        // another release's description is there, not a missing one.
        let line = format!(
            "SKIPPED xdrgen-libvirt constants: the installed libvirt-dev is {} and \
             src/generated/constants.rs is from {}; XDRGEN_BLESS=1 moves it to the installed one",
            dotted(version),
            dotted(recorded)
        );
        let _ =
            std::io::Write::write_all(&mut std::io::stderr(), format!("\n!!! {line}\n").as_bytes());
        if let Some(log) = std::env::var_os("XDRGEN_SKIP_LOG") {
            let _ = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(log)
                .and_then(|mut f| {
                    std::io::Write::write_all(&mut f, format!("{line}\n").as_bytes())
                });
        }
        return;
    }
    let mut sources = Vec::new();
    for (file, module, header) in FILES {
        let text = std::fs::read_to_string(dir.join(file))
            .unwrap_or_else(|e| panic!("{API_DIR}/{file}: {e}"));
        sources.push(Source {
            file,
            module: *module,
            header,
            enums: elements(&text, "enum", file),
            typedefs: elements(&text, "typedef", file),
            macros: elements(&text, "macro", file),
        });
    }
    let fresh = generate(version, &sources);
    if current != fresh {
        assert!(
            bless,
            "{} is stale (rerun with XDRGEN_BLESS=1)",
            path.display()
        );
        std::fs::write(&path, &fresh).unwrap();
    }
}

struct Source {
    file: &'static str,
    module: Option<&'static str>,
    header: &'static str,
    enums: Vec<Element>,
    typedefs: Vec<Element>,
    macros: Vec<Element>,
}

/// One element: its attributes and the text of its `<info>` child.
struct Element {
    attributes: BTreeMap<String, String>,
    info: Option<String>,
}

impl Element {
    fn get(&self, name: &str) -> Option<&str> {
        self.attributes.get(name).map(String::as_str)
    }

    fn name(&self) -> &str {
        self.get("name").expect("every element has a name")
    }
}

/// Every `<tag ...>` element of `xml`.
fn elements(xml: &str, tag: &str, file: &str) -> Vec<Element> {
    let open = format!("<{tag} ");
    let close = format!("</{tag}>");
    let mut found = Vec::new();
    let mut at = 0;
    while let Some(start) = xml[at..].find(&open).map(|i| at + i) {
        let mut i = start + open.len();
        let mut attributes = BTreeMap::new();
        let bytes = xml.as_bytes();
        let self_closing = loop {
            while bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            if xml[i..].starts_with("/>") {
                i += 2;
                break true;
            }
            if bytes[i] == b'>' {
                i += 1;
                break false;
            }
            let eq = xml[i..]
                .find('=')
                .unwrap_or_else(|| panic!("{file}: offset {i}: an attribute without '='"));
            let name = xml[i..i + eq].trim().to_string();
            i += eq + 1;
            let quote = bytes[i];
            assert!(
                quote == b'\'' || quote == b'"',
                "{file}: offset {i}: attribute {name} is not quoted"
            );
            let end = xml[i + 1..]
                .find(quote as char)
                .unwrap_or_else(|| panic!("{file}: offset {i}: attribute {name} is not closed"));
            attributes.insert(name, unescape(&xml[i + 1..i + 1 + end]));
            i += end + 2;
        };
        let mut info = None;
        if !self_closing {
            let end = xml[i..]
                .find(&close)
                .unwrap_or_else(|| panic!("{file}: offset {start}: <{tag}> is not closed"));
            let body = &xml[i..i + end];
            if let (Some(from), Some(to)) = (body.find("<info>"), body.find("</info>")) {
                let text = &body[from + "<info>".len()..to];
                info = Some(match text.strip_prefix("<![CDATA[") {
                    Some(cdata) => cdata.strip_suffix("]]>").unwrap_or(cdata).to_string(),
                    None => unescape(text),
                });
            }
            i += end + close.len();
        }
        found.push(Element { attributes, info });
        at = i;
    }
    found
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// `LIBVIR_VERSION_NUMBER` of the description.
fn libvirt_version(xml: &str) -> u32 {
    elements(xml, "macro", "libvirt-api.xml")
        .iter()
        .find(|m| m.name() == "LIBVIR_VERSION_NUMBER")
        .and_then(|m| m.get("raw")?.trim().parse().ok())
        .expect("libvirt-api.xml defines LIBVIR_VERSION_NUMBER as a number")
}

/// The release the checked-in file was generated from.
fn recorded_version(generated: &str) -> Option<u32> {
    generated
        .lines()
        .find_map(|line| line.strip_prefix("pub const LIBVIRT_VERSION: u32 = "))
        .and_then(|rest| rest.trim_end_matches(';').replace('_', "").parse().ok())
}

fn dotted(version: u32) -> String {
    format!(
        "{}.{}.{}",
        version / 1_000_000,
        version / 1000 % 1000,
        version % 1000
    )
}

/// One member of an enum, its value resolved.
struct Member<'a> {
    element: &'a Element,
    value: i64,
    /// The member it was defined as, when its value is another's name.
    same_as: Option<&'a str>,
}

fn generate(version: u32, sources: &[Source]) -> String {
    // Values by name across every file: members may be defined as another
    // member, of another enum or of another file's.
    let mut raw: BTreeMap<&str, &str> = BTreeMap::new();
    for source in sources {
        for e in &source.enums {
            raw.insert(
                e.name(),
                e.get("value").expect("an enum member has a value"),
            );
        }
    }
    let resolve = |name: &str| -> i64 {
        let mut text = raw[name];
        for _ in 0..8 {
            if let Ok(value) = text.parse::<i64>() {
                return value;
            }
            text = raw
                .get(text)
                .unwrap_or_else(|| panic!("{name}: value {text} is neither a number nor a member"));
        }
        panic!("{name}: its value refers to itself")
    };

    let mut out = String::new();
    let files: Vec<&str> = sources.iter().map(|s| s.file).collect();
    writeln!(
        out,
        "// @generated by xdrgen-libvirt's tests/constants.rs from libvirt {}'s API description \
         ({}). Do not edit.",
        dotted(version),
        files.join(", ")
    )
    .unwrap();
    out.push('\n');
    writeln!(
        out,
        "/// The libvirt release whose API description these constants come from\n\
         /// (`LIBVIR_VERSION_NUMBER`: major * 1,000,000 + minor * 1,000 + micro).\n\
         pub const LIBVIRT_VERSION: u32 = {};",
        underscored(i64::from(version), 10)
    )
    .unwrap();

    let mut emitted_types = BTreeSet::new();
    for source in sources {
        let mut body = String::new();
        let typedefs: BTreeMap<&str, &Element> =
            source.typedefs.iter().map(|t| (t.name(), t)).collect();
        let mut by_type: BTreeMap<&str, Vec<Member<'_>>> = BTreeMap::new();
        for e in &source.enums {
            let value_text = e.get("value").unwrap();
            let same_as = value_text.parse::<i64>().is_err().then_some(value_text);
            by_type
                .entry(e.get("type").expect("an enum member names its type"))
                .or_default()
                .push(Member {
                    element: e,
                    value: resolve(e.name()),
                    same_as,
                });
        }
        for (c_type, members) in by_type {
            // A type shared by two headers is emitted once, where it is
            // first met.
            if !emitted_types.insert(c_type) {
                continue;
            }
            let typedef = typedefs.get(c_type).copied();
            let is_flags = c_type.ends_with("Flags")
                || members
                    .iter()
                    .any(|m| m.element.get("value_bitshift").is_some());
            if is_flags {
                flags(&mut body, c_type, typedef, members);
            } else {
                enumeration(&mut body, c_type, typedef, members);
            }
        }
        let fields: Vec<&Element> = source
            .macros
            .iter()
            .filter(|m| m.get("string").is_some())
            .collect();
        if !fields.is_empty() {
            writeln!(
                body,
                "\n/// The names of typed parameters `{}` declares, under their C names.\npub mod fields {{",
                source.header
            )
            .unwrap();
            for (i, field) in fields.iter().enumerate() {
                if i > 0 {
                    body.push('\n');
                }
                docs(
                    &mut body,
                    "    ",
                    field.info.as_deref(),
                    &format!("{}`", field.name()),
                    field.get("version"),
                );
                writeln!(
                    body,
                    "    pub const {}: &str = {:?};",
                    field.name(),
                    field.get("string").unwrap()
                )
                .unwrap();
            }
            body.push_str("}\n");
        }
        match source.module {
            None => out.push_str(&body),
            Some(module) => {
                writeln!(
                    out,
                    "\n/// The constants of `{}` ({}).\npub mod {module} {{",
                    source.header, source.file
                )
                .unwrap();
                for line in body.trim_start_matches('\n').lines() {
                    if line.is_empty() {
                        out.push('\n');
                    } else {
                        writeln!(out, "    {line}").unwrap();
                    }
                }
                out.push_str("}\n");
            }
        }
    }
    out
}

fn enumeration(
    out: &mut String,
    c_type: &str,
    typedef: Option<&Element>,
    members: Vec<Member<'_>>,
) {
    // `_LAST` grows with every release, and so does a member worth as much
    // (`VIR_DOMAIN_MEMORY_STAT_NR`): a newer daemon's value would decode
    // as it.
    let last: Vec<i64> = members
        .iter()
        .filter(|m| m.element.name().ends_with("_LAST"))
        .map(|m| m.value)
        .collect();
    let mut members: Vec<Member<'_>> = members
        .into_iter()
        .filter(|m| !last.contains(&m.value))
        .collect();
    // Value order; of members sharing a value, one defined by a number
    // first, then by name.
    members.sort_by_key(|m| (m.value, m.same_as.is_some(), m.element.name().to_string()));
    let names = stripped_names(&members.iter().map(|m| m.element.name()).collect::<Vec<_>>());
    writeln!(out).unwrap();
    out.push_str("libvirt_enum! {\n");
    docs(
        out,
        "    ",
        typedef.and_then(|t| t.info.as_deref()),
        &format!("{c_type}`"),
        typedef.and_then(|t| t.get("version")),
    );
    writeln!(out, "    {c_type:?} {} {{", rust_type_name(c_type)).unwrap();
    let mut variants: BTreeMap<i64, String> = BTreeMap::new();
    let mut aliases = Vec::new();
    let mut seen = BTreeSet::new();
    for (member, stripped) in members.iter().zip(&names) {
        assert!(
            i32::try_from(member.value).is_ok(),
            "{}: {} does not fit an int",
            member.element.name(),
            member.value
        );
        if let Some(first) = variants.get(&member.value) {
            aliases.push((member, stripped.clone(), first.clone()));
            continue;
        }
        let mut variant = camel(stripped);
        if variant == "Self" {
            variant.push('_');
        }
        assert!(
            seen.insert(variant.clone()),
            "{c_type}: two members are {variant}"
        );
        docs_of(out, "        ", member);
        writeln!(
            out,
            "        {variant} = {} ({:?}),",
            if member.value < 0 {
                member.value.to_string()
            } else {
                underscored(member.value, 10)
            },
            member.element.name()
        )
        .unwrap();
        variants.insert(member.value, variant);
    }
    out.push_str("    }\n");
    for (member, stripped, first) in aliases {
        docs_of(out, "    ", member);
        writeln!(out, "    const {stripped} = {first};").unwrap();
    }
    out.push_str("}\n");
}

fn flags(out: &mut String, c_type: &str, typedef: Option<&Element>, members: Vec<Member<'_>>) {
    let mut members = members;
    members.sort_by_key(|m| (m.value, m.same_as.is_some(), m.element.name().to_string()));
    let names = stripped_names(&members.iter().map(|m| m.element.name()).collect::<Vec<_>>());
    writeln!(out).unwrap();
    out.push_str("libvirt_flags! {\n");
    docs(
        out,
        "    ",
        typedef.and_then(|t| t.info.as_deref()),
        &format!("{c_type}`"),
        typedef.and_then(|t| t.get("version")),
    );
    writeln!(out, "    {c_type:?} {} {{", rust_type_name(c_type)).unwrap();
    let mut seen = BTreeSet::new();
    for (member, stripped) in members.iter().zip(&names) {
        let bits = u32::try_from(member.value).unwrap_or_else(|_| {
            panic!(
                "{}: flag {} is not a u32",
                member.element.name(),
                member.value
            )
        });
        assert!(
            seen.insert(stripped.clone()),
            "{c_type}: two flags are {stripped}"
        );
        docs_of(out, "        ", member);
        writeln!(
            out,
            "        {stripped} = {} ({:?}),",
            underscored(i64::from(bits), 16),
            member.element.name()
        )
        .unwrap();
    }
    out.push_str("    }\n}\n");
}

fn docs_of(out: &mut String, indent: &str, member: &Member<'_>) {
    let c_name = match member.same_as {
        Some(other) => format!("{}` (defined as `{other}`)", member.element.name()),
        None => format!("{}`", member.element.name()),
    };
    docs(
        out,
        indent,
        member.element.get("info"),
        &c_name,
        member.element.get("version"),
    );
}

/// libvirt's description as rustdoc, then the C name (`c_name` holds its
/// closing backquote, and may go on after it) and the release that added
/// it. The text is one paragraph (libvirt wraps it at random) with
/// Markdown's special characters escaped.
fn docs(out: &mut String, indent: &str, info: Option<&str>, c_name: &str, since: Option<&str>) {
    if let Some(info) = info {
        let words: Vec<&str> = info.split_whitespace().collect();
        if !words.is_empty() {
            let mut line = String::new();
            for word in words {
                let word = markdown_escaped(word);
                if !line.is_empty() && line.len() + 1 + word.len() > 80 {
                    writeln!(out, "{indent}/// {line}").unwrap();
                    line.clear();
                }
                if !line.is_empty() {
                    line.push(' ');
                }
                line.push_str(&word);
            }
            writeln!(out, "{indent}/// {line}").unwrap();
            writeln!(out, "{indent}///").unwrap();
        }
    }
    match since {
        Some(version) => writeln!(out, "{indent}/// `{c_name}, since libvirt {version}.").unwrap(),
        None => writeln!(out, "{indent}/// `{c_name}.").unwrap(),
    }
}

fn markdown_escaped(word: &str) -> String {
    let mut escaped = String::new();
    for c in word.chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '|' | '~'
        ) {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    // rustdoc links bare URLs and warns about them: as text they stay.
    escaped.replace("://", ":\\/\\/")
}

/// `virDomainState` → `DomainState`.
fn rust_type_name(c_type: &str) -> String {
    let name = c_type.strip_prefix("vir").unwrap_or(c_type);
    assert!(
        name.starts_with(|c: char| c.is_ascii_uppercase()),
        "{c_type}: not a virName type"
    );
    name.to_string()
}

/// The members' names without the words they all start with, keeping one
/// more word where a name would be empty or start with a digit.
fn stripped_names(names: &[&str]) -> Vec<String> {
    let split: Vec<Vec<&str>> = names.iter().map(|n| n.split('_').collect()).collect();
    let shortest = split.iter().map(Vec::len).min().unwrap_or(0);
    let mut common = 0;
    while common < shortest && split.iter().all(|words| words[common] == split[0][common]) {
        common += 1;
    }
    loop {
        let stripped: Vec<String> = split
            .iter()
            .map(|words| words[common..].join("_"))
            .collect();
        let usable = stripped
            .iter()
            .all(|s| s.starts_with(|c: char| c.is_ascii_alphabetic()));
        if usable || common == 0 {
            return stripped;
        }
        common -= 1;
    }
}

/// `PMSUSPENDED_DISK` → `PmsuspendedDisk`.
fn camel(screaming: &str) -> String {
    screaming
        .split('_')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let lower = w.to_ascii_lowercase();
            let mut chars = lower.chars();
            let first = chars.next().unwrap().to_ascii_uppercase();
            std::iter::once(first).chain(chars).collect::<String>()
        })
        .collect()
}

/// `value` in base 10 or 16 with `_` every three or four digits, as the
/// workspace's `clippy::unreadable_literal` wants.
fn underscored(value: i64, base: u32) -> String {
    let (digits, group, prefix) = match base {
        16 => (format!("{value:x}"), 4, "0x"),
        _ => (value.to_string(), 3, ""),
    };
    if digits.len() <= group + 1 {
        return format!("{prefix}{digits}");
    }
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % group == 0 {
            grouped.push('_');
        }
        grouped.push(c);
    }
    format!("{prefix}{grouped}")
}
