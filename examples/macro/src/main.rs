//! The same protocol through the attribute macro: no build script.

use example_macro::portmap;
use xdrgen_runtime::{XdrDecode, XdrEncode};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let call = portmap::CallArgs {
        prog: 100_003,
        vers: 3,
        proc: 0,
        args: Vec::new(),
    };
    let bytes = call.to_xdr()?;
    assert_eq!(portmap::CallArgs::from_xdr(&bytes)?, call);
    for p in portmap::pmap_prog::pmap_vers::Procedure::ALL {
        println!("{:>2} {}", p.number(), p.xdr_name());
    }
    Ok(())
}
