//! The build-script door's I/O: `OUT_DIR`, writing only what changed, and
//! `cargo:` lines.

use std::path::{Path, PathBuf};

use crate::{Error, Generated, Options};

/// Generates `path` into `OUT_DIR/<stem>.rs` from a build script, printing
/// `cargo:rerun-if-changed` for every file read. Include the result with
/// `include!(concat!(env!("OUT_DIR"), "/<stem>.rs"))`.
pub fn compile(path: impl AsRef<Path>) -> Result<(), Error> {
    Options::new().file(path.as_ref()).compile()
}

impl Options {
    /// Generates every [`file`](Options::file) into the output directory as
    /// `<stem>.rs` (written only when it changed), for build scripts.
    /// Diagnostics go to stderr, which Cargo shows when the build fails;
    /// warnings also become `cargo:warning=` lines.
    pub fn compile(&self) -> Result<(), Error> {
        let out_dir = self
            .output_dir()
            .map(Path::to_path_buf)
            .or_else(|| std::env::var_os("OUT_DIR").map(PathBuf::from))
            .ok_or_else(|| {
                Error::Config(
                    "OUT_DIR is not set: call compile() from build.rs, or set out_dir".into(),
                )
            })?;
        if self.files().is_empty() {
            return Err(Error::Config(
                "no .x file to compile: add one with file()".into(),
            ));
        }
        for file in self.files() {
            if self.prints_rerun_if_changed() {
                // Even when the file has errors, fixing it must rerun us.
                println!("cargo:rerun-if-changed={}", file.display());
            }
            let generated = match crate::generate(file, self) {
                Ok(g) => g,
                Err(e) => {
                    eprintln!("{e}");
                    return Err(e);
                }
            };
            for w in generated.checked.warnings.iter() {
                println!("cargo:warning={}: {}", file.display(), w.message);
            }
            if self.prints_rerun_if_changed() {
                // The input itself was printed above; add what it pulled in.
                for read in generated.checked.files_read.iter().filter(|r| *r != file) {
                    println!("cargo:rerun-if-changed={}", read.display());
                }
            }
            generated.write_to(out_dir.join(output_name(file)))?;
        }
        Ok(())
    }
}

/// `<stem>.rs` for an input (`stdin.rs` for `-`).
pub(crate) fn output_name(input: &Path) -> String {
    let stem = if input == Path::new("-") {
        "stdin".to_string()
    } else {
        input
            .file_stem()
            .map_or_else(|| "out".to_string(), |s| s.to_string_lossy().into_owned())
    };
    format!("{stem}.rs")
}

impl Generated {
    /// Writes the formatted source to `path`, only when it changed (so
    /// builds that depend on its timestamp do not rerun). Returns whether
    /// it wrote.
    pub fn write_to(&self, path: impl AsRef<Path>) -> Result<bool, Error> {
        let path = path.as_ref();
        let text = self.to_source();
        // Only a regular file of the same length is read back: `/dev/full`
        // or a FIFO would never end.
        let same_size =
            std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() == text.len() as u64);
        if same_size && std::fs::read(path).is_ok_and(|old| old == text.as_bytes()) {
            return Ok(false);
        }
        let failed = |source| Error::Write {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(failed)?;
        }
        std::fs::write(path, text).map_err(failed)?;
        Ok(true)
    }
}
