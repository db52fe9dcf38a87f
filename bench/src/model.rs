//! The benchmark values, built by deterministic rules that `c/driver.c`
//! repeats in C (keep the two in step). BASELINE.md fixes the shapes and
//! the encoded sizes; these rules reproduce all five sizes exactly:
//!
//! * `small(i)`: `uuid[j] = (31 i + 7 j) mod 256`; `name` has
//!   `8 + i mod 24` bytes, `name[j] = 'a' + (i + j) mod 26`;
//!   `id = i - 500`; `flags = i * 2654435761 (mod 2^32)`;
//!   `mem_kb = (i - 500) * 1000003`;
//!   `max_mem_kb = i * 0x9E3779B97F4A7C15 (mod 2^64)`; `active = i even`;
//!   `state = i mod 7`.
//! * small workload: `small(18)` (a 26-byte name): 80 bytes.
//! * list workload: `small(0..1000)`: 72,940 bytes.
//! * linked workload: entries `0..1000`, `fileid = 0x10000000 + 3 i`,
//!   `name` of `4 + i mod 20` bytes by the same letter rule,
//!   `cookie = (i + 1) * 512`, `eof = true`: 39,008 bytes.
//! * bulk workload: 1 MiB, `data[j] = (7 j + 3) mod 256`: 1,048,580 bytes.
//! * union workload: 1000 values, item `i` takes arm `i mod 8` in
//!   declaration order: int `i - 500`, uint `i * 2654435761`, hyper
//!   `(i - 500) * 1000000007`, uhyper `i * 0x9E3779B97F4A7C15`, double
//!   `i / 2 + 0.25`, bool `(i / 8) even`, string `"typed_param{i}"`, void:
//!   11,000 bytes.

use crate::generated as g;
use crate::hand as h;

/// Items in the list, linked and union workloads.
pub const N: usize = 1000;
/// Bytes of opaque data in the bulk workload.
pub const BULK_LEN: usize = 1 << 20;
/// The list index the small workload uses.
pub const SMALL_INDEX: usize = 18;

fn name(i: usize, len: usize) -> String {
    (0..len)
        .map(|j| char::from(b'a' + u8::try_from((i + j) % 26).unwrap()))
        .collect()
}

// The rules are defined modulo 2^32 / 2^64, exactly like the C side.
#[allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]
fn small_at(i: usize) -> h::Small {
    let mut uuid = [0; 16];
    for (j, b) in uuid.iter_mut().enumerate() {
        *b = (i * 31 + j * 7) as u8;
    }
    h::Small {
        uuid,
        name: name(i, 8 + i % 24),
        id: i as i32 - 500,
        flags: (i as u32).wrapping_mul(2_654_435_761),
        mem_kb: (i as i64 - 500) * 1_000_003,
        max_mem_kb: (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
        active: i % 2 == 0,
        state: h::DomState::from_i32((i % 7) as i32).unwrap(),
    }
}

/// The small workload.
pub fn small() -> h::Small {
    small_at(SMALL_INDEX)
}

/// The list workload.
pub fn list() -> h::SmallList {
    h::SmallList {
        items: (0..N).map(small_at).collect(),
    }
}

/// The linked workload.
pub fn linked() -> h::DirList {
    let mut entries = None;
    for i in (0..N).rev() {
        entries = Some(Box::new(h::Entry {
            fileid: 0x1000_0000 + 3 * i as u64,
            name: name(i, 4 + i % 20),
            cookie: (i as u64 + 1) * 512,
            next: entries,
        }));
    }
    h::DirList { entries, eof: true }
}

/// The bulk workload.
#[allow(clippy::cast_possible_truncation)]
pub fn bulk() -> h::Bulk {
    h::Bulk {
        data: (0..BULK_LEN).map(|j| (j * 7 + 3) as u8).collect(),
    }
}

/// The union workload.
#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_precision_loss
)]
pub fn union() -> h::ParamList {
    let items = (0..N)
        .map(|i| match i % 8 {
            0 => h::ParamValue::Int(i as i32 - 500),
            1 => h::ParamValue::UInt((i as u32).wrapping_mul(2_654_435_761)),
            2 => h::ParamValue::LLong((i as i64 - 500) * 1_000_000_007),
            3 => h::ParamValue::ULLong((i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)),
            4 => h::ParamValue::Double(i as f64 * 0.5 + 0.25),
            5 => h::ParamValue::Boolean((i / 8) % 2 == 0),
            6 => h::ParamValue::Str(format!("typed_param{i}")),
            _ => h::ParamValue::None,
        })
        .collect();
    h::ParamList { items }
}

// ------------------------------------------ the same values, generated types

/// A hand-model value as the generated type.
pub trait ToGenerated {
    /// The generated type.
    type Out;
    /// Converts.
    fn to_generated(&self) -> Self::Out;
}

impl ToGenerated for h::Small {
    type Out = g::Small;
    fn to_generated(&self) -> g::Small {
        g::Small {
            uuid: self.uuid,
            name: self.name.as_str().into(),
            id: self.id,
            flags: self.flags,
            mem_kb: self.mem_kb,
            max_mem_kb: self.max_mem_kb,
            active: self.active,
            state: g::DomState::try_from(self.state as i32).unwrap(),
        }
    }
}

impl ToGenerated for h::SmallList {
    type Out = g::SmallList;
    fn to_generated(&self) -> g::SmallList {
        g::SmallList {
            items: self.items.iter().map(ToGenerated::to_generated).collect(),
        }
    }
}

impl ToGenerated for h::DirList {
    type Out = g::Dirlist;
    fn to_generated(&self) -> g::Dirlist {
        let mut nodes = Vec::new();
        let mut cur = self.entries.as_deref();
        while let Some(e) = cur {
            nodes.push(e);
            cur = e.next.as_deref();
        }
        let mut next: Option<Box<g::Entry>> = None;
        for e in nodes.into_iter().rev() {
            next = Some(Box::new(g::Entry {
                fileid: e.fileid,
                name: e.name.as_str().into(),
                cookie: e.cookie,
                nextentry: next,
            }));
        }
        g::Dirlist {
            // `entry *entries` is an `Option<Entry>` at the top.
            entries: next.map(|b| {
                let mut b = b;
                g::Entry {
                    fileid: b.fileid,
                    name: std::mem::take(&mut b.name),
                    cookie: b.cookie,
                    nextentry: b.nextentry.take(),
                }
            }),
            eof: self.eof,
        }
    }
}

impl ToGenerated for h::Bulk {
    type Out = g::Bulk;
    fn to_generated(&self) -> g::Bulk {
        g::Bulk {
            data: self.data.clone(),
        }
    }
}

impl ToGenerated for h::ParamList {
    type Out = g::ParamList;
    fn to_generated(&self) -> g::ParamList {
        let items = self
            .items
            .iter()
            .map(|v| match v {
                h::ParamValue::Int(x) => g::ParamValue::ParamInt(*x),
                h::ParamValue::UInt(x) => g::ParamValue::ParamUint(*x),
                h::ParamValue::LLong(x) => g::ParamValue::ParamLlong(*x),
                h::ParamValue::ULLong(x) => g::ParamValue::ParamUllong(*x),
                h::ParamValue::Double(x) => g::ParamValue::ParamDouble(*x),
                h::ParamValue::Boolean(x) => g::ParamValue::ParamBoolean(*x),
                h::ParamValue::Str(s) => g::ParamValue::ParamString(s.as_str().into()),
                h::ParamValue::None => g::ParamValue::ParamNone,
            })
            .collect();
        g::ParamList { items }
    }
}
