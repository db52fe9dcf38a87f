//! Generation speed side by side with the reference C rpcgen, in the same
//! run, on two inputs:
//!
//! - libvirt's `remote_protocol.x` (7,123 lines, from `../shared/corpus`;
//!   skipped loudly when the corpus is not beside the clone);
//! - a generated 4,941-line `.x` of 235 groups (an enum, a string typedef,
//!   a linked-list struct with variable opaque and array, a union with a
//!   default arm) and one program of 235 procedures: always measured.
//!
//! Cases per input:
//! - `xdrgen/check`: preprocess + parse + resolve in-process (the library);
//! - `xdrgen/generate`: the `xdrgen` command writing the full Rust output
//!   (types, codecs, clients, servers), process start included;
//! - `rpcgen/-c+-h`: `rpcgen -c` then `rpcgen -h` (each forks cpp), the
//!   least rpcgen needs to produce codecs and types.
//!
//! Run: `cargo bench -p xdrgen-cli --bench generate`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use criterion::{Criterion, criterion_group, criterion_main};

/// libvirt's header constants, as the README passes them.
fn libvirt_args() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/libvirt.args")
}

fn remote_protocol() -> Option<PathBuf> {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/libvirt/remote_protocol.x");
    path.is_file().then(|| path.canonicalize().unwrap())
}

/// The large input: `groups` declaration groups and one program with a
/// procedure per group, one declaration a line.
fn large_input(groups: usize) -> String {
    let mut x = String::from("const MAXNAME = 255;\n");
    for i in 0..groups {
        let _ = writeln!(
            x,
            "enum kind{i} {{\n    KIND{i}_A = 0,\n    KIND{i}_B = 1,\n    KIND{i}_C = 2\n}};"
        );
        let _ = writeln!(x, "typedef string name{i}<MAXNAME>;");
        let _ = writeln!(
            x,
            "struct rec{i} {{\n    unsigned int id;\n    hyper stamp;\n    name{i} label;\n    \
             opaque blob<1024>;\n    int values<16>;\n    kind{i} kind;\n    rec{i} *next;\n}};"
        );
        let _ = writeln!(
            x,
            "union res{i} switch (kind{i} k) {{\ncase KIND{i}_A:\n    rec{i} rec;\n\
             case KIND{i}_B:\n    string msg<>;\ndefault:\n    void;\n}};"
        );
    }
    x.push_str("program BIGPROG {\n    version BIGVERS {\n");
    for i in 0..groups {
        let _ = writeln!(x, "        res{i} BIGPROC{i}(rec{i}) = {};", i + 1);
    }
    x.push_str("    } = 1;\n} = 0x20000123;\n");
    x
}

/// One input and the xdrgen arguments it needs.
struct Input {
    label: &'static str,
    path: PathBuf,
    args: Vec<String>,
}

fn bench_input(c: &mut Criterion, input: &Input, scratch: &Path) {
    let options = xdrgen_build::Options::from_args(input.args.clone()).unwrap();
    let mut group = c.benchmark_group(input.label);
    group.sample_size(20);

    group.bench_function("xdrgen/check", |b| {
        b.iter(|| xdrgen_build::check(&input.path, &options).expect("the input is valid"));
    });

    let rust_out = scratch.join("out.rs");
    let mut args = input.args.clone();
    args.push(input.path.display().to_string());
    args.extend(["-o".to_string(), rust_out.display().to_string()]);
    group.bench_function("xdrgen/generate", |b| {
        b.iter(|| {
            let status = Command::new(env!("CARGO_BIN_EXE_xdrgen"))
                .args(&args)
                .status()
                .unwrap();
            assert!(status.success());
        });
    });

    if Command::new("rpcgen").arg("--version").output().is_ok() {
        let dir = input.path.parent().unwrap();
        let name = input.path.file_name().unwrap();
        group.bench_function("rpcgen/-c+-h", |b| {
            b.iter(|| {
                for (flag, file) in [("-c", "out.c"), ("-h", "out.h")] {
                    // rpcgen refuses to overwrite its output.
                    let _ = std::fs::remove_file(scratch.join(file));
                    let status = Command::new("rpcgen")
                        .arg(flag)
                        .arg("-o")
                        .arg(scratch.join(file))
                        .arg(name)
                        .current_dir(dir)
                        .status()
                        .unwrap();
                    assert!(status.success());
                }
            });
        });
    } else {
        eprintln!(
            "!!! rpcgen not installed (apt-get install rpcsvc-proto): reference not measured"
        );
    }
    group.finish();
}

fn generate(c: &mut Criterion) {
    let scratch = std::env::temp_dir().join(format!("xdrgen-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).unwrap();

    let large = scratch.join("big.x");
    std::fs::write(&large, large_input(235)).unwrap();
    let mut inputs = vec![Input {
        label: "big.x",
        path: large,
        args: Vec::new(),
    }];
    match remote_protocol() {
        Some(path) => inputs.insert(
            0,
            Input {
                label: "remote_protocol.x",
                path,
                args: xdrgen_build::argument_file::read(libvirt_args()).unwrap(),
            },
        ),
        None => xdrgen_testenv::skip(
            "generate bench: remote_protocol.x",
            "../shared/corpus/libvirt/remote_protocol.x is not beside the clone",
        ),
    }
    for input in &inputs {
        bench_input(c, input, &scratch);
    }
    let _ = std::fs::remove_dir_all(&scratch);
}

criterion_group!(benches, generate);
criterion_main!(benches);
