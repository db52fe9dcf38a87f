#[xdrgen_macros::xdr_program(file = "../../../../protocols/xdr/portmap.x", colour = "blue")]
mod portmap {}

fn main() {}
