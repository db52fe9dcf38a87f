//! Encodes the portmapper's own registration and decodes a DUMP reply.

use example_build_script::portmap;
use xdrgen_runtime::{XdrDecode, XdrEncode};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    use portmap::{IPPROTO_TCP, Mapping, PMAP_PORT, Pmapnode};
    let me = Mapping {
        prog: portmap::pmap_prog::PROGRAM,
        vers: portmap::pmap_prog::pmap_vers::VERSION,
        prot: IPPROTO_TCP,
        port: PMAP_PORT,
    };
    let bytes = me.to_xdr()?;
    println!("PMAPPROC_SET argument: {bytes:02x?}");

    // A DUMP reply with two registrations.
    let list = Pmapnode {
        map: me.clone(),
        next: Some(Box::new(Pmapnode {
            map: Mapping {
                port: 2049,
                prog: 100_003,
                ..me
            },
            next: None,
        })),
    };
    let reply = Pmapnode::from_xdr(&list.to_xdr()?)?;
    println!("DUMP reply: {reply:?}");
    Ok(())
}
