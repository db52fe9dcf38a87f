//! The checked-in bindings are what the current xdrgen generates from
//! `xdr/`. `XDRGEN_BLESS=1 cargo test -p xdrgen-protocols --test fresh`
//! rewrites them.

use std::path::Path;

const PROTOCOLS: &[&str] = &[
    "rpc_msg", "portmap", "rpcbind", "nfs3", "mount3", "nlm4", "nsm",
];

#[test]
fn checked_in_bindings_match_a_fresh_generation() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bless = std::env::var_os("XDRGEN_BLESS").is_some();
    let mut stale = Vec::new();
    for name in PROTOCOLS {
        let input = root.join("xdr").join(format!("{name}.x"));
        let fresh = xdrgen_build::generate(&input, &xdrgen_build::Options::default())
            .unwrap_or_else(|e| panic!("{}: {e}", input.display()))
            .to_source();
        let path = root.join("src/generated").join(format!("{name}.rs"));
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        if current != fresh {
            if bless {
                std::fs::write(&path, &fresh).unwrap();
            } else {
                stale.push(path.display().to_string());
            }
        }
    }
    assert!(
        stale.is_empty(),
        "stale generated bindings (rerun with XDRGEN_BLESS=1): {stale:?}"
    );
}
