//! No input may panic, hang or blow the stack: hostile shapes, and many
//! deterministic mutations of real files (the fuzz target in `fuzz/` runs
//! the same entry point for longer).

use std::fmt::Write as _;
use std::path::Path;

use xdrgen_build::{MemoryLoader, Options};

fn check_text(text: &[u8]) {
    let mut loader = MemoryLoader::new();
    loader.insert("in.x", text.to_vec());
    // Must return, with or without diagnostics; rendering must work too.
    match xdrgen_build::check_with(&loader, Path::new("in.x"), &Options::new()) {
        Ok(c) => drop(c.warnings.to_string()),
        Err(e) => drop(e.to_string()),
    }
}

#[test]
fn hostile_shapes() {
    let n = 100_000;
    check_text(format!("const A = {}1{};", "(".repeat(n), ")".repeat(n)).as_bytes());
    check_text(format!("const A = {}1;", "-".repeat(n)).as_bytes());
    check_text(format!("const A = 1{};", "+1".repeat(n)).as_bytes());
    check_text(format!("struct s {{ {} }};", "struct { ".repeat(n)).as_bytes());
    check_text("#if 1\n".repeat(n).as_bytes());
    check_text("#include \"in.x\"\n".as_bytes());
    check_text(b"/*");
    check_text(b"%\\");
    check_text(b"#define A A\n#if A\n#endif\nconst B = A;");
    check_text(&[0xff, 0xfe, b'{', 0x80]);
    check_text("const é = 1; struct ü { int ß; };".as_bytes());
    // Constants defined in reverse order: deep evaluation chains.
    let mut chain = String::new();
    for i in (1..5000).rev() {
        let _ = writeln!(chain, "const C{i} = C{} + 1;", i - 1);
    }
    chain.push_str("const C0 = 0;\n");
    check_text(chain.as_bytes());
    // Long typedef chains and huge enums.
    let mut types = String::from("typedef int t0;\n");
    for i in 1..20_000 {
        let _ = writeln!(types, "typedef t{} t{i};", i - 1);
    }
    types.push_str("enum big {");
    for i in 0..20_000 {
        let _ = write!(types, "M{i},");
    }
    types.push_str("};\nunion u switch (t19999 x) { case 1: void; };");
    check_text(types.as_bytes());
}

/// A small deterministic PRNG (xorshift), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n.max(1) as u64).expect("below n")
    }
}

const TOKENS: &[&str] = &[
    "{",
    "}",
    ";",
    "<",
    ">",
    "[",
    "]",
    "(",
    ")",
    "*",
    "=",
    ",",
    ":",
    "struct",
    "union",
    "enum",
    "switch",
    "case",
    "default",
    "typedef",
    "const",
    "program",
    "version",
    "void",
    "opaque",
    "string",
    "unsigned",
    "#if 0\n",
    "#endif\n",
    "#define X\n",
    "\n%",
    "/*",
    "*/",
    "'",
    "\"",
    "0x",
    "99999999999999999999",
    "-",
    "TRUE",
    "pragma",
    "namespace",
    "\\\n",
];

#[test]
fn mutated_real_files_never_panic() {
    let fixtures = crate::workspace().join("fixtures/x");
    let mut inputs: Vec<Vec<u8>> = std::fs::read_dir(&fixtures)
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            p.extension()
                .is_some_and(|x| x == "x")
                .then(|| std::fs::read(p).unwrap())
        })
        .collect();
    let corpus_nfs = crate::workspace().join("../shared/corpus/nfsv3/nfs3.x");
    if let Ok(bytes) = std::fs::read(corpus_nfs) {
        inputs.push(bytes);
    }
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    for _ in 0..3000 {
        let mut text = inputs[rng.below(inputs.len())].clone();
        for _ in 0..=rng.below(4) {
            let at = rng.below(text.len() + 1);
            match rng.below(4) {
                0 => text.truncate(at),
                1 => {
                    let end = (at + rng.below(64)).min(text.len());
                    text.drain(at..end);
                }
                2 => {
                    let tok = TOKENS[rng.below(TOKENS.len())].as_bytes();
                    text.splice(at..at, tok.iter().copied());
                }
                _ => {
                    if let Some(b) = text.get_mut(at) {
                        *b = (rng.next() & 0xff) as u8;
                    }
                }
            }
        }
        check_text(&text);
    }
}
