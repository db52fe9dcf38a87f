//! For every generated struct, enum and union of the fixtures and the
//! corpus: `decode(encode(v)) == v` and `encode(v).len() == encoded_len(v)`
//! on random values.

use xdrgen_tests::roundtrip::TYPES;

const SEEDS: u64 = 200;

#[test]
fn every_generated_type_round_trips() {
    let mut failures = Vec::new();
    for (name, check) in TYPES {
        for seed in 0..SEEDS {
            if let Err(e) = check(seed) {
                failures.push(format!("{name} (seed {seed}): {e}"));
                break;
            }
        }
    }
    eprintln!("round trip: {} types x {SEEDS} random values", TYPES.len());
    assert!(
        TYPES.len() > 1000,
        "expected every corpus type, got {}",
        TYPES.len()
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn zero_copy_decoding_agrees_with_owned_encoding() {
    use xdrgen_tests::roundtrip::ZERO_COPY;
    let mut failures = Vec::new();
    for (name, check) in ZERO_COPY {
        for seed in 0..50 {
            if let Err(e) = check(seed) {
                failures.push(format!("{name} (seed {seed}): {e}"));
                break;
            }
        }
    }
    eprintln!("zero copy: {} types x 50 random values", ZERO_COPY.len());
    assert!(
        ZERO_COPY.len() > 1000,
        "expected every corpus type, got {}",
        ZERO_COPY.len()
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn serde_derives_round_trip_through_json() {
    use xdrgen_tests::roundtrip::SERDE;
    let mut failures = Vec::new();
    for (name, check) in SERDE {
        for seed in 0..20 {
            if let Err(e) = check(seed) {
                failures.push(format!("{name} (seed {seed}): {e}"));
                break;
            }
        }
    }
    eprintln!("serde: {} types x 20 random values", SERDE.len());
    assert!(
        SERDE.len() > 30,
        "expected every fixture type, got {}",
        SERDE.len()
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
