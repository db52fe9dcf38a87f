//! Encode and decode of the five BASELINE.md workloads by the three
//! implementations, in one criterion run: groups `<workload>/encode` and
//! `<workload>/decode`, functions `generated`, `hand` and `c-tirpc`.
//!
//! Every workload is verified (byte-identical encodings, cross-decoding)
//! before it is timed.
//!
//! Run: `cargo bench -p xdrgen-bench` (short: add
//! `-- --warm-up-time 1 --measurement-time 3 --sample-size 20`).

#[cfg(xdrbench)]
mod real {
    use std::fmt::Debug;
    use std::hint::black_box;

    use criterion::{Criterion, Throughput};
    use xdrgen_bench::hand::{Decode, Encode};
    use xdrgen_bench::model::ToGenerated;
    use xdrgen_bench::{Fixture, bulk, linked, list, small, union};
    use xdrgen_runtime::{XdrDecode, XdrDecodeBorrowed, XdrEncode};

    fn workload<H, G>(c: &mut Criterion, f: &Fixture<H, G>)
    where
        H: Encode + Decode + ToGenerated<Out = G> + PartialEq + Debug,
        G: XdrEncode + XdrDecode + PartialEq + Debug,
    {
        let bytes = match f.verify() {
            Ok(b) => b,
            Err(e) => panic!("verification failed, not timing: {e}"),
        };
        let throughput = Throughput::Bytes(bytes.len() as u64);

        let mut group = c.benchmark_group(format!("{}/encode", f.name));
        group.throughput(throughput.clone());
        let mut out = f.buffer();
        group.bench_function("generated", |b| {
            b.iter(|| {
                f.encode_generated(&mut out);
                black_box(out.len())
            });
        });
        group.bench_function("hand", |b| {
            b.iter(|| {
                f.encode_hand(&mut out);
                black_box(out.len())
            });
        });
        group.bench_function("c-tirpc", |b| {
            b.iter(|| {
                f.encode_c(&mut out);
                black_box(out.len())
            });
        });
        group.finish();

        let mut group = c.benchmark_group(format!("{}/decode", f.name));
        group.throughput(throughput);
        group.bench_function("generated", |b| {
            b.iter(|| Fixture::<H, G>::decode_generated(black_box(&bytes)));
        });
        group.bench_function("hand", |b| {
            b.iter(|| Fixture::<H, G>::decode_hand(black_box(&bytes)));
        });
        group.bench_function("c-tirpc", |b| {
            b.iter(|| f.decode_c(black_box(&bytes)));
        });
        group.finish();
    }

    /// Decoding with `--zero-copy` code: opaque and string data stay in
    /// the input buffer (the 1 MiB opaque is not copied at all). Checked
    /// against the owned encoding before timing.
    fn zero_copy<'a, T>(c: &mut Criterion, name: &str, bytes: &'a [u8])
    where
        T: XdrDecodeBorrowed<'a> + XdrEncode,
    {
        let decoded = T::from_xdr_borrowed(bytes).expect("zero-copy decode");
        assert_eq!(
            decoded.to_xdr().expect("re-encode"),
            bytes,
            "{name}: zero-copy re-encoding differs"
        );
        let mut group = c.benchmark_group(format!("{name}/decode"));
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function("generated-zero-copy", |b| {
            b.iter(|| T::from_xdr_borrowed(black_box(bytes)).expect("zero-copy decode"));
        });
        group.finish();
    }

    pub(crate) fn benches(c: &mut Criterion) {
        workload(c, &small());
        workload(c, &list());
        workload(c, &linked());
        workload(c, &bulk());
        workload(c, &union());
        use xdrgen_bench::generated_zero_copy as zc;
        let small_bytes = small().verify().expect("verified");
        zero_copy::<zc::Small<'_>>(c, "small", &small_bytes);
        let list_bytes = list().verify().expect("verified");
        zero_copy::<zc::SmallList<'_>>(c, "list", &list_bytes);
        let linked_bytes = linked().verify().expect("verified");
        zero_copy::<zc::Dirlist<'_>>(c, "linked", &linked_bytes);
        let bulk_bytes = bulk().verify().expect("verified");
        zero_copy::<zc::Bulk<'_>>(c, "bulk", &bulk_bytes);
        let union_bytes = union().verify().expect("verified");
        zero_copy::<zc::ParamList<'_>>(c, "union", &union_bytes);
    }
}

#[cfg(xdrbench)]
fn main() {
    let mut c = criterion::Criterion::default().configure_from_args();
    real::benches(&mut c);
    c.final_summary();
}

#[cfg(not(xdrbench))]
fn main() {
    xdrgen_bench::print_skipped("benches");
}
