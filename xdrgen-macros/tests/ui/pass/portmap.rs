use xdrgen_runtime::{XdrDecode, XdrEncode};

#[xdrgen_macros::xdr_program(file = "../../../../protocols/xdr/portmap.x")]
mod portmap {}

fn main() {
    let m = portmap::Mapping { prog: 100_000, vers: 2, prot: portmap::IPPROTO_UDP, port: 111 };
    let bytes = m.to_xdr().unwrap();
    assert_eq!(portmap::Mapping::from_xdr(&bytes).unwrap(), m);
}
