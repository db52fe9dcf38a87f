//! What the RPC runtime reports: the span of every call and an event for
//! every failure it handles on its own (a connection it ends, a call it
//! refuses, bytes it skips). All of it is here, so the `tracing` feature
//! is one `cfg` per function: without it each function is empty and
//! [`CallSpan`] has no fields, and nothing is left at run time.
//!
//! ONC RPC spans carry OpenTelemetry's semantic-convention names
//! (`rpc.system = "onc_rpc"`, `onc_rpc.program.name`, `onc_rpc.version`,
//! `onc_rpc.procedure.name`, `onc_rpc.procedure.number`); libvirt spans
//! the same shape under `libvirt.*`. Call spans are at DEBUG level, so a
//! subscriber listening at INFO pays nothing per call; connection-level
//! failures are WARN, calls refused for what the caller asked (unknown
//! program, version or procedure) INFO.

#![cfg_attr(not(feature = "tracing"), allow(unused_variables, clippy::unused_self))]
// The blocking client (feature `std`) reports through a few of these.
#![cfg_attr(not(feature = "tokio"), allow(dead_code))]

use core::fmt;
use core::future::Future;
use std::io;
use std::time::{Duration, Instant};

use crate::DecodeError;

/// The span of one call, or nothing without the `tracing` feature.
#[derive(Clone)]
pub(crate) struct CallSpan {
    #[cfg(feature = "tracing")]
    span: tracing::Span,
}

impl CallSpan {
    /// Records how the call ended (`SUCCESS`, a status, an error).
    pub(crate) fn outcome(&self, outcome: &dyn fmt::Display) {
        #[cfg(feature = "tracing")]
        self.span
            .record("outcome", tracing::field::display(outcome));
    }

    /// Records a call's result: `SUCCESS`, or the error.
    pub(crate) fn result<T, E: fmt::Display>(&self, result: &Result<T, E>) {
        match result {
            Ok(_) => self.outcome(&"SUCCESS"),
            Err(e) => self.outcome(e),
        }
    }

    /// Runs `future` inside the span.
    pub(crate) fn instrument<F: Future>(self, future: F) -> impl Future<Output = F::Output> {
        #[cfg(feature = "tracing")]
        return tracing::Instrument::instrument(future, self.span);
        #[cfg(not(feature = "tracing"))]
        future
    }

    /// Runs `f` inside the span (the blocking client).
    pub(crate) fn in_scope<T>(&self, f: impl FnOnce() -> T) -> T {
        #[cfg(feature = "tracing")]
        return self.span.in_scope(f);
        #[cfg(not(feature = "tracing"))]
        f()
    }
}

/// An ONC RPC call's span. `side` is `client` or `server`; `peer` is
/// the other end: where the server's call came from, the server the
/// client called.
#[allow(clippy::too_many_arguments)]
pub(crate) fn onc_rpc_call(
    side: &'static str,
    program_name: &str,
    program: u32,
    version: u32,
    procedure_name: Option<&str>,
    procedure: u32,
    xid: u32,
    peer: &dyn fmt::Display,
) -> CallSpan {
    CallSpan {
        #[cfg(feature = "tracing")]
        span: tracing::debug_span!(
            "onc_rpc.call",
            otel.kind = side,
            rpc.system = "onc_rpc",
            onc_rpc.program.name = program_name,
            onc_rpc.program.number = program,
            onc_rpc.version = version,
            onc_rpc.procedure.name = procedure_name.unwrap_or(""),
            onc_rpc.procedure.number = procedure,
            onc_rpc.xid = xid,
            network.peer.address = %peer,
            outcome = tracing::field::Empty,
        ),
    }
}

/// An ONC RPC client call's span, named from the generated `NAMES`.
pub(crate) fn onc_rpc_client_call(
    names: &crate::rpc::ProgramNames,
    program: u32,
    version: u32,
    procedure: u32,
    xid: u32,
    peer: &str,
) -> CallSpan {
    onc_rpc_call(
        "client",
        names.program,
        program,
        version,
        names.procedure(procedure),
        procedure,
        xid,
        &peer,
    )
}

/// A libvirt call's span (`side` is `client` or `server`; `session` the
/// server's connection number, 0 on the client).
#[allow(clippy::too_many_arguments)]
pub(crate) fn libvirt_call(
    side: &'static str,
    program_name: &str,
    program: u32,
    version: u32,
    procedure_name: Option<&str>,
    procedure: i32,
    serial: u32,
    session: u64,
) -> CallSpan {
    CallSpan {
        #[cfg(feature = "tracing")]
        span: tracing::debug_span!(
            "libvirt.call",
            otel.kind = side,
            rpc.system = "libvirt",
            libvirt.program.name = program_name,
            libvirt.program = program,
            libvirt.version = version,
            libvirt.procedure.name = procedure_name.unwrap_or(""),
            libvirt.procedure = procedure,
            libvirt.serial = serial,
            libvirt.type = "call",
            libvirt.session = session,
            libvirt.status = tracing::field::Empty,
            outcome = tracing::field::Empty,
        ),
    }
}

impl CallSpan {
    /// A libvirt reply's status (`ok` or `error`) and the outcome.
    pub(crate) fn libvirt_status(&self, ok: bool, outcome: &dyn fmt::Display) {
        #[cfg(feature = "tracing")]
        self.span
            .record("libvirt.status", if ok { "ok" } else { "error" });
        self.outcome(outcome);
    }
}

/// Which side of a connection an event is about.
#[derive(Clone, Copy)]
pub(crate) enum Side {
    OncClient,
    OncServer,
    LibvirtClient,
    LibvirtServer,
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::OncClient => "ONC RPC client",
            Side::OncServer => "ONC RPC server",
            Side::LibvirtClient => "libvirt client",
            Side::LibvirtServer => "libvirt server",
        })
    }
}

/// Reading the connection failed; it is closed.
pub(crate) fn read_failed(side: Side, peer: &dyn fmt::Display, error: &io::Error) {
    #[cfg(feature = "tracing")]
    tracing::warn!(%side, %peer, %error, "{side}: reading the connection failed; closing it");
}

/// Writing the connection failed; it is closed.
pub(crate) fn write_failed(side: Side, peer: &dyn fmt::Display, error: &io::Error) {
    #[cfg(feature = "tracing")]
    tracing::warn!(%side, %peer, %error, "{side}: writing the connection failed; closing it");
}

/// The peer broke the framing (a record or packet over the limit, a length
/// word out of bounds); the stream cannot be resynchronised, so it is
/// closed.
pub(crate) fn bad_framing(side: Side, peer: &dyn fmt::Display, error: &dyn fmt::Display) {
    #[cfg(feature = "tracing")]
    tracing::warn!(%side, %peer, %error, "{side}: bad framing from the peer; closing the connection");
}

/// A connection sent part of a message and then nothing more for
/// `timeout`; it is closed (a slowloris client holds a slot otherwise).
pub(crate) fn stalled(side: Side, peer: &dyn fmt::Display, timeout: Duration) {
    #[cfg(feature = "tracing")]
    tracing::warn!(
        %side,
        %peer,
        timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
        "{side}: a message was started and not finished within {timeout:?}; closing the connection"
    );
}

/// A libvirt packet whose header has an unknown type or status: skipped.
pub(crate) fn libvirt_bad_header(side: Side, peer: &dyn fmt::Display, error: &dyn fmt::Display) {
    #[cfg(feature = "tracing")]
    tracing::warn!(%side, %peer, %error, "{side}: packet header not understood; skipped the packet");
}

/// A call record whose header does not decode; dropped (or answered
/// AUTH_BADCRED when only its credential is malformed).
pub(crate) fn bad_call_header(peer: &dyn fmt::Display, error: &DecodeError) {
    #[cfg(feature = "tracing")]
    tracing::warn!(%peer, %error, "ONC RPC server: call header does not decode");
}

/// A call for a program the server does not answer, or for a version it
/// does not have (`versions` is the range it has, if any).
pub(crate) fn unknown_program(
    side: Side,
    peer: &dyn fmt::Display,
    serial: u32,
    program: u32,
    version: u32,
    versions: Option<(u32, u32)>,
) {
    #[cfg(feature = "tracing")]
    match versions {
        None => {
            tracing::info!(
                %side,
                %peer,
                serial,
                program,
                version,
                "{side}: call to unknown program {program}"
            );
        }
        Some((low, high)) => {
            tracing::info!(
                %side,
                %peer,
                serial,
                program,
                version,
                low,
                high,
                "{side}: call to program {program} version {version}; versions {low} to {high} are served"
            );
        }
    }
}

/// A call to a procedure the program does not have.
pub(crate) fn unknown_procedure(
    side: Side,
    peer: &dyn fmt::Display,
    serial: u32,
    program: u32,
    procedure: i64,
) {
    #[cfg(feature = "tracing")]
    tracing::info!(%side, %peer, serial, program, procedure, "{side}: call to unknown procedure {procedure} of program {program}");
}

/// A call's arguments did not decode; the caller was told (GARBAGE_ARGS,
/// or libvirt's VIR_ERR_RPC) without the reason, which is here with its
/// byte offset.
pub(crate) fn arguments_do_not_decode(
    side: Side,
    serial: u32,
    program: u32,
    procedure: i64,
    error: &DecodeError,
) {
    #[cfg(feature = "tracing")]
    tracing::warn!(
        %side, serial, program, procedure, %error,
        "{side}: arguments do not decode; answered as undecodable"
    );
}

/// Bytes after a call's arguments or a reply's results that their type
/// does not account for; skipped.
pub(crate) fn trailing_bytes(
    which: &'static str,
    xid: u32,
    program: u32,
    version: u32,
    procedure: u32,
    count: usize,
) {
    #[cfg(feature = "tracing")]
    tracing::warn!(
        xid,
        program,
        version,
        procedure,
        trailing_bytes = count,
        "RPC {which} followed by {count} bytes their type does not account for; skipped them"
    );
}

/// A procedure panicked; its caller is answered with a system error.
pub(crate) fn procedure_panicked(side: Side, serial: u32) {
    #[cfg(feature = "tracing")]
    tracing::error!(%side, serial, "{side}: the procedure panicked; answered with a system error");
}

/// A reply too large for its transport; the caller gets an error instead
/// (libvirt) or nothing (ONC RPC over UDP: the datagram limit).
pub(crate) fn reply_too_large(side: Side, serial: u32, len: usize) {
    #[cfg(feature = "tracing")]
    tracing::warn!(%side, serial, reply_bytes = len, "{side}: the reply does not fit the transport; an error is sent in its place");
}

/// A UDP reply larger than a datagram: the caller is answered SYSTEM_ERR
/// instead, as rpcgen's servers do when `svc_sendreply` fails.
pub(crate) fn datagram_reply_too_large(peer: &dyn fmt::Display, xid: u32, len: usize, max: usize) {
    #[cfg(feature = "tracing")]
    tracing::warn!(%peer, xid, reply_bytes = len, max_bytes = max, "ONC RPC server: the reply does not fit a UDP datagram; answered with a system error");
}

/// A UDP reply that filled the client's receive buffer; its call fails.
pub(crate) fn reply_truncated(side: Side, xid: u32, len: usize) {
    #[cfg(feature = "tracing")]
    tracing::warn!(%side, xid, received_bytes = len, "{side}: a UDP reply filled the receive buffer and may be truncated; the call fails");
}

/// A receive error on a UDP server socket; serving goes on.
pub(crate) fn datagram_receive_failed(error: &io::Error) {
    #[cfg(feature = "tracing")]
    tracing::debug!(%error, "ONC RPC server: receiving a datagram failed; serving on");
}

/// Datagrams dropped because `max_concurrency` calls were running
/// (`count` since the last report); their clients retransmit.
pub(crate) fn datagrams_dropped(max_concurrency: usize, count: u64) {
    #[cfg(feature = "tracing")]
    tracing::warn!(
        max_concurrency,
        count,
        "ONC RPC server: {max_concurrency} calls running; dropped {count} datagrams since last reported"
    );
}

/// A libvirt event subscriber fell behind and missed `lost` events
/// (`total` so far).
pub(crate) fn libvirt_events_lost(program: u32, lost: u64, total: u64) {
    #[cfg(feature = "tracing")]
    tracing::warn!(
        program,
        lost,
        total,
        "libvirt client: an event subscriber fell behind and missed {lost} events"
    );
}

/// A reply came for a serial no call waits for: most often a call whose
/// future was dropped (cancelled) or timed out. It is dropped.
pub(crate) fn libvirt_reply_discarded(serial: u32, program: u32, procedure: i32) {
    #[cfg(feature = "tracing")]
    tracing::debug!(
        libvirt.serial = serial,
        libvirt.program = program,
        libvirt.procedure = procedure,
        "libvirt client: a reply no call waits for (cancelled or timed out); dropped"
    );
}

/// Keepalive saw nothing from the daemon for `count` intervals.
pub(crate) fn libvirt_keepalive_gave_up(count: u32, interval: Duration) {
    #[cfg(feature = "tracing")]
    tracing::warn!(
        count,
        interval_ms = u64::try_from(interval.as_millis()).unwrap_or(u64::MAX),
        "libvirt client: no answer to {count} keepalive intervals; closing the connection"
    );
}

/// A TLS handshake (or libvirt's confirmation byte after it) failed; the
/// connection is closed.
#[cfg(feature = "tls")]
pub(crate) fn tls_handshake_failed(peer: &dyn fmt::Display, error: &dyn fmt::Display) {
    #[cfg(feature = "tracing")]
    tracing::warn!(%peer, %error, "libvirt server: TLS handshake failed; closing the connection");
}

/// A libvirt client over `max_clients` or `max_anonymous_clients`
/// (`reason`), closed as soon as it connected (`count` since the last
/// report).
pub(crate) fn libvirt_client_refused(
    peer: &dyn fmt::Display,
    reason: &dyn fmt::Display,
    count: u64,
) {
    #[cfg(feature = "tracing")]
    tracing::warn!(
        %peer,
        %reason,
        count,
        "libvirt server: {reason}; closed {count} more clients since last reported"
    );
}

/// A call from a client that has not authenticated, to a procedure that
/// needs it: answered libvirt's "authentication required".
pub(crate) fn libvirt_call_needs_auth(
    peer: &dyn fmt::Display,
    serial: u32,
    program: u32,
    procedure: i32,
) {
    #[cfg(feature = "tracing")]
    tracing::info!(
        %peer,
        serial,
        program,
        procedure,
        "libvirt server: call to procedure {procedure} before the client authenticated; refused"
    );
}

/// A libvirt client's SASL exchange failed (it is told "authentication
/// failed" and may start again).
#[cfg(feature = "sasl")]
pub(crate) fn libvirt_sasl_failed(
    peer: &dyn fmt::Display,
    procedure: i32,
    cause: &dyn fmt::Display,
) {
    #[cfg(feature = "tracing")]
    tracing::warn!(%peer, procedure, %cause, "libvirt server: SASL authentication failed: {cause}");
}

/// A libvirt client authenticated (its TLS certificate, or an exchange
/// such as SASL).
pub(crate) fn libvirt_client_authenticated(peer: &dyn fmt::Display, identity: &str) {
    #[cfg(feature = "tracing")]
    tracing::info!(%peer, identity, "libvirt server: client authenticated as {identity}");
}

/// A TLS client certificate whose subject could not be read: it
/// authenticates nobody.
#[cfg(feature = "tls")]
pub(crate) fn libvirt_certificate_subject_unreadable(
    peer: &dyn fmt::Display,
    error: &dyn fmt::Display,
) {
    #[cfg(feature = "tracing")]
    tracing::warn!(%peer, %error, "libvirt server: the client certificate's subject does not read; the client is not authenticated by it");
}

/// `no_verify=1`: the daemon's certificate failed the checks and is used
/// anyway, as libvirt does at the user's request.
#[cfg(feature = "tls")]
pub(crate) fn tls_certificate_ignored(server: &dyn fmt::Display, error: &dyn fmt::Display) {
    #[cfg(feature = "tracing")]
    tracing::warn!(
        %server,
        %error,
        "libvirt client: the daemon's certificate failed the checks; used anyway (no_verify)"
    );
}

/// Reports something that can repeat thousands of times a second (accept
/// failures, refused connections) at most once per interval, with the
/// number of times it happened since it was last reported.
pub(crate) struct RateLimited {
    every: Duration,
    last: Option<Instant>,
    unreported: u64,
}

impl RateLimited {
    pub(crate) fn new(every: Duration) -> Self {
        RateLimited {
            every,
            last: None,
            unreported: 0,
        }
    }

    /// Counts one occurrence; `Some(n)` when it is time to report the `n`
    /// occurrences (this one included) not reported yet.
    pub(crate) fn tick(&mut self) -> Option<u64> {
        self.unreported += 1;
        let now = Instant::now();
        if self
            .last
            .is_some_and(|last| now.duration_since(last) < self.every)
        {
            return None;
        }
        self.last = Some(now);
        Some(core::mem::take(&mut self.unreported))
    }
}

/// Accepting a connection failed (`count` times since the last report);
/// the server waits `backoff` before trying again.
pub(crate) fn accept_failed(error: &io::Error, count: u64, backoff: Duration) {
    #[cfg(feature = "tracing")]
    tracing::warn!(
        %error,
        count,
        backoff_ms = u64::try_from(backoff.as_millis()).unwrap_or(u64::MAX),
        "server: accepting a connection failed ({count} times since last reported); retrying in {backoff:?}"
    );
}

/// A connection over `max_connections` was accepted and closed at once
/// (`count` since the last report).
pub(crate) fn connection_refused(max_connections: usize, count: u64) {
    #[cfg(feature = "tracing")]
    tracing::warn!(
        max_connections,
        count,
        "server: {max_connections} connections open; closed {count} more since last reported"
    );
}
