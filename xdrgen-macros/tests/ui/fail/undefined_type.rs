#[xdrgen_macros::xdr_program(file = "../../../../fixtures/errors/E0101-undefined-type.x")]
mod nfs {}

fn main() {}
