//! A client that makes one call at a time and blocks until its reply.

// A no_std crate: what the prelude would give is imported by hand.
use std::vec;
use std::vec::Vec;

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
#[cfg(unix)]
use std::os::unix::net::UnixStream;
use std::time::Instant;

use super::endpoint::{self, Endpoint, PMAP_PORT, Protocol};
use super::error::RpcError;
use super::message::CallHeader;
use super::names::ProgramNames;
use super::wire::{ClientConfig, MAX_DATAGRAM, decode_reply, encode_call, xid_of};
use crate::observe;
use crate::record::RecordReader;
use crate::{XdrDecode, XdrEncode};

enum Transport {
    Tcp(TcpStream),
    #[cfg(unix)]
    Unix(UnixStream),
    Udp(UdpSocket),
}

/// A blocking ONC RPC client over TCP, UDP or a Unix socket. Generated
/// `BlockingClient` stubs wrap one; [`call`](BlockingClient::call) is the
/// untyped form they use.
pub struct BlockingClient {
    transport: Transport,
    config: ClientConfig,
    next_xid: u32,
    records: RecordReader,
}

impl BlockingClient {
    /// Connects to `endpoint` over its transport. Over UDP, calls are
    /// retransmitted every [`ClientConfig::retransmit`] until the timeout.
    pub fn connect(endpoint: Endpoint, config: ClientConfig) -> io::Result<Self> {
        let transport = match endpoint {
            Endpoint::Tcp(addr) => {
                let stream = TcpStream::connect(addr)?;
                stream.set_nodelay(true)?;
                Transport::Tcp(stream)
            }
            Endpoint::Udp(addr) => {
                let socket = UdpSocket::bind(unspecified_like(addr))?;
                socket.connect(addr)?;
                Transport::Udp(socket)
            }
            #[cfg(unix)]
            Endpoint::Unix(path) => Transport::Unix(UnixStream::connect(path)?),
        };
        Ok(Self::with(transport, config))
    }

    /// Asks the port mapper on `host` (port 111, over `protocol`) where
    /// `program` `version` listens, then connects there over `protocol`,
    /// as C's `clnt_create` does.
    pub fn connect_rpcbind(
        host: &str,
        protocol: Protocol,
        program: u32,
        version: u32,
        config: ClientConfig,
    ) -> Result<Self, RpcError> {
        let rpcbind = endpoint::rpcbind_address(host, (host, PMAP_PORT).to_socket_addrs()?)?;
        let mut pmap = Self::connect(protocol.endpoint(rpcbind), config.clone())?;
        let port: u32 = pmap.call(
            endpoint::PMAP_PROGRAM,
            endpoint::PMAP_VERSION,
            endpoint::PMAPPROC_GETPORT,
            &endpoint::getport_args(program, version, protocol),
        )?;
        drop(pmap);
        let target = endpoint::registered_endpoint(rpcbind, port, program, version, protocol)?;
        Ok(Self::connect(target, config)?)
    }

    fn with(transport: Transport, config: ClientConfig) -> Self {
        let records = RecordReader::new(config.max_record);
        BlockingClient {
            transport,
            config,
            next_xid: super::client_xid_seed(),
            records,
        }
    }

    /// The client's settings; the credential can be changed between calls.
    pub fn config_mut(&mut self) -> &mut ClientConfig {
        &mut self.config
    }

    /// Calls a procedure and waits for its results.
    pub fn call<A: XdrEncode + ?Sized, R: XdrDecode>(
        &mut self,
        program: u32,
        version: u32,
        procedure: u32,
        args: &A,
    ) -> Result<R, RpcError> {
        self.call_named(&ProgramNames::UNKNOWN, program, version, procedure, args)
    }

    /// [`call`](BlockingClient::call), with the names its span gives the
    /// program and procedure (generated clients pass their version's
    /// `NAMES`).
    pub fn call_named<A: XdrEncode + ?Sized, R: XdrDecode>(
        &mut self,
        names: &'static ProgramNames,
        program: u32,
        version: u32,
        procedure: u32,
        args: &A,
    ) -> Result<R, RpcError> {
        let xid = self.next_xid;
        self.next_xid = self.next_xid.wrapping_add(1);
        let span = observe::onc_rpc_call(
            "client",
            names.program,
            program,
            version,
            names.procedure(procedure),
            procedure,
            xid,
            &"",
        );
        let header = CallHeader::new(xid, program, version, procedure);
        let result = span.in_scope(|| self.exchange(header, args));
        match &result {
            Ok(_) => span.outcome(&"SUCCESS"),
            Err(e) => span.outcome(e),
        }
        result
    }

    fn exchange<A: XdrEncode + ?Sized, R: XdrDecode>(
        &mut self,
        mut header: CallHeader,
        args: &A,
    ) -> Result<R, RpcError> {
        let xid = header.xid;
        header.credential.clone_from(&self.config.credential);
        let deadline = Instant::now() + self.config.timeout;
        let reply = match &mut self.transport {
            Transport::Udp(socket) => {
                let message = encode_call(&header, args, false)?;
                udp_exchange(socket, &message, xid, deadline, &self.config)?
            }
            Transport::Tcp(stream) => {
                let message = encode_call(&header, args, true)?;
                stream_exchange(stream, &mut self.records, &message, xid, deadline)?
            }
            #[cfg(unix)]
            Transport::Unix(stream) => {
                let message = encode_call(&header, args, true)?;
                stream_exchange(stream, &mut self.records, &message, xid, deadline)?
            }
        };
        decode_reply(&reply, &header, &self.config.limits)
    }
}

/// The wildcard address of `addr`'s family, to bind a UDP socket to.
pub(crate) fn unspecified_like(addr: SocketAddr) -> SocketAddr {
    if addr.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    }
}

/// What a stream needs for a deadline on its reads.
trait TimedStream: Read + Write {
    fn set_timeout(&self, timeout: Option<std::time::Duration>) -> io::Result<()>;
}

impl TimedStream for TcpStream {
    fn set_timeout(&self, timeout: Option<std::time::Duration>) -> io::Result<()> {
        self.set_read_timeout(timeout)
    }
}

#[cfg(unix)]
impl TimedStream for UnixStream {
    fn set_timeout(&self, timeout: Option<std::time::Duration>) -> io::Result<()> {
        self.set_read_timeout(timeout)
    }
}

fn remaining(deadline: Instant) -> Result<std::time::Duration, RpcError> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        Err(RpcError::Timeout)
    } else {
        Ok(left)
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

fn stream_exchange(
    stream: &mut impl TimedStream,
    records: &mut RecordReader,
    message: &[u8],
    xid: u32,
    deadline: Instant,
) -> Result<Vec<u8>, RpcError> {
    stream.write_all(message)?;
    let mut buf = vec![0; 64 * 1024];
    loop {
        while let Some(record) = records.next_record()? {
            // Replies to calls that timed out earlier are skipped.
            if xid_of(&record) == Some(xid) {
                return Ok(record);
            }
        }
        stream.set_timeout(Some(remaining(deadline)?))?;
        match stream.read(&mut buf) {
            Ok(0) => return Err(RpcError::ConnectionClosed),
            Ok(n) => records.push(&buf[..n]),
            Err(e) if is_timeout(&e) => return Err(RpcError::Timeout),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(RpcError::Io(e)),
        }
    }
}

fn udp_exchange(
    socket: &UdpSocket,
    message: &[u8],
    xid: u32,
    deadline: Instant,
    config: &ClientConfig,
) -> Result<Vec<u8>, RpcError> {
    if message.len() > MAX_DATAGRAM {
        return Err(RpcError::Io(io::Error::new(
            io::ErrorKind::InvalidInput,
            "call does not fit a UDP datagram",
        )));
    }
    let mut buf = vec![0; MAX_DATAGRAM];
    loop {
        socket.send(message)?;
        let resend_at = (Instant::now() + config.retransmit).min(deadline);
        loop {
            let left = resend_at.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            socket.set_read_timeout(Some(left))?;
            match socket.recv(&mut buf) {
                Ok(n) if xid_of(&buf[..n]) == Some(xid) => return Ok(buf[..n].to_vec()),
                Ok(_) => {}
                Err(e) if is_timeout(&e) => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(RpcError::Io(e)),
            }
        }
        remaining(deadline)?;
    }
}
