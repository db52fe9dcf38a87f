//! libvirt's SASL authentication (feature `sasl`): the REMOTE program's
//! AUTH_SASL_INIT / AUTH_SASL_START / AUTH_SASL_STEP messages, and the
//! client side of the exchange as libvirt's remote driver runs it
//! (`remoteAuthSASL`). The mechanisms come from the `rsasl` crate:
//! SCRAM-SHA-256, SCRAM-SHA-1 and PLAIN.
//!
//! The rules are libvirt's:
//! - the client asks for the daemon's mechanisms (INIT), picks the best one
//!   both sides have, or the one the URI forces (`auth=sasl.MECH`, refused
//!   before START if the daemon does not offer it), then sends START with
//!   its first message and STEPs until both sides are complete; the client
//!   always runs one more step after the daemon says complete, to check
//!   the daemon's proof (SCRAM's server signature);
//! - `nil` tells "no data" from "empty data", which SASL distinguishes;
//! - a connection that is not secure (plain TCP; TLS, Unix sockets, ssh and
//!   ext are) needs a SASL security layer of at least 56 bits (SSF).
//!   None of these mechanisms has one, so over plain TCP there is nothing
//!   to choose, as with libvirt's client configured for SCRAM. Over a
//!   secure connection libvirt turns the security layer off and allows
//!   PLAIN.

use std::boxed::Box;
use std::fmt;
use std::string::{String, ToString};
use std::sync::Arc;
use std::vec::Vec;

use super::transport::procedure;
use crate::encode::{padded_len, put_count, put_i8, put_i32, put_opaque_var};
use crate::{DecodeError, Decoder, EncodeError, XdrDecode, XdrEncode};

/// `REMOTE_AUTH_SASL_DATA_MAX`.
pub(crate) const AUTH_SASL_DATA_MAX: u32 = 65_536;
/// `REMOTE_STRING_MAX`.
const REMOTE_STRING_MAX: u32 = 4_194_304;
/// `REMOTE_PROGRAM`.
const REMOTE_PROGRAM: u32 = 0x2000_8086;

/// `REMOTE_PROC_AUTH_SASL_INIT`.
pub(crate) const PROC_AUTH_SASL_INIT: i32 = 67;
/// `REMOTE_PROC_AUTH_SASL_START`.
pub(crate) const PROC_AUTH_SASL_START: i32 = 68;
/// `REMOTE_PROC_AUTH_SASL_STEP`.
pub(crate) const PROC_AUTH_SASL_STEP: i32 = 69;

/// The mechanisms this crate speaks, best first: the order in which
/// Cyrus SASL, and so libvirt's client, prefers them (SCRAM proves the
/// password without sending it and authenticates the daemon too).
pub const MECHANISMS: [&str; 3] = ["SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"];

/// Whether `mechanism` sends the password itself, so that libvirt allows
/// it only over a secure connection.
pub(crate) fn is_plaintext(mechanism: &str) -> bool {
    mechanism.eq_ignore_ascii_case("PLAIN")
}

/// `char data<REMOTE_AUTH_SASL_DATA_MAX>`: rpcgen's `xdr_array` of
/// `xdr_char`, so each byte is a sign-extended 4-byte word.
fn put_sasl_data(out: &mut Vec<u8>, data: &[u8]) -> Result<(), EncodeError> {
    put_count(out, data.len(), AUTH_SASL_DATA_MAX, "sasl data")?;
    for &byte in data {
        put_i8(out, i8::from_ne_bytes([byte]));
    }
    Ok(())
}

fn sasl_data(d: &mut Decoder<'_>) -> Result<Vec<u8>, DecodeError> {
    let n = d.count(AUTH_SASL_DATA_MAX, 4, 1)?;
    let mut data = Vec::with_capacity(n);
    for _ in 0..n {
        data.push(u8::from_ne_bytes(d.i8()?.to_ne_bytes()));
    }
    Ok(data)
}

/// `nil` and `data`: `None` is SASL's "no data" (`nil` = 1), which differs
/// from empty data.
fn put_optional_data(out: &mut Vec<u8>, data: Option<&[u8]>) -> Result<(), EncodeError> {
    put_i32(out, i32::from(data.is_none()));
    put_sasl_data(out, data.unwrap_or_default())
}

fn optional_data(d: &mut Decoder<'_>) -> Result<Option<Vec<u8>>, DecodeError> {
    let nil = d.i32()? != 0;
    let data = sasl_data(d)?;
    Ok((!nil).then_some(data))
}

fn optional_data_len(data: Option<&[u8]>) -> usize {
    4 + 4 + 4 * data.map_or(0, <[u8]>::len)
}

/// `remote_auth_sasl_init_ret`: the daemon's mechanisms, comma-separated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SaslInitRet {
    pub(crate) mechlist: String,
}

impl XdrEncode for SaslInitRet {
    fn encoded_len(&self) -> usize {
        4 + padded_len(self.mechlist.len())
    }

    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        put_opaque_var(out, self.mechlist.as_bytes(), REMOTE_STRING_MAX, "mechlist")
    }
}

impl XdrDecode for SaslInitRet {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        let mechlist = d.string(REMOTE_STRING_MAX)?;
        Ok(SaslInitRet {
            mechlist: mechlist.to_string_lossy().into_owned(),
        })
    }
}

/// `remote_auth_sasl_start_args`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SaslStartArgs {
    pub(crate) mechanism: String,
    pub(crate) data: Option<Vec<u8>>,
}

impl XdrEncode for SaslStartArgs {
    fn encoded_len(&self) -> usize {
        4 + padded_len(self.mechanism.len()) + optional_data_len(self.data.as_deref())
    }

    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        put_opaque_var(out, self.mechanism.as_bytes(), REMOTE_STRING_MAX, "mech")?;
        put_optional_data(out, self.data.as_deref())
    }
}

impl XdrDecode for SaslStartArgs {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        let mechanism = d.string(REMOTE_STRING_MAX)?.to_string_lossy().into_owned();
        let data = optional_data(d)?;
        Ok(SaslStartArgs { mechanism, data })
    }
}

/// `remote_auth_sasl_step_args`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SaslStepArgs {
    pub(crate) data: Option<Vec<u8>>,
}

impl XdrEncode for SaslStepArgs {
    fn encoded_len(&self) -> usize {
        optional_data_len(self.data.as_deref())
    }

    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        put_optional_data(out, self.data.as_deref())
    }
}

impl XdrDecode for SaslStepArgs {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(SaslStepArgs {
            data: optional_data(d)?,
        })
    }
}

/// `remote_auth_sasl_start_ret` and `remote_auth_sasl_step_ret`, which
/// have one layout: whether the daemon is done, and its data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SaslReply {
    pub(crate) complete: bool,
    pub(crate) data: Option<Vec<u8>>,
}

impl XdrEncode for SaslReply {
    fn encoded_len(&self) -> usize {
        4 + optional_data_len(self.data.as_deref())
    }

    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        put_i32(out, i32::from(self.complete));
        put_optional_data(out, self.data.as_deref())
    }
}

impl XdrDecode for SaslReply {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        let complete = d.i32()? != 0;
        let data = optional_data(d)?;
        Ok(SaslReply { complete, data })
    }
}

/// The mechanisms of a comma- or space-separated list (`sasl_listmech`'s
/// format), upper-cased.
pub(crate) fn parse_mechlist(list: &str) -> Vec<String> {
    list.split([',', ' '])
        .filter(|m| !m.is_empty())
        .map(str::to_ascii_uppercase)
        .collect()
}

/// What a [`Credentials`] callback is asked for (libvirt's
/// `VIR_CRED_AUTHNAME` and `VIR_CRED_PASSPHRASE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CredentialKind {
    /// The name to authenticate as.
    AuthName,
    /// The password.
    Password,
}

/// One question to a [`Credentials`] callback, as `virConnectCredential`
/// puts it.
#[derive(Clone, Debug)]
pub struct CredentialPrompt<'a> {
    /// What is asked for.
    pub kind: CredentialKind,
    /// The prompt libvirt shows ("Please enter your authentication name").
    pub prompt: &'a str,
    /// The mechanism it is for (`SCRAM-SHA-256`).
    pub mechanism: &'a str,
    /// The daemon's host (`localhost` for local transports).
    pub host: &'a str,
    /// The name given for this exchange so far (with
    /// [`CredentialKind::Password`]).
    pub username: Option<&'a str>,
}

type CredentialFn = dyn Fn(&CredentialPrompt<'_>) -> Option<String> + Send + Sync;

/// Answers the credentials a SASL exchange needs, like `virConnectAuth`'s
/// callback: `None` when it has no answer. Asked only for what the URI's
/// auth file (`authfile=`, `LIBVIRT_AUTH_FILE`, libvirt's `auth.conf`) does
/// not give.
#[derive(Clone)]
pub struct Credentials(Arc<CredentialFn>);

impl Credentials {
    /// A callback asked for each credential.
    pub fn new(
        answer: impl Fn(&CredentialPrompt<'_>) -> Option<String> + Send + Sync + 'static,
    ) -> Credentials {
        Credentials(Arc::new(answer))
    }

    /// A fixed name and password.
    pub fn password(username: impl Into<String>, password: impl Into<String>) -> Credentials {
        let (username, password) = (username.into(), password.into());
        Credentials::new(move |prompt| match prompt.kind {
            CredentialKind::AuthName => Some(username.clone()),
            CredentialKind::Password => Some(password.clone()),
        })
    }

    fn ask(&self, prompt: &CredentialPrompt<'_>) -> Option<String> {
        (self.0)(prompt)
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Credentials(..)")
    }
}

/// Why a SASL exchange failed on the client's side, or what the daemon
/// answered.
#[derive(Debug)]
#[non_exhaustive]
pub enum SaslError {
    /// AUTH_SASL_INIT, START or STEP failed: over the connection, or the
    /// daemon refused (its own error, such as `VIR_ERR_AUTH_FAILED`
    /// "authentication failed" for a wrong password, is the source).
    Daemon {
        /// `REMOTE_PROC_AUTH_SASL_INIT`, `_START` or `_STEP`.
        procedure: &'static str,
        /// The mechanism, once chosen.
        mechanism: Option<String>,
        /// The call's error.
        source: super::Error,
    },
    /// The URI forces a mechanism (`auth=sasl.MECH`) that the daemon does
    /// not offer or this client does not speak; nothing was sent for it.
    MechanismRefused {
        /// The mechanism asked for.
        wanted: String,
        /// What the daemon offers.
        offered: Vec<String>,
        /// What this client speaks on this connection.
        supported: Vec<String>,
    },
    /// The daemon offers nothing this client speaks on this connection.
    NoCommonMechanism {
        /// What the daemon offers.
        offered: Vec<String>,
        /// What this client speaks on this connection.
        supported: Vec<String>,
        /// Whether the connection is secure (TLS, Unix socket, ssh, ext);
        /// plain TCP needs a security layer none of these mechanisms has.
        secure: bool,
    },
    /// No answer for a credential: no callback, or it gave none.
    NoCredential {
        /// What was asked for.
        kind: CredentialKind,
        /// The mechanism.
        mechanism: String,
    },
    /// The mechanism failed on this side (a malformed message, or a daemon
    /// whose SCRAM proof is wrong).
    Mechanism {
        /// The mechanism.
        mechanism: String,
        /// What went wrong.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The daemon said the exchange was complete before this side was, or
    /// kept it going after.
    Protocol {
        /// The mechanism.
        mechanism: String,
        /// What was out of order.
        what: &'static str,
    },
}

fn join(f: &mut fmt::Formatter<'_>, list: &[String]) -> fmt::Result {
    if list.is_empty() {
        return f.write_str("nothing");
    }
    f.write_str(&list.join(", "))
}

impl fmt::Display for SaslError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SaslError::Daemon {
                procedure,
                mechanism,
                ..
            } => match mechanism {
                Some(m) => write!(f, "SASL {m} authentication failed at {procedure}"),
                None => write!(f, "SASL authentication failed at {procedure}"),
            },
            SaslError::MechanismRefused {
                wanted,
                offered,
                supported,
            } => {
                write!(
                    f,
                    "SASL mechanism {wanted} was asked for; the daemon offers "
                )?;
                join(f, offered)?;
                f.write_str(", this client supports ")?;
                join(f, supported)
            }
            SaslError::NoCommonMechanism {
                offered,
                supported,
                secure,
            } => {
                f.write_str("no SASL mechanism in common: the daemon offers ")?;
                join(f, offered)?;
                f.write_str(", this client supports ")?;
                join(f, supported)?;
                if !secure {
                    f.write_str(
                        " (plain TCP needs a SASL security layer of at least 56 bits, which no \
                         mechanism here has: use tls)",
                    )?;
                }
                Ok(())
            }
            SaslError::NoCredential { kind, mechanism } => {
                let what = match kind {
                    CredentialKind::AuthName => "authentication name",
                    CredentialKind::Password => "password",
                };
                write!(
                    f,
                    "SASL {mechanism} needs a {what}, and neither the credentials callback nor \
                     the auth file gave one"
                )
            }
            SaslError::Mechanism { mechanism, .. } => {
                write!(f, "SASL {mechanism} failed on this side")
            }
            SaslError::Protocol { mechanism, what } => {
                write!(f, "SASL {mechanism} exchange out of order: {what}")
            }
        }
    }
}

impl std::error::Error for SaslError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SaslError::Daemon { source, .. } => Some(source),
            SaslError::Mechanism { source, .. } => Some(&**source),
            _ => None,
        }
    }
}

/// The mechanisms this client speaks on a connection: PLAIN only when it
/// is secure, and over plain TCP none.
pub(crate) fn supported(secure: bool) -> Vec<String> {
    if !secure {
        return Vec::new();
    }
    MECHANISMS.iter().map(ToString::to_string).collect()
}

/// libvirt's choice: the forced mechanism if the daemon offers it (a
/// substring test, as libvirt's `strstr`, then an exact match here), else
/// the best one both sides have.
pub(crate) fn choose(
    offered: &[String],
    forced: Option<&str>,
    secure: bool,
) -> Result<String, SaslError> {
    let supported = supported(secure);
    if let Some(wanted) = forced {
        let wanted = wanted.to_ascii_uppercase();
        if offered.contains(&wanted) && supported.contains(&wanted) {
            return Ok(wanted);
        }
        return Err(SaslError::MechanismRefused {
            wanted,
            offered: offered.to_vec(),
            supported,
        });
    }
    supported
        .iter()
        .find(|m| offered.contains(m))
        .cloned()
        .ok_or_else(|| SaslError::NoCommonMechanism {
            offered: offered.to_vec(),
            supported,
            secure,
        })
}

/// What the client side of an exchange needs besides the connection.
pub(crate) struct ClientSide<'a> {
    /// `auth=sasl.MECH`.
    pub(crate) forced: Option<&'a str>,
    /// TLS, Unix socket, ssh or ext.
    pub(crate) secure: bool,
    /// The daemon's host, for prompts and the auth file.
    pub(crate) host: &'a str,
    /// The credentials callback.
    pub(crate) credentials: Option<&'a Credentials>,
    /// The auth file's credentials for this host, if any.
    pub(crate) auth_file: Option<HostCredentials>,
}

impl ClientSide<'_> {
    /// A credential: from the auth file, else from the callback.
    fn credential(
        &self,
        kind: CredentialKind,
        mechanism: &str,
        username: Option<&str>,
    ) -> Result<String, SaslError> {
        let from_file = self.auth_file.as_ref().and_then(|file| match kind {
            CredentialKind::AuthName => file.authname.clone(),
            CredentialKind::Password => file.password.clone(),
        });
        let prompt = match kind {
            CredentialKind::AuthName => "Please enter your authentication name",
            CredentialKind::Password => "Please enter your password",
        };
        from_file
            .or_else(|| {
                self.credentials?.ask(&CredentialPrompt {
                    kind,
                    prompt,
                    mechanism,
                    host: self.host,
                    username,
                })
            })
            .ok_or_else(|| SaslError::NoCredential {
                kind,
                mechanism: mechanism.to_string(),
            })
    }
}

static CLIENT_MECHANISMS: [rsasl::prelude::Mechanism; 3] = [
    rsasl::mechanisms::scram::SCRAM_SHA256,
    rsasl::mechanisms::scram::SCRAM_SHA1,
    rsasl::mechanisms::plain::PLAIN,
];

/// rsasl's callback: the name and password gathered before the exchange.
struct Answers {
    authname: String,
    password: String,
}

impl rsasl::callback::SessionCallback for Answers {
    fn callback(
        &self,
        _session: &rsasl::callback::SessionData,
        _context: &rsasl::callback::Context<'_>,
        request: &mut rsasl::callback::Request<'_>,
    ) -> Result<(), rsasl::prelude::SessionError> {
        request
            .satisfy::<rsasl::property::AuthId>(&self.authname)?
            .satisfy::<rsasl::property::Password>(self.password.as_bytes())?;
        Ok(())
    }
}

/// One step of the local mechanism: its output (`None`: nothing to send),
/// and whether it is done.
fn local_step(
    session: &mut rsasl::prelude::Session,
    mechanism: &str,
    input: Option<&[u8]>,
) -> Result<(Option<Vec<u8>>, bool), SaslError> {
    let mut out = Vec::new();
    let state = session
        .step(input, &mut out)
        .map_err(|e| SaslError::Mechanism {
            mechanism: mechanism.to_string(),
            source: Box::new(e),
        })?;
    Ok(match state {
        rsasl::prelude::State::Running => (Some(out), false),
        rsasl::prelude::State::Finished(sent) => {
            let sent = matches!(sent, rsasl::prelude::MessageSent::Yes) || !out.is_empty();
            (sent.then_some(out), true)
        }
    })
}

/// A REMOTE call of the exchange, its failure kept with the procedure.
async fn call<A: XdrEncode, R: XdrDecode>(
    connection: &super::Connection,
    procedure: i32,
    mechanism: Option<&str>,
    args: &A,
) -> Result<R, SaslError> {
    let (name, names) = match procedure {
        PROC_AUTH_SASL_INIT => ("REMOTE_PROC_AUTH_SASL_INIT", &INIT_NAMES),
        PROC_AUTH_SASL_START => ("REMOTE_PROC_AUTH_SASL_START", &START_NAMES),
        _ => ("REMOTE_PROC_AUTH_SASL_STEP", &STEP_NAMES),
    };
    connection
        .call_named(names, REMOTE_PROGRAM, 1, procedure, args)
        .await
        .map_err(|source| SaslError::Daemon {
            procedure: name,
            mechanism: mechanism.map(ToString::to_string),
            source,
        })
}

const fn names(procedures: &'static [super::ProcedureInfo]) -> super::ProtocolNames {
    super::ProtocolNames {
        program: "remote",
        procedures,
    }
}

static INIT_NAMES: super::ProtocolNames =
    names(&[procedure(PROC_AUTH_SASL_INIT, "REMOTE_PROC_AUTH_SASL_INIT")]);
static START_NAMES: super::ProtocolNames = names(&[procedure(
    PROC_AUTH_SASL_START,
    "REMOTE_PROC_AUTH_SASL_START",
)]);
static STEP_NAMES: super::ProtocolNames =
    names(&[procedure(PROC_AUTH_SASL_STEP, "REMOTE_PROC_AUTH_SASL_STEP")]);

/// Runs the client side of libvirt's SASL exchange on `connection`: the
/// mechanism it authenticated with.
pub(crate) async fn authenticate(
    connection: &super::Connection,
    side: ClientSide<'_>,
) -> Result<String, SaslError> {
    let init: SaslInitRet = call(connection, PROC_AUTH_SASL_INIT, None, &()).await?;
    let offered = parse_mechlist(&init.mechlist);
    let mechanism = choose(&offered, side.forced, side.secure)?;
    let authname = side.credential(CredentialKind::AuthName, &mechanism, None)?;
    let password = side.credential(CredentialKind::Password, &mechanism, Some(&authname))?;
    let mech = &*mechanism;
    let local_failure = |e: rsasl::prelude::SASLError| SaslError::Mechanism {
        mechanism: mechanism.clone(),
        source: Box::new(e),
    };
    let config = rsasl::prelude::SASLConfig::builder()
        .with_registry(rsasl::prelude::Registry::with_mechanisms(
            &CLIENT_MECHANISMS,
        ))
        .with_callback(Answers { authname, password })
        .map_err(local_failure)?;
    let name =
        rsasl::prelude::Mechname::parse(mech.as_bytes()).map_err(|e| SaslError::Mechanism {
            mechanism: mechanism.clone(),
            source: Box::new(e),
        })?;
    let mut session = rsasl::prelude::SASLClient::new(config)
        .start_suggested(&[name])
        .map_err(local_failure)?;
    // Every mechanism here speaks first.
    let (first, mut done) = local_step(&mut session, mech, None)?;
    let reply: SaslReply = call(
        connection,
        PROC_AUTH_SASL_START,
        Some(mech),
        &SaslStartArgs {
            mechanism: mechanism.clone(),
            data: first,
        },
    )
    .await?;
    let mut daemon_done = reply.complete;
    let mut incoming = reply.data;
    if daemon_done && done {
        return Ok(mechanism);
    }
    loop {
        if done {
            // This side finished, and the daemon wants more.
            return Err(SaslError::Protocol {
                mechanism,
                what: "the daemon continued after this side finished",
            });
        }
        let (out, finished) = local_step(&mut session, mech, incoming.as_deref())?;
        done = finished;
        if daemon_done {
            if done {
                return Ok(mechanism);
            }
            return Err(SaslError::Protocol {
                mechanism,
                what: "the daemon completed before this side",
            });
        }
        let reply: SaslReply = call(
            connection,
            PROC_AUTH_SASL_STEP,
            Some(mech),
            &SaslStepArgs { data: out },
        )
        .await?;
        daemon_done = reply.complete;
        incoming = reply.data;
        if daemon_done && done {
            return Ok(mechanism);
        }
    }
}

/// The credentials libvirt's auth file (`auth.conf`) gives one host.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct HostCredentials {
    pub(crate) authname: Option<String>,
    pub(crate) password: Option<String>,
}

/// Why the auth file cannot be used.
#[derive(Debug)]
#[non_exhaustive]
pub enum AuthFileError {
    /// It cannot be read.
    Read {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A line that is no `[group]`, `key=value`, comment or blank.
    Syntax {
        /// The file.
        path: std::path::PathBuf,
        /// The line number, from 1.
        line: usize,
    },
    /// The host's `[auth-libvirt-HOST]` (or `[auth-libvirt-default]`)
    /// group names no `credentials`, or names a group the file lacks.
    Missing {
        /// The file.
        path: std::path::PathBuf,
        /// The group or item missing.
        what: String,
    },
}

impl fmt::Display for AuthFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthFileError::Read { path, .. } => {
                write!(f, "cannot read the auth file {}", path.display())
            }
            AuthFileError::Syntax { path, line } => {
                write!(
                    f,
                    "{}:{line}: not a group, key=value or comment",
                    path.display()
                )
            }
            AuthFileError::Missing { path, what } => {
                write!(f, "{}: missing {what}", path.display())
            }
        }
    }
}

impl std::error::Error for AuthFileError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            AuthFileError::Read { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// The auth file libvirt reads (`virAuthGetConfigFilePathURI`):
/// `LIBVIRT_AUTH_FILE`, else the URI's `authfile=`, else
/// `$XDG_CONFIG_HOME/libvirt/auth.conf` (`~/.config/...`) or
/// `/etc/libvirt/auth.conf` when readable.
pub(crate) fn auth_file_path(authfile_param: Option<&str>) -> Option<std::path::PathBuf> {
    use std::path::PathBuf;
    if let Some(path) = std::env::var_os("LIBVIRT_AUTH_FILE") {
        return Some(PathBuf::from(path));
    }
    if let Some(path) = authfile_param {
        return Some(PathBuf::from(path));
    }
    let config_home = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".config")));
    config_home
        .map(|dir| dir.join("libvirt/auth.conf"))
        .into_iter()
        .chain([PathBuf::from("/etc/libvirt/auth.conf")])
        .find(|path| std::fs::File::open(path).is_ok())
}

/// `host`'s credentials in the auth file at `path` (`virAuthConfigLookup`):
/// `[auth-libvirt-HOST]` or else `[auth-libvirt-default]` names
/// `credentials=NAME`, and `[credentials-NAME]` holds `authname=` (or
/// `username=`) and `password=`. `None` when neither group is there.
pub(crate) fn auth_file_credentials(
    path: &std::path::Path,
    host: &str,
) -> Result<Option<HostCredentials>, AuthFileError> {
    let text = std::fs::read_to_string(path).map_err(|source| AuthFileError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let groups = parse_key_file(&text).map_err(|line| AuthFileError::Syntax {
        path: path.to_path_buf(),
        line,
    })?;
    let group = |name: &str| groups.iter().find(|(g, _)| g == name).map(|(_, keys)| keys);
    let value = |keys: &Vec<(String, String)>, key: &str| {
        keys.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
    };
    let Some(auth) =
        group(&std::format!("auth-libvirt-{host}")).or_else(|| group("auth-libvirt-default"))
    else {
        return Ok(None);
    };
    let missing = |what: String| AuthFileError::Missing {
        path: path.to_path_buf(),
        what,
    };
    let name = value(auth, "credentials")
        .ok_or_else(|| missing(std::format!("'credentials' in [auth-libvirt-{host}]")))?;
    let credentials_group = std::format!("credentials-{name}");
    let credentials = group(&credentials_group)
        .ok_or_else(|| missing(std::format!("group [{credentials_group}]")))?;
    Ok(Some(HostCredentials {
        authname: value(credentials, "authname").or_else(|| value(credentials, "username")),
        password: value(credentials, "password"),
    }))
}

type KeyFile = Vec<(String, Vec<(String, String)>)>;

/// GLib's key file format, as much as libvirt's auth file uses: groups,
/// `key=value` (spaces around both trimmed), `#` comments. The number of
/// the first bad line.
fn parse_key_file(text: &str) -> Result<KeyFile, usize> {
    let mut groups: KeyFile = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            groups.push((name.trim().to_string(), Vec::new()));
        } else if let (Some((key, value)), Some((_, keys))) =
            (line.split_once('='), groups.last_mut())
        {
            keys.push((key.trim().to_string(), value.trim().to_string()));
        } else {
            return Err(i + 1);
        }
    }
    Ok(groups)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_is_an_array_of_chars() {
        let args = SaslStepArgs {
            data: Some(std::vec![b'a', 0xff]),
        };
        let bytes = args.to_xdr().unwrap();
        assert_eq!(bytes.len(), args.encoded_len());
        #[rustfmt::skip]
        assert_eq!(bytes, [
            0, 0, 0, 0,                   // nil = 0
            0, 0, 0, 2,                   // two chars
            0, 0, 0, b'a',
            0xff, 0xff, 0xff, 0xff,       // 0xff as a signed char
        ]);
        assert_eq!(SaslStepArgs::from_xdr(&bytes).unwrap(), args);
        // No data and empty data differ.
        let none = SaslStepArgs { data: None }.to_xdr().unwrap();
        assert_eq!(none, [0, 0, 0, 1, 0, 0, 0, 0]);
        assert_eq!(SaslStepArgs::from_xdr(&none).unwrap().data, None);
        let empty = SaslStepArgs {
            data: Some(Vec::new()),
        };
        assert_eq!(
            SaslStepArgs::from_xdr(&empty.to_xdr().unwrap()).unwrap(),
            empty
        );
    }

    #[test]
    fn data_is_bounded_and_chars_checked() {
        let mut over = std::vec![0, 0, 0, 0, 0, 1, 0, 1];
        over.extend(core::iter::repeat_n(0, 4));
        assert!(SaslStepArgs::from_xdr(&over).is_err());
        // A word that is no char.
        let bad = [0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0];
        assert!(SaslStepArgs::from_xdr(&bad).is_err());
        let reply = SaslReply {
            complete: true,
            data: Some(b"v=abc".to_vec()),
        };
        let bytes = reply.to_xdr().unwrap();
        assert_eq!(bytes.len(), reply.encoded_len());
        assert_eq!(SaslReply::from_xdr(&bytes).unwrap(), reply);
        let start = SaslStartArgs {
            mechanism: "SCRAM-SHA-256".into(),
            data: Some(b"n,,n=user,r=x".to_vec()),
        };
        let bytes = start.to_xdr().unwrap();
        assert_eq!(bytes.len(), start.encoded_len());
        assert_eq!(SaslStartArgs::from_xdr(&bytes).unwrap(), start);
    }

    #[test]
    fn mechanisms_are_chosen_as_libvirt_does() {
        let offered = parse_mechlist("PLAIN,scram-sha-1,SCRAM-SHA-256");
        assert_eq!(choose(&offered, None, true).unwrap(), "SCRAM-SHA-256");
        assert_eq!(
            choose(&parse_mechlist("PLAIN SCRAM-SHA-1"), None, true).unwrap(),
            "SCRAM-SHA-1"
        );
        assert_eq!(choose(&offered, Some("plain"), true).unwrap(), "PLAIN");
        // Forced and not offered: refused, naming both lists.
        let e = choose(&parse_mechlist("SCRAM-SHA-256"), Some("PLAIN"), true).unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("PLAIN was asked for; the daemon offers SCRAM-SHA-256, this client supports SCRAM-SHA-256, SCRAM-SHA-1, PLAIN"),
            "{text}"
        );
        // Plain TCP: nothing qualifies.
        let e = choose(&offered, None, false).unwrap_err();
        assert!(matches!(
            e,
            SaslError::NoCommonMechanism { secure: false, .. }
        ));
        assert!(e.to_string().contains("use tls"), "{e}");
        let e = choose(&parse_mechlist("GSSAPI,DIGEST-MD5"), None, true).unwrap_err();
        assert!(e.to_string().contains("offers GSSAPI, DIGEST-MD5"), "{e}");
    }

    #[test]
    fn the_auth_file_is_read_as_libvirt_reads_it() {
        let dir = std::env::temp_dir().join(std::format!("xdrgen-authfile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("auth.conf");
        std::fs::write(
            &path,
            "# libvirt auth file\n[credentials-admin]\nauthname = admin\npassword=s3cret=x\n\n\
             [credentials-other]\nusername=other\n\n\
             [auth-libvirt-10.0.0.1]\ncredentials=admin\n[auth-libvirt-default]\ncredentials=other\n",
        )
        .unwrap();
        let admin = auth_file_credentials(&path, "10.0.0.1").unwrap().unwrap();
        assert_eq!(admin.authname.as_deref(), Some("admin"));
        assert_eq!(admin.password.as_deref(), Some("s3cret=x"));
        let other = auth_file_credentials(&path, "elsewhere").unwrap().unwrap();
        assert_eq!(other.authname.as_deref(), Some("other"));
        assert_eq!(other.password, None);

        std::fs::write(&path, "[auth-libvirt-h]\ncredentials=gone\n").unwrap();
        let e = auth_file_credentials(&path, "h").unwrap_err();
        assert!(
            e.to_string().contains("missing group [credentials-gone]"),
            "{e}"
        );
        assert_eq!(auth_file_credentials(&path, "x").unwrap(), None);
        std::fs::write(&path, "[g]\nno equals sign\n").unwrap();
        let e = auth_file_credentials(&path, "h").unwrap_err();
        assert!(
            e.to_string()
                .ends_with(":2: not a group, key=value or comment"),
            "{e}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
