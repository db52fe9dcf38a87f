#[xdrgen_macros::xdr_program(file = "../../../../protocols/xdr/portmap.x")]
mod portmap {
    pub fn mine() {}
}

fn main() {}
