//! XDR encode/decode benchmarks for the workloads of
//! `bench.x` (a copy of `../shared/perf/bench.x`; see `../shared/perf/BASELINE.md`), three
//! implementations side by side:
//!
//! * `generated`: what xdrgen generates for bench.x ([`generated`]);
//! * `hand`: a hand-written reference codec ([`hand`]);
//! * `c-tirpc`: `rpcgen -c` / `rpcgen -h` output compiled with libtirpc,
//!   through FFI ([`c`]).
//!
//! Each implementation encodes its own native value, built by the same
//! deterministic rules ([`model`] and `c/driver.c`); [`Fixture::verify`]
//! checks that the three encodings are byte-identical and that each side
//! decodes every side's bytes back to an equal value. The benchmarks
//! (`benches/codec.rs`), the callgrind driver (`src/bin/ops.rs`) and the
//! test all run it first.
//!
//! [`harness`] holds what the RPC benchmarks share.
//!
//! Without bench.x, rpcgen or libtirpc the build script leaves the
//! `xdrbench` cfg unset and this crate is empty: [`AVAILABLE`] is false
//! and everything prints "SKIPPED".

/// Whether the build found bench.x, rpcgen and libtirpc.
pub const AVAILABLE: bool = cfg!(xdrbench);

/// Prints the skip notice (when [`AVAILABLE`] is false).
pub fn print_skipped(what: &str) {
    println!(
        "SKIPPED: {what}: bench.x, rpcgen or libtirpc was missing at build time (see the build warning)"
    );
}

/// Shared by the RPC benchmarks (`benches/rpc.rs`, `benches/libvirt.rs`,
/// `benches/soak.rs`, `benches/idle.rs`).
pub mod harness;

/// xdrgen's code for `fixtures/peers/peertest.x`, served and called by the
/// RPC, soak and idle-memory benchmarks.
#[cfg(rpcbench)]
#[allow(
    missing_docs,
    unreachable_pub,
    dead_code,
    clippy::all,
    clippy::pedantic
)]
pub mod peertest {
    include!(concat!(env!("OUT_DIR"), "/peertest_x.rs"));
}

/// The peertest v1 service the RPC, soak and idle-memory benchmarks serve:
/// NULL, ADD and ECHO answered, BUMP and SHAPE unavailable.
#[cfg(rpcbench)]
pub struct PeertestService;

#[cfg(rpcbench)]
impl peertest::peertest_prog::peertest_v1::Service for PeertestService {
    async fn pt_null(
        &self,
        _cx: &xdrgen_runtime::rpc::CallContext,
    ) -> Result<(), xdrgen_runtime::rpc::Fault> {
        Ok(())
    }
    async fn pt_add(
        &self,
        _cx: &xdrgen_runtime::rpc::CallContext,
        p: peertest::PtPoint,
    ) -> Result<i32, xdrgen_runtime::rpc::Fault> {
        Ok(p.x.wrapping_add(p.y))
    }
    async fn pt_echo(
        &self,
        _cx: &xdrgen_runtime::rpc::CallContext,
        s: xdrgen_runtime::XdrString,
    ) -> Result<xdrgen_runtime::XdrString, xdrgen_runtime::rpc::Fault> {
        Ok(s)
    }
    async fn pt_bump(
        &self,
        _cx: &xdrgen_runtime::rpc::CallContext,
        _item: peertest::PtItem,
    ) -> Result<peertest::PtItem, xdrgen_runtime::rpc::Fault> {
        Err(xdrgen_runtime::rpc::Fault::ProcUnavail)
    }
    async fn pt_shape(
        &self,
        _cx: &xdrgen_runtime::rpc::CallContext,
        _c: peertest::PtColor,
    ) -> Result<peertest::PtShape, xdrgen_runtime::rpc::Fault> {
        Err(xdrgen_runtime::rpc::Fault::ProcUnavail)
    }
}

#[cfg(xdrbench)]
pub mod c;
#[cfg(xdrbench)]
pub mod hand;
#[cfg(xdrbench)]
pub mod model;

/// The code xdrgen generates for bench.x.
#[cfg(xdrbench)]
#[allow(missing_docs, clippy::pedantic)]
pub mod generated {
    include!(concat!(env!("OUT_DIR"), "/bench_x.rs"));
}

/// The same with `--zero-copy`: opaques and strings borrow from the input.
#[cfg(xdrbench)]
#[allow(missing_docs, clippy::pedantic)]
pub mod generated_zero_copy {
    include!(concat!(env!("OUT_DIR"), "/bench_x_zero_copy.rs"));
}

#[cfg(xdrbench)]
mod fixture;
#[cfg(xdrbench)]
pub use fixture::*;
