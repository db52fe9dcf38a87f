//! Differential test against the reference C implementation: rpcgen
//! (rpcsvc-proto) and libtirpc.
//!
//! For every file with types in [`TYPES`] (every corpus file the front end
//! accepts, `nfsv3/nfs3.x` as a copy with its missing `FSINFO3args`
//! typedef, which `tests/build.rs` makes in OUT_DIR, and the `.x` files of
//! `xdrgen-protocols`), the test runs `rpcgen -h` and `rpcgen -c` on it in a
//! temporary directory, compiles the output with a small C harness
//! (`tests/interop/harness.c`) against libtirpc, and keeps one harness
//! process per file (per chunk of [`CHUNK`] types) running; it answers
//! "decode these bytes as `<type>`, then encode (or print) the value"
//! requests on stdin/stdout. Files that need help to get through rpcgen or
//! gcc are listed, with the reason, in [`C_BUILD_FIXES`].
//!
//! Phase 1, for every type and [`SEEDS`] random values:
//!
//! 1. `ours` = the Rust encoding of a random value (it must not fail);
//! 2. C decodes `ours` (rpcgen's `xdr_<type>`, `XDR_DECODE`) and encodes the
//!    value again: C must consume all of `ours`, and `theirs` must equal
//!    `ours` byte for byte;
//! 3. Rust decodes `theirs` and encodes it again: the result must equal
//!    `ours`.
//!
//! Byte identity alone cannot see a value land in the wrong place on the
//! other side: two fields of one wire shape swapped, enum members or
//! union arms mapped to the wrong value, a wrong `const`. So also:
//!
//! - **Field by field**, [`PRINT_SEEDS`] values per type: C decodes `ours`
//!   into rpcgen's C structs and prints the value by walking its fields,
//!   arms and enum names; Rust prints the value it encoded by walking its
//!   own. Both printers are generated from the IR (`tests/build/interop.rs`)
//!   and the texts must be equal. This was chosen over building values in
//!   C from the same seed: one generator per language would have to agree
//!   on every random draw, while printing needs only the two data layouts.
//!   Types holding something the printers do not cover (quadruple,
//!   imported, built-in or extern types) have no printer; at least one
//!   type of every shape in [`PRINTED_SHAPES`] must be checked.
//! - **Constants**: every `const`, `%#define` and `-D` constant and every
//!   enum member of each file, as generated Rust has it (`pub const`s,
//!   `VALUES`), must equal C's value of the same name, compiled from the
//!   `rpcgen -h` header into the harness.
//! - **Bounds**, [`BOUND_SEEDS`] values per type: every bounded variable
//!   length the value draws (up to [`BOUNDS_PER_VALUE`], bounds up to
//!   `MAX_STRETCHED_BOUND`) is set, in turn, to its bound, where the value
//!   must pass phase 1, and to one past it, where Rust's encoder must
//!   refuse it; for opaques and strings, the at-bound encoding extended by
//!   one byte by hand must be refused by both C's and Rust's decoders.
//!
//! Phase 2, for [`MUTATION_SEEDS`] values per type, [`MUTATIONS_PER_SEED`]
//! mutated copies of `ours` (a word set to an edge value, or a byte
//! changed): C and Rust each decode and re-encode it. The test fails if only
//! Rust accepts an input, if both accept it but encode it differently, or if
//! C crashes; inputs only C accepts (Rust is stricter) are reported, grouped
//! by Rust's error.
//!
//! Valid values must encode identically, with no exception. For mutated
//! inputs, differences in [`KNOWN_DIFFERENCES`] (C behaviour on inputs a C
//! program could not produce, such as a NUL inside a string) are counted
//! but do not fail the test; a class that explains nothing fails it.
//!
//! Coverage: every file and type of [`TYPES`] must be compared, except
//! those listed with a reason in [`UNCOVERED_FILES`] / [`UNCOVERED_TYPES`]
//! (empty today); an entry there that is covered after all fails too.
//!
//! Without rpcgen, gcc or the libtirpc headers, or without the corpus, the
//! test is skipped through `xdrgen_tests::skip` (a failure under
//! `XDRGEN_REQUIRE_PEERS`).
//!
//! Run it with `cargo test -p xdrgen-tests --test suite differential -- --nocapture`
//! to see the report.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use xdrgen_runtime::testing::{LenKind, STRETCH_FILL, Stretch};
use xdrgen_tests::interop::{FILES, InteropFile, InteropType, TYPES};

/// The [`FILES`] entry of `rel`.
fn interop_file(rel: &str) -> &'static InteropFile {
    FILES
        .iter()
        .find(|f| f.file == rel)
        .expect("every file of TYPES is in FILES")
}

/// Random values checked per type.
const SEEDS: u64 = 100;

/// Random values checked field by field per type.
const PRINT_SEEDS: u64 = 10;

/// Random values whose bounded lengths are stretched, per type.
const BOUND_SEEDS: u64 = 2;
/// Bounded lengths stretched per value, at most.
const BOUNDS_PER_VALUE: usize = 24;

/// Files of [`TYPES`] that may stay out of the comparison, and why. Any
/// other file that does not build in C fails the test, and so does an
/// entry here that is covered after all.
const UNCOVERED_FILES: &[(&str, &str)] = &[];

/// Types of covered files that may stay out of the comparison (file, type,
/// why); the same rules as [`UNCOVERED_FILES`].
const UNCOVERED_TYPES: &[(&str, &str, &str)] = &[];

/// Shapes of which at least one type must be checked field by field.
const PRINTED_SHAPES: &[&str] = &[
    "struct",
    "enum",
    "union with default",
    "union without default",
    "optional",
    "fixed array",
    "variable array",
    "string",
    "fixed opaque",
    "variable opaque",
];

/// Where libtirpc's headers are (Debian/Ubuntu `libtirpc-dev`).
const TIRPC_INCLUDE: &str = "/usr/include/tirpc";

/// The C side; see the comment at its top.
const HARNESS_TEMPLATE: &str = include_str!("../interop/harness.c");

/// Types per harness process: large files are split so the work spreads
/// over the cores.
const CHUNK: usize = 120;

/// Seeds whose encodings are also mutated (phase 2), and mutations each.
const MUTATION_SEEDS: u64 = 50;
/// See [`MUTATION_SEEDS`].
const MUTATIONS_PER_SEED: usize = 4;

/// Types listed per known difference class in the report.
const KNOWN_SHOWN: usize = 5;

/// A class of byte-level differences from the C implementation that is
/// known and not fixed yet. Seeds whose difference a class fully explains
/// are reported, but do not fail the test; any other difference does. A
/// class that explains nothing any more fails the test, so the list cannot
/// go stale.
struct KnownDifference {
    name: &'static str,
    root_cause: &'static str,
    /// Given `ours` and `theirs` and the first byte where they differ: if
    /// this class explains that difference, `ours` changed the way C
    /// changes it (the comparison then goes on from there).
    explain: Explain,
}

/// `(ours, theirs, first difference)` -> `ours` as C changed it.
type Explain = fn(&[u8], &[u8], usize) -> Option<Vec<u8>>;

/// The kernel's NLM v3 and v4 files need the same C-side fixes.
const KERNEL_NLM_WHY: &str = "rpcgen rejects the kernel `pragma` lines (removed: `big_endian` only \
    changes the kernel's in-memory enum, not the wire); the file's own `netobj` clashes with \
    libtirpc's and is renamed in C";
const KERNEL_NLM_PRELUDE: &str =
    "#include <rpc/rpc.h>\n#define netobj nlm_netobj\n#define xdr_netobj xdr_nlm_netobj\n";

const KNOWN_DIFFERENCES: &[KnownDifference] = &[KnownDifference {
    name: "string-nul",
    root_cause: "rpcgen maps `string<N>` to a C `char *`, and libtirpc's xdr_string encodes \
                 strlen() bytes: a string with a NUL byte comes back cut at the first NUL. \
                 Rust keeps every byte; only mutated inputs contain such strings",
    explain: string_cut_at_nul,
}];

fn word(b: &[u8], at: usize) -> Option<usize> {
    let w: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
    usize::try_from(u32::from_be_bytes(w)).ok()
}

fn padded(n: usize) -> usize {
    n.div_ceil(4) * 4
}

/// `string-nul`: at the length word of a string, C has the length up to
/// the first NUL byte of ours.
fn string_cut_at_nul(ours: &[u8], theirs: &[u8], at: usize) -> Option<Vec<u8>> {
    let p = at & !3;
    let (long, short) = (word(ours, p)?, word(theirs, p)?);
    let data = ours.get(p + 4..p + 4 + long)?;
    if short >= long || data.iter().position(|&b| b == 0) != Some(short) {
        return None;
    }
    let mut fixed = ours[..p].to_vec();
    fixed.extend_from_slice(&theirs[p..p + 4]);
    fixed.extend_from_slice(&data[..short]);
    fixed.resize(p + 4 + padded(short), 0);
    fixed.extend_from_slice(ours.get(p + 4 + padded(long)..)?);
    Some(fixed)
}

/// The known classes that together turn `ours` into `theirs`, if any do.
fn explain_difference(ours: &[u8], theirs: &[u8]) -> Option<BTreeSet<&'static str>> {
    let mut now = ours.to_vec();
    let mut used = BTreeSet::new();
    while now != theirs {
        let at = first_difference(&now, theirs);
        let (class, next) = KNOWN_DIFFERENCES
            .iter()
            .find_map(|k| Some((k.name, (k.explain)(&now, theirs, at)?)))?;
        used.insert(class);
        now = next;
    }
    Some(used)
}

/// Help a corpus file needs to get through rpcgen and gcc. None of it
/// changes the XDR definitions: only C-side text rpcgen passes through or
/// C declarations the file's real C build gets from elsewhere.
struct CBuildFix {
    file: &'static str,
    /// Why the fix is needed and why it does not change the wire format.
    why: &'static str,
    /// Rewrites (a copy of) the `.x` file before rpcgen sees it.
    rewrite: Option<fn(&str) -> String>,
    /// C text gcc force-includes (`-include`) before everything else.
    prelude: &'static str,
    /// Identifiers libtirpc's headers declare too (the file redefines part
    /// of ONC RPC itself): after <rpc/rpc.h>, the file's own are renamed
    /// `xdrgen_<name>` in every C file of the harness (the C constants
    /// table still looks them up by the original name).
    renamed: &'static [&'static str],
}

const C_BUILD_FIXES: &[CBuildFix] = &[
    CBuildFix {
        file: "protocols/xdr/nlm4.x",
        why: REDEFINES_ONC_RPC,
        rewrite: None,
        prelude: "",
        renamed: &["netobj"],
    },
    CBuildFix {
        file: "protocols/xdr/portmap.x",
        why: REDEFINES_ONC_RPC,
        rewrite: None,
        prelude: "",
        renamed: &[
            "mapping",
            "pmaplist",
            "pmapnode",
            "call_args",
            "call_result",
        ],
    },
    CBuildFix {
        file: "protocols/xdr/rpc_msg.x",
        why: REDEFINES_ONC_RPC,
        rewrite: None,
        prelude: "",
        renamed: &[
            "AUTH_BADCRED",
            "AUTH_BADVERF",
            "AUTH_DECODE",
            "AUTH_DH",
            "AUTH_ERROR",
            "AUTH_FAILED",
            "AUTH_INVALIDRESP",
            "AUTH_KERB_GENERIC",
            "AUTH_NET_ADDR",
            "AUTH_NONE",
            "AUTH_OK",
            "AUTH_REJECTEDCRED",
            "AUTH_REJECTEDVERF",
            "AUTH_SHORT",
            "AUTH_SYS",
            "AUTH_TIMEEXPIRE",
            "AUTH_TKT_FILE",
            "AUTH_TOOWEAK",
            "CALL",
            "GARBAGE_ARGS",
            "MSG_ACCEPTED",
            "MSG_DENIED",
            "PROC_UNAVAIL",
            "PROG_MISMATCH",
            "PROG_UNAVAIL",
            "REPLY",
            "RPCSEC_GSS",
            "RPCSEC_GSS_CREDPROBLEM",
            "RPCSEC_GSS_CTXPROBLEM",
            "RPC_MISMATCH",
            "SUCCESS",
            "SYSTEM_ERR",
            "accept_stat",
            "accepted_reply",
            "auth_stat",
            "authsys_parms",
            "call_body",
            "msg_type",
            "opaque_auth",
            "reject_stat",
            "rejected_reply",
            "reply_body",
            "reply_stat",
            "rpc_msg",
            "auth_flavor",
        ],
    },
    CBuildFix {
        file: "protocols/xdr/rpcbind.x",
        why: REDEFINES_ONC_RPC,
        rewrite: None,
        prelude: "",
        renamed: &[
            "RPCBSTAT_HIGHPROC",
            "RPCBVERS_2_STAT",
            "RPCBVERS_3_STAT",
            "RPCBVERS_4_STAT",
            "RPCBVERS_STAT",
            "netbuf",
            "rp__list",
            "rpcb",
            "rpcb_entry",
            "rpcb_entry_list",
            "rpcb_highproc_2",
            "rpcb_highproc_3",
            "rpcb_highproc_4",
            "rpcb_rmtcallargs",
            "rpcb_rmtcallres",
            "rpcb_stat",
            "rpcb_stat_byvers",
            "rpcbs_addrlist",
            "rpcbs_proc",
            "rpcbs_rmtcalllist",
            "rpcblist",
            "rpcblist_ptr",
            "rpcb_entry_list_ptr",
            "rpcbs_addrlist_ptr",
            "rpcbs_rmtcalllist_ptr",
            // The procedures' C prototypes, which libtirpc declares too.
            "rpcbproc_bcast_4",
            "rpcbproc_bcast_4_svc",
            "rpcbproc_callit_3",
            "rpcbproc_callit_3_svc",
            "rpcbproc_dump_3",
            "rpcbproc_dump_3_svc",
            "rpcbproc_dump_4",
            "rpcbproc_dump_4_svc",
            "rpcbproc_getaddr_3",
            "rpcbproc_getaddr_3_svc",
            "rpcbproc_getaddr_4",
            "rpcbproc_getaddr_4_svc",
            "rpcbproc_getaddrlist_4",
            "rpcbproc_getaddrlist_4_svc",
            "rpcbproc_getstat_4",
            "rpcbproc_getstat_4_svc",
            "rpcbproc_gettime_3",
            "rpcbproc_gettime_3_svc",
            "rpcbproc_gettime_4",
            "rpcbproc_gettime_4_svc",
            "rpcbproc_getversaddr_4",
            "rpcbproc_getversaddr_4_svc",
            "rpcbproc_indirect_4",
            "rpcbproc_indirect_4_svc",
            "rpcbproc_set_3",
            "rpcbproc_set_3_svc",
            "rpcbproc_set_4",
            "rpcbproc_set_4_svc",
            "rpcbproc_taddr2uaddr_3",
            "rpcbproc_taddr2uaddr_3_svc",
            "rpcbproc_taddr2uaddr_4",
            "rpcbproc_taddr2uaddr_4_svc",
            "rpcbproc_uaddr2taddr_3",
            "rpcbproc_uaddr2taddr_3_svc",
            "rpcbproc_uaddr2taddr_4",
            "rpcbproc_uaddr2taddr_4_svc",
            "rpcbproc_unset_3",
            "rpcbproc_unset_3_svc",
            "rpcbproc_unset_4",
            "rpcbproc_unset_4_svc",
        ],
    },
    CBuildFix {
        file: "linux/nfs4_1.x",
        why: "rpcgen rejects the Linux kernel xdrgen `pragma` lines; they are removed (they only \
              steer the kernel's C output: header name, public symbols). The file's own \
              `typedef hyper int64_t` (and friends) make rpcgen define xdr_int64_t as a call \
              of xdr_quad_t, which libtirpc implements by calling xdr_int64_t: linked as is, \
              that recursion never ends (SIGSEGV). The file's routines are renamed in C",
        rewrite: Some(strip_pragmas),
        prelude: "#include <rpc/rpc.h>\n\
                  #define xdr_int32_t xdrgen_test_xdr_int32_t\n\
                  #define xdr_uint32_t xdrgen_test_xdr_uint32_t\n\
                  #define xdr_int64_t xdrgen_test_xdr_int64_t\n\
                  #define xdr_uint64_t xdrgen_test_xdr_uint64_t\n",
        renamed: &[],
    },
    CBuildFix {
        file: "linux/nlm3.x",
        why: KERNEL_NLM_WHY,
        rewrite: Some(strip_pragmas),
        prelude: KERNEL_NLM_PRELUDE,
        renamed: &[],
    },
    CBuildFix {
        file: "linux/nlm4.x",
        why: KERNEL_NLM_WHY,
        rewrite: Some(strip_pragmas),
        prelude: KERNEL_NLM_PRELUDE,
        renamed: &[],
    },
    CBuildFix {
        file: "rpcsvc/nis.x",
        why: "`rpcgen -h` rejects `%#define` lines continued with a backslash (its cpp joins them \
              into the next `%` line); the continuations are joined in the copy (C pass-through \
              text only)",
        rewrite: Some(join_percent_continuations),
        prelude: "",
        renamed: &[],
    },
    CBuildFix {
        file: "libtirpc/crypt.x",
        why: "the pass-through `__FBSDID(...)` is a BSD macro glibc lacks",
        rewrite: None,
        prelude: "#define __FBSDID(s) extern int xdrgen_test_fbsdid\n",
        renamed: &[],
    },
    CBuildFix {
        file: "libtirpc/rpcb_prot.x",
        why: "<rpc/rpc.h> includes libtirpc's own rpcb_prot.h, which is rpcgen -h output of this \
              same file with the same include guard; the C types come from it (identical \
              definitions), the xdr_* routines from this rpcgen -c output. libtirpc has no \
              xdr_rpcprog_t etc. (its hand-written rpcb_prot.c uses xdr_u_int32_t): mapped so",
        rewrite: None,
        prelude: "#include <rpc/rpc.h>\n\
                  #define xdr_rpcprog_t xdr_u_int32_t\n\
                  #define xdr_rpcvers_t xdr_u_int32_t\n\
                  #define xdr_rpcproc_t xdr_u_int32_t\n\
                  #define xdr_rpcprot_t xdr_u_int32_t\n\
                  #define xdr_rpcport_t xdr_u_int32_t\n",
        renamed: &[],
    },
    CBuildFix {
        file: "nfsv4/nfs42_prot.x",
        why: "the file uses `authsys_parms`, which libtirpc provides as `struct authunix_parms` \
              (no typedef) with xdr_authunix_parms",
        rewrite: None,
        prelude: "#include <rpc/rpc.h>\ntypedef struct authunix_parms authunix_parms;\n\
                  #define xdr_authsys_parms xdr_authunix_parms\n",
        renamed: &[],
    },
    CBuildFix {
        file: "nfsv3/mnt3.x",
        why: "the file uses `mountstat3`, `mountlist`, `groups` and `exports` before defining \
              them, which C cannot compile: the enum is moved up in the copy and the pointer \
              typedefs are declared ahead",
        rewrite: Some(move_mountstat3_up),
        prelude: "typedef struct mountbody mountbody;\ntypedef mountbody *mountlist;\n\
                  typedef struct groupnode groupnode;\ntypedef groupnode *groups;\n\
                  typedef struct exportnode exportnode;\ntypedef exportnode *exports;\n",
        renamed: &[],
    },
];

/// Why the `protocols/xdr/` files that redefine ONC RPC's own types need
/// [`CBuildFix::renamed`].
const REDEFINES_ONC_RPC: &str = "the file defines (from the RFC) types and enum members \
    <rpc/rpc.h> declares too; the file's own are renamed in C";

/// Removes Linux kernel xdrgen `pragma ...;` lines.
fn strip_pragmas(x: &str) -> String {
    x.lines()
        .map(|l| {
            if l.trim_start().starts_with("pragma ") {
                ""
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Joins backslash-continued lines (in nis.x, only `%#define`s have them);
/// a `%` that starts the continuation line is dropped.
fn join_percent_continuations(x: &str) -> String {
    let mut out = String::new();
    let mut rest = x;
    while let Some(i) = rest.find("\\\n") {
        out.push_str(&rest[..i]);
        out.push(' ');
        rest = &rest[i + 2..];
        if let Some(r) = rest.strip_prefix('%') {
            rest = r;
        }
    }
    out.push_str(rest);
    out
}

/// Moves `enum mountstat3 { ... };` before its first use.
fn move_mountstat3_up(x: &str) -> String {
    let start = x
        .find("enum mountstat3 {")
        .expect("mnt3.x defines mountstat3");
    let end = start + x[start..].find("};").expect("enum ends") + 2;
    let block = &x[start..end];
    let rest = format!("{}{}", &x[..start], &x[end..]);
    let first_use = rest.find("union mountres3").expect("mnt3.x has mountres3");
    format!("{}{block}\n\n{}", &rest[..first_use], &rest[first_use..])
}

/// Deletes the temporary directory when dropped (also on panic).
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `-D` flags and `--import` files of a corpus file, from xdrgen-args.txt.
#[derive(Default, Clone)]
struct Args {
    defines: Vec<String>,
    imports: Vec<String>,
}

fn read_args(corpus: &Path) -> HashMap<String, Args> {
    let text = std::fs::read_to_string(corpus.join("xdrgen-args.txt")).unwrap_or_default();
    let mut map = HashMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((file, args)) = line.split_once('\t') else {
            continue;
        };
        let mut a = Args::default();
        let mut words = args.split_whitespace();
        while let (Some(flag), Some(value)) = (words.next(), words.next()) {
            match flag {
                "-D" => a.defines.push(format!("-D{value}")),
                "--import" => a
                    .imports
                    .push(value.split('=').next().unwrap_or(value).into()),
                _ => {}
            }
        }
        map.insert(file.to_string(), a);
    }
    map
}

fn module_name(rel: &str) -> String {
    rel.trim_end_matches(".x")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

fn first_lines(s: &[u8], n: usize) -> String {
    String::from_utf8_lossy(s)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(n)
        .collect::<Vec<_>>()
        .join(" | ")
}

/// `rpcgen` output for one corpus file.
struct Rpcgen {
    dir: PathBuf,
    stem: String,
    /// The `.h` text.
    header: String,
    /// The `.x` text rpcgen saw.
    source: String,
}

/// Where the `.x` file `rel` is: as the interop tables were generated from
/// it (protocols/xdr/, the completed nfs3.x), or in the corpus.
fn source_path(corpus: &Path, rel: &str) -> PathBuf {
    FILES
        .iter()
        .find(|f| f.file == rel)
        .map_or_else(|| corpus.join(rel), |f| PathBuf::from(f.path))
}

fn run_rpcgen(corpus: &Path, rel: &str, tmp: &Path) -> Result<Rpcgen, String> {
    let path = source_path(corpus, rel);
    let stem = path
        .file_stem()
        .ok_or("no file stem")?
        .to_string_lossy()
        .into_owned();
    let dir = tmp.join(module_name(rel));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let original = std::fs::read_to_string(&path).map_err(|e| format!("read {rel}: {e}"))?;
    let source = match C_BUILD_FIXES.iter().find(|f| f.file == rel) {
        Some(CBuildFix {
            rewrite: Some(f), ..
        }) => f(&original),
        _ => original,
    };
    std::fs::write(dir.join(format!("{stem}.x")), &source).map_err(|e| e.to_string())?;
    // Files the .x includes through rpcgen's cpp (`#include "nis_object.x"`).
    for line in source.lines() {
        if let Some(inc) = line
            .trim()
            .strip_prefix("#include \"")
            .and_then(|l| l.split('"').next())
        {
            let from = path.parent().unwrap_or(Path::new(".")).join(inc);
            std::fs::copy(&from, dir.join(inc))
                .map_err(|e| format!("copy {}: {e}", from.display()))?;
        }
    }
    for (flag, out) in [("-h", format!("{stem}.h")), ("-c", format!("{stem}_xdr.c"))] {
        let o = Command::new("rpcgen")
            .args([flag, "-o", &out, &format!("{stem}.x")])
            .current_dir(&dir)
            .output()
            .map_err(|e| format!("run rpcgen: {e}"))?;
        if !o.status.success() {
            return Err(format!(
                "rpcgen {flag} rejects it: {}",
                first_lines(&o.stderr, 2)
            ));
        }
    }
    let header =
        std::fs::read_to_string(dir.join(format!("{stem}.h"))).map_err(|e| e.to_string())?;
    Ok(Rpcgen {
        dir,
        stem,
        header,
        source,
    })
}

/// Whether `#include <name>` compiles with the system and libtirpc headers.
fn system_has_header(name: &str, cache: &mut HashMap<String, bool>) -> bool {
    *cache.entry(name.to_string()).or_insert_with(|| {
        let child = Command::new("gcc")
            .args(["-E", "-x", "c", "-o", "/dev/null", "-I", TIRPC_INCLUDE, "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let Ok(mut child) = child else { return false };
        if let Some(mut stdin) = child.stdin.take() {
            let _ = writeln!(stdin, "#include <{name}>");
        }
        child.wait().is_ok_and(|s| s.success())
    })
}

/// The `%#include` targets of a `.x` file.
fn c_includes(source: &str) -> Vec<String> {
    source
        .lines()
        .filter_map(|l| l.trim().strip_prefix("%#include"))
        .filter_map(|l| {
            let l = l.trim();
            let (open, close) = match l.chars().next()? {
                '"' => ('"', '"'),
                '<' => ('<', '>'),
                _ => return None,
            };
            l.strip_prefix(open)?
                .split(close)
                .next()
                .map(str::to_string)
        })
        .collect()
}

/// The types whose `xdr_<name>` the rpcgen header declares.
fn declared_xdr_routines(header: &str) -> BTreeSet<String> {
    header
        .lines()
        .filter_map(|l| l.trim().strip_prefix("extern"))
        .filter_map(|l| l.trim().strip_prefix("bool_t"))
        .filter_map(|l| l.trim().strip_prefix("xdr_"))
        .filter_map(|l| l.split(|c: char| c == '(' || c.is_whitespace()).next())
        .map(str::to_string)
        .collect()
}

/// A compiled harness for one corpus file.
struct Built {
    exe: PathBuf,
    types: Vec<&'static InteropType>,
}

/// A gcc run that builds `dir/harness`.
struct CompileJob {
    file: &'static str,
    dir: PathBuf,
    args: Vec<std::ffi::OsString>,
    types: Vec<&'static InteropType>,
}

/// Writes the stubs, prelude and harness of `rel`; the gcc arguments that
/// build it.
fn prepare_build(
    rel: &str,
    r: &Rpcgen,
    deps: &[&Rpcgen],
    args: &Args,
    types: &[&'static InteropType],
    header_cache: &mut HashMap<String, bool>,
    stubs: &mut BTreeSet<String>,
) -> Result<Vec<std::ffi::OsString>, String> {
    let inc = r.dir.join("inc");
    std::fs::create_dir_all(&inc).map_err(|e| e.to_string())?;
    // `%#include`d headers: a dependency's rpcgen header, the system's, or
    // an empty stub (libvirt's internal.h and friends only add C helpers).
    let mut targets: Vec<String> = c_includes(&r.source);
    for d in deps {
        targets.extend(c_includes(&d.source));
    }
    targets.sort();
    targets.dedup();
    for target in targets {
        let file_name = Path::new(&target)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let dst = inc.join(&target);
        if let Some(parent) = dst.parent() {
            std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
        }
        if let Some(dep) = deps.iter().find(|d| format!("{}.h", d.stem) == file_name) {
            std::fs::write(&dst, &dep.header).map_err(|e| e.to_string())?;
        } else if STUBBED_HEADERS.contains(&target.as_str())
            || !system_has_header(&target, header_cache)
        {
            std::fs::write(&dst, "/* stub for the differential test */\n")
                .map_err(|e| e.to_string())?;
            stubs.insert(target);
        }
    }
    let fix = C_BUILD_FIXES.iter().find(|f| f.file == rel);
    let mut prelude = fix.map_or("", |f| f.prelude).to_string();
    let renamed = fix.map_or(&[][..], |f| f.renamed);
    if !renamed.is_empty() {
        prelude.insert_str(0, "#include <rpc/rpc.h>\n");
        for name in renamed {
            let _ = writeln!(
                prelude,
                "#define {name} xdrgen_{name}\n#define xdr_{name} xdr_xdrgen_{name}"
            );
        }
    }
    let prelude_path = r.dir.join("prelude.h");
    std::fs::write(&prelude_path, prelude).map_err(|e| e.to_string())?;
    let mut table = String::new();
    for t in types {
        let print = if t.print.is_some() {
            format!(
                "(void (*)(FILE *, const void *))xdrgen_test_print_{}",
                t.xdr_name
            )
        } else {
            "NULL".into()
        };
        let _ = writeln!(
            table,
            "\t{{ \"{n}\", (xdrproc_t)xdr_{n}, sizeof({n}), {print} }},",
            n = t.xdr_name
        );
    }
    let file = interop_file(rel);
    let mut constants = String::new();
    for (name, _) in file.constants {
        // The name in quotes is not renamed by the prelude's macros.
        let _ = writeln!(constants, "\t{{ \"{name}\", (long long)({name}) }},");
    }
    let harness = HARNESS_TEMPLATE
        .replace("@HEADER@", &format!("{}.h", r.stem))
        .replace("@TABLE@", &table)
        .replace("@CONSTANTS@", &constants)
        .replace("@PRINTERS@", file.c_printers);
    let harness_path = r.dir.join("harness.c");
    std::fs::write(&harness_path, harness).map_err(|e| e.to_string())?;
    let mut a: Vec<std::ffi::OsString> = ["-O1", "-w", "-o", "harness", "-I"]
        .iter()
        .map(Into::into)
        .collect();
    a.push(inc.into());
    a.push("-I".into());
    a.push(r.dir.clone().into());
    a.push("-I".into());
    a.push(TIRPC_INCLUDE.into());
    a.extend(args.defines.iter().map(Into::into));
    a.push("-include".into());
    a.push(prelude_path.into());
    a.push(harness_path.into());
    a.push(r.dir.join(format!("{}_xdr.c", r.stem)).into());
    for d in deps {
        a.push(d.dir.join(format!("{}_xdr.c", d.stem)).into());
    }
    a.push("-ltirpc".into());
    Ok(a)
}

/// Headers stubbed even when the system has them: xdrgen-args.txt's `-D`
/// arguments stand in for their constants, which the real header (from
/// libvirt-dev) would define a second time, as enum members.
const STUBBED_HEADERS: &[&str] = &["libvirt/libvirt.h", "libvirt/libvirt-admin.h"];

/// One running C harness.
struct Harness {
    exe: PathBuf,
    child: Child,
    stdin: BufWriter<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

/// What the C harness answered.
struct Reply {
    status: u32,
    consumed: u32,
    bytes: Vec<u8>,
}

impl Harness {
    fn spawn(exe: &Path) -> std::io::Result<Harness> {
        let mut child = Command::new(exe)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let stdin = BufWriter::new(child.stdin.take().expect("piped stdin"));
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        Ok(Harness {
            exe: exe.to_path_buf(),
            child,
            stdin,
            stdout,
        })
    }

    fn request(&mut self, name: &str, data: &[u8]) -> std::io::Result<Reply> {
        let len = |n: usize| {
            u32::try_from(n)
                .map(u32::to_ne_bytes)
                .map_err(|_| std::io::Error::other("request too large"))
        };
        self.stdin.write_all(&len(name.len())?)?;
        self.stdin.write_all(name.as_bytes())?;
        self.stdin.write_all(&len(data.len())?)?;
        self.stdin.write_all(data)?;
        self.stdin.flush()?;
        let mut word = [0u8; 4];
        let mut next = |r: &mut BufReader<ChildStdout>| -> std::io::Result<u32> {
            r.read_exact(&mut word)?;
            Ok(u32::from_ne_bytes(word))
        };
        let status = next(&mut self.stdout)?;
        let consumed = next(&mut self.stdout)?;
        let n = next(&mut self.stdout)?;
        let mut bytes = vec![0; n as usize];
        self.stdout.read_exact(&mut bytes)?;
        Ok(Reply {
            status,
            consumed,
            bytes,
        })
    }

    /// After an I/O error: how the process ended, and a fresh one.
    fn restart(&mut self) -> String {
        let _ = self.child.kill();
        let how = self
            .child
            .wait()
            .map_or_else(|e| e.to_string(), |s| s.to_string());
        match Harness::spawn(&self.exe) {
            Ok(fresh) => {
                let old = std::mem::replace(self, fresh);
                drop(old);
            }
            Err(e) => return format!("{how}; respawn failed: {e}"),
        }
        how
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A failed check of one type on one seed.
struct Failure {
    seed: u64,
    what: String,
    /// The [`KNOWN_DIFFERENCES`] that explain it; empty if none does.
    known: BTreeSet<&'static str>,
}

fn hex(bytes: &[u8], around: usize) -> String {
    const SHOW: usize = 48;
    let start = around.saturating_sub(8) & !3;
    let end = (start + SHOW).min(bytes.len());
    let mut s = format!("[{} bytes] ", bytes.len());
    if start > 0 {
        let _ = write!(s, "..@{start}: ");
    }
    for (i, b) in bytes[start.min(bytes.len())..end].iter().enumerate() {
        if i > 0 && i % 4 == 0 {
            s.push(' ');
        }
        let _ = write!(s, "{b:02x}");
    }
    if end < bytes.len() {
        s.push_str(" ...");
    }
    s
}

fn first_difference(a: &[u8], b: &[u8]) -> usize {
    a.iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()))
}

fn describe_pair(what: &str, ours: &[u8], theirs: &[u8]) -> String {
    let at = first_difference(ours, theirs);
    format!(
        "{what}; first difference at byte {at}\n        ours:   {}\n        theirs: {}",
        hex(ours, at),
        hex(theirs, at)
    )
}

/// Checks one type on one seed; `Ok` or what went wrong (and the known
/// differences that explain it).
fn check(
    h: &mut Harness,
    t: &InteropType,
    seed: u64,
) -> Result<(), (String, BTreeSet<&'static str>)> {
    check_inner(h, t, seed).map_err(|(what, explained)| (what, explained.unwrap_or_default()))
}

fn check_inner(
    h: &mut Harness,
    t: &InteropType,
    seed: u64,
) -> Result<(), (String, Option<BTreeSet<&'static str>>)> {
    let plain = |what: String| (what, None);
    let ours = (t.random_encoded)(seed)
        .map_err(|e| plain(format!("Rust cannot encode its own random value: {e}")))?;
    check_bytes(h, t, &ours).map_err(plain)
}

/// C decodes `ours` and encodes it to the same bytes; Rust decodes C's
/// bytes and encodes them to the same bytes.
fn check_bytes(h: &mut Harness, t: &InteropType, ours: &[u8]) -> Result<(), String> {
    let reply = match h.request(t.xdr_name, ours) {
        Ok(r) => r,
        Err(e) => {
            let how = h.restart();
            return Err(format!(
                "C harness died ({e}; {how}) on our bytes {}",
                hex(ours, 0)
            ));
        }
    };
    match reply.status {
        0 => {}
        1 => return Err("C harness does not know the type".into()),
        2 => {
            return Err(format!(
                "C xdr_{} rejects our bytes (decode failed near byte {}): ours {}",
                t.xdr_name,
                reply.consumed,
                hex(ours, reply.consumed as usize)
            ));
        }
        3 => {
            return Err("C decoded our bytes but cannot encode the value again".into());
        }
        s => return Err(format!("C harness status {s}")),
    }
    if reply.consumed as usize != ours.len() {
        return Err(format!(
            "C decoded only {} of our {} bytes: ours {}",
            reply.consumed,
            ours.len(),
            hex(ours, reply.consumed as usize)
        ));
    }
    let theirs = reply.bytes;
    if theirs != ours {
        // Valid values must match exactly: no known difference excuses them.
        return Err(describe_pair(
            "C re-encodes our bytes differently",
            ours,
            &theirs,
        ));
    }
    match (t.reencode)(&theirs) {
        Ok(back) if back == ours => Ok(()),
        Ok(back) => Err(describe_pair(
            "Rust decodes C's bytes to a different value",
            ours,
            &back,
        )),
        Err(e) => Err(format!("Rust rejects C's bytes: {e}: {}", hex(&theirs, 0))),
    }
}

/// Field by field: C decodes the encoding of the random value of `seed`
/// and prints it; Rust prints the value it encoded. The texts must match.
fn check_printed(
    h: &mut Harness,
    t: &InteropType,
    print: fn(u64) -> String,
    seed: u64,
) -> Result<(), String> {
    let ours = (t.random_encoded)(seed).map_err(|e| format!("Rust cannot encode: {e}"))?;
    let reply = match h.request(&format!("?{}", t.xdr_name), &ours) {
        Ok(r) => r,
        Err(e) => {
            let how = h.restart();
            return Err(format!("C harness died printing ({e}; {how})"));
        }
    };
    if reply.status != 0 {
        return Err(format!(
            "C cannot print the value (status {})",
            reply.status
        ));
    }
    let theirs = String::from_utf8_lossy(&reply.bytes);
    let ours = print(seed);
    if theirs == ours {
        return Ok(());
    }
    let at = ours
        .char_indices()
        .zip(theirs.chars())
        .find(|((_, a), b)| a != b)
        .map_or(ours.len().min(theirs.len()), |((i, _), _)| i);
    let from = ours[..at].rfind(['{', ' ', '[']).unwrap_or(0);
    let shown = |text: &str| {
        text.get(from..(at + 60).min(text.len()))
            .unwrap_or("")
            .to_string()
    };
    Err(format!(
        "field by field, C's decoded value differs from Rust's at character {at}:\n        Rust: ...{}\n        C:    ...{}",
        shown(&ours),
        shown(&theirs)
    ))
}

/// Lengths at and one past the bounds of the value of `seed`: every
/// bounded length the value draws is stretched in turn (up to
/// [`BOUNDS_PER_VALUE`]). At the bound the value must cross to C and back
/// unchanged; one past it Rust's encoder must refuse it; for opaques and
/// strings, bytes made by hand one past the bound must be refused by both
/// decoders. Returns the failures and (at, one past refused by the
/// encoder, hand-made inputs refused by both) counts.
fn check_bounds(h: &mut Harness, t: &InteropType, seed: u64) -> (Vec<String>, [usize; 3]) {
    let mut failures = Vec::new();
    let mut counts = [0; 3];
    for nth in 0..BOUNDS_PER_VALUE {
        let at = (t.stretched)(seed, nth, Stretch::AtBound);
        let Some(stretched) = at.stretched else { break };
        let bound = stretched.bound;
        let ours = match at.encoded {
            Ok(b) => b,
            Err(e) => {
                failures.push(format!(
                    "length {nth} at its bound {bound}: Rust cannot encode it: {e}"
                ));
                continue;
            }
        };
        match check_bytes(h, t, &ours) {
            Ok(()) => counts[0] += 1,
            Err(e) => failures.push(format!("length {nth} at its bound {bound}: {e}")),
        }
        let past = (t.stretched)(seed, nth, Stretch::OnePast);
        match past.encoded {
            Err(_) => counts[1] += 1,
            Ok(_) => failures.push(format!(
                "length {nth} one past its bound {bound}: Rust's encoder accepts it"
            )),
        }
        if stretched.kind == LenKind::Bytes {
            let Some(input) = one_past_by_hand(&ours, bound) else {
                failures.push(format!(
                    "length {nth} at its bound {bound}: the filled bytes are not found in the encoding"
                ));
                continue;
            };
            let c_accepts = match h.request(t.xdr_name, &input) {
                Ok(r) => r.status == 0 && r.consumed as usize == input.len(),
                Err(e) => {
                    let how = h.restart();
                    failures.push(format!(
                        "C harness died on bytes one past a bound ({e}; {how})"
                    ));
                    continue;
                }
            };
            let rust_accepts = (t.reencode)(&input).is_ok();
            if c_accepts || rust_accepts {
                failures.push(format!(
                    "length {nth}: bytes one past its bound {bound} accepted by C: {c_accepts}, by Rust: {rust_accepts}: {}",
                    hex(&input, 0)
                ));
            } else {
                counts[2] += 1;
            }
        }
    }
    (failures, counts)
}

/// `ours` with its one stretched opaque or string (`bound` bytes of
/// [`STRETCH_FILL`] after a length word `bound`) one byte longer.
fn one_past_by_hand(ours: &[u8], bound: u32) -> Option<Vec<u8>> {
    let n = bound as usize;
    let mut found = (0..ours.len().saturating_sub(3)).step_by(4).filter(|&p| {
        word(ours, p) == Some(n)
            && ours.get(p + 4..p + 4 + padded(n)).is_some_and(|d| {
                d[..n].iter().all(|&b| b == STRETCH_FILL) && d[n..].iter().all(|&b| b == 0)
            })
    });
    let p = found.next()?;
    let mut input = ours[..p].to_vec();
    input.extend_from_slice(&(bound + 1).to_be_bytes());
    input.extend(std::iter::repeat_n(STRETCH_FILL, n + 1));
    input.resize(p + 4 + padded(n + 1), 0);
    input.extend_from_slice(&ours[p + 4 + padded(n)..]);
    Some(input)
}

/// Asks the harness of `file` for C's value of every constant and enum
/// member of the file; the number compared, and every mismatch.
fn compare_constants(file: &str, exe: &Path) -> Result<(usize, Vec<String>), String> {
    let mut h =
        Harness::spawn(exe).map_err(|e| format!("{file}: cannot start the C harness: {e}"))?;
    let reply = h
        .request("=", &[])
        .map_err(|e| format!("{file}: C harness died listing constants: {e}"))?;
    let text = String::from_utf8_lossy(&reply.bytes);
    let c: HashMap<&str, i64> = text
        .lines()
        .filter_map(|l| {
            let (name, value) = l.split_once(' ')?;
            Some((name, value.parse().ok()?))
        })
        .collect();
    let expected = interop_file(file).constants;
    let mut bad = Vec::new();
    for (name, rust) in expected {
        // C holds constants as `long long`: compare modulo 2^64.
        #[allow(clippy::cast_possible_truncation)]
        let rust64 = *rust as i64;
        match c.get(name) {
            Some(&v) if v == rust64 => {}
            Some(&v) => bad.push(format!("{file} {name}: Rust {rust}, C {v}")),
            None => bad.push(format!("{file} {name}: missing from C's table")),
        }
    }
    Ok((expected.len(), bad))
}

/// What happened to one type.
#[derive(Default)]
struct TypeResult {
    checks: u64,
    failures: Vec<Failure>,
    mutations: Vec<Mutated>,
    /// Seeds checked field by field.
    printed: u64,
    /// See [`check_bounds`].
    bounds: [usize; 3],
}

/// How C and Rust treated one mutated input (see [`mutate`]).
enum Verdict {
    /// Both reject it.
    BothReject,
    /// Both accept it and encode the value to the same bytes.
    BothAccept,
    /// Only C accepts it; Rust's error.
    OnlyC(String),
    /// Only Rust accepts it.
    OnlyRust,
    /// Both accept it but encode the value differently.
    Differ { c: Vec<u8>, rust: Vec<u8> },
    /// The C harness died.
    Crash(String),
}

/// One mutated input of one type.
struct Mutated {
    seed: u64,
    /// The mutation, e.g. "word@8 := 0x00000002".
    what: String,
    input: Vec<u8>,
    /// C's re-encoding, when C accepted the input.
    c_out: Option<Vec<u8>>,
    verdict: Verdict,
}

/// A small deterministic PRNG (splitmix64) for choosing mutations.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n.max(1) as u64).unwrap_or(0)
    }
}

/// Edge values a mutated word takes: bool, enum, discriminant, C
/// char/short range, sign and length edges.
const EDGE_WORDS: &[u32] = &[
    0,
    1,
    2,
    3,
    0x7f,
    0x80,
    0xff,
    0x100,
    0x7fff,
    0x8000,
    0xffff,
    0x1_0000,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_fffe,
    0xffff_ffff,
];

/// One mutation of `bytes`: a word set to an edge value (or, a quarter of
/// the time, one byte set to a random value, which also hits padding).
fn mutate(bytes: &[u8], rng: &mut SplitMix) -> Option<(String, Vec<u8>)> {
    if bytes.len() < 4 {
        return None;
    }
    let mut m = bytes.to_vec();
    if rng.below(4) == 0 {
        let at = rng.below(m.len());
        let v = u8::try_from(rng.next() & 0xff).unwrap_or(0xff) | 1;
        m[at] = if m[at] == v { v ^ 0x80 } else { v };
        return Some((format!("byte@{at} := 0x{:02x}", m[at]), m));
    }
    let at = rng.below(m.len() / 4) * 4;
    let v = EDGE_WORDS[rng.below(EDGE_WORDS.len())];
    if m[at..at + 4] == v.to_be_bytes() {
        return None;
    }
    m[at..at + 4].copy_from_slice(&v.to_be_bytes());
    Some((format!("word@{at} := 0x{v:08x}"), m))
}

/// Feeds one mutated input to C and to Rust.
fn judge(h: &mut Harness, t: &InteropType, input: &[u8]) -> (Option<Vec<u8>>, Verdict) {
    let c = match h.request(t.xdr_name, input) {
        // C may decode a prefix; only a decode of every byte counts.
        Ok(r) if r.status == 0 && r.consumed as usize == input.len() => Some(r.bytes),
        Ok(_) => None,
        Err(e) => {
            let how = h.restart();
            return (None, Verdict::Crash(format!("{e}; {how}")));
        }
    };
    let rust = (t.reencode)(input);
    let verdict = match (&c, rust) {
        (None, Err(_)) => Verdict::BothReject,
        (Some(c), Ok(r)) if *c == r => Verdict::BothAccept,
        (Some(c), Ok(r)) => Verdict::Differ {
            c: c.clone(),
            rust: r,
        },
        (Some(_), Err(e)) => Verdict::OnlyC(e),
        (None, Ok(_)) => Verdict::OnlyRust,
    };
    (c, verdict)
}

/// A Rust decode error with numbers and enum/union names taken out, to
/// group by.
fn error_kind(e: &str) -> String {
    let mut out = Vec::new();
    let mut prev = "";
    for w in e.split_whitespace() {
        if prev == "enum" || prev == "union" {
            out.push("T".to_string());
        } else {
            let mut t = String::new();
            for c in w.chars() {
                if !c.is_ascii_digit() {
                    t.push(c);
                } else if !t.ends_with('N') {
                    t.push('N');
                }
            }
            out.push(t);
        }
        prev = w;
    }
    out.join(" ").replace("-N", "N")
}

/// Where a mutation put its edit, from `Mutated::what`.
fn mutation_offset(what: &str) -> usize {
    what.split('@')
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// Appends the phase-2 report; the number of types where C and Rust
/// disagree in a way that fails the test (only Rust accepts, both accept
/// but encode differently, C crashes), and the [`KNOWN_DIFFERENCES`] that
/// explained some input.
fn report_mutations(
    results: &BTreeMap<(&str, &str), TypeResult>,
    report: &mut String,
) -> (usize, BTreeSet<&'static str>) {
    let mut used = BTreeSet::new();
    let mut counts = [0usize; 7];
    /// Inputs only C accepts, with one kind of Rust error.
    struct OnlyC<'a> {
        types: BTreeSet<(&'a str, &'a str)>,
        inputs: usize,
        example: String,
    }
    let mut only_c: BTreeMap<String, OnlyC<'_>> = BTreeMap::new();
    let mut bad = String::new();
    let mut bad_types = 0usize;
    for ((file, name), r) in results {
        let mut first_bad: Option<String> = None;
        let mut n_bad = 0usize;
        for m in &r.mutations {
            let at = mutation_offset(&m.what);
            let example = || {
                format!(
                    "{file} {name} seed {} {}\n        input:  {}{}",
                    m.seed,
                    m.what,
                    hex(&m.input, at),
                    m.c_out.as_ref().map_or(String::new(), |c| format!(
                        "\n        C out:  {}",
                        hex(c, at)
                    ))
                )
            };
            match &m.verdict {
                Verdict::BothReject => counts[0] += 1,
                Verdict::BothAccept => counts[1] += 1,
                Verdict::OnlyC(e) => {
                    counts[2] += 1;
                    let entry = only_c.entry(error_kind(e)).or_insert_with(|| OnlyC {
                        types: BTreeSet::new(),
                        inputs: 0,
                        example: format!("{}\n        Rust:   {e}", example()),
                    });
                    entry.types.insert((file, name));
                    entry.inputs += 1;
                }
                Verdict::OnlyRust => {
                    counts[3] += 1;
                    n_bad += 1;
                    first_bad.get_or_insert_with(|| format!("only Rust accepts: {}", example()));
                }
                Verdict::Differ { c, rust } if explain_difference(rust, c).is_some() => {
                    counts[6] += 1;
                    used.extend(explain_difference(rust, c).unwrap_or_default());
                }
                Verdict::Differ { c, rust } => {
                    counts[4] += 1;
                    n_bad += 1;
                    first_bad.get_or_insert_with(|| {
                        format!(
                            "{}\n      {}",
                            example(),
                            describe_pair("both accept, encode differently (ours = Rust)", rust, c)
                        )
                    });
                }
                Verdict::Crash(how) => {
                    counts[5] += 1;
                    n_bad += 1;
                    first_bad
                        .get_or_insert_with(|| format!("C harness died ({how}): {}", example()));
                }
            }
        }
        if let Some(first) = first_bad {
            bad_types += 1;
            let _ = writeln!(bad, "  {n_bad} inputs; {first}");
        }
    }
    let _ = writeln!(
        report,
        "mutated inputs ({MUTATION_SEEDS} seeds x {MUTATIONS_PER_SEED} per type): \
         both reject {}, both accept identically {}, only C accepts {}, only Rust accepts {}, \
         both accept but differ {} (+ {} only by KNOWN_DIFFERENCES), C crashed {}",
        counts[0], counts[1], counts[2], counts[3], counts[4], counts[6], counts[5]
    );
    if !only_c.is_empty() {
        let _ = writeln!(
            report,
            "only C accepts (Rust is stricter; not failing the test), by Rust's error:"
        );
        for (kind, g) in &only_c {
            let _ = writeln!(
                report,
                "  \"{kind}\": {} inputs, {} types; e.g. {}",
                g.inputs,
                g.types.len(),
                g.example
            );
        }
    }
    if !bad.is_empty() {
        let _ = writeln!(report, "MUTATION FAILURES ({bad_types} types):\n{bad}");
    }
    (bad_types, used)
}

/// Whether rpcgen, gcc and the libtirpc headers are there; if not, why.
fn missing_tools() -> Option<String> {
    let runs = |cmd: &str, arg: &str| xdrgen_testenv::has_tool(cmd, &[arg]);
    if !runs("rpcgen", "--version") {
        return Some("rpcgen is not installed (Debian: rpcsvc-proto)".into());
    }
    if !runs("gcc", "--version") {
        return Some("gcc is not installed".into());
    }
    if !Path::new(TIRPC_INCLUDE).join("rpc/rpc.h").is_file() {
        return Some(format!(
            "libtirpc headers are missing ({TIRPC_INCLUDE}/rpc/rpc.h; Debian: libtirpc-dev)"
        ));
    }
    None
}

/// Runs `jobs` on up to `workers` threads; results in job order.
fn parallel<J: Sync, R: Send>(jobs: &[J], workers: usize, f: impl Fn(&J) -> R + Sync) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new(jobs.iter().map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..workers.max(1) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(job) = jobs.get(i) else { break };
                    let r = f(job);
                    results.lock().unwrap()[i] = Some(r);
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap()
        .into_iter()
        .map(|r| r.expect("every job ran"))
        .collect()
}

#[test]
fn rust_and_c_rpcgen_encode_identically() {
    let started = Instant::now();
    const TEST: &str = "differential test against C rpcgen + libtirpc";
    if let Some(why) = missing_tools() {
        xdrgen_tests::skip(TEST, &why);
        return;
    }
    let Some(corpus) = xdrgen_tests::corpus(TEST) else {
        return;
    };
    let tmp =
        TempDir(std::env::temp_dir().join(format!("xdrgen-differential-{}", std::process::id())));
    let _ = std::fs::remove_dir_all(&tmp.0);
    std::fs::create_dir_all(&tmp.0).expect("create temp dir");
    let args = read_args(&corpus);
    let workers = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);

    // The types of each file, in TYPES order.
    let mut by_file: BTreeMap<&'static str, Vec<&'static InteropType>> = BTreeMap::new();
    for t in TYPES {
        by_file.entry(t.file).or_default().push(t);
    }

    // rpcgen every file and every file they import.
    let mut wanted: BTreeSet<String> = by_file.keys().map(|f| (*f).to_string()).collect();
    for f in by_file.keys() {
        if let Some(a) = args.get(*f) {
            wanted.extend(a.imports.iter().cloned());
        }
    }
    let wanted: Vec<String> = wanted.into_iter().collect();
    let generated: HashMap<String, Result<Rpcgen, String>> = wanted
        .iter()
        .cloned()
        .zip(parallel(&wanted, workers, |rel| {
            run_rpcgen(&corpus, rel, &tmp.0)
        }))
        .collect();

    // Write and compile one harness per file.
    let mut skipped_files: Vec<(String, String)> = Vec::new();
    let mut skipped_types: Vec<(String, String, String)> = Vec::new();
    let mut compiles: Vec<CompileJob> = Vec::new();
    let mut header_cache = HashMap::new();
    let mut stubs = BTreeSet::new();
    for (file, types) in &by_file {
        let file_args = args.get(*file).cloned().unwrap_or_default();
        let r = match &generated[*file] {
            Ok(r) => r,
            Err(e) => {
                skipped_files.push(((*file).into(), e.clone()));
                continue;
            }
        };
        let mut deps = Vec::new();
        let mut dep_error = None;
        for import in &file_args.imports {
            match &generated[import] {
                Ok(d) => deps.push(d),
                Err(e) => dep_error = Some(format!("imported {import}: {e}")),
            }
        }
        if let Some(e) = dep_error {
            skipped_files.push(((*file).into(), e));
            continue;
        }
        let declared = declared_xdr_routines(&r.header);
        let mut covered = Vec::new();
        for t in types {
            if declared.contains(t.xdr_name) {
                covered.push(*t);
            } else {
                skipped_types.push((
                    (*file).into(),
                    t.xdr_name.into(),
                    format!("{}.h declares no xdr_{}", r.stem, t.xdr_name),
                ));
            }
        }
        match prepare_build(
            file,
            r,
            &deps,
            &file_args,
            &covered,
            &mut header_cache,
            &mut stubs,
        ) {
            Ok(gcc_args) => compiles.push(CompileJob {
                file,
                dir: r.dir.clone(),
                args: gcc_args,
                types: covered,
            }),
            Err(e) => skipped_files.push(((*file).into(), e)),
        }
    }
    let built_results = parallel(&compiles, workers, |job| {
        match Command::new("gcc")
            .args(&job.args)
            .current_dir(&job.dir)
            .output()
        {
            Ok(o) if o.status.success() => Ok(Built {
                exe: job.dir.join("harness"),
                types: job.types.clone(),
            }),
            Ok(o) => {
                let errors: Vec<&[u8]> = o
                    .stderr
                    .split(|&b| b == b'\n')
                    .filter(|l| l.windows(6).any(|w| w == b"error:"))
                    .collect();
                Err(format!(
                    "gcc fails: {}",
                    first_lines(&errors.join(&b'\n'), 3)
                ))
            }
            Err(e) => Err(format!("run gcc: {e}")),
        }
    });
    let mut built: Vec<(&'static str, Built)> = Vec::new();
    for (job, result) in compiles.iter().zip(built_results) {
        match result {
            Ok(b) => built.push((job.file, b)),
            Err(e) => skipped_files.push((job.file.into(), e)),
        }
    }
    let build_time = started.elapsed();

    // Every constant and enum member: C's value against generated Rust's.
    let constant_results = parallel(&built, workers, |(file, b)| compare_constants(file, &b.exe));
    let mut constants_compared = 0usize;
    let mut constant_failures: Vec<String> = Vec::new();
    for r in constant_results {
        match r {
            Ok((n, mut bad)) => {
                constants_compared += n;
                constant_failures.append(&mut bad);
            }
            Err(e) => constant_failures.push(e),
        }
    }

    // Check every type: one harness process per chunk of types.
    let jobs: Vec<(&'static str, &Path, &[&'static InteropType])> = built
        .iter()
        .flat_map(|(file, b)| b.types.chunks(CHUNK).map(|c| (*file, b.exe.as_path(), c)))
        .collect();
    let chunk_results = parallel(&jobs, workers, |(_, exe, types)| {
        let mut results: Vec<TypeResult> = Vec::new();
        let mut h = match Harness::spawn(exe) {
            Ok(h) => h,
            Err(e) => {
                return types
                    .iter()
                    .map(|_| TypeResult {
                        checks: 0,
                        failures: vec![Failure {
                            seed: 0,
                            what: format!("cannot start the C harness: {e}"),
                            known: BTreeSet::new(),
                        }],
                        ..TypeResult::default()
                    })
                    .collect();
            }
        };
        for t in *types {
            let mut r = TypeResult::default();
            for seed in 0..SEEDS {
                r.checks += 1;
                if let Err((what, known)) = check(&mut h, t, seed) {
                    r.failures.push(Failure { seed, what, known });
                }
            }
            if let Some(print) = t.print {
                for seed in 0..PRINT_SEEDS {
                    r.checks += 1;
                    match check_printed(&mut h, t, print, seed) {
                        Ok(()) => r.printed += 1,
                        Err(what) => r.failures.push(Failure {
                            seed,
                            what,
                            known: BTreeSet::new(),
                        }),
                    }
                }
            }
            for seed in 0..BOUND_SEEDS {
                let (failures, counts) = check_bounds(&mut h, t, seed);
                for (total, n) in r.bounds.iter_mut().zip(counts) {
                    *total += n;
                }
                r.checks += 1;
                if let Some(what) = failures.into_iter().next() {
                    r.failures.push(Failure {
                        seed,
                        what,
                        known: BTreeSet::new(),
                    });
                }
            }
            for seed in 0..MUTATION_SEEDS {
                let Ok(ours) = (t.random_encoded)(seed) else {
                    continue;
                };
                let mut rng = SplitMix(seed ^ 0x5eed_0000_0000);
                for _ in 0..MUTATIONS_PER_SEED {
                    let Some((what, input)) = mutate(&ours, &mut rng) else {
                        continue;
                    };
                    let (c_out, verdict) = judge(&mut h, t, &input);
                    r.mutations.push(Mutated {
                        seed,
                        what,
                        input,
                        c_out,
                        verdict,
                    });
                }
            }
            results.push(r);
        }
        results
    });

    // Report.
    let mut results: BTreeMap<(&str, &str), TypeResult> = BTreeMap::new();
    for ((file, _, types), rs) in jobs.iter().zip(chunk_results) {
        for (t, r) in types.iter().zip(rs) {
            results.insert((file, t.xdr_name), r);
        }
    }
    let covered_files = built.len();
    let covered_types = results.len();
    let checks: u64 = results.values().map(|r| r.checks).sum();
    let mut report = String::new();
    let _ = writeln!(
        report,
        "\n=== differential test: Rust xdrgen vs C rpcgen + libtirpc ({SEEDS} seeds per type) ==="
    );
    let _ = writeln!(
        report,
        "files covered: {covered_files}/{} (files with types in TYPES)",
        by_file.len()
    );
    let _ = writeln!(
        report,
        "types covered: {covered_types}/{} ({checks} checks)",
        TYPES.len()
    );
    let _ = writeln!(report, "C build fixes applied:");
    for f in C_BUILD_FIXES {
        if built.iter().any(|(file, _)| *file == f.file) {
            let _ = writeln!(report, "  {}: {}", f.file, f.why);
        }
    }
    if !stubs.is_empty() {
        let _ = writeln!(
            report,
            "empty stub headers for `%#include`s the system lacks: {}",
            stubs.iter().cloned().collect::<Vec<_>>().join(", ")
        );
    }
    let mut not_generated: Vec<String> = std::fs::read_dir(&corpus)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().is_dir())
        .flat_map(|family| {
            let name = family.file_name().to_string_lossy().into_owned();
            std::fs::read_dir(family.path())
                .into_iter()
                .flatten()
                .flatten()
                .map(move |f| format!("{name}/{}", f.file_name().to_string_lossy()))
        })
        .filter(|rel| {
            Path::new(rel).extension().is_some_and(|e| e == "x")
                && !by_file.contains_key(rel.as_str())
        })
        .collect();
    not_generated.sort();
    if !not_generated.is_empty() {
        let _ = writeln!(
            report,
            "corpus files with no types in TYPES (xdrgen does not generate them): {}",
            not_generated.join(", ")
        );
    }
    skipped_files.sort();
    if !skipped_files.is_empty() {
        let _ = writeln!(report, "files NOT covered:");
        for (f, why) in &skipped_files {
            let n = by_file.get(f.as_str()).map_or(0, Vec::len);
            let _ = writeln!(report, "  {f} ({n} types): {why}");
        }
    }
    if !skipped_types.is_empty() {
        let _ = writeln!(report, "types NOT covered:");
        for (f, t, why) in &skipped_types {
            let _ = writeln!(report, "  {f} {t}: {why}");
        }
    }
    // Types with unexplained failures, and per known class the types and
    // seeds it explains.
    let mut failing = 0usize;
    let mut failure_text = String::new();
    let mut known_types: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut only_known = 0usize;
    for ((file, name), r) in &results {
        let unexplained: Vec<&Failure> = r.failures.iter().filter(|f| f.known.is_empty()).collect();
        for k in KNOWN_DIFFERENCES {
            let seeds: Vec<&Failure> = r
                .failures
                .iter()
                .filter(|f| f.known.contains(k.name))
                .collect();
            if let Some(first) = seeds.first() {
                known_types.entry(k.name).or_default().push(format!(
                    "  {file} {name}: {}/{} seeds; seed {}: {}",
                    seeds.len(),
                    r.checks,
                    first.seed,
                    first.what
                ));
            }
        }
        if let Some(first) = unexplained.first() {
            failing += 1;
            let _ = writeln!(
                failure_text,
                "  {file} {name}: {}/{} seeds fail; seed {}: {}",
                unexplained.len(),
                r.checks,
                first.seed,
                first.what
            );
        } else if !r.failures.is_empty() {
            only_known += 1;
        }
    }
    let mut stale = Vec::new();
    for k in KNOWN_DIFFERENCES {
        match known_types.get(k.name) {
            None => stale.push(k.name),
            Some(lines) => {
                let _ = writeln!(
                    report,
                    "KNOWN_DIFFERENCES {} ({} types; not failing the test): {}",
                    k.name,
                    lines.len(),
                    k.root_cause
                );
                for l in lines.iter().take(KNOWN_SHOWN) {
                    let _ = writeln!(report, "{l}");
                }
                if lines.len() > KNOWN_SHOWN {
                    let _ = writeln!(report, "  ... and {} more types", lines.len() - KNOWN_SHOWN);
                }
            }
        }
    }
    if !failure_text.is_empty() {
        let _ = writeln!(report, "FAILURES ({failing} types):\n{failure_text}");
    }
    let (mutation_failures, used_by_mutations) = report_mutations(&results, &mut report);
    stale.retain(|k| !used_by_mutations.contains(k));
    let failed_checks: usize = results
        .values()
        .flat_map(|r| &r.failures)
        .filter(|f| f.known.is_empty())
        .count();
    let known_checks: usize = results
        .values()
        .flat_map(|r| &r.failures)
        .filter(|f| !f.known.is_empty())
        .count();
    let _ = writeln!(
        report,
        "summary: {} types identical on every seed, {only_known} identical except for \
         KNOWN_DIFFERENCES, {failing} failing; checks: {} identical, {known_checks} explained \
         by KNOWN_DIFFERENCES, {failed_checks} failing; build {:.1?}, total {:.1?}",
        covered_types - failing - only_known,
        checks - (known_checks + failed_checks) as u64,
        build_time,
        started.elapsed()
    );
    let printed_types = results.values().filter(|r| r.printed > 0).count();
    let printable = results
        .keys()
        .filter(|(file, name)| {
            TYPES
                .iter()
                .any(|t| t.file == *file && t.xdr_name == *name && t.print.is_some())
        })
        .count();
    let _ = writeln!(
        report,
        "field by field: {printed_types} of {printable} types with printers ({covered_types} covered; \
         the rest hold quadruple, imported, built-in or extern types), {PRINT_SEEDS} seeds \
         each"
    );
    for shape in PRINTED_SHAPES {
        let n = results
            .iter()
            .filter(|((file, name), r)| {
                r.printed == PRINT_SEEDS
                    && TYPES
                        .iter()
                        .any(|t| t.file == *file && t.xdr_name == *name && t.shapes.contains(shape))
            })
            .count();
        let _ = writeln!(report, "  {shape}: {n} types");
    }
    let mut bounds = [0usize; 3];
    for r in results.values() {
        for (total, n) in bounds.iter_mut().zip(r.bounds) {
            *total += n;
        }
    }
    let _ = writeln!(
        report,
        "bounds ({BOUND_SEEDS} seeds per type, every bounded length <= {} in turn): {} lengths at \
         their bound identical in C and Rust, {} one past refused by Rust's encoder, {} opaques and \
         strings one past (made by hand) refused by both decoders",
        xdrgen_runtime::testing::MAX_STRETCHED_BOUND,
        bounds[0],
        bounds[1],
        bounds[2]
    );
    let _ = writeln!(
        report,
        "constants and enum members: {constants_compared} compared with C, {} differ",
        constant_failures.len()
    );
    eprintln!("{report}");

    assert!(
        mutation_failures == 0,
        "{mutation_failures} types: C and Rust disagree on mutated bytes (see the report above)"
    );
    assert!(
        failing == 0,
        "{failing} types differ from C rpcgen + libtirpc (see the report above)"
    );
    assert!(
        constant_failures.is_empty(),
        "constants and enum members differ between C and Rust:\n  {}",
        constant_failures.join("\n  ")
    );
    assert!(
        stale.is_empty(),
        "KNOWN_DIFFERENCES explain nothing any more, remove them: {stale:?}"
    );
    let allowed_files: BTreeSet<&str> = UNCOVERED_FILES.iter().map(|(f, _)| *f).collect();
    let missing_files: Vec<&str> = skipped_files
        .iter()
        .map(|(f, _)| f.as_str())
        .filter(|f| !allowed_files.contains(f))
        .collect();
    assert!(
        missing_files.is_empty(),
        "coverage dropped: files not covered and not in UNCOVERED_FILES: {missing_files:?} (see the report above)"
    );
    let stale_files: Vec<&str> = allowed_files
        .iter()
        .filter(|f| !skipped_files.iter().any(|(s, _)| s == *f))
        .copied()
        .collect();
    assert!(
        stale_files.is_empty(),
        "UNCOVERED_FILES lists files that are covered now (or gone), remove them: {stale_files:?}"
    );
    let allowed_types: BTreeSet<(&str, &str)> =
        UNCOVERED_TYPES.iter().map(|(f, t, _)| (*f, *t)).collect();
    let missing_types: Vec<String> = skipped_types
        .iter()
        .filter(|(f, t, _)| !allowed_types.contains(&(f.as_str(), t.as_str())))
        .map(|(f, t, _)| format!("{f} {t}"))
        .collect();
    assert!(
        missing_types.is_empty(),
        "coverage dropped: types not covered and not in UNCOVERED_TYPES: {missing_types:?}"
    );
    let expected_types = TYPES.len()
        - TYPES
            .iter()
            .filter(|t| allowed_files.contains(t.file))
            .count()
        - allowed_types.len();
    assert_eq!(
        covered_types, expected_types,
        "every type of TYPES is covered except UNCOVERED_FILES and UNCOVERED_TYPES"
    );
    assert_eq!(
        covered_files,
        by_file.len() - allowed_files.len(),
        "every file of TYPES is covered except UNCOVERED_FILES"
    );
    let unprinted: Vec<&str> = PRINTED_SHAPES
        .iter()
        .filter(|shape| {
            !results.iter().any(|((file, name), r)| {
                r.printed == PRINT_SEEDS
                    && TYPES
                        .iter()
                        .any(|t| t.file == *file && t.xdr_name == *name && t.shapes.contains(shape))
            })
        })
        .copied()
        .collect();
    assert!(
        unprinted.is_empty(),
        "no type of these shapes was checked field by field: {unprinted:?}"
    );
    assert!(
        bounds[2] > 0 && bounds[0] >= bounds[1] && bounds[1] > 0,
        "lengths at and past their bounds were not reached: {bounds:?}"
    );
}
