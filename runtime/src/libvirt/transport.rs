//! Opening a connection from a libvirt URI, as libvirt's remote driver
//! does: the transport the URI names (unix, tcp, tls, ssh, ext), then
//! AUTH_LIST, then CONNECT_OPEN with the URI's name for the daemon.
//!
//! `ssh` and `ext` run a command and speak over its standard input and
//! output, both one end of a socket pair as in libvirt. The command is
//! killed when the connection is dropped, and what it wrote to its
//! standard error becomes the message of the error that ends the
//! connection ("Permission denied (publickey)", "Host key verification
//! failed").

use std::boxed::Box;
use std::fmt::{self, Write as _};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::string::{String, ToString};
use std::task::{Context, Poll, ready};
use std::time::Duration;
use std::vec::Vec;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::task::JoinHandle;

use super::client::{Connection, ConnectionConfig, Error};
use super::error::error_code;
use super::uri::{AuthChoice, LocalContext, RemoteUri, Route, Transport, UriError};
use super::{ProcedureInfo, ProtocolNames};
use crate::encode::{padded_len, put_bool, put_opaque_var, put_u32};
use crate::{DecodeError, Decoder, EncodeError, XdrDecode, XdrEncode};

/// `REMOTE_PROGRAM`.
const REMOTE_PROGRAM: u32 = 0x2000_8086;
/// `REMOTE_PROTOCOL_VERSION`.
const REMOTE_VERSION: u32 = 1;
/// `REMOTE_PROC_CONNECT_OPEN`.
const PROC_CONNECT_OPEN: i32 = 1;
/// `REMOTE_PROC_AUTH_LIST`.
const PROC_AUTH_LIST: i32 = 66;
/// `REMOTE_PROC_AUTH_POLKIT`.
const PROC_AUTH_POLKIT: i32 = 70;
/// `REMOTE_AUTH_TYPE_LIST_MAX`.
const AUTH_TYPE_LIST_MAX: u32 = 20;
/// `REMOTE_STRING_MAX`.
const REMOTE_STRING_MAX: u32 = 4_194_304;

/// A procedure with none of the annotations (the REMOTE procedures the
/// runtime calls itself, here and in SASL), for its span's name.
pub(super) const fn procedure(number: i32, name: &'static str) -> ProcedureInfo {
    ProcedureInfo {
        number,
        name,
        high_priority: false,
        acl: &[],
        acl_filter: &[],
        read_stream: false,
        write_stream: false,
        event: false,
    }
}

/// The two REMOTE procedures opening a connection calls, so their spans
/// are named.
static OPEN_NAMES: ProtocolNames = ProtocolNames {
    program: "remote",
    procedures: &[
        procedure(PROC_CONNECT_OPEN, "REMOTE_PROC_CONNECT_OPEN"),
        procedure(PROC_AUTH_LIST, "REMOTE_PROC_AUTH_LIST"),
        procedure(PROC_AUTH_POLKIT, "REMOTE_PROC_AUTH_POLKIT"),
    ],
};

/// Settings of [`Connection::open`].
#[derive(Clone, Debug, Default)]
pub struct OpenOptions {
    /// The connection's settings.
    pub config: ConnectionConfig,
    /// Open read-only (`virConnectOpenReadOnly`): the `-ro` socket by
    /// default, and the read-only flag in CONNECT_OPEN.
    pub read_only: bool,
    /// Who runs the client and what exists on this host, for libvirt's
    /// defaults (`None`: this process, [`LocalContext::current`]).
    pub local: Option<LocalContext>,
    /// Answers what SASL asks that the auth file does not give (name,
    /// password), like `virConnectAuth`'s callback.
    #[cfg(feature = "sasl")]
    pub credentials: Option<super::sasl::Credentials>,
}

/// An authentication type (`remote_auth_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AuthType {
    /// `REMOTE_AUTH_NONE`.
    None,
    /// `REMOTE_AUTH_SASL`.
    Sasl,
    /// `REMOTE_AUTH_POLKIT`.
    Polkit,
    /// A value this client does not know.
    Other(i32),
}

impl From<i32> for AuthType {
    fn from(value: i32) -> AuthType {
        match value {
            0 => AuthType::None,
            1 => AuthType::Sasl,
            2 => AuthType::Polkit,
            other => AuthType::Other(other),
        }
    }
}

impl fmt::Display for AuthType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthType::None => f.write_str("none"),
            AuthType::Sasl => f.write_str("sasl"),
            AuthType::Polkit => f.write_str("polkit"),
            AuthType::Other(n) => write!(f, "type {n}"),
        }
    }
}

/// Why [`Connection::open`] failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum OpenError {
    /// The URI cannot work.
    Uri(UriError),
    /// The transport could not reach the daemon.
    Connect {
        /// The transport.
        transport: Transport,
        /// What it tried to reach: a socket, `host:port`, a command.
        target: String,
        /// Why.
        source: io::Error,
    },
    /// The TLS files could not be used.
    #[cfg(feature = "tls")]
    Tls(super::tls::TlsError),
    /// The tls transport needs this crate's `tls` feature.
    TlsNotBuilt,
    /// AUTH_LIST failed (over ssh and ext, the command's error output is
    /// in the cause).
    AuthList(Error),
    /// The URI's `auth=` names a type the daemon does not offer.
    AuthRejected {
        /// The type asked for.
        wanted: AuthType,
        /// What the daemon offers.
        offered: Vec<AuthType>,
    },
    /// The SASL exchange failed: the daemon's own error (a wrong password
    /// is its `VIR_ERR_AUTH_FAILED`), or this side's.
    #[cfg(feature = "sasl")]
    Sasl(super::sasl::SaslError),
    /// The auth file (`authfile=`, `LIBVIRT_AUTH_FILE`) cannot be used.
    #[cfg(feature = "sasl")]
    AuthFile(super::sasl::AuthFileError),
    /// The daemon refused AUTH_POLKIT: polkit did not allow this client's
    /// process (the daemon's own error, as libvirt's client reports it).
    Polkit(Error),
    /// The daemon requires an authentication this client does not
    /// implement (SASL without this crate's `sasl` feature, or a type
    /// newer than this crate).
    AuthUnsupported {
        /// The type chosen.
        chosen: AuthType,
    },
    /// The daemon refused CONNECT_OPEN.
    ConnectOpen {
        /// The name sent.
        name: String,
        /// The daemon's answer.
        source: Error,
    },
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpenError::Uri(_) => f.write_str("bad libvirt URI"),
            OpenError::Connect {
                transport, target, ..
            } => write!(f, "cannot reach the daemon over {transport} ({target})"),
            #[cfg(feature = "tls")]
            OpenError::Tls(_) => f.write_str("cannot load the TLS files"),
            OpenError::TlsNotBuilt => f.write_str(
                "the tls transport needs xdrgen-runtime's `tls` feature, which this build lacks",
            ),
            OpenError::AuthList(_) => {
                f.write_str("cannot ask the daemon for its authentication types (AUTH_LIST)")
            }
            OpenError::AuthRejected { wanted, offered } => {
                write!(
                    f,
                    "authentication {wanted} was asked for, the daemon offers "
                )?;
                list(f, offered)
            }
            #[cfg(feature = "sasl")]
            OpenError::Sasl(_) => f.write_str("SASL authentication failed"),
            #[cfg(feature = "sasl")]
            OpenError::AuthFile(_) => f.write_str("cannot use the auth file"),
            OpenError::Polkit(_) => f.write_str("polkit authentication failed (AUTH_POLKIT)"),
            OpenError::AuthUnsupported { chosen } => write!(
                f,
                "the daemon requires {chosen} authentication, which this client does not support"
            ),
            OpenError::ConnectOpen { name, .. } => {
                write!(f, "the daemon refused to open '{name}' (CONNECT_OPEN)")
            }
        }
    }
}

fn list(f: &mut fmt::Formatter<'_>, types: &[AuthType]) -> fmt::Result {
    for (i, t) in types.iter().enumerate() {
        let sep = if i == 0 { "" } else { ", " };
        write!(f, "{sep}{t}")?;
    }
    Ok(())
}

impl std::error::Error for OpenError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            OpenError::Uri(e) => Some(e),
            OpenError::Connect { source, .. } => Some(source),
            #[cfg(feature = "tls")]
            OpenError::Tls(e) => Some(e),
            OpenError::AuthList(e)
            | OpenError::Polkit(e)
            | OpenError::ConnectOpen { source: e, .. } => Some(e),
            #[cfg(feature = "sasl")]
            OpenError::Sasl(e) => Some(e),
            #[cfg(feature = "sasl")]
            OpenError::AuthFile(e) => Some(e),
            _ => None,
        }
    }
}

impl From<UriError> for OpenError {
    fn from(e: UriError) -> Self {
        OpenError::Uri(e)
    }
}

impl Connection {
    /// Opens a libvirt URI as libvirt's client does (`qemu:///system`,
    /// `qemu+ssh://root@host/system`, `test+tcp://127.0.0.1/default`):
    /// connects over the URI's transport, negotiates authentication
    /// (AUTH_LIST; `none` proceeds, SASL runs libvirt's exchange with the
    /// `sasl` feature, polkit sends AUTH_POLKIT and the daemon decides),
    /// then
    /// opens the driver with CONNECT_OPEN.
    pub async fn open(uri: &str, options: OpenOptions) -> Result<Connection, OpenError> {
        let uri = RemoteUri::parse(uri)?;
        Connection::open_uri(&uri, options).await
    }

    /// [`open`](Connection::open) with a parsed URI.
    pub async fn open_uri(uri: &RemoteUri, options: OpenOptions) -> Result<Connection, OpenError> {
        let local = options.local.unwrap_or_else(LocalContext::current);
        let route = uri.route(options.read_only, &local)?;
        let connection = connect(uri.transport(), route, options.config).await?;
        #[cfg(feature = "sasl")]
        let sasl = SaslOptions {
            uri,
            credentials: options.credentials.as_ref(),
        };
        #[cfg(not(feature = "sasl"))]
        let sasl = SaslOptions(core::marker::PhantomData);
        authenticate(&connection, uri.auth(), sasl).await?;
        let name = uri.connect_open_name();
        let args = ConnectOpenArgs {
            name: &name,
            flags: uri.open_flags(options.read_only, &local),
        };
        let opened: Result<(), Error> = connection
            .call_named(
                &OPEN_NAMES,
                REMOTE_PROGRAM,
                REMOTE_VERSION,
                PROC_CONNECT_OPEN,
                &args,
            )
            .await;
        match opened {
            Ok(()) => Ok(connection),
            Err(source) => Err(OpenError::ConnectOpen { name, source }),
        }
    }
}

/// Reaches the daemon along `route`.
async fn connect(
    transport: Transport,
    route: Route,
    config: ConnectionConfig,
) -> Result<Connection, OpenError> {
    let failed = |target: String| {
        move |source| OpenError::Connect {
            transport,
            target,
            source,
        }
    };
    match route {
        #[cfg(unix)]
        Route::Unix { socket } => Connection::connect_unix(&socket, config)
            .await
            .map_err(failed(socket.display().to_string())),
        Route::Tcp { host, port } => Connection::connect_tcp((host.as_str(), port), config)
            .await
            .map_err(failed(std::format!("{host}:{port}"))),
        #[cfg(feature = "tls")]
        Route::Tls {
            host,
            port,
            files,
            verify,
        } => {
            let tls = super::tls::client_config_from_files(
                &files.ca_cert,
                &files.client_cert,
                &files.client_key,
                verify,
            )
            .map_err(OpenError::Tls)?;
            Connection::connect_tls((host.as_str(), port), &host, tls, config)
                .await
                .map_err(failed(std::format!("{host}:{port}")))
        }
        #[cfg(not(feature = "tls"))]
        Route::Tls { .. } => Err(OpenError::TlsNotBuilt),
        #[cfg(unix)]
        Route::Command { argv } => {
            let target = argv.first().cloned().unwrap_or_default();
            let stream = CommandStream::spawn(&argv).map_err(failed(target))?;
            Ok(Connection::from_stream(stream, config))
        }
        #[cfg(not(unix))]
        other => Err(failed(std::format!("{other:?}"))(io::Error::new(
            io::ErrorKind::Unsupported,
            "Unix sockets and commands need a Unix host",
        ))),
    }
}

/// What a SASL exchange needs from `open`.
#[cfg(feature = "sasl")]
struct SaslOptions<'a> {
    uri: &'a RemoteUri,
    credentials: Option<&'a super::sasl::Credentials>,
}

#[cfg(not(feature = "sasl"))]
struct SaslOptions<'a>(core::marker::PhantomData<&'a ()>);

/// libvirt's SASL exchange, as its remote driver runs it.
#[cfg(feature = "sasl")]
async fn authenticate_sasl(
    connection: &Connection,
    wanted: Option<&AuthChoice>,
    options: &SaslOptions<'_>,
) -> Result<(), OpenError> {
    use super::sasl;
    let uri = options.uri;
    // libvirt: TLS and Unix sockets are secure; so are ssh and ext, whose
    // commands carry the connection.
    let secure = uri.transport() != Transport::Tcp;
    let host = uri.host().unwrap_or("localhost");
    let auth_file = match sasl::auth_file_path(uri.param("authfile")) {
        Some(path) => sasl::auth_file_credentials(&path, host).map_err(OpenError::AuthFile)?,
        None => None,
    };
    let forced = match wanted {
        Some(AuthChoice::Sasl { mechanism }) => mechanism.as_deref(),
        _ => None,
    };
    let side = sasl::ClientSide {
        forced,
        secure,
        host,
        credentials: options.credentials,
        auth_file,
    };
    sasl::authenticate(connection, side)
        .await
        .map(drop)
        .map_err(OpenError::Sasl)
}

/// AUTH_POLKIT, as libvirt's remote driver sends it: no arguments; the
/// daemon asks polkit about the process at the other end of its Unix
/// socket and answers `remote_auth_polkit_ret` (`complete`) or its error.
async fn authenticate_polkit(connection: &Connection) -> Result<(), OpenError> {
    let _complete: i32 = connection
        .call_named(
            &OPEN_NAMES,
            REMOTE_PROGRAM,
            REMOTE_VERSION,
            PROC_AUTH_POLKIT,
            &(),
        )
        .await
        .map_err(OpenError::Polkit)?;
    Ok(())
}

/// AUTH_LIST, then the type the URI insists on or the daemon's first.
async fn authenticate(
    connection: &Connection,
    wanted: Option<&AuthChoice>,
    sasl: SaslOptions<'_>,
) -> Result<(), OpenError> {
    let listed: Result<AuthList, Error> = connection
        .call_named(
            &OPEN_NAMES,
            REMOTE_PROGRAM,
            REMOTE_VERSION,
            PROC_AUTH_LIST,
            &(),
        )
        .await;
    let offered: Vec<AuthType> = match listed {
        Ok(list) => list.0.into_iter().map(AuthType::from).collect(),
        // A daemon older than AUTH_LIST authenticates nobody.
        Err(Error::Remote(e)) if e.code == error_code::NO_SUPPORT => Vec::new(),
        Err(e) => return Err(OpenError::AuthList(e)),
    };
    let Some(&first) = offered.first() else {
        return Ok(());
    };
    let chosen = match wanted {
        None => first,
        Some(choice) => {
            let wanted = match choice {
                AuthChoice::Sasl { .. } => AuthType::Sasl,
                AuthChoice::Polkit => AuthType::Polkit,
            };
            if !offered.contains(&wanted) {
                return Err(OpenError::AuthRejected { wanted, offered });
            }
            wanted
        }
    };
    match chosen {
        AuthType::None => Ok(()),
        #[cfg(feature = "sasl")]
        AuthType::Sasl => authenticate_sasl(connection, wanted, &sasl).await,
        AuthType::Polkit => authenticate_polkit(connection).await,
        chosen => {
            let _ = sasl;
            Err(OpenError::AuthUnsupported { chosen })
        }
    }
}

/// `remote_connect_open_args`: a `remote_string` (present) and flags.
struct ConnectOpenArgs<'a> {
    name: &'a str,
    flags: u32,
}

impl XdrEncode for ConnectOpenArgs<'_> {
    fn encoded_len(&self) -> usize {
        4 + 4 + padded_len(self.name.len()) + 4
    }

    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        put_bool(out, true);
        put_opaque_var(out, self.name.as_bytes(), REMOTE_STRING_MAX, "name")?;
        put_u32(out, self.flags);
        Ok(())
    }
}

/// `remote_auth_list_ret`.
struct AuthList(Vec<i32>);

impl XdrDecode for AuthList {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        let n = d.count(AUTH_TYPE_LIST_MAX, 4, core::mem::size_of::<i32>())?;
        let mut types = Vec::with_capacity(n);
        for _ in 0..n {
            types.push(d.i32()?);
        }
        Ok(AuthList(types))
    }
}

/// How much of a command's error output is kept for the error message.
const STDERR_KEPT: usize = 16 * 1024;
/// How long the end of a command's output waits for its error output to
/// close and its exit status, so the message has them.
const ENDING_GRACE: Duration = Duration::from_secs(2);
/// How often the exit status is looked for meanwhile.
const EXIT_POLL: Duration = Duration::from_millis(5);

/// A command's standard input and output as one duplex stream: one end of
/// a socket pair is both, as libvirt's client does it. The command is
/// killed when the stream is dropped (tokio reaps it). When its output
/// ends with an error status or error output, reading fails with an error
/// that quotes them.
#[cfg(unix)]
struct CommandStream {
    socket: tokio::net::UnixStream,
    program: String,
    child: tokio::process::Child,
    stderr: Option<JoinHandle<Vec<u8>>>,
    stderr_text: Vec<u8>,
    grace: Option<Pin<Box<tokio::time::Sleep>>>,
    tick: Option<Pin<Box<tokio::time::Sleep>>>,
    output: Output,
    /// The socket error that showed the command gone, until reported.
    lost: Option<io::Error>,
}

/// Where a command's output stands.
#[cfg(unix)]
enum Output {
    Open,
    /// Ended, and the command did not fail.
    Ended,
    /// Ended: why the command failed.
    Failed(String),
}

#[cfg(unix)]
impl CommandStream {
    fn spawn(argv: &[String]) -> io::Result<CommandStream> {
        use std::os::fd::OwnedFd;
        use std::process::Stdio;

        let Some((program, args)) = argv.split_first() else {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "no command"));
        };
        let (ours, theirs) = std::os::unix::net::UnixStream::pair()?;
        let theirs_out = theirs.try_clone()?;
        let mut child = {
            let mut command = tokio::process::Command::new(program);
            command
                .args(args)
                .stdin(Stdio::from(OwnedFd::from(theirs)))
                .stdout(Stdio::from(OwnedFd::from(theirs_out)))
                .stderr(Stdio::piped())
                .kill_on_drop(true);
            command.spawn()?
            // The command (and with it this process's copy of the child's
            // end) is dropped here, so the child's exit reads as EOF.
        };
        let stderr = child.stderr.take().map(|stderr| {
            tokio::spawn(async move {
                let mut stderr = stderr;
                let mut kept = Vec::new();
                let mut buf = [0u8; 4096];
                // Read to the end even past what is kept, so the command
                // never blocks on a full pipe.
                while let Ok(n @ 1..) = stderr.read(&mut buf).await {
                    let room = STDERR_KEPT.saturating_sub(kept.len());
                    kept.extend_from_slice(&buf[..n.min(room)]);
                }
                kept
            })
        });
        ours.set_nonblocking(true)?;
        Ok(CommandStream {
            socket: tokio::net::UnixStream::from_std(ours)?,
            program: program.clone(),
            child,
            stderr,
            stderr_text: Vec::new(),
            grace: None,
            tick: None,
            output: Output::Open,
            lost: None,
        })
    }

    /// After the output ended: waits (briefly) for the error output to
    /// close and the exit status, and says why the command ended if it
    /// failed.
    fn poll_ended(&mut self, cx: &mut Context<'_>) -> Poll<Option<&str>> {
        if let Output::Open = self.output {
            let grace = self
                .grace
                .get_or_insert_with(|| Box::pin(tokio::time::sleep(ENDING_GRACE)));
            if let Some(task) = &mut self.stderr {
                match Pin::new(task).poll(cx) {
                    Poll::Ready(collected) => self.stderr_text = collected.unwrap_or_default(),
                    // A command that closed its output but keeps its error
                    // output open says nothing more within the grace.
                    Poll::Pending => ready!(grace.as_mut().poll(cx)),
                }
                self.stderr = None;
            }
            // A process closes its files a moment before it can be waited
            // for: look again every few milliseconds, within the grace.
            let status = loop {
                match self.child.try_wait() {
                    Ok(Some(status)) => break Some(status),
                    Ok(None) if grace.as_mut().poll(cx).is_pending() => {
                        let tick = self
                            .tick
                            .get_or_insert_with(|| Box::pin(tokio::time::sleep(EXIT_POLL)));
                        ready!(tick.as_mut().poll(cx));
                        self.tick = None;
                    }
                    Ok(None) | Err(_) => break None,
                }
            };
            self.output = match self.failure(status) {
                Some(why) => Output::Failed(why),
                None => Output::Ended,
            };
        }
        Poll::Ready(match &self.output {
            Output::Failed(why) => Some(why),
            _ => None,
        })
    }

    /// Why the command ended, if it failed: its exit status (when it has
    /// exited) and what it wrote to its error output.
    fn failure(&self, status: Option<std::process::ExitStatus>) -> Option<String> {
        let text = String::from_utf8_lossy(&self.stderr_text);
        let text = text.trim();
        let failed = status.is_some_and(|s| !s.success());
        if text.is_empty() && !failed {
            return None;
        }
        let mut why = std::format!("`{}` ended the connection", self.program);
        if let Some(status) = status.filter(|s| !s.success()) {
            let _ = write!(why, " ({status})");
        }
        if !text.is_empty() {
            why.push_str(": ");
            why.push_str(text);
        }
        Some(why)
    }

    /// Once the output ended: the command's failure, else the socket
    /// error that showed it gone, else a clean end.
    fn ready_ended(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some(why) = ready!(self.poll_ended(cx)) {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                why.to_string(),
            )));
        }
        Poll::Ready(self.lost.take().map_or(Ok(()), Err))
    }
}

#[cfg(unix)]
impl AsyncRead for CommandStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let (Output::Open, None) = (&this.output, &this.lost) {
            let before = buf.filled().len();
            match ready!(Pin::new(&mut this.socket).poll_read(cx, buf)) {
                Ok(()) if buf.filled().len() > before || buf.remaining() == 0 => {
                    return Poll::Ready(Ok(()));
                }
                // End of the command's output.
                Ok(()) => {}
                Err(e) if command_gone(&e) => this.lost = Some(e),
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
        this.ready_ended(cx)
    }
}

/// The errors of a socket whose other end closed with data unread.
#[cfg(unix)]
fn command_gone(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
    )
}

#[cfg(unix)]
impl AsyncWrite for CommandStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if let (Output::Open, None) = (&this.output, &this.lost) {
            match ready!(Pin::new(&mut this.socket).poll_write(cx, data)) {
                Err(e) if command_gone(&e) => this.lost = Some(e),
                other => return Poll::Ready(other),
            }
        }
        // The command is gone: say why rather than "broken pipe".
        ready!(this.ready_ended(cx))?;
        Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().socket).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().socket).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_open_args_encode_as_libvirt_does() {
        let args = ConnectOpenArgs {
            name: "test:///default",
            flags: 1,
        };
        let bytes = args.to_xdr().unwrap();
        assert_eq!(bytes.len(), args.encoded_len());
        let mut expected = std::vec![0, 0, 0, 1, 0, 0, 0, 15];
        expected.extend_from_slice(b"test:///default\0");
        expected.extend_from_slice(&[0, 0, 0, 1]);
        assert_eq!(bytes, expected);
    }

    #[test]
    fn auth_lists_are_bounded() {
        let two = [0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0];
        assert_eq!(AuthList::from_xdr(&two).unwrap().0, [1, 0]);
        let mut over = std::vec![0, 0, 0, 21];
        over.extend(core::iter::repeat_n(0, 21 * 4));
        assert!(AuthList::from_xdr(&over).is_err());
    }

    fn command(script: &str) -> CommandStream {
        let argv = ["sh", "-c", script].map(ToString::to_string);
        CommandStream::spawn(&argv).unwrap()
    }

    #[tokio::test]
    async fn a_command_is_one_duplex_stream() {
        use tokio::io::AsyncWriteExt;
        let mut stream = command("cat");
        stream.write_all(b"ping").await.unwrap();
        let mut echoed = [0u8; 4];
        stream.read_exact(&mut echoed).await.unwrap();
        assert_eq!(&echoed, b"ping");
        // End of input ends cat, cleanly: end of output, no error.
        stream.shutdown().await.unwrap();
        let mut rest = Vec::new();
        stream.read_to_end(&mut rest).await.unwrap();
        assert!(rest.is_empty());
    }

    #[tokio::test]
    async fn a_failing_command_says_why() {
        let mut stream = command("echo 'no route to daemon' >&2; exit 4");
        let mut rest = Vec::new();
        let error = stream.read_to_end(&mut rest).await.unwrap_err();
        let text = error.to_string();
        assert!(text.contains("`sh` ended the connection"), "{text}");
        assert!(text.contains("exit status: 4"), "{text}");
        assert!(text.contains("no route to daemon"), "{text}");
        // Every later read says the same.
        let again = stream.read_to_end(&mut rest).await.unwrap_err();
        assert_eq!(again.to_string(), text);
    }

    #[tokio::test]
    async fn a_missing_command_fails_to_spawn() {
        let argv = ["/nonexistent/tunnel".to_string()];
        let error = CommandStream::spawn(&argv).err().unwrap();
        assert_eq!(error.kind(), io::ErrorKind::NotFound);
    }

    #[tokio::test]
    async fn dropping_the_stream_kills_and_reaps_the_command() {
        let mut stream = command("echo $$; exec sleep 60");
        let mut line = Vec::new();
        let mut byte = [0u8; 1];
        while byte != *b"\n" {
            stream.read_exact(&mut byte).await.unwrap();
            line.push(byte[0]);
        }
        let pid = std::string::String::from_utf8(line).unwrap();
        let proc_dir = std::format!("/proc/{}", pid.trim());
        assert!(std::path::Path::new(&proc_dir).exists());
        drop(stream);
        // Killed, then reaped by tokio: no zombie is left behind.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while std::time::Instant::now() < deadline {
            if !std::path::Path::new(&proc_dir).exists() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("{proc_dir} outlived its stream");
    }

    #[test]
    fn errors_say_their_own_part() {
        let e = OpenError::AuthRejected {
            wanted: AuthType::Sasl,
            offered: std::vec![AuthType::None, AuthType::Other(7)],
        };
        assert_eq!(
            e.to_string(),
            "authentication sasl was asked for, the daemon offers none, type 7"
        );
        let e = OpenError::AuthUnsupported {
            chosen: AuthType::Other(7),
        };
        assert!(e.to_string().contains("type 7"), "{e}");
    }
}
