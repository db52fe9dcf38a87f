//! The `xdrgen` command-line tool; all logic lives in `xdrgen-build`.

fn main() -> std::process::ExitCode {
    xdrgen_build::cli::main()
}
