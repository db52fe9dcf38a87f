//! Generates fixtures covering every construct into OUT_DIR for a
//! `#![no_std]` build.

use std::path::Path;

fn main() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/x");
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap());
    println!("cargo::rerun-if-changed={}", fixtures.display());
    for name in [
        "basic",
        "dialect",
        "recursion",
        "inline",
        "program",
        "names",
    ] {
        xdrgen::generate(fixtures.join(format!("{name}.x")), &xdrgen::Options::new())
            .unwrap()
            .write_to(out.join(format!("{name}.rs")))
            .unwrap();
    }
}
