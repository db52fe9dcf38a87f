//! One line: generates `OUT_DIR/portmap.rs` and tells Cargo to rerun when
//! the `.x` file (or anything it includes) changes.

fn main() -> Result<(), xdrgen::Error> {
    xdrgen::compile("../../protocols/xdr/portmap.x")
}
