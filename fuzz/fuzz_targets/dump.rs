//! `xdrgen dump`'s input parsing: the first byte picks what the rest is
//! (a value of one of nfs3.x's types, chosen by the second byte; an ONC
//! RPC stream; a libvirt stream; a pcap/pcapng capture of either; hex
//! text), then the result is rendered as text. Any panic, hang or OOM is a
//! bug: bad input must come back as an error with an offset.
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use xdrgen_build::dump::{self, DumpLimits, Framing};
use xdrgen_build::ir::Module;

fn module(name: &str, text: &str) -> Module {
    let mut loader = xdrgen_build::MemoryLoader::new();
    loader.insert(name, text);
    xdrgen_build::check_with(&loader, Path::new(name), &xdrgen_build::Options::new())
        .expect("the fuzz target's .x files are valid")
        .module
}

fn nfs3() -> &'static Module {
    static M: OnceLock<Module> = OnceLock::new();
    M.get_or_init(|| module("nfs3.x", include_str!("../../protocols/xdr/nfs3.x")))
}

fn libvirt() -> &'static Module {
    static M: OnceLock<Module> = OnceLock::new();
    M.get_or_init(|| {
        module(
            "remote_subset.x",
            include_str!("../../examples/libvirt-daemon/remote_subset.x"),
        )
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let limits = DumpLimits::default();
    let text = match mode % 6 {
        0 => {
            let Some((&pick, bytes)) = rest.split_first() else {
                return;
            };
            let m = nfs3();
            let ty = &m.types[usize::from(pick) % m.types.len()];
            match dump::decode_named(m, &ty.name.xdr, bytes, limits) {
                Ok(d) => dump::text::decoded(&d),
                Err(e) => e,
            }
        }
        1 => dump::text::dump(&dump::dump_stream(nfs3(), Framing::Onc, rest, limits)),
        2 => dump::text::dump(&dump::dump_stream(
            libvirt(),
            Framing::Libvirt,
            rest,
            limits,
        )),
        3 => match dump::dump_capture(nfs3(), Framing::Onc, rest, limits) {
            Ok(d) => dump::text::dump(&d),
            Err(e) => e.to_string(),
        },
        4 => match dump::dump_capture(libvirt(), Framing::Libvirt, rest, limits) {
            Ok(d) => dump::text::dump(&d),
            Err(e) => e.to_string(),
        },
        _ => match dump::parse_hex(&String::from_utf8_lossy(rest)) {
            Ok(bytes) => dump::text::dump(&dump::dump_stream(nfs3(), Framing::Onc, &bytes, limits)),
            Err(e) => e.to_string(),
        },
    };
    std::hint::black_box(text);
});
