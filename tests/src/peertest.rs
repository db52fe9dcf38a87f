//! `peertest.x`, the interface of the C rpcgen peer in
//! `../shared/peers/c-rpcgen/` (kept in `fixtures/peers/`), with a Rust server that answers exactly
//! as its C server does, for the RPC tests.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use xdrgen_runtime::XdrString;
use xdrgen_runtime::rpc::{CallContext, Fault};

/// The generated bindings.
#[xdrgen_macros::xdr_program(file = "../fixtures/peers/peertest.x")]
pub mod proto {}

pub use proto::peertest_prog::peertest_v1 as v1;
pub use proto::{PtColor, PtItem, PtPoint, PtShape, PtShapeDefault};

/// What the server saw, for tests to check.
#[derive(Debug, Default)]
pub struct Seen {
    /// NULL calls answered.
    pub nulls: AtomicU64,
    /// The uid of the last AUTH_SYS caller (`u64::MAX`: none yet).
    pub last_uid: AtomicU64,
}

/// PEERTEST v1 as the C server implements it. Two test hooks: PT_ADD
/// with `x == -1` sleeps `y` milliseconds first (slow calls, timeouts,
/// out-of-order replies) and with `x == -2` panics (a handler bug).
#[derive(Clone, Debug, Default)]
pub struct PeerTest {
    /// Shared counters.
    pub seen: Arc<Seen>,
}

impl v1::Service for PeerTest {
    async fn pt_null(&self, cx: &CallContext) -> Result<(), Fault> {
        self.seen.nulls.fetch_add(1, Ordering::Relaxed);
        if let Some(sys) = cx.auth_sys() {
            self.seen
                .last_uid
                .store(u64::from(sys.uid), Ordering::Relaxed);
        }
        Ok(())
    }

    async fn pt_add(&self, _cx: &CallContext, p: PtPoint) -> Result<i32, Fault> {
        match p.x {
            -1 => {
                let ms = u64::try_from(p.y).unwrap_or(0);
                tokio::time::sleep(Duration::from_millis(ms)).await;
                Ok(p.y)
            }
            -2 => panic!("test hook: a procedure that panics"),
            _ => Ok(p.x.wrapping_add(p.y)),
        }
    }

    async fn pt_echo(&self, _cx: &CallContext, s: XdrString) -> Result<XdrString, Fault> {
        Ok(s)
    }

    async fn pt_bump(&self, _cx: &CallContext, item: PtItem) -> Result<PtItem, Fault> {
        Ok(bump(item))
    }

    async fn pt_shape(&self, _cx: &CallContext, color: PtColor) -> Result<PtShape, Fault> {
        Ok(shape(color))
    }
}

/// PT_BUMP: for every node, id+1, weight*2, flag=!flag, nums+1, name
/// upper-cased (ASCII, as C `toupper` in the C locale).
pub fn bump(mut item: PtItem) -> PtItem {
    let mut node = &mut item;
    loop {
        let upper = node.name.as_bytes().to_ascii_uppercase();
        node.name = XdrString::from(upper);
        node.id = node.id.wrapping_add(1);
        node.weight *= 2.0;
        node.flag = !node.flag;
        for n in &mut node.nums {
            *n = n.wrapping_add(1);
        }
        match node.next {
            Some(ref mut next) => node = next,
            None => break,
        }
    }
    item
}

/// PT_SHAPE: RED is the point (3,4), GREEN the hyper -2^40, BLUE the void arm.
pub fn shape(color: PtColor) -> PtShape {
    match color {
        PtColor::PtRed => PtShape::PtRed(PtPoint { x: 3, y: 4 }),
        PtColor::PtGreen => PtShape::PtGreen(-(1 << 40)),
        PtColor::PtBlue => PtShape::Default(
            PtShapeDefault::new(PtColor::PtBlue).expect("PT_BLUE has no case of its own"),
        ),
    }
}

/// A two-node list like the C client sends.
pub fn sample_item() -> PtItem {
    PtItem {
        name: "head".into(),
        tag: *b"tag1",
        blob: vec![1, 2, 3],
        id: 41,
        weight: 1.5,
        flag: true,
        nums: vec![1, 2, 3],
        next: Some(Box::new(PtItem {
            name: "tail".into(),
            tag: *b"tag2",
            blob: Vec::new(),
            id: u64::MAX - 1,
            weight: -0.25,
            flag: false,
            nums: Vec::new(),
            next: None,
        })),
    }
}
