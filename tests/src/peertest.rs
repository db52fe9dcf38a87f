//! `peertest.x`, the interface of the C rpcgen peer in
//! `../shared/peers/c-rpcgen/` (kept in `fixtures/peers/`), with a Rust server that answers exactly
//! as its C server does, for the RPC tests.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::watch;
use xdrgen_runtime::XdrString;
use xdrgen_runtime::rpc::{CallContext, Fault, Peer};

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
    /// Every NULL call answered: where it came from and its xid (a UDP
    /// retransmission shows up as a repeated pair).
    pub null_calls: Mutex<Vec<(Peer, u32)>>,
    /// The uid of the last AUTH_SYS caller (`u64::MAX`: none yet).
    pub last_uid: AtomicU64,
    /// PT_ADD calls held at the server (the `x == -3` hook).
    pub held: HeldCalls,
}

impl Seen {
    /// The NULL calls answered, each (peer, xid) once.
    pub fn distinct_null_calls(&self) -> Vec<(Peer, u32)> {
        let calls = self
            .null_calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut distinct = Vec::new();
        for call in calls.iter() {
            if !distinct.contains(call) {
                distinct.push(call.clone());
            }
        }
        distinct
    }
}

/// Calls that wait at the server until the test releases them by key: a
/// test sees exactly which calls are executing at once and decides the
/// order they finish in, without sleeping.
#[derive(Debug)]
pub struct HeldCalls(watch::Sender<Holds>);

/// The state of [`HeldCalls`].
#[derive(Clone, Debug, Default)]
pub struct Holds {
    /// Keys of the calls executing (waiting for their release) now.
    pub waiting: BTreeSet<i32>,
    /// Keys released so far (a key released before its call arrives lets
    /// it through at once).
    pub released: BTreeSet<i32>,
    /// The most calls ever waiting at once.
    pub peak: usize,
}

impl Default for HeldCalls {
    fn default() -> Self {
        HeldCalls(watch::Sender::new(Holds::default()))
    }
}

impl HeldCalls {
    /// Holds the calling procedure until `key` is released.
    async fn hold(&self, key: i32) {
        self.0.send_modify(|h| {
            h.waiting.insert(key);
            h.peak = h.peak.max(h.waiting.len());
        });
        let mut changes = self.0.subscribe();
        // The sender lives as long as `self`: this cannot fail.
        let _ = changes.wait_for(|h| h.released.contains(&key)).await;
        self.0.send_modify(|h| {
            h.waiting.remove(&key);
        });
    }

    /// Lets the call holding `key` (now or later) finish.
    pub fn release(&self, key: i32) {
        self.0.send_modify(|h| {
            h.released.insert(key);
        });
    }

    /// Waits until `ready` holds for the state, at most 10 s (then panics
    /// with the state), and returns that state.
    pub async fn wait_until(&self, what: &str, ready: impl FnMut(&Holds) -> bool) -> Holds {
        let mut changes = self.0.subscribe();
        let Ok(state) =
            tokio::time::timeout(Duration::from_secs(10), changes.wait_for(ready)).await
        else {
            panic!(
                "not within 10 s: {what}; held calls: {:?}",
                *self.0.borrow()
            );
        };
        state.expect("the sender lives in self").clone()
    }

    /// The state now.
    pub fn now(&self) -> Holds {
        self.0.borrow().clone()
    }
}

/// PEERTEST v1 as the C server implements it. Three test hooks: PT_ADD
/// with `x == -1` sleeps `y` milliseconds first (timeouts), with
/// `x == -2` panics (a handler bug), and with `x == -3` waits until the
/// test releases key `y` (see [`HeldCalls`]), then answers `y`.
#[derive(Clone, Debug, Default)]
pub struct PeerTest {
    /// Shared counters.
    pub seen: Arc<Seen>,
}

impl v1::Service for PeerTest {
    async fn pt_null(&self, cx: &CallContext) -> Result<(), Fault> {
        self.seen.nulls.fetch_add(1, Ordering::Relaxed);
        self.seen
            .null_calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((cx.peer().clone(), cx.xid()));
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
            -3 => {
                self.seen.held.hold(p.y).await;
                Ok(p.y)
            }
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
