//! Generates fixtures covering every construct into OUT_DIR for a
//! `#![no_std]` build, through the build-script API (`Builder::compile`).

use std::path::Path;

fn main() -> Result<(), xdrgen_build::Error> {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/x");
    let mut builder = xdrgen_build::Builder::new();
    // RPC clients and servers need std and tokio.
    builder
        .emit(xdrgen_build::Part::Types)
        .emit(xdrgen_build::Part::Programs);
    for name in [
        "basic",
        "dialect",
        "recursion",
        "inline",
        "program",
        "names",
    ] {
        builder.file(fixtures.join(format!("{name}.x")));
    }
    builder.compile()
}
