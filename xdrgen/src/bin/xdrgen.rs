//! The `xdrgen` command-line tool; all logic lives in the library.

fn main() -> std::process::ExitCode {
    xdrgen::cli::main()
}
