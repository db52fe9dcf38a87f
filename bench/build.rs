//! Builds the three implementations the benchmarks compare:
//!
//! 1. `generated`: xdrgen's Rust for `bench.x` (a copy of
//!    `../shared/perf/bench.x`, checked by `tests/tests/peer_files.rs`), written to
//!    `OUT_DIR/bench_x.rs` and `include!`d by `src/generated.rs`;
//! 2. `hand`: plain Rust in `src/hand.rs` (nothing to build here);
//! 3. `c-tirpc`: `rpcgen -h` / `rpcgen -c` output for the same file plus
//!    `c/driver.c`, compiled with the `cc` crate and linked to libtirpc.
//!
//! When bench.x, rpcgen or libtirpc is missing this prints a warning and
//! leaves the `xdrbench` cfg unset, so the crate compiles to stubs that
//! print "SKIPPED". With `XDRGEN_REQUIRE_PEERS` set, a missing piece fails
//! the build.
//!
//! The RPC benchmark (`benches/rpc.rs`) has its own cfg, `rpcbench`, set
//! when these build from `fixtures/peers/peertest.x`:
//!
//! 1. xdrgen's Rust for it, `OUT_DIR/peertest_x.rs`;
//! 2. two C programs linked to libtirpc, whose paths go to the bench in
//!    `XDRGEN_RPC_C_SERVER` and `XDRGEN_RPC_C_CLIENT`: the server is
//!    `rpcgen -m` output plus `c/rpc_server.c`, the load client is
//!    `c/rpc_client.c`; both use `rpcgen -c` output for the XDR routines.
//!
//! The libvirt benchmark (`benches/libvirt.rs`) has the cfg `libvirtbench`,
//! set when `c/libvirt_client.c`, a load client on libvirt's public API,
//! compiles and links against libvirt.so (Debian's libvirt-dev); its path
//! goes to the bench in `XDRGEN_LIBVIRT_C_CLIENT`. xdrgen's side of that
//! bench is the `example-libvirt-daemon` crate's generated `remote` module.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(xdrbench)");
    println!("cargo::rustc-check-cfg=cfg(rpcbench)");
    println!("cargo::rustc-check-cfg=cfg(libvirtbench)");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=c/driver.c");
    println!("cargo::rerun-if-changed=c/rpc_server.c");
    println!("cargo::rerun-if-changed=c/rpc_client.c");
    println!("cargo::rerun-if-changed=c/libvirt_client.c");
    println!(
        "cargo::rerun-if-env-changed={}",
        xdrgen_testenv::REQUIRE_VAR
    );

    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    let spec = manifest.join("bench.x");
    println!("cargo::rerun-if-changed={}", spec.display());
    // Re-detect the tools when they are installed or removed (a missing
    // path makes cargo rerun this script on every build until it exists).
    println!("cargo::rerun-if-changed=/usr/bin/rpcgen");
    println!("cargo::rerun-if-changed=/usr/include/tirpc/rpc/rpc.h");
    println!("cargo::rerun-if-changed={LIBVIRT_H}");

    match build(&manifest, &out, &spec) {
        Ok(()) => println!("cargo::rustc-cfg=xdrbench"),
        Err(why) => {
            skip(&why, "benchmarks and tests print SKIPPED");
            // An empty file keeps `include!` in the skipped build harmless.
            std::fs::write(out.join("bench_x.rs"), "").unwrap();
        }
    }

    let peertest = manifest.join("../fixtures/peers/peertest.x");
    println!("cargo::rerun-if-changed={}", peertest.display());
    match build_rpc(&manifest, &out, &peertest) {
        Ok(()) => println!("cargo::rustc-cfg=rpcbench"),
        Err(why) => skip(&why, "the rpc benchmark prints SKIPPED"),
    }

    match build_libvirt(&manifest, &out) {
        Ok(()) => println!("cargo::rustc-cfg=libvirtbench"),
        Err(why) => skip(&why, "the libvirt benchmark prints SKIPPED"),
    }
}

/// libvirt's public header, from Debian's libvirt-dev.
const LIBVIRT_H: &str = "/usr/include/libvirt/libvirt.h";

/// Reports a missing tool or file: a warning, or a failure when required.
fn skip(why: &str, consequence: &str) {
    xdrgen_testenv::skip_in_build_script("xdrgen-bench", why, consequence);
}

/// Everything or nothing: the cfg is set only when all three build.
fn build(manifest: &Path, out: &Path, spec: &Path) -> Result<(), String> {
    if !spec.is_file() {
        return Err(format!("no {}", spec.display()));
    }
    let tirpc = tirpc_include()?;
    // A front-end or code generation error is a real defect, not a
    // missing tool: fail loudly.
    let generated = xdrgen_build::generate(spec, &xdrgen_build::Options::new())
        .unwrap_or_else(|e| panic!("xdrgen failed on {}:\n{e}", spec.display()));
    generated.write_to(out.join("bench_x.rs")).unwrap();
    // The same with zero-copy decoding (borrowed opaques and strings).
    let mut zero_copy = xdrgen_build::Options::new();
    zero_copy.zero_copy(true);
    xdrgen_build::generate(spec, &zero_copy)
        .unwrap_or_else(|e| panic!("xdrgen --zero-copy failed on {}:\n{e}", spec.display()))
        .write_to(out.join("bench_x_zero_copy.rs"))
        .unwrap();

    // rpcgen names the header it includes after its input path, so run it
    // on a copy in OUT_DIR to get `#include "bench.h"`.
    std::fs::copy(spec, out.join("bench.x")).map_err(|e| format!("copying bench.x: {e}"))?;
    rpcgen(out, "bench.x", "-h", "bench.h")?;
    rpcgen(out, "bench.x", "-c", "bench_xdr.c")?;

    let mut cc = cc::Build::new();
    cc.file(out.join("bench_xdr.c"))
        .file(manifest.join("c/driver.c"))
        .include(out)
        .include(&tirpc)
        .opt_level(2)
        // rpcgen's output declares an unused `buf` in every function.
        .flag_if_supported("-Wno-unused-variable")
        .flag_if_supported("-Wno-unused-parameter");
    cc.try_compile("xdrbench_c")
        .map_err(|e| format!("compiling the C side failed: {e}"))?;
    println!("cargo::rustc-link-lib=tirpc");
    Ok(())
}

/// The libtirpc include directory, if its headers and library are there.
fn tirpc_include() -> Result<PathBuf, String> {
    let dir = Path::new("/usr/include/tirpc");
    if !dir.join("rpc/rpc.h").is_file() {
        return Err(
            "no libtirpc headers in /usr/include/tirpc (apt-get install libtirpc-dev)".into(),
        );
    }
    if !has_shared_lib("libtirpc.so") {
        return Err("no libtirpc.so to link (apt-get install libtirpc-dev)".into());
    }
    Ok(dir.to_path_buf())
}

/// Whether a development `.so` link (e.g. `libtirpc.so`) is installed.
fn has_shared_lib(name: &str) -> bool {
    [
        "/usr/lib/x86_64-linux-gnu",
        "/usr/lib/aarch64-linux-gnu",
        "/usr/lib64",
        "/usr/lib",
        "/lib/x86_64-linux-gnu",
    ]
    .iter()
    .any(|d| Path::new(d).join(name).exists())
}

/// Runs `rpcgen FLAG INPUT` in `dir` and writes its stdout to `file`
/// (rpcgen's `-o` refuses to overwrite an existing file).
fn rpcgen(dir: &Path, input: &str, flag: &str, file: &str) -> Result<(), String> {
    let output = Command::new("rpcgen")
        .arg(flag)
        .arg(input)
        .current_dir(dir)
        .output()
        .map_err(|e| format!("cannot run rpcgen ({e}; apt-get install rpcsvc-proto)"))?;
    if !output.status.success() {
        return Err(format!(
            "rpcgen {flag} {input} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    std::fs::write(dir.join(file), output.stdout).map_err(|e| e.to_string())
}

/// The RPC benchmark's Rust stubs and its two C programs.
fn build_rpc(manifest: &Path, out: &Path, spec: &Path) -> Result<(), String> {
    // Written first, so that `include!` works even when the C side fails.
    std::fs::write(out.join("peertest_x.rs"), "").unwrap();
    if !spec.is_file() {
        return Err(format!("no {}", spec.display()));
    }
    let tirpc = tirpc_include()?;
    xdrgen_build::generate(spec, &xdrgen_build::Options::new())
        .unwrap_or_else(|e| panic!("xdrgen failed on {}:\n{e}", spec.display()))
        .write_to(out.join("peertest_x.rs"))
        .unwrap();

    // rpcgen's output includes "peertest.h", named after its input.
    let dir = out.join("rpc");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    std::fs::copy(spec, dir.join("peertest.x")).map_err(|e| format!("copying peertest.x: {e}"))?;
    rpcgen(&dir, "peertest.x", "-h", "peertest.h")?;
    rpcgen(&dir, "peertest.x", "-c", "peertest_xdr.c")?;
    rpcgen(&dir, "peertest.x", "-m", "peertest_svc.c")?;

    let server = dir.join("rpc_server");
    let client = dir.join("rpc_client");
    link_c(
        &server,
        &[
            dir.join("peertest_svc.c"),
            dir.join("peertest_xdr.c"),
            manifest.join("c/rpc_server.c"),
        ],
        &[&dir, &tirpc],
        "tirpc",
    )?;
    link_c(
        &client,
        &[dir.join("peertest_xdr.c"), manifest.join("c/rpc_client.c")],
        &[&dir, &tirpc],
        "tirpc",
    )?;
    println!("cargo::rustc-env=XDRGEN_RPC_C_SERVER={}", server.display());
    println!("cargo::rustc-env=XDRGEN_RPC_C_CLIENT={}", client.display());
    Ok(())
}

/// The libvirt benchmark's C load client, linked to libvirt.so.
fn build_libvirt(manifest: &Path, out: &Path) -> Result<(), String> {
    if !Path::new(LIBVIRT_H).is_file() {
        return Err(format!("no {LIBVIRT_H} (apt-get install libvirt-dev)"));
    }
    if !has_shared_lib("libvirt.so") {
        return Err("no libvirt.so to link (apt-get install libvirt-dev)".into());
    }
    let client = out.join("libvirt_client");
    link_c(&client, &[manifest.join("c/libvirt_client.c")], &[], "virt")?;
    println!(
        "cargo::rustc-env=XDRGEN_LIBVIRT_C_CLIENT={}",
        client.display()
    );
    Ok(())
}

/// Compiles and links a C program against `-l{lib}`. The `cc` crate only
/// makes libraries, but its compiler (honouring `CC`) links programs too.
fn link_c(exe: &Path, sources: &[PathBuf], include: &[&Path], lib: &str) -> Result<(), String> {
    let mut cmd = cc::Build::new()
        .opt_level(2)
        .cargo_metadata(false)
        .get_compiler()
        .to_command();
    for dir in include {
        cmd.arg("-I").arg(dir);
    }
    // rpcgen's output declares an unused `buf` in every function.
    cmd.arg("-Wno-unused-variable")
        .arg("-pthread")
        .arg("-o")
        .arg(exe)
        .args(sources)
        .arg(format!("-l{lib}"));
    let output = cmd
        .output()
        .map_err(|e| format!("cannot run the C compiler: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "compiling {} failed: {}",
            exe.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(())
}
