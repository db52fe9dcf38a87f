//! One line: generates `OUT_DIR/portmap.rs` and tells Cargo to rerun when
//! the `.x` file (or anything it includes) changes.

fn main() -> Result<(), xdrgen_build::Error> {
    xdrgen_build::compile("../../protocols/xdr/portmap.x")
}
