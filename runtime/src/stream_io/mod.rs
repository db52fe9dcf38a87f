//! I/O over byte streams that both protocols share: ONC RPC's record
//! marking ([`crate::rpc::record`]) and libvirt's packets
//! ([`crate::libvirt::PacketReader`]) size their reads here, and with the
//! `tokio` feature both servers accept, batch their writes, time out
//! stalled messages and shut down through it.
//!
//! - read room (`no_std`): how much spare capacity a read is given, so an
//!   idle connection holds a few hundred bytes and a busy one reads 64 KiB
//!   at a time, and how a large message is read straight into its own
//!   buffer;
//! - `accept`: the accept loop, with a backoff while accepting fails
//!   (out of descriptors) and a connection limit;
//! - `batch`: messages that queue up while a write is in progress go out
//!   together in the next one;
//! - `stall`: the deadline of a message a peer started and did not finish;
//! - `shutdown`: the signal a server's listeners and connections stop on;
//! - `shared_error`: a connection's failure, handed to every call it ends.

use alloc::vec::Vec;

#[cfg(feature = "tokio")]
mod accept;
#[cfg(feature = "tokio")]
mod batch;
#[cfg(feature = "tokio")]
mod shared_error;
#[cfg(feature = "tokio")]
mod shutdown;
#[cfg(feature = "tokio")]
mod stall;

#[cfg(feature = "tokio")]
pub(crate) use accept::accept_until;
#[cfg(feature = "tokio")]
pub(crate) use batch::{BATCH_BYTES, append, flush, recycle, spare_buffer, write_batched};
#[cfg(feature = "tokio")]
pub(crate) use shared_error::SharedIoError;
#[cfg(feature = "tokio")]
pub(crate) use shutdown::Shutdown;
#[cfg(feature = "tokio")]
pub(crate) use stall::StallClock;

/// Room a read is given when no message is under way and the last read
/// did not fill its room: an idle connection holds only this, and most
/// calls and replies fit in it whole.
pub(crate) const IDLE_READ: usize = 512;

/// Most room a read is given while data keeps arriving (a large message,
/// or many messages back to back).
pub(crate) const BUSY_READ: usize = 64 * 1024;

/// Whether the last read into `buf` filled all the spare capacity it was
/// given, which it does only when more bytes were waiting than that.
pub(crate) fn last_read_filled(buf: &Vec<u8>) -> bool {
    buf.capacity() > 0 && buf.len() == buf.capacity()
}

/// Gives `buf`, the buffer that keeps a message read straight into it,
/// room for the next read: what the last read left, if it left any, else
/// `wanted` bytes but no more than 64 KiB or what `buf` already holds.
/// The room grows with the bytes that came, so a length a peer announces
/// is not allocated before its bytes arrive.
pub(crate) fn offer_room_up_to(buf: &mut Vec<u8>, wanted: usize) {
    if buf.len() == buf.capacity() {
        buf.reserve_exact(wanted.min(buf.len().max(BUSY_READ)));
    }
}

/// Leaves `buf` exactly `room` bytes of spare capacity: room left from a
/// larger message is given back, so an idle connection holds only `room`.
pub(crate) fn offer_exact_room(buf: &mut Vec<u8>, room: usize) {
    let wanted = buf.len() + room;
    if buf.capacity() > wanted {
        buf.shrink_to(wanted);
    } else {
        buf.reserve_exact(room);
    }
}
