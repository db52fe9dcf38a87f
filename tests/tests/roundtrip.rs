//! For every generated struct, enum and union of the fixtures and the
//! corpus: `decode(encode(v)) == v` and `encode(v).len() == encoded_len(v)`
//! on random values; owned and zero-copy code agree; serde and arbitrary
//! derives round-trip.

use xdrgen_tests::roundtrip::{Check, SERDE, TYPES, ZERO_COPY};

/// The floor for a table that includes the corpus: `with_corpus`, or
/// `without` (fixtures and `protocols/xdr` only) when the corpus is not
/// beside the clone, which is then reported as a skip.
fn floor(test: &str, with_corpus: usize, without: usize) -> usize {
    if cfg!(corpus) {
        with_corpus
    } else {
        xdrgen_tests::skip(
            test,
            "../shared/corpus is not beside the clone: only fixtures and protocols/xdr are checked",
        );
        without
    }
}

/// Runs every check of a table on `seeds` random values; fails if the table
/// has fewer than `at_least` types or any check fails (first seed per type).
fn run(what: &str, table: &[(&str, Check)], seeds: u64, at_least: usize) {
    let mut failures = Vec::new();
    for (name, check) in table {
        if let Some((seed, e)) = (0..seeds).find_map(|seed| check(seed).err().map(|e| (seed, e))) {
            failures.push(format!("{name} (seed {seed}): {e}"));
        }
    }
    eprintln!("{what}: {} types x {seeds} random values", table.len());
    assert!(
        table.len() >= at_least,
        "{what}: expected at least {at_least} types, got {}",
        table.len()
    );
    assert!(
        failures.is_empty(),
        "{what}: {} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_generated_type_round_trips() {
    run(
        "round trip",
        TYPES,
        200,
        floor("roundtrip::every_generated_type_round_trips", 1000, 150),
    );
}

#[test]
fn zero_copy_decoding_agrees_with_owned_encoding() {
    run(
        "zero copy",
        ZERO_COPY,
        50,
        floor(
            "roundtrip::zero_copy_decoding_agrees_with_owned_encoding",
            1000,
            150,
        ),
    );
}

#[test]
fn serde_derives_round_trip_through_json() {
    run("serde", SERDE, 20, 30);
}
