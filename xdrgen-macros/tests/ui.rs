//! What users see: programs that must compile, and `.x` mistakes that must
//! fail with the `.x` file's location (expected output in `ui/fail/*.stderr`;
//! regenerate with `TRYBUILD=overwrite`).
//!
//! trybuild compiles each case as a crate in `target/tests/trybuild/
//! xdrgen-macros/`, so the cases name `.x` files relative to that directory
//! (`../../../../` is the workspace root).

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}
