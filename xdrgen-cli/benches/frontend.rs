//! Front-end speed on libvirt's remote_protocol.x (7,123 lines), side by
//! side with the reference C rpcgen in the same run.
//!
//! - `xdrgen/check`: preprocess + parse + resolve in-process (the library).
//! - `xdrgen/process`: the `xdrgen check` command, process start included.
//! - `rpcgen/-c+-h`: `rpcgen -c` then `rpcgen -h` (each forks cpp), the
//!   minimum rpcgen needs to produce the same information.
//!
//! Run: `cargo bench -p xdrgen-cli --bench frontend`.

use std::path::{Path, PathBuf};
use std::process::Command;

use criterion::{Criterion, criterion_group, criterion_main};

/// libvirt's header constants, as the README passes them.
fn libvirt_args() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/libvirt.args")
}

fn input() -> Option<PathBuf> {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/libvirt/remote_protocol.x");
    path.is_file().then(|| path.canonicalize().unwrap())
}

fn frontend(c: &mut Criterion) {
    let Some(path) = input() else {
        xdrgen_testenv::skip(
            "frontend bench",
            "../shared/corpus/libvirt/remote_protocol.x is not beside the clone",
        );
        return;
    };
    let words = xdrgen_build::argument_file::read(libvirt_args()).unwrap();
    let options = xdrgen_build::Options::from_args(words).unwrap();
    let mut group = c.benchmark_group("remote_protocol.x");
    group.sample_size(30);

    group.bench_function("xdrgen/check", |b| {
        b.iter(|| xdrgen_build::check(&path, &options).expect("remote_protocol.x is valid"));
    });

    let args: Vec<String> = vec![
        "check".into(),
        format!("@{}", libvirt_args().display()),
        path.display().to_string(),
    ];
    group.bench_function("xdrgen/process", |b| {
        b.iter(|| {
            let status = Command::new(env!("CARGO_BIN_EXE_xdrgen"))
                .args(&args)
                .status()
                .unwrap();
            assert!(status.success());
        });
    });

    if Command::new("rpcgen").arg("--version").output().is_ok() {
        let out = std::env::temp_dir().join(format!("xdrgen-bench-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&out);
        std::fs::create_dir_all(&out).unwrap();
        let dir = path.parent().unwrap();
        group.bench_function("rpcgen/-c+-h", |b| {
            b.iter(|| {
                for (flag, file) in [("-c", "out.c"), ("-h", "out.h")] {
                    // rpcgen refuses to overwrite its output.
                    let _ = std::fs::remove_file(out.join(file));
                    let status = Command::new("rpcgen")
                        .arg(flag)
                        .arg("-o")
                        .arg(out.join(file))
                        .arg("remote_protocol.x")
                        .current_dir(dir)
                        .status()
                        .unwrap();
                    assert!(status.success());
                }
            });
        });
        let _ = std::fs::remove_dir_all(&out);
    } else {
        eprintln!(
            "!!! rpcgen not installed (apt-get install rpcsvc-proto): reference not measured"
        );
    }
    group.finish();
}

criterion_group!(benches, frontend);
criterion_main!(benches);
