//! Runs one (workload, implementation, operation) N times, for callgrind:
//!
//! ```text
//! ops WORKLOAD IMPL OP N
//! ```
//!
//! WORKLOAD is small, list, linked, bulk or union; IMPL is generated,
//! generated-zero-copy, hand or c-tirpc; OP is encode or decode.
//! generated-zero-copy decodes with `from_xdr_borrowed` and encodes the
//! borrowed value that decode returns. Setup (building the values,
//! the cross-check, one encoding) is the same for every N, so
//! `(Ir(N2) - Ir(N1)) / (N2 - N1)` is the cost of one operation
//! (`bench/callgrind.sh` does that). The N operations run inside
//! `xdrbench_measured`, so callgrind's per-function output can be
//! limited to them with `--toggle-collect='*xdrbench_measured'`.

#[cfg(xdrbench)]
mod real {
    use std::fmt::Debug;
    use std::hint::black_box;

    use xdrgen_bench::generated_zero_copy as zc;
    use xdrgen_bench::hand::{Decode, Encode};
    use xdrgen_bench::model::ToGenerated;
    use xdrgen_bench::{Fixture, bulk, encode_out_of_line, linked, list, small, union};
    use xdrgen_runtime::{XdrDecode, XdrDecodeBorrowed, XdrEncode};

    /// The measured loop. Not inlined, so callgrind can find it.
    #[inline(never)]
    fn xdrbench_measured(n: u64, op: &mut dyn FnMut()) {
        for _ in 0..n {
            op();
        }
    }

    fn run<H, G>(f: &Fixture<H, G>, imp: &str, op: &str, n: u64) -> Result<(), String>
    where
        H: Encode + Decode + ToGenerated<Out = G> + PartialEq + Debug,
        G: XdrEncode + XdrDecode + PartialEq + Debug,
    {
        let bytes = f.verify()?;
        let mut out = f.buffer();
        match (imp, op) {
            ("generated", "encode") => xdrbench_measured(n, &mut || {
                f.encode_generated(&mut out);
                black_box(out.len());
            }),
            ("hand", "encode") => xdrbench_measured(n, &mut || {
                f.encode_hand(&mut out);
                black_box(out.len());
            }),
            ("c-tirpc", "encode") => xdrbench_measured(n, &mut || {
                f.encode_c(&mut out);
                black_box(out.len());
            }),
            ("generated", "decode") => xdrbench_measured(n, &mut || {
                black_box(Fixture::<H, G>::decode_generated(black_box(&bytes)));
            }),
            ("hand", "decode") => xdrbench_measured(n, &mut || {
                black_box(Fixture::<H, G>::decode_hand(black_box(&bytes)));
            }),
            ("c-tirpc", "decode") => xdrbench_measured(n, &mut || {
                f.decode_c(black_box(&bytes));
            }),
            _ => {
                return Err(format!(
                    "unknown implementation {imp:?} or operation {op:?}"
                ));
            }
        }
        Ok(())
    }

    /// The `--zero-copy` code over `bytes`, the verified encoding: decode
    /// borrows from it, encode writes the borrowed value back.
    fn run_zero_copy<'a, Z>(bytes: &'a [u8], op: &str, n: u64) -> Result<(), String>
    where
        Z: XdrDecodeBorrowed<'a> + XdrEncode,
    {
        let value = Z::from_xdr_borrowed(bytes).map_err(|e| format!("zero-copy decode: {e}"))?;
        let mut out = Vec::with_capacity(bytes.len() + 64);
        value
            .encode(&mut out)
            .map_err(|e| format!("zero-copy encode: {e}"))?;
        if out != bytes {
            return Err("the zero-copy re-encoding differs from the verified bytes".into());
        }
        match op {
            "encode" => xdrbench_measured(n, &mut || {
                out.clear();
                encode_out_of_line(black_box(&value), &mut out).unwrap();
                black_box(out.len());
            }),
            "decode" => xdrbench_measured(n, &mut || {
                black_box(Z::from_xdr_borrowed(black_box(bytes)).unwrap());
            }),
            _ => return Err(format!("unknown operation {op:?}")),
        }
        Ok(())
    }

    pub(crate) fn main(args: &[String]) -> Result<(), String> {
        let [workload, imp, op, n] = args else {
            return Err("usage: ops WORKLOAD IMPL OP N".into());
        };
        let n: u64 = n.parse().map_err(|e| format!("N: {e}"))?;
        let zero_copy = imp == "generated-zero-copy";
        match workload.as_str() {
            "small" if zero_copy => run_zero_copy::<zc::Small<'_>>(&small().verify()?, op, n),
            "list" if zero_copy => run_zero_copy::<zc::SmallList<'_>>(&list().verify()?, op, n),
            "linked" if zero_copy => run_zero_copy::<zc::Dirlist<'_>>(&linked().verify()?, op, n),
            "bulk" if zero_copy => run_zero_copy::<zc::Bulk<'_>>(&bulk().verify()?, op, n),
            "union" if zero_copy => run_zero_copy::<zc::ParamList<'_>>(&union().verify()?, op, n),
            "small" => run(&small(), imp, op, n),
            "list" => run(&list(), imp, op, n),
            "linked" => run(&linked(), imp, op, n),
            "bulk" => run(&bulk(), imp, op, n),
            "union" => run(&union(), imp, op, n),
            other => Err(format!("unknown workload {other:?}")),
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    #[cfg(xdrbench)]
    if let Err(e) = real::main(&args) {
        eprintln!("ops: {e}");
        std::process::exit(2);
    }
    #[cfg(not(xdrbench))]
    {
        let _ = args;
        xdrgen_bench::print_skipped("ops");
    }
}
