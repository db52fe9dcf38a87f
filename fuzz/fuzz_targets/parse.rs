//! Feeds arbitrary bytes to the front end as an in-memory `.x` file with
//! default options, then renders the outcome (warnings or errors) so the
//! diagnostics renderer is exercised too. Any panic, hang or OOM is a bug.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut loader = xdrgen_build::MemoryLoader::new();
    loader.insert("in.x", data.to_vec());
    let rendered =
        match xdrgen_build::check_with(&loader, Path::new("in.x"), &xdrgen_build::Options::new()) {
            Ok(checked) => checked.warnings.to_string(),
            Err(e) => e.to_string(),
        };
    std::hint::black_box(rendered);
});
