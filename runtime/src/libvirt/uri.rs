//! libvirt connection URIs, read as libvirt's remote driver reads them:
//! `driver[+transport]://[user@][host][:port]/[path][?params][#fragment]`
//! (`qemu:///system`, `qemu+ssh://root@host/system?keyfile=...`).
//!
//! [`RemoteUri::parse`] splits a URI and takes out the parameters only the
//! client uses (`socket`, `pkipath`, `keyfile`, ...). [`RemoteUri::route`]
//! then applies libvirt's defaults: the transport (tls when a host is
//! given, else unix), ports, the system or session socket, the TLS files,
//! and the `ssh` command line that tunnels to the daemon's socket. The
//! daemon is sent [`RemoteUri::connect_open_name`]: the URI without the
//! transport, host, user, port and client-only parameters.

use std::borrow::ToOwned;
use std::fmt;
use std::format;
use std::path::{Path, PathBuf};
use std::string::{String, ToString};
use std::vec;
use std::vec::Vec;

/// libvirt's default port for the `tcp` transport (`LIBVIRTD_TCP_PORT`).
pub const DEFAULT_TCP_PORT: u16 = 16509;
/// libvirt's default port for the `tls` transport (`LIBVIRTD_TLS_PORT`).
pub const DEFAULT_TLS_PORT: u16 = 16514;

/// The CONNECT_OPEN flag for a read-only connection (`VIR_CONNECT_RO`,
/// the remote driver's `REMOTE_DRIVER_OPEN_RO`).
pub const OPEN_READ_ONLY: u32 = 1;
/// The CONNECT_OPEN flag libvirt's client sets when it picked the per-user
/// (session) daemon (`REMOTE_DRIVER_OPEN_USER`).
pub const OPEN_USER: u32 = 1 << 1;

/// How the client reaches the daemon (the `+transport` of the scheme).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transport {
    /// TLS over TCP: the default when the URI names a host.
    Tls,
    /// A Unix socket: the default without a host.
    Unix,
    /// The system's `ssh` command, tunnelling to the daemon's socket.
    Ssh,
    /// libvirt's built-in libssh2 client (not supported here: use `ssh`).
    Libssh2,
    /// Any command speaking the protocol on its standard input and output.
    Ext,
    /// Plain TCP.
    Tcp,
    /// libvirt's built-in libssh client (not supported here: use `ssh`).
    Libssh,
}

impl Transport {
    const ALL: [Transport; 7] = [
        Transport::Tls,
        Transport::Unix,
        Transport::Ssh,
        Transport::Libssh2,
        Transport::Ext,
        Transport::Tcp,
        Transport::Libssh,
    ];

    /// The name in a URI scheme (`tls`, `unix`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Transport::Tls => "tls",
            Transport::Unix => "unix",
            Transport::Ssh => "ssh",
            Transport::Libssh2 => "libssh2",
            Transport::Ext => "ext",
            Transport::Tcp => "tcp",
            Transport::Libssh => "libssh",
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which daemon's socket a local connection picks (`?mode=`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// The driver's own daemon (`virtqemud`) when its socket exists, else
    /// `libvirtd`; always `libvirtd` over a remote transport.
    Auto,
    /// The monolithic `libvirtd`.
    Legacy,
    /// The driver's own daemon (`virt<driver>d`); unix transport only.
    Direct,
}

/// How the `ssh` transport reaches the daemon on the remote host
/// (`?proxy=`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Proxy {
    /// `virt-ssh-helper` when the remote host has it, else netcat.
    Auto,
    /// netcat to the socket.
    Netcat,
    /// `virt-ssh-helper` only.
    Native,
}

/// The authentication the URI asks for (`?auth=`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthChoice {
    /// `sasl`, or `sasl.MECH` for one mechanism.
    Sasl {
        /// The mechanism after `sasl.`, if any.
        mechanism: Option<String>,
    },
    /// `polkit`.
    Polkit,
}

/// Why a URI cannot work. Each names the part at fault.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UriError {
    /// No `scheme:` before the rest.
    MissingScheme {
        /// The URI.
        uri: String,
    },
    /// The scheme has characters a scheme cannot have.
    BadScheme {
        /// The scheme as written.
        scheme: String,
    },
    /// `driver+transport` with a transport libvirt does not know.
    UnknownTransport {
        /// The transport as written.
        transport: String,
    },
    /// A Unix socket with a host (`qemu+unix://host/system`).
    UnixWithHost {
        /// The host.
        host: String,
    },
    /// A port that is not a number from 0 to 65535.
    BadPort {
        /// The port as written.
        port: String,
    },
    /// An IPv6 host without its closing `]`, or text after it.
    BadHost {
        /// The host as written.
        host: String,
    },
    /// A `%` not followed by two hex digits, or escapes that are not
    /// UTF-8.
    BadEscape {
        /// Which part: `user`, `host`, `path`, `fragment`, `query`.
        part: &'static str,
        /// The text as written.
        text: String,
    },
    /// A flag parameter (`no_verify`, `no_tty`, `no_sanity`) whose value
    /// is not an integer.
    BadFlag {
        /// The parameter.
        param: String,
        /// Its value.
        value: String,
    },
    /// `?mode=` other than `auto`, `legacy`, `direct`.
    UnknownMode {
        /// The value.
        value: String,
    },
    /// `?proxy=` other than `auto`, `netcat`, `native`.
    UnknownProxy {
        /// The value.
        value: String,
    },
    /// `?auth=` other than `sasl`, `sasl.MECH`, `polkit`.
    UnknownAuth {
        /// The value.
        value: String,
    },
    /// The `ext` transport without `?command=`.
    CommandRequired,
    /// `?netcat=` with `?proxy=native`, which does not use netcat.
    NetcatWithNativeProxy,
    /// `?mode=direct` over a transport other than unix.
    DirectModeNeedsUnix {
        /// The transport.
        transport: Transport,
    },
    /// A transport this client does not implement.
    UnsupportedTransport {
        /// The transport.
        transport: Transport,
    },
    /// The session socket's directory is unknown: neither
    /// `XDG_RUNTIME_DIR` nor `HOME` is set.
    NoRuntimeDir,
}

impl fmt::Display for UriError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UriError::MissingScheme { uri } => write!(
                f,
                "URI '{uri}' has no scheme: it must start with driver[+transport]:"
            ),
            UriError::BadScheme { scheme } => write!(
                f,
                "scheme '{scheme}' must be a letter followed by letters, digits, '+', '-' or '.'"
            ),
            UriError::UnknownTransport { transport } => {
                write!(f, "transport '{transport}' in the scheme is not one of ")?;
                for (i, t) in Transport::ALL.iter().enumerate() {
                    let sep = if i == 0 { "" } else { ", " };
                    write!(f, "{sep}{t}")?;
                }
                Ok(())
            }
            UriError::UnixWithHost { host } => write!(
                f,
                "host '{host}': the unix transport reaches local sockets only"
            ),
            UriError::BadPort { port } => {
                write!(f, "port '{port}' is not a number from 0 to 65535")
            }
            UriError::BadHost { host } => write!(
                f,
                "host '{host}': an IPv6 address goes inside [ ], followed by nothing or :port"
            ),
            UriError::BadEscape { part, text } => write!(
                f,
                "{part} '{text}': '%' must be followed by two hex digits, and escapes must spell UTF-8"
            ),
            UriError::BadFlag { param, value } => {
                write!(f, "parameter {param}='{value}' is not an integer")
            }
            UriError::UnknownMode { value } => write!(
                f,
                "parameter mode='{value}' is not one of auto, legacy, direct"
            ),
            UriError::UnknownProxy { value } => write!(
                f,
                "parameter proxy='{value}' is not one of auto, netcat, native"
            ),
            UriError::UnknownAuth { value } => write!(
                f,
                "parameter auth='{value}' is not one of sasl, sasl.MECHANISM, polkit"
            ),
            UriError::CommandRequired => {
                f.write_str("the ext transport needs the command parameter")
            }
            UriError::NetcatWithNativeProxy => {
                f.write_str("parameter netcat cannot be used with proxy=native")
            }
            UriError::DirectModeNeedsUnix { transport } => write!(
                f,
                "parameter mode=direct works over the unix transport only, not {transport}"
            ),
            UriError::UnsupportedTransport { transport } => write!(
                f,
                "transport {transport} (libvirt's built-in ssh client) is not supported: \
                 use +ssh, which runs the system's ssh"
            ),
            UriError::NoRuntimeDir => f.write_str(
                "the session socket lives under $XDG_RUNTIME_DIR (or $HOME/.cache), \
                 and neither is set",
            ),
        }
    }
}

impl std::error::Error for UriError {}

/// A query parameter, decoded, and whether the client keeps it to itself.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Param {
    name: String,
    value: String,
    client_only: bool,
}

/// The parameters libvirt's remote driver takes for itself; the daemon
/// never sees them.
const CLIENT_PARAMS: [&str; 17] = [
    "name",
    "command",
    "socket",
    "auth",
    "sshauth",
    "netcat",
    "keyfile",
    "pkipath",
    "known_hosts",
    "known_hosts_verify",
    "tls_priority",
    "mode",
    "proxy",
    "no_sanity",
    "no_verify",
    "no_tty",
    "authfile",
];

/// A parsed libvirt URI with the client's parameters taken out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteUri {
    scheme: String,
    driver: String,
    transport: Transport,
    user: Option<String>,
    host: Option<String>,
    port: Option<u16>,
    path: String,
    fragment: Option<String>,
    params: Vec<Param>,
    name: Option<String>,
    command: Option<String>,
    socket: Option<String>,
    auth: Option<AuthChoice>,
    netcat: Option<String>,
    keyfile: Option<String>,
    pkipath: Option<String>,
    mode: Option<Mode>,
    proxy: Option<Proxy>,
    no_verify: bool,
    no_tty: bool,
}

/// What the defaults depend on besides the URI: who runs the client, where
/// its session sockets live, and which sockets exist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalContext {
    /// Running as root (libvirt: effective uid 0). Others use the
    /// per-user daemon for `/session` URIs and the test driver.
    pub privileged: bool,
    /// `$XDG_RUNTIME_DIR/libvirt`, or `$HOME/.cache/libvirt` without it
    /// (GLib's `g_get_user_runtime_dir`): where session sockets live.
    pub runtime_dir: Option<PathBuf>,
    /// `$HOME`: user TLS files are in `$HOME/.pki/libvirt`.
    pub home: Option<PathBuf>,
    /// Sockets and files that exist, for the choices libvirt makes by
    /// looking (`None`: ask the file system).
    pub existing: Option<Vec<PathBuf>>,
}

impl LocalContext {
    /// This process: its effective user, `XDG_RUNTIME_DIR`, `HOME` and
    /// the file system.
    pub fn current() -> LocalContext {
        let home = std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(PathBuf::from);
        let runtime_dir = std::env::var_os("XDG_RUNTIME_DIR")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("XDG_CACHE_HOME")
                    .filter(|d| !d.is_empty())
                    .map(PathBuf::from)
            })
            .or_else(|| home.as_ref().map(|h| h.join(".cache")))
            .map(|d| d.join("libvirt"));
        LocalContext {
            privileged: effective_uid_is_root(),
            runtime_dir,
            home,
            existing: None,
        }
    }

    fn exists(&self, path: &Path) -> bool {
        match &self.existing {
            Some(list) => list.iter().any(|p| p == path),
            None => path.exists(),
        }
    }
}

#[cfg(unix)]
fn effective_uid_is_root() -> bool {
    rustix::process::geteuid().is_root()
}

#[cfg(not(unix))]
fn effective_uid_is_root() -> bool {
    false
}

/// The files of a TLS client: the CA that signs the daemon's certificate,
/// and this client's certificate and key (used when the certificate file
/// exists).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    /// `cacert.pem`.
    pub ca_cert: PathBuf,
    /// `clientcert.pem`.
    pub client_cert: PathBuf,
    /// `clientkey.pem`.
    pub client_key: PathBuf,
}

/// Where and how to connect, with libvirt's defaults applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// Connect to a Unix socket.
    Unix {
        /// The socket.
        socket: PathBuf,
    },
    /// Connect over TCP.
    Tcp {
        /// Host name or address (`localhost` when the URI has none).
        host: String,
        /// Port.
        port: u16,
    },
    /// TLS over TCP.
    Tls {
        /// Host name or address; the daemon's certificate must match it.
        host: String,
        /// Port.
        port: u16,
        /// Certificate files.
        files: TlsFiles,
        /// Check the daemon's certificate (`no_verify=1` turns this off).
        verify: bool,
    },
    /// Run a command and speak over its standard input and output: `ssh`
    /// and `ext`.
    Command {
        /// The program and its arguments.
        argv: Vec<String>,
    },
}

impl RemoteUri {
    /// Parses a URI as libvirt's remote driver does.
    pub fn parse(uri: &str) -> Result<RemoteUri, UriError> {
        let Some((scheme, rest)) = uri.split_once(':') else {
            return Err(UriError::MissingScheme {
                uri: uri.to_owned(),
            });
        };
        check_scheme(scheme)?;
        let (driver, transport) = split_scheme(scheme)?;

        let (rest, fragment) = match rest.split_once('#') {
            Some((rest, fragment)) => (rest, Some(decode("fragment", fragment)?)),
            None => (rest, None),
        };
        let (rest, query) = match rest.split_once('?') {
            Some((rest, query)) => (rest, Some(query)),
            None => (rest, None),
        };
        let (authority, path) = match rest.strip_prefix("//") {
            Some(after) => {
                let end = after.find('/').unwrap_or(after.len());
                (Some(&after[..end]), &after[end..])
            }
            None => (None, rest),
        };
        let (user, host, port) = match authority {
            Some(authority) => parse_authority(authority)?,
            None => (None, None, None),
        };

        let transport = match transport {
            Some(Transport::Unix) if host.is_some() => {
                return Err(UriError::UnixWithHost {
                    host: host.unwrap_or_default(),
                });
            }
            Some(transport) => transport,
            None if host.is_some() => Transport::Tls,
            None => Transport::Unix,
        };

        let mut parsed = RemoteUri {
            scheme: scheme.to_owned(),
            driver: driver.to_owned(),
            transport,
            user,
            host,
            port,
            path: decode("path", path)?,
            fragment,
            params: Vec::new(),
            name: None,
            command: None,
            socket: None,
            auth: None,
            netcat: None,
            keyfile: None,
            pkipath: None,
            mode: None,
            proxy: None,
            no_verify: false,
            no_tty: false,
        };
        for (name, value) in split_query(query.unwrap_or(""))? {
            parsed.take_param(name, value)?;
        }
        Ok(parsed)
    }

    /// Records one parameter; the client's own are kept aside (the last of
    /// a repeated one wins, as in libvirt).
    fn take_param(&mut self, name: String, value: String) -> Result<(), UriError> {
        let key = name.to_ascii_lowercase();
        let client_only = CLIENT_PARAMS.contains(&key.as_str());
        match key.as_str() {
            "name" => self.name = Some(value.clone()),
            "command" => self.command = Some(value.clone()),
            "socket" => self.socket = Some(value.clone()),
            "netcat" => self.netcat = Some(value.clone()),
            "keyfile" => self.keyfile = Some(value.clone()),
            "pkipath" => self.pkipath = Some(value.clone()),
            "auth" => self.auth = Some(parse_auth(&value)?),
            "mode" => {
                self.mode = Some(match value.as_str() {
                    "auto" => Mode::Auto,
                    "legacy" => Mode::Legacy,
                    "direct" => Mode::Direct,
                    _ => return Err(UriError::UnknownMode { value }),
                });
            }
            "proxy" => {
                self.proxy = Some(match value.as_str() {
                    "auto" => Proxy::Auto,
                    "netcat" => Proxy::Netcat,
                    "native" => Proxy::Native,
                    _ => return Err(UriError::UnknownProxy { value }),
                });
            }
            // libvirt reads these as integers: any non-zero value sets them.
            "no_verify" => self.no_verify = parse_flag(&name, &value)?,
            "no_tty" => self.no_tty = parse_flag(&name, &value)?,
            "no_sanity" => {
                // libvirt's own checks of its TLS files; rustls checks
                // what it uses, so the flag is only validated.
                parse_flag(&name, &value)?;
            }
            _ => {}
        }
        self.params.push(Param {
            name,
            value,
            client_only,
        });
        Ok(())
    }

    /// The driver: the scheme before any `+transport` (`qemu`).
    pub fn driver(&self) -> &str {
        &self.driver
    }

    /// The transport, given or defaulted (tls with a host, else unix).
    pub fn transport(&self) -> Transport {
        self.transport
    }

    /// The user before `@`, if any.
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// The host, if any (IPv6 addresses without their brackets).
    pub fn host(&self) -> Option<&str> {
        self.host.as_deref()
    }

    /// The port, if the URI gives one (0 counts as none, as in libvirt).
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// The path (`/system`), decoded.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The value of a query parameter (the last one of that name, any
    /// case), client-only ones included.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .rev()
            .find(|p| p.name.eq_ignore_ascii_case(name))
            .map(|p| p.value.as_str())
    }

    /// `?socket=`: the daemon's socket, instead of the default one.
    pub fn socket(&self) -> Option<&str> {
        self.socket.as_deref()
    }

    /// `?auth=`: the authentication to insist on.
    pub fn auth(&self) -> Option<&AuthChoice> {
        self.auth.as_ref()
    }

    /// `?no_verify=1`: do not check the daemon's TLS certificate or ssh
    /// host key.
    pub fn no_verify(&self) -> bool {
        self.no_verify
    }

    /// Whether libvirt would use the per-user (session) daemon: a
    /// `/session` path, or the test driver over an explicit transport
    /// (`test+...`), for a client not running as root.
    pub fn wants_session(&self, local: &LocalContext) -> bool {
        !local.privileged && (self.path == "/session" || self.scheme.starts_with("test+"))
    }

    /// The CONNECT_OPEN flags libvirt's client sends: read-only, and
    /// whether it picked the session daemon.
    pub fn open_flags(&self, read_only: bool, local: &LocalContext) -> u32 {
        let mut flags = 0;
        if read_only {
            flags |= OPEN_READ_ONLY;
        }
        if self.wants_session(local) {
            flags |= OPEN_USER;
        }
        flags
    }

    /// The name sent in CONNECT_OPEN: `?name=` if given; empty for the
    /// `remote` driver (the daemon picks); otherwise the URI with the
    /// transport, user, host, port and client-only parameters removed
    /// (`qemu+ssh://root@host/system?keyfile=k` → `qemu:///system`).
    pub fn connect_open_name(&self) -> String {
        if let Some(name) = &self.name {
            return name.clone();
        }
        if self.scheme == "remote" || self.scheme.starts_with("remote+") {
            return String::new();
        }
        self.format_name(&[])
    }

    /// The URI `virt-ssh-helper` is given on the remote host: the
    /// CONNECT_OPEN name with `mode` and `socket` kept.
    pub fn helper_uri(&self) -> String {
        match &self.name {
            Some(name) => name.clone(),
            None => self.format_name(&["mode", "socket"]),
        }
    }

    fn format_name(&self, keep: &[&str]) -> String {
        let mut out = format!("{}://{}", self.driver, encode_path(&self.path));
        let mut first = true;
        for p in &self.params {
            if p.client_only && !keep.iter().any(|k| p.name.eq_ignore_ascii_case(k)) {
                continue;
            }
            out.push(if first { '?' } else { '&' });
            first = false;
            encode_component(&mut out, &p.name);
            out.push('=');
            encode_component(&mut out, &p.value);
        }
        if let Some(fragment) = &self.fragment {
            out.push('#');
            out.push_str(&encode_path(fragment));
        }
        out
    }

    /// Where and how to connect, with libvirt's defaults: ports 16509
    /// (tcp) and 16514 (tls), host `localhost`, the daemon's socket, the
    /// TLS files, the `ssh` command line.
    pub fn route(&self, read_only: bool, local: &LocalContext) -> Result<Route, UriError> {
        let host = self.host.clone().unwrap_or_else(|| "localhost".to_owned());
        match self.transport {
            Transport::Unix => Ok(Route::Unix {
                socket: match &self.socket {
                    Some(socket) => PathBuf::from(socket),
                    None => self.default_socket(read_only, local)?,
                },
            }),
            Transport::Tcp => Ok(Route::Tcp {
                host,
                port: self.port.unwrap_or(DEFAULT_TCP_PORT),
            }),
            Transport::Tls => Ok(Route::Tls {
                host,
                port: self.port.unwrap_or(DEFAULT_TLS_PORT),
                files: self.tls_files(local),
                verify: !self.no_verify,
            }),
            Transport::Ssh => self.ssh_route(host, read_only, local),
            Transport::Ext => match &self.command {
                Some(command) => Ok(Route::Command {
                    argv: vec![command.clone()],
                }),
                None => Err(UriError::CommandRequired),
            },
            transport @ (Transport::Libssh | Transport::Libssh2) => {
                Err(UriError::UnsupportedTransport { transport })
            }
        }
    }

    /// libvirt's `remoteGetUNIXSocket`: the session daemon's socket in the
    /// runtime directory, or the system one in `/var/run/libvirt`
    /// (`-sock-ro` for read-only); the driver's own daemon
    /// (`virtqemud-sock`) or the monolithic `libvirt-sock`.
    fn default_socket(&self, read_only: bool, local: &LocalContext) -> Result<PathBuf, UriError> {
        let session = self.wants_session(local);
        let socket = |prefix: &str| -> Result<PathBuf, UriError> {
            if session {
                let dir = local.runtime_dir.as_ref().ok_or(UriError::NoRuntimeDir)?;
                Ok(dir.join(format!("{prefix}-sock")))
            } else {
                let suffix = if read_only { "sock-ro" } else { "sock" };
                // libvirt writes /var/run, not /run: a remote host may lack
                // /run, and every host with /run links /var/run to it.
                Ok(PathBuf::from(format!("/var/run/libvirt/{prefix}-{suffix}")))
            }
        };
        let direct = format!("virt{}d", self.driver);
        let mode = self.mode.unwrap_or(Mode::Auto);
        match (mode, self.transport) {
            (Mode::Direct, Transport::Unix) => socket(&direct),
            (Mode::Direct, transport) => Err(UriError::DirectModeNeedsUnix { transport }),
            (Mode::Legacy, _) => socket("libvirt"),
            (Mode::Auto, Transport::Unix) => {
                // The modular daemon when its socket is there, as libvirt
                // probes; else libvirtd's (libvirt's build default).
                let direct = socket(&direct)?;
                if local.exists(&direct) {
                    Ok(direct)
                } else {
                    socket("libvirt")
                }
            }
            // Over ssh nothing can be probed: libvirtd's path, which
            // virt-ssh-helper does not need anyway.
            (Mode::Auto, _) => socket("libvirt"),
        }
    }

    /// libvirt's TLS file locations: `?pkipath=` as given; for a user not
    /// root, files in `$HOME/.pki/libvirt` that exist; then the system's
    /// `/etc/pki/CA/cacert.pem` and `/etc/pki/libvirt/{clientcert.pem,
    /// private/clientkey.pem}`.
    fn tls_files(&self, local: &LocalContext) -> TlsFiles {
        if let Some(dir) = &self.pkipath {
            let dir = Path::new(dir);
            return TlsFiles {
                ca_cert: dir.join("cacert.pem"),
                client_cert: dir.join("clientcert.pem"),
                client_key: dir.join("clientkey.pem"),
            };
        }
        let mut files = TlsFiles {
            ca_cert: PathBuf::from("/etc/pki/CA/cacert.pem"),
            client_cert: PathBuf::from("/etc/pki/libvirt/clientcert.pem"),
            client_key: PathBuf::from("/etc/pki/libvirt/private/clientkey.pem"),
        };
        if let (false, Some(home)) = (local.privileged, &local.home) {
            let user = home.join(".pki/libvirt");
            let ca_cert = user.join("cacert.pem");
            if local.exists(&ca_cert) {
                files.ca_cert = ca_cert;
            }
            let (cert, key) = (user.join("clientcert.pem"), user.join("clientkey.pem"));
            // A pair: one without the other is not used.
            if local.exists(&cert) && local.exists(&key) {
                files.client_cert = cert;
                files.client_key = key;
            }
        }
        files
    }

    /// The `ssh` command line libvirt runs: `ssh [-p port] [-l user]
    /// [-i keyfile] -T -e none [-o BatchMode=yes] [-o
    /// StrictHostKeyChecking=no] -- host 'sh -c ...'`, the remote script
    /// starting `virt-ssh-helper` or netcat to the daemon's socket.
    fn ssh_route(
        &self,
        host: String,
        read_only: bool,
        local: &LocalContext,
    ) -> Result<Route, UriError> {
        let socket = match &self.socket {
            Some(socket) => socket.clone(),
            None => self
                .default_socket(read_only, local)?
                .to_string_lossy()
                .into_owned(),
        };
        // libvirt's default: netcat for an explicit socket (the helper
        // ignores it), the helper for a session (socket paths differ per
        // host), else the helper when the remote host has it. A netcat
        // path means netcat.
        let proxy = match self.proxy {
            Some(proxy) => proxy,
            None if self.socket.is_some() => Proxy::Netcat,
            None if self.wants_session(local) => Proxy::Native,
            None => Proxy::Auto,
        };
        let proxy = match (proxy, &self.netcat) {
            (Proxy::Native, Some(_)) => return Err(UriError::NetcatWithNativeProxy),
            (Proxy::Auto, Some(_)) => Proxy::Netcat,
            (proxy, _) => proxy,
        };
        let mut argv = vec![self.command.clone().unwrap_or_else(|| "ssh".to_owned())];
        if let Some(port) = self.port {
            argv.extend(["-p".to_owned(), port.to_string()]);
        }
        if let Some(user) = &self.user {
            argv.extend(["-l".to_owned(), user.clone()]);
        }
        if let Some(keyfile) = &self.keyfile {
            argv.extend(["-i".to_owned(), keyfile.clone()]);
        }
        argv.extend(["-T", "-e", "none"].map(ToString::to_string));
        if self.no_tty {
            argv.extend(["-o".to_owned(), "BatchMode=yes".to_owned()]);
        }
        if self.no_verify {
            argv.extend(["-o".to_owned(), "StrictHostKeyChecking=no".to_owned()]);
        }
        argv.extend(["--".to_owned(), host]);
        argv.push(self.remote_script(proxy, &socket, read_only));
        Ok(Route::Command { argv })
    }

    /// The command the remote shell runs (libvirt's
    /// `virNetClientSSHHelperCommand`, word for word, so remote hosts see
    /// what libvirt's own client sends).
    fn remote_script(&self, proxy: Proxy, socket: &str, read_only: bool) -> String {
        // The ssh server hands the command to a shell, which runs `sh -c`:
        // two levels of quoting.
        let netcat = double_shell_escape(self.netcat.as_deref().unwrap_or("nc"));
        let helper_uri = double_shell_escape(&self.helper_uri());
        // Debian's and SUSE's nc need -q0 to exit at end of input; Fedora's
        // has no -q and exits anyway.
        let netcat_command = format!(
            "if '{netcat}' -q 2>&1 | grep \"requires an argument\" >/dev/null 2>&1; then \
             ARG=-q0;else ARG=;fi;'{netcat}' $ARG -U {socket}"
        );
        let helper_command = format!(
            "virt-ssh-helper{}'{helper_uri}'",
            if read_only { " -r " } else { " " }
        );
        match proxy {
            Proxy::Auto => format!(
                "sh -c 'which virt-ssh-helper 1>/dev/null 2>&1; if test $? = 0; then     \
                 {helper_command}; else    {netcat_command}; fi'"
            ),
            Proxy::Netcat => format!("sh -c '{netcat_command}'"),
            Proxy::Native => format!("sh -c '{helper_command}'"),
        }
    }
}

/// A scheme is a letter, then letters, digits, `+`, `-`, `.` (RFC 3986).
fn check_scheme(scheme: &str) -> Result<(), UriError> {
    let mut chars = scheme.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if valid {
        Ok(())
    } else {
        Err(UriError::BadScheme {
            scheme: scheme.to_owned(),
        })
    }
}

/// `driver+transport`: the transport matched in any case, as libvirt does.
fn split_scheme(scheme: &str) -> Result<(&str, Option<Transport>), UriError> {
    let Some((driver, transport)) = scheme.split_once('+') else {
        return Ok((scheme, None));
    };
    let lower = transport.to_ascii_lowercase();
    match Transport::ALL.into_iter().find(|t| t.name() == lower) {
        Some(t) => Ok((driver, Some(t))),
        None => Err(UriError::UnknownTransport {
            transport: transport.to_owned(),
        }),
    }
}

type Authority = (Option<String>, Option<String>, Option<u16>);

fn parse_authority(authority: &str) -> Result<Authority, UriError> {
    let (user, host_port) = match authority.rsplit_once('@') {
        Some((user, rest)) => (Some(decode("user", user)?), rest),
        None => (None, authority),
    };
    let (host, port) = if let Some(bracketed) = host_port.strip_prefix('[') {
        let Some((host, after)) = bracketed.split_once(']') else {
            return Err(UriError::BadHost {
                host: host_port.to_owned(),
            });
        };
        match after {
            "" => (host, None),
            _ => match after.strip_prefix(':') {
                Some(port) => (host, Some(port)),
                None => {
                    return Err(UriError::BadHost {
                        host: host_port.to_owned(),
                    });
                }
            },
        }
    } else {
        match host_port.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        }
    };
    let port = match port {
        None | Some("") => None,
        Some(text) => {
            let all_digits = text.bytes().all(|b| b.is_ascii_digit());
            match text.parse::<u16>() {
                // Port 0 is "no port" to libvirt.
                Ok(0) => None,
                Ok(port) if all_digits => Some(port),
                _ => {
                    return Err(UriError::BadPort {
                        port: text.to_owned(),
                    });
                }
            }
        }
    };
    let host = decode("host", host)?;
    Ok((user, (!host.is_empty()).then_some(host), port))
}

/// libvirt's query splitting (`virURIParseParams`): pairs separated by `&`
/// (or `;` once no `&` is left), `name` alone meaning an empty value,
/// `=value` without a name ignored, `%XX` decoded (`+` stays `+`).
fn split_query(query: &str) -> Result<Vec<(String, String)>, UriError> {
    let mut out = Vec::new();
    let mut rest = query;
    while !rest.is_empty() {
        let end = rest
            .find('&')
            .or_else(|| rest.find(';'))
            .unwrap_or(rest.len());
        let pair = &rest[..end];
        rest = rest.get(end + 1..).unwrap_or("");
        if pair.is_empty() {
            continue;
        }
        match pair.split_once('=') {
            Some(("", _)) => {}
            Some((name, value)) => out.push((decode("query", name)?, decode("query", value)?)),
            None => out.push((decode("query", pair)?, String::new())),
        }
    }
    Ok(out)
}

/// `%XX` decoding; the result must be UTF-8.
fn decode(part: &'static str, text: &str) -> Result<String, UriError> {
    let bad = || UriError::BadEscape {
        part,
        text: text.to_owned(),
    };
    if !text.contains('%') {
        return Ok(text.to_owned());
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).ok_or_else(bad)?;
            let hex = std::str::from_utf8(hex).map_err(|_| bad())?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| bad())?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| bad())
}

/// libvirt's `-sock` suffix rules put `-` in socket names, and paths keep
/// their `/`: the characters RFC 3986 allows in a path stay as they are.
fn encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/:@!$&'()*+,;=".contains(&b) {
            out.push(char::from(b));
        } else {
            push_escape(&mut out, b);
        }
    }
    out
}

/// A query name or value as libvirt formats it (GLib's
/// `g_uri_escape_string`): everything but letters, digits and `-._~`
/// escaped.
fn encode_component(out: &mut String, text: &str) {
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            push_escape(out, b);
        }
    }
}

fn push_escape(out: &mut String, b: u8) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.push('%');
    out.push(char::from(HEX[usize::from(b >> 4)]));
    out.push(char::from(HEX[usize::from(b & 0xf)]));
}

fn parse_flag(name: &str, value: &str) -> Result<bool, UriError> {
    value
        .parse::<i32>()
        .map(|v| v != 0)
        .map_err(|_| UriError::BadFlag {
            param: name.to_owned(),
            value: value.to_owned(),
        })
}

fn parse_auth(value: &str) -> Result<AuthChoice, UriError> {
    let lower = value.to_ascii_lowercase();
    if lower == "sasl" {
        Ok(AuthChoice::Sasl { mechanism: None })
    } else if lower.starts_with("sasl.") {
        Ok(AuthChoice::Sasl {
            mechanism: Some(value[5..].to_owned()),
        })
    } else if lower == "polkit" {
        Ok(AuthChoice::Polkit)
    } else {
        Err(UriError::UnknownAuth {
            value: value.to_owned(),
        })
    }
}

/// libvirt's `virBufferEscapeShell`: as is when no shell metacharacter is
/// in it, else single-quoted with `'` written `'\''`.
fn shell_escape(text: &str) -> String {
    if text.is_empty() {
        return "''".to_owned();
    }
    if !text
        .chars()
        .any(|c| "\r\t\n !\"#$&'()*;<>?[\\]^`{|}~".contains(c))
    {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() + 2);
    out.push('\'');
    for c in text.chars() {
        if c == '\'' {
            out.push_str("'\\'");
        }
        out.push(c);
    }
    out.push('\'');
    out
}

fn double_shell_escape(text: &str) -> String {
    shell_escape(&shell_escape(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> LocalContext {
        LocalContext {
            privileged: true,
            runtime_dir: Some(PathBuf::from("/run/user/1000/libvirt")),
            home: Some(PathBuf::from("/home/u")),
            existing: Some(Vec::new()),
        }
    }

    fn user() -> LocalContext {
        LocalContext {
            privileged: false,
            ..root()
        }
    }

    fn parse(uri: &str) -> RemoteUri {
        RemoteUri::parse(uri).unwrap_or_else(|e| panic!("{uri}: {e}"))
    }

    fn route(uri: &str, local: &LocalContext) -> Route {
        parse(uri).route(false, local).unwrap()
    }

    fn socket(uri: &str, read_only: bool, local: &LocalContext) -> PathBuf {
        match parse(uri).route(read_only, local).unwrap() {
            Route::Unix { socket } => socket,
            other => panic!("{uri}: {other:?}"),
        }
    }

    fn argv(uri: &str, local: &LocalContext) -> Vec<String> {
        match parse(uri).route(false, local).unwrap() {
            Route::Command { argv } => argv,
            other => panic!("{uri}: {other:?}"),
        }
    }

    fn error(uri: &str) -> UriError {
        RemoteUri::parse(uri).unwrap_err()
    }

    #[test]
    fn transports_default_from_the_host() {
        assert_eq!(parse("qemu:///system").transport(), Transport::Unix);
        assert_eq!(parse("qemu://host/system").transport(), Transport::Tls);
        for t in Transport::ALL {
            let uri = parse(&format!("qemu+{t}:///system"));
            assert_eq!(uri.transport(), t);
            assert_eq!(uri.driver(), "qemu");
        }
        // The transport in any case, as libvirt lowercases it.
        assert_eq!(parse("qemu+SSH://h/system").transport(), Transport::Ssh);
    }

    #[test]
    fn authority_parts() {
        let uri = parse("qemu+ssh://alice@example.org:2222/system");
        assert_eq!(uri.user(), Some("alice"));
        assert_eq!(uri.host(), Some("example.org"));
        assert_eq!(uri.port(), Some(2222));
        assert_eq!(uri.path(), "/system");
        let v6 = parse("qemu+tcp://[::1]:16000/system");
        assert_eq!(v6.host(), Some("::1"));
        assert_eq!(v6.port(), Some(16000));
        assert_eq!(parse("qemu+tcp://[fe80::1]/system").port(), None);
        // An empty host is no host; port 0 is no port.
        assert_eq!(parse("test:///default").host(), None);
        assert_eq!(parse("qemu+tcp://h:0/system").port(), None);
        assert_eq!(parse("qemu+tcp://h:/system").port(), None);
        assert_eq!(parse("qemu+ssh://a%40b@h/system").user(), Some("a@b"));
        // No "//": the rest is the path.
        assert_eq!(parse("test:/default").path(), "/default");
    }

    #[test]
    fn errors_name_the_part_at_fault() {
        assert_eq!(
            error("/var/run/sock"),
            UriError::MissingScheme {
                uri: "/var/run/sock".into()
            }
        );
        assert_eq!(
            error("9qemu:///system"),
            UriError::BadScheme {
                scheme: "9qemu".into()
            }
        );
        let e = error("qemu+carrier-pigeon:///system");
        assert_eq!(
            e,
            UriError::UnknownTransport {
                transport: "carrier-pigeon".into()
            }
        );
        assert!(e.to_string().contains("'carrier-pigeon'"), "{e}");
        assert!(e.to_string().contains("tls, unix, ssh"), "{e}");
        assert_eq!(
            error("qemu+unix://host/system"),
            UriError::UnixWithHost {
                host: "host".into()
            }
        );
        assert_eq!(
            error("qemu+tcp://h:99999/system"),
            UriError::BadPort {
                port: "99999".into()
            }
        );
        assert_eq!(
            error("qemu+tcp://h:+80/system"),
            UriError::BadPort { port: "+80".into() }
        );
        assert_eq!(
            error("qemu+tcp://[::1/system"),
            UriError::BadHost {
                host: "[::1".into()
            }
        );
        assert_eq!(
            error("qemu+tcp://[::1]x/system"),
            UriError::BadHost {
                host: "[::1]x".into()
            }
        );
        assert_eq!(
            error("qemu:///sys%zztem"),
            UriError::BadEscape {
                part: "path",
                text: "/sys%zztem".into()
            }
        );
        assert_eq!(
            error("qemu:///system?socket=%ff"),
            UriError::BadEscape {
                part: "query",
                text: "%ff".into()
            }
        );
        assert_eq!(
            error("qemu:///system?no_verify=yes"),
            UriError::BadFlag {
                param: "no_verify".into(),
                value: "yes".into()
            }
        );
        assert_eq!(
            error("qemu:///system?mode=fast"),
            UriError::UnknownMode {
                value: "fast".into()
            }
        );
        assert_eq!(
            error("qemu+ssh://h/system?proxy=socks"),
            UriError::UnknownProxy {
                value: "socks".into()
            }
        );
        assert_eq!(
            error("qemu:///system?auth=kerberos"),
            UriError::UnknownAuth {
                value: "kerberos".into()
            }
        );
        let local = root();
        assert_eq!(
            parse("qemu+ext:///system").route(false, &local),
            Err(UriError::CommandRequired)
        );
        assert_eq!(
            parse("qemu+ssh://h/system?proxy=native&netcat=/bin/nc").route(false, &local),
            Err(UriError::NetcatWithNativeProxy)
        );
        assert_eq!(
            parse("qemu+ssh://h/system?mode=direct").route(false, &local),
            Err(UriError::DirectModeNeedsUnix {
                transport: Transport::Ssh
            })
        );
        for t in [Transport::Libssh, Transport::Libssh2] {
            assert_eq!(
                parse(&format!("qemu+{t}://h/system")).route(false, &local),
                Err(UriError::UnsupportedTransport { transport: t })
            );
        }
        let no_dirs = LocalContext {
            runtime_dir: None,
            ..user()
        };
        assert_eq!(
            parse("qemu:///session").route(false, &no_dirs),
            Err(UriError::NoRuntimeDir)
        );
    }

    #[test]
    fn parameters_and_their_values() {
        let uri = parse(
            "qemu+ssh://h/system?Keyfile=/k&no_tty=1&no_verify=0&netcat=/bin/nc&command=/bin/ssh\
             &proxy=netcat&mode=legacy&no_sanity=1&auth=sasl.SCRAM-SHA-256&x=1&x=2&flag",
        );
        assert_eq!(uri.param("keyfile"), Some("/k"));
        assert!(uri.no_tty);
        assert!(!uri.no_verify());
        assert_eq!(uri.netcat.as_deref(), Some("/bin/nc"));
        assert_eq!(uri.command.as_deref(), Some("/bin/ssh"));
        assert_eq!(uri.proxy, Some(Proxy::Netcat));
        assert_eq!(uri.mode, Some(Mode::Legacy));
        assert_eq!(
            uri.auth(),
            Some(&AuthChoice::Sasl {
                mechanism: Some("SCRAM-SHA-256".into())
            })
        );
        // The last of a repeated parameter wins; a bare name has "".
        assert_eq!(uri.param("x"), Some("2"));
        assert_eq!(uri.param("flag"), Some(""));
        assert_eq!(
            parse("q:///s?auth=polkit").auth(),
            Some(&AuthChoice::Polkit)
        );
        assert_eq!(
            parse("q:///s?auth=SASL").auth(),
            Some(&AuthChoice::Sasl { mechanism: None })
        );
        // Any non-zero integer sets a flag.
        assert!(parse("q:///s?no_verify=-3").no_verify());
        // `;` separates when no `&` is left; "=v" is ignored; %XX decoded,
        // `+` kept.
        let uri = parse("q:///s?a=1;b=2&=skipped&c=x%20y+z");
        assert_eq!(uri.param("a"), Some("1;b=2"));
        assert_eq!(uri.param("c"), Some("x y+z"));
        let uri = parse("q:///s?a=1;b=2");
        assert_eq!(uri.param("a"), Some("1"));
        assert_eq!(uri.param("b"), Some("2"));
    }

    #[test]
    fn connect_open_name_drops_transport_server_and_client_parameters() {
        for (uri, name) in [
            ("qemu:///system", "qemu:///system"),
            ("qemu:///session", "qemu:///session"),
            (
                "qemu+ssh://root@host:22/system?keyfile=/k&no_verify=1",
                "qemu:///system",
            ),
            (
                "qemu+tls://host/system?pkipath=/p&no_sanity=1",
                "qemu:///system",
            ),
            ("test+unix:///default?socket=/tmp/s", "test:///default"),
            ("test+tcp://127.0.0.1:16509/default", "test:///default"),
            (
                "qemu+ext:///system?command=/bin/x&mode=legacy",
                "qemu:///system",
            ),
            // Parameters for the driver pass through, escaped as libvirt
            // escapes them; fragments too.
            (
                "xen+ssh://h/?foo=a b&socket=/s&bar=x/y",
                "xen:///?foo=a%20b&bar=x%2Fy",
            ),
            (
                "esx://h/?no_verify=1&transport=http",
                "esx:///?transport=http",
            ),
            ("vbox:///session#frag", "vbox:///session#frag"),
            // Client parameters in any case.
            ("qemu:///system?SOCKET=/s&Proxy=auto", "qemu:///system"),
            // An explicit name, and the remote driver's empty one.
            ("qemu+ssh://h/system?name=qemu:///embed", "qemu:///embed"),
            ("remote+ssh://h/", ""),
            ("remote:///", ""),
        ] {
            assert_eq!(parse(uri).connect_open_name(), name, "{uri}");
        }
        // virt-ssh-helper keeps mode and socket.
        assert_eq!(
            parse("qemu+ssh://h/system?socket=/s&keyfile=/k&mode=legacy").helper_uri(),
            "qemu:///system?socket=%2Fs&mode=legacy"
        );
    }

    #[test]
    fn open_flags_follow_read_only_and_session() {
        let uri = parse("qemu:///session");
        assert_eq!(uri.open_flags(false, &root()), 0);
        assert_eq!(uri.open_flags(true, &root()), OPEN_READ_ONLY);
        assert_eq!(uri.open_flags(true, &user()), OPEN_READ_ONLY | OPEN_USER);
        assert_eq!(parse("qemu:///system").open_flags(false, &user()), 0);
        // The test driver over an explicit transport is a session thing.
        assert_eq!(
            parse("test+unix:///default").open_flags(false, &user()),
            OPEN_USER
        );
        assert_eq!(parse("test:///default").open_flags(false, &user()), 0);
    }

    #[test]
    fn default_sockets() {
        let root = root();
        let user = user();
        let sys = |p: &str| PathBuf::from(p);
        assert_eq!(
            socket("qemu:///system", false, &root),
            sys("/var/run/libvirt/libvirt-sock")
        );
        assert_eq!(
            socket("qemu:///system", true, &root),
            sys("/var/run/libvirt/libvirt-sock-ro")
        );
        // A user's system URI is still the system socket.
        assert_eq!(
            socket("qemu:///system", false, &user),
            sys("/var/run/libvirt/libvirt-sock")
        );
        // The session socket has no read-only twin.
        assert_eq!(
            socket("qemu:///session", true, &user),
            sys("/run/user/1000/libvirt/libvirt-sock")
        );
        // Root asking for /session gets the system daemon, as in libvirt.
        assert_eq!(
            socket("qemu:///session", false, &root),
            sys("/var/run/libvirt/libvirt-sock")
        );
        // The modular daemon when its socket exists (auto), or when asked.
        let modular = LocalContext {
            existing: Some(vec![sys("/var/run/libvirt/virtqemud-sock-ro")]),
            ..root.clone()
        };
        assert_eq!(
            socket("qemu:///system", true, &modular),
            sys("/var/run/libvirt/virtqemud-sock-ro")
        );
        assert_eq!(
            socket("qemu:///system", false, &modular),
            sys("/var/run/libvirt/libvirt-sock")
        );
        assert_eq!(
            socket("qemu:///system?mode=legacy", true, &modular),
            sys("/var/run/libvirt/libvirt-sock-ro")
        );
        assert_eq!(
            socket("lxc:///system?mode=direct", false, &root),
            sys("/var/run/libvirt/virtlxcd-sock")
        );
        assert_eq!(
            socket("qemu:///session?mode=direct", false, &user),
            sys("/run/user/1000/libvirt/virtqemud-sock")
        );
        // An explicit socket wins over everything.
        assert_eq!(
            socket("qemu:///system?socket=/s&mode=direct", true, &root),
            sys("/s")
        );
    }

    #[test]
    fn session_directory_from_the_environment_rules() {
        // Only checks the fallbacks' shape: XDG_RUNTIME_DIR, else the cache
        // directory, each with "libvirt" appended.
        let local = LocalContext::current();
        if let Some(dir) = &local.runtime_dir {
            assert!(dir.ends_with("libvirt"), "{}", dir.display());
        }
    }

    #[test]
    fn tcp_and_tls_defaults() {
        let local = root();
        assert_eq!(
            route("qemu+tcp:///system", &local),
            Route::Tcp {
                host: "localhost".into(),
                port: 16509
            }
        );
        assert_eq!(
            route("qemu+tcp://h:1234/system", &local),
            Route::Tcp {
                host: "h".into(),
                port: 1234
            }
        );
        let system = TlsFiles {
            ca_cert: PathBuf::from("/etc/pki/CA/cacert.pem"),
            client_cert: PathBuf::from("/etc/pki/libvirt/clientcert.pem"),
            client_key: PathBuf::from("/etc/pki/libvirt/private/clientkey.pem"),
        };
        assert_eq!(
            route("qemu://h/system", &local),
            Route::Tls {
                host: "h".into(),
                port: 16514,
                files: system.clone(),
                verify: true
            }
        );
        assert_eq!(
            route("qemu+tls://h:1/system?pkipath=/p&no_verify=1", &local),
            Route::Tls {
                host: "h".into(),
                port: 1,
                files: TlsFiles {
                    ca_cert: PathBuf::from("/p/cacert.pem"),
                    client_cert: PathBuf::from("/p/clientcert.pem"),
                    client_key: PathBuf::from("/p/clientkey.pem"),
                },
                verify: false
            }
        );
        // A user's own files where they exist: the CA alone, the
        // certificate and key only as a pair.
        let pki = |f: &str| PathBuf::from(format!("/home/u/.pki/libvirt/{f}"));
        let partial = LocalContext {
            existing: Some(vec![pki("cacert.pem"), pki("clientcert.pem")]),
            ..user()
        };
        let Route::Tls { files, .. } = route("qemu+tls://h/system", &partial) else {
            panic!()
        };
        assert_eq!(
            files,
            TlsFiles {
                ca_cert: pki("cacert.pem"),
                ..system.clone()
            }
        );
        let full = LocalContext {
            existing: Some(vec![pki("clientkey.pem"), pki("clientcert.pem")]),
            ..user()
        };
        let Route::Tls { files, .. } = route("qemu+tls://h/system", &full) else {
            panic!()
        };
        assert_eq!(
            files,
            TlsFiles {
                ca_cert: system.ca_cert.clone(),
                client_cert: pki("clientcert.pem"),
                client_key: pki("clientkey.pem"),
            }
        );
        // Root never looks in a home directory.
        let as_root = LocalContext {
            privileged: true,
            ..full
        };
        let Route::Tls { files, .. } = route("qemu+tls://h/system", &as_root) else {
            panic!()
        };
        assert_eq!(files, system);
    }

    const NETCAT: &str = "if 'nc' -q 2>&1 | grep \"requires an argument\" >/dev/null 2>&1; then \
                          ARG=-q0;else ARG=;fi;'nc' $ARG -U ";

    #[test]
    fn ssh_command_lines() {
        let local = root();
        assert_eq!(
            argv(
                "qemu+ssh://root@h:2222/system?keyfile=/k&no_tty=1&no_verify=1&socket=/s",
                &local
            ),
            [
                "ssh",
                "-p",
                "2222",
                "-l",
                "root",
                "-i",
                "/k",
                "-T",
                "-e",
                "none",
                "-o",
                "BatchMode=yes",
                "-o",
                "StrictHostKeyChecking=no",
                "--",
                "h",
                &format!("sh -c '{NETCAT}/s'"),
            ]
        );
        // Defaults: no port, no user, host localhost, helper or netcat to
        // libvirtd's socket.
        assert_eq!(
            argv("qemu+ssh:///system", &local),
            [
                "ssh",
                "-T",
                "-e",
                "none",
                "--",
                "localhost",
                &format!(
                    "sh -c 'which virt-ssh-helper 1>/dev/null 2>&1; if test $? = 0; then     \
                     virt-ssh-helper 'qemu:///system'; else    {NETCAT}/var/run/libvirt/libvirt-sock; fi'"
                ),
            ]
        );
        let script = |uri: &str, read_only: bool, local: &LocalContext| -> String {
            match parse(uri).route(read_only, local).unwrap() {
                Route::Command { argv } => argv.last().unwrap().clone(),
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(
            script("qemu+ssh://h/system?proxy=native", true, &local),
            "sh -c 'virt-ssh-helper -r 'qemu:///system''"
        );
        assert_eq!(
            script("qemu+ssh://h/system?proxy=netcat", true, &local),
            format!("sh -c '{NETCAT}/var/run/libvirt/libvirt-sock-ro'")
        );
        // A session over ssh goes through the helper (its socket path is
        // the remote user's business).
        assert_eq!(
            script("qemu+ssh://h/session", false, &user()),
            "sh -c 'virt-ssh-helper 'qemu:///session''"
        );
        // A netcat path means netcat, quoted twice when it needs quoting.
        let nc = "''\\''/opt/my nc'\\'''";
        assert_eq!(
            script("qemu+ssh://h/system?netcat=/opt/my nc", false, &local),
            format!(
                "sh -c 'if '{nc}' -q 2>&1 | grep \"requires an argument\" >/dev/null 2>&1; then \
                 ARG=-q0;else ARG=;fi;'{nc}' $ARG -U /var/run/libvirt/libvirt-sock'"
            )
        );
        // Parameters for the driver reach the helper; `&` makes libvirt
        // quote the URI (twice).
        assert_eq!(
            script(
                "qemu+ssh://h/system?proxy=native&x=a b&mode=legacy",
                false,
                &local
            ),
            "sh -c 'virt-ssh-helper '''\\''qemu:///system?x=a%20b&mode=legacy'\\'''''"
        );
        assert_eq!(
            argv("qemu+ssh://h/system?command=/opt/ssh", &local)[0],
            "/opt/ssh"
        );
    }

    #[test]
    fn ext_runs_the_command_alone() {
        assert_eq!(
            argv("qemu+ext:///system?command=/usr/bin/tunnel --x", &root()),
            ["/usr/bin/tunnel --x"]
        );
    }

    #[test]
    fn shell_escaping_as_libvirt_does() {
        assert_eq!(shell_escape("nc"), "nc");
        assert_eq!(shell_escape(""), "''");
        assert_eq!(shell_escape("a b"), "'a b'");
        assert_eq!(shell_escape("it's"), "'it'\\''s'");
        assert_eq!(double_shell_escape("a b"), "''\\''a b'\\'''");
    }
}
