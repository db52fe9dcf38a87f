//! A client that makes one call at a time and blocks until its reply.

// A no_std crate: what the prelude would give is imported by hand.
use std::string::String;
use std::vec;
use std::vec::Vec;

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
#[cfg(unix)]
use std::os::unix::net::UnixStream;
use std::time::Instant;

use super::endpoint::{self, Endpoint, PMAP_PORT, Protocol, SourcePort};
use super::error::RpcError;
use super::message::CallHeader;
use super::names::ProgramNames;
use super::record::RecordReader;
use super::wire::{
    ClientConfig, DATAGRAM_RECEIVE_BUFFER, check_datagram_call, decode_reply, encode_call, xid_of,
};
use crate::observe;
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
    /// The server, as call spans name it.
    peer: String,
    next_xid: u32,
    records: RecordReader,
}

impl BlockingClient {
    /// Connects to `endpoint` over its transport. Over UDP, calls are
    /// retransmitted every [`ClientConfig::retransmit`] until the timeout.
    pub fn connect(endpoint: Endpoint, config: ClientConfig) -> io::Result<Self> {
        Self::connect_from(endpoint, SourcePort::Any, config)
    }

    /// [`connect`](BlockingClient::connect), with the local socket bound
    /// to `source` first ([`SourcePort::Reserved`]: a port below 1024, as
    /// root; a clear `PermissionDenied` error otherwise). A Unix socket has
    /// no port and ignores it.
    pub fn connect_from(
        endpoint: Endpoint,
        source: SourcePort,
        config: ClientConfig,
    ) -> io::Result<Self> {
        let peer = std::format!("{endpoint}");
        let transport = match endpoint {
            Endpoint::Tcp(addr) => {
                let stream = match source {
                    SourcePort::Any => TcpStream::connect(addr)?,
                    SourcePort::Reserved => connect_tcp_reserved(addr)?,
                };
                stream.set_nodelay(true)?;
                Transport::Tcp(stream)
            }
            Endpoint::Udp(addr) => {
                let local = unspecified_like(addr);
                let socket = match source {
                    SourcePort::Any => UdpSocket::bind(local)?,
                    SourcePort::Reserved => endpoint::bind_reserved(local.ip(), UdpSocket::bind)?,
                };
                socket.connect(addr)?;
                Transport::Udp(socket)
            }
            #[cfg(unix)]
            Endpoint::Unix(path) => Transport::Unix(UnixStream::connect(path)?),
        };
        Ok(Self::with(transport, config, peer))
    }

    /// Asks rpcbind on `host` (port 111, over `protocol`) where `program`
    /// `version` listens, then connects there over `protocol`, as C's
    /// `clnt_create` does: version 4 GETADDR for the netid of `protocol`
    /// in the family of rpcbind's address, or version 2 GETPORT from a
    /// port mapper that only speaks that.
    pub fn connect_rpcbind(
        host: &str,
        protocol: Protocol,
        program: u32,
        version: u32,
        config: ClientConfig,
    ) -> Result<Self, RpcError> {
        Self::connect_rpcbind_from(host, protocol, program, version, SourcePort::Any, config)
    }

    /// [`connect_rpcbind`](BlockingClient::connect_rpcbind), with the
    /// connection to the program bound to `source` (rpcbind itself is
    /// asked from any port).
    pub fn connect_rpcbind_from(
        host: &str,
        protocol: Protocol,
        program: u32,
        version: u32,
        source: SourcePort,
        config: ClientConfig,
    ) -> Result<Self, RpcError> {
        let rpcbind = endpoint::rpcbind_address(host, (host, PMAP_PORT).to_socket_addrs()?)?;
        let mut client = Self::connect(protocol.endpoint(rpcbind), config.clone())?;
        let netid = endpoint::wanted_netid(rpcbind, protocol);
        let answer: Result<crate::XdrString, _> = client.call(
            endpoint::PMAP_PROGRAM,
            endpoint::RPCB_VERSION_4,
            endpoint::RPCBPROC_GETADDR,
            &endpoint::getaddr_args(program, version, netid),
        );
        let target = match answer {
            Ok(address) => {
                endpoint::getaddr_endpoint(rpcbind, netid, &address, program, version, protocol)?
            }
            Err(e) if endpoint::is_old_port_mapper(&e) => {
                let port: u32 = client.call(
                    endpoint::PMAP_PROGRAM,
                    endpoint::PMAP_VERSION,
                    endpoint::PMAPPROC_GETPORT,
                    &endpoint::getport_args(program, version, protocol),
                )?;
                endpoint::registered_endpoint(rpcbind, port, program, version, protocol)?
            }
            Err(e) => return Err(e),
        };
        drop(client);
        Ok(Self::connect_from(target, source, config)?)
    }

    fn with(transport: Transport, config: ClientConfig, peer: String) -> Self {
        let records = RecordReader::new(config.max_record);
        BlockingClient {
            transport,
            config,
            peer,
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
        let span =
            observe::onc_rpc_client_call(names, program, version, procedure, xid, &self.peer);
        let header = CallHeader::new(xid, program, version, procedure);
        let result = span.in_scope(|| self.exchange(header, args));
        span.result(&result);
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

/// A TCP connection to `addr` from a reserved port: std cannot bind
/// before connecting, so the socket is made with socket2.
fn connect_tcp_reserved(addr: SocketAddr) -> io::Result<TcpStream> {
    use socket2::{Domain, Socket, Type};
    let domain = if addr.is_ipv4() {
        Domain::IPV4
    } else {
        Domain::IPV6
    };
    let socket = endpoint::bind_reserved(unspecified_like(addr).ip(), |local| {
        let socket = Socket::new(domain, Type::STREAM, None)?;
        socket.bind(&local.into())?;
        Ok(socket)
    })?;
    socket.connect(&addr.into())?;
    Ok(socket.into())
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
    check_datagram_call(message)?;
    let mut buf = vec![0; DATAGRAM_RECEIVE_BUFFER];
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
                Ok(n) if xid_of(&buf[..n]) == Some(xid) => {
                    if n == buf.len() {
                        crate::observe::reply_truncated(observe::Side::OncClient, xid, n);
                        return Err(RpcError::ReplyTruncated { max: n });
                    }
                    return Ok(buf[..n].to_vec());
                }
                Ok(_) => {}
                Err(e) if is_timeout(&e) => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(RpcError::Io(e)),
            }
        }
        remaining(deadline)?;
    }
}
