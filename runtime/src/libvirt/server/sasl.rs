//! The server side of libvirt's SASL authentication (feature `sasl`), as
//! libvirtd's `remoteDispatchAuthSasl*` run it: under
//! [`AuthPolicy::Sasl`](super::AuthPolicy::Sasl) the server answers the
//! REMOTE program's AUTH_LIST, AUTH_SASL_INIT, AUTH_SASL_START and
//! AUTH_SASL_STEP itself, whatever service serves the program, and marks
//! the client authenticated as its SASL user once the mechanism succeeds.
//!
//! As in libvirtd:
//! - INIT lists the mechanisms for this connection; START picks one of
//!   them and STEP continues; each answers `complete` and the server's
//!   data (`nil` for none);
//! - any failure (an unknown user, a wrong password, a mechanism not
//!   offered, a step out of order) ends the exchange and is answered
//!   `VIR_ERR_AUTH_FAILED` "authentication failed" from `VIR_FROM_RPC`,
//!   without the cause, which is logged; the connection stays open and
//!   the client may start again with INIT;
//! - a connection that is not secure (plain TCP) needs a security layer of
//!   at least 56 bits, which none of these mechanisms has, so INIT fails
//!   there; TLS and Unix sockets are secure, and only they allow PLAIN.
//!
//! Passwords come from a [`SaslUsers`] the user supplies, in plain text:
//! SCRAM's stored keys are derived from it for each exchange, with a fresh
//! random salt and 4096 iterations, so a store of plain passwords serves
//! SCRAM-SHA-256, SCRAM-SHA-1 and PLAIN alike. [`PasswordFile`] reads
//! `username:password` lines.

use std::boxed::Box;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::string::{String, ToString};
use std::sync::Arc;
use std::vec::Vec;

use rsasl::callback::{Context as SaslContext, Request, SessionCallback, SessionData};
use rsasl::mechanisms::scram::properties::ScramStoredPassword;
use rsasl::prelude::{Mechname, Registry, SASLConfig, SASLServer, SessionError, State};
use rsasl::property::{AuthId, AuthzId, Password};
use rsasl::validate::{Validate, Validation, ValidationError};

use super::super::error::{ErrorDetails, RemoteError, error_domain};
use super::super::sasl::{
    AUTH_SASL_DATA_MAX, MECHANISMS, PROC_AUTH_SASL_INIT, PROC_AUTH_SASL_START, PROC_AUTH_SASL_STEP,
    SaslInitRet, SaslReply, SaslStartArgs, SaslStepArgs, is_plaintext,
};
use super::Session;
use crate::observe;
use crate::{Limits, XdrDecode, XdrEncode};

/// `REMOTE_PROC_AUTH_LIST`.
const PROC_AUTH_LIST: i32 = 66;
/// `VIR_ERR_AUTH_FAILED`.
pub const AUTH_FAILED: i32 = 45;
/// SCRAM's iteration count for keys derived from a plain password (RFC
/// 7677's minimum, and Cyrus SASL's default).
const SCRAM_ITERATIONS: u32 = 4096;
/// Salt bytes for keys derived from a plain password.
const SCRAM_SALT_LEN: usize = 16;

/// Where the server finds its users' passwords.
pub trait SaslUsers: Send + Sync {
    /// `username`'s password, or `None` for no such user.
    fn password(&self, username: &str) -> Option<String>;
}

impl SaslUsers for BTreeMap<String, String> {
    fn password(&self, username: &str) -> Option<String> {
        self.get(username).cloned()
    }
}

impl<S: std::hash::BuildHasher + Send + Sync> SaslUsers for HashMap<String, String, S> {
    fn password(&self, username: &str) -> Option<String> {
        self.get(username).cloned()
    }
}

/// Users and passwords from a file of `username:password` lines (the
/// password is the rest of the line, colons and all; blank lines and lines
/// starting with `#` are skipped). The passwords are in plain text: keep
/// the file readable by the daemon alone.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PasswordFile {
    users: BTreeMap<String, String>,
}

/// A line of a [`PasswordFile`] that has no `username:` (its number, from
/// 1), or a file that cannot be read.
#[derive(Debug)]
#[non_exhaustive]
pub enum PasswordFileError {
    /// The file cannot be read.
    Read(std::io::Error),
    /// Line `line` (from 1) has no `:` or an empty user name.
    Line {
        /// The line number.
        line: usize,
    },
}

impl fmt::Display for PasswordFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PasswordFileError::Read(_) => f.write_str("cannot read the password file"),
            PasswordFileError::Line { line } => {
                write!(f, "line {line}: expected username:password")
            }
        }
    }
}

impl std::error::Error for PasswordFileError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PasswordFileError::Read(e) => Some(e),
            PasswordFileError::Line { .. } => None,
        }
    }
}

impl PasswordFile {
    /// Reads `path`.
    pub fn load(path: &std::path::Path) -> Result<PasswordFile, PasswordFileError> {
        let text = std::fs::read_to_string(path).map_err(PasswordFileError::Read)?;
        PasswordFile::parse(&text)
    }

    /// Parses the text of a password file.
    pub fn parse(text: &str) -> Result<PasswordFile, PasswordFileError> {
        let mut users = BTreeMap::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            match line.split_once(':') {
                Some((user, password)) if !user.is_empty() => {
                    users.insert(user.to_string(), password.to_string());
                }
                _ => return Err(PasswordFileError::Line { line: i + 1 }),
            }
        }
        Ok(PasswordFile { users })
    }

    /// The number of users.
    pub fn len(&self) -> usize {
        self.users.len()
    }

    /// Whether the file has no users.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }
}

impl SaslUsers for PasswordFile {
    fn password(&self, username: &str) -> Option<String> {
        self.users.password(username)
    }
}

/// A mechanism name this server does not speak.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownMechanism(pub String);

impl fmt::Display for UnknownMechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown SASL mechanism {} (this server speaks {})",
            self.0,
            MECHANISMS.join(", ")
        )
    }
}

impl std::error::Error for UnknownMechanism {}

/// A listener's SASL settings: the mechanisms it offers (Cyrus SASL's
/// `mech_list`) and where passwords come from.
#[derive(Clone)]
pub struct SaslConfig {
    mechanisms: Vec<String>,
    users: Arc<dyn SaslUsers>,
    allowed_usernames: Option<Vec<String>>,
}

impl SaslConfig {
    /// Every mechanism this crate speaks (SCRAM-SHA-256, SCRAM-SHA-1,
    /// PLAIN), with passwords from `users`.
    pub fn new(users: impl SaslUsers + 'static) -> SaslConfig {
        SaslConfig {
            mechanisms: MECHANISMS.iter().map(ToString::to_string).collect(),
            users: Arc::new(users),
            allowed_usernames: None,
        }
    }

    /// Admits only SASL users whose name matches one of `patterns`
    /// (libvirtd's `sasl_allowed_username_list`: `*` for any run of
    /// characters, `?` for one). Without this every user with a password
    /// is admitted; with an empty list nobody is. A user who proves the
    /// password but is not on the list fails the exchange like a wrong
    /// password, and the server logs why.
    #[must_use]
    pub fn with_allowed_usernames<S: AsRef<str>>(mut self, patterns: &[S]) -> SaslConfig {
        self.allowed_usernames = Some(patterns.iter().map(|p| p.as_ref().to_string()).collect());
        self
    }

    /// Whether `user`, once proven, may authenticate.
    fn admits(&self, user: &str) -> bool {
        self.allowed_usernames.as_ref().is_none_or(|patterns| {
            patterns
                .iter()
                .any(|pattern| super::policy::glob_matches(pattern, user))
        })
    }

    /// Offers only `mechanisms`, in this order (names as in `mech_list`,
    /// any case).
    pub fn with_mechanisms<S: AsRef<str>>(
        mut self,
        mechanisms: &[S],
    ) -> Result<SaslConfig, UnknownMechanism> {
        let mut chosen = Vec::new();
        for name in mechanisms {
            let upper = name.as_ref().to_ascii_uppercase();
            if !MECHANISMS.contains(&upper.as_str()) {
                return Err(UnknownMechanism(name.as_ref().to_string()));
            }
            if !chosen.contains(&upper) {
                chosen.push(upper);
            }
        }
        self.mechanisms = chosen;
        Ok(self)
    }

    /// The mechanisms offered over a secure connection.
    pub fn mechanisms(&self) -> &[String] {
        &self.mechanisms
    }

    /// What INIT offers on a connection: nothing over plain TCP (libvirtd
    /// wants a 56-bit security layer there), every configured mechanism
    /// over TLS or a Unix socket.
    fn offered(&self, secure: bool) -> Vec<String> {
        if !secure {
            return Vec::new();
        }
        self.mechanisms.clone()
    }
}

impl fmt::Debug for SaslConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SaslConfig")
            .field("mechanisms", &self.mechanisms)
            .field("allowed_usernames", &self.allowed_usernames)
            .finish_non_exhaustive()
    }
}

/// Two configurations are the same when they offer the same mechanisms
/// from the same user store to the same users.
impl PartialEq for SaslConfig {
    fn eq(&self, other: &SaslConfig) -> bool {
        self.mechanisms == other.mechanisms
            && Arc::ptr_eq(&self.users, &other.users)
            && self.allowed_usernames == other.allowed_usernames
    }
}

impl Eq for SaslConfig {}

/// A client's exchange in progress: what INIT offered, then the
/// mechanism's server side once START chose it.
pub(super) struct Exchange {
    offered: Vec<String>,
    mechanism: Option<(String, rsasl::prelude::Session<SaslUser>)>,
}

impl fmt::Debug for Exchange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Exchange")
            .field("offered", &self.offered)
            .field("mechanism", &self.mechanism.as_ref().map(|(m, _)| m))
            .finish()
    }
}

/// What a successful exchange yields: the SASL user name.
struct SaslUser;

impl Validation for SaslUser {
    type Value = String;
}

/// Looks passwords up for rsasl: SCRAM's stored keys, derived from the
/// plain password, and PLAIN's check.
struct Verifier {
    users: Arc<dyn SaslUsers>,
}

/// RFC 4013 SASLprep of a password, as both sides apply it before
/// deriving keys; a password it refuses is used as it is.
fn prepared(password: &str) -> String {
    rsasl_saslprep(password).unwrap_or_else(|| password.to_string())
}

fn rsasl_saslprep(password: &str) -> Option<String> {
    stringprep::saslprep(password)
        .ok()
        .map(std::borrow::Cow::into_owned)
}

/// SCRAM's StoredKey and ServerKey for `password` (RFC 5802 §3).
fn scram_keys<D>(password: &[u8], salt: &[u8]) -> (Vec<u8>, Vec<u8>)
where
    D: sha2::Digest
        + sha2::digest::core_api::BlockSizeUser
        + sha2::digest::FixedOutputReset
        + Clone
        + Sync,
{
    let mut salted = sha2::digest::generic_array::GenericArray::default();
    rsasl::mechanisms::scram::tools::hash_password::<D>(
        password,
        SCRAM_ITERATIONS,
        salt,
        &mut salted,
    );
    let (client_key, server_key) = rsasl::mechanisms::scram::tools::derive_keys::<D>(&salted);
    (D::digest(client_key).to_vec(), server_key.to_vec())
}

/// Whether two byte strings are equal, in time that depends on their
/// lengths only.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl SessionCallback for Verifier {
    fn callback(
        &self,
        session: &SessionData,
        context: &SaslContext<'_>,
        request: &mut Request<'_>,
    ) -> Result<(), SessionError> {
        if !request.is::<ScramStoredPassword<'static>>() {
            return Ok(());
        }
        // An unknown user is left unanswered: rsasl then carries on with a
        // made-up salt and fails the proof, so the exchange looks the same
        // as for a wrong password.
        let Some(password) = context
            .get_ref::<AuthId>()
            .and_then(|user| self.users.password(user))
        else {
            return Ok(());
        };
        let password = prepared(&password);
        let mut salt = [0u8; SCRAM_SALT_LEN];
        if getrandom::getrandom(&mut salt).is_err() {
            // No randomness: fail this exchange as for an unknown user.
            return Ok(());
        }
        let (stored_key, server_key) = if session.mechanism().mechanism.as_str() == "SCRAM-SHA-1" {
            scram_keys::<sha1::Sha1>(password.as_bytes(), &salt)
        } else {
            scram_keys::<sha2::Sha256>(password.as_bytes(), &salt)
        };
        request.satisfy::<ScramStoredPassword<'static>>(&ScramStoredPassword::new(
            SCRAM_ITERATIONS,
            &salt,
            &stored_key,
            &server_key,
        ))?;
        Ok(())
    }

    fn validate(
        &self,
        session: &SessionData,
        context: &SaslContext<'_>,
        validate: &mut Validate<'_>,
    ) -> Result<(), ValidationError> {
        let Some(user) = context.get_ref::<AuthId>() else {
            return Ok(());
        };
        // Acting for another user (an authorization id of its own) is
        // not allowed.
        if context
            .get_ref::<AuthzId>()
            .is_some_and(|authzid| !authzid.is_empty() && authzid != user)
        {
            return Ok(());
        }
        let proven = if is_plaintext(session.mechanism().mechanism.as_str()) {
            let given = context.get_ref::<Password>().unwrap_or_default();
            self.users
                .password(user)
                .is_some_and(|stored| same_secret(prepared(&stored).as_bytes(), given))
        } else {
            // SCRAM validates only once the client's proof has matched.
            true
        };
        if proven {
            validate.finalize::<SaslUser>(user.to_string());
        }
        Ok(())
    }
}

static SERVER_MECHANISMS: [rsasl::prelude::Mechanism; 3] = [
    rsasl::mechanisms::scram::SCRAM_SHA256,
    rsasl::mechanisms::scram::SCRAM_SHA1,
    rsasl::mechanisms::plain::PLAIN,
];

/// What libvirtd answers every failed step (`VIR_ERR_AUTH_FAILED` from
/// `VIR_FROM_RPC`, the message as `virReportError` formats it).
pub fn authentication_failed() -> RemoteError {
    const DETAIL: &str = "authentication failed";
    let mut error = RemoteError::new(
        AUTH_FAILED,
        error_domain::RPC,
        "authentication failed: authentication failed",
    );
    error.details = Some(Box::new(ErrorDetails {
        str1: Some("authentication failed: %s".into()),
        str2: Some(DETAIL.into()),
        int1: -1,
        int2: -1,
        ..ErrorDetails::default()
    }));
    error
}

/// Why an exchange failed, for the log (the client hears only
/// "authentication failed").
enum Failure {
    AlreadyAuthenticated,
    InitTwice,
    NotSecure,
    NoInit,
    NotStarted,
    StartTwice,
    NotOffered(String),
    Arguments(crate::DecodeError),
    TooLong(usize),
    Mechanism(String),
    NotProven,
    NotAllowed(String),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::AlreadyAuthenticated => f.write_str("the client is authenticated already"),
            Failure::InitTwice => f.write_str("INIT while an exchange is in progress"),
            Failure::NotSecure => f.write_str(
                "plain TCP needs a SASL security layer of at least 56 bits, which no mechanism \
                 here has (use TLS or a Unix socket)",
            ),
            Failure::NoInit => f.write_str("START or STEP without INIT"),
            Failure::NotStarted => f.write_str("STEP before START"),
            Failure::StartTwice => f.write_str("START twice"),
            Failure::NotOffered(m) => write!(f, "mechanism {m} was not offered"),
            Failure::Arguments(e) => write!(f, "bad arguments: {e}"),
            Failure::TooLong(n) => write!(f, "{n} bytes of SASL data, over the limit"),
            Failure::Mechanism(e) => write!(f, "mechanism error: {e}"),
            Failure::NotProven => f.write_str("wrong user or password"),
            Failure::NotAllowed(user) => write!(
                f,
                "SASL user {user:?} proved its password but is not on sasl_allowed_username_list"
            ),
        }
    }
}

/// Answers one of the REMOTE program's authentication procedures (66–69)
/// under a SASL policy; `None` for other procedures.
pub(super) fn dispatch(
    config: &SaslConfig,
    session: &Session,
    procedure: i32,
    args: &[u8],
    limits: &Limits,
) -> Option<Result<Vec<u8>, RemoteError>> {
    let result = match procedure {
        PROC_AUTH_LIST => return Some(Ok(auth_list(session))),
        PROC_AUTH_SASL_INIT => init(config, session),
        PROC_AUTH_SASL_START => SaslStartArgs::from_xdr_with(args, limits)
            .map_err(Failure::Arguments)
            .and_then(|args| start(config, session, &args)),
        PROC_AUTH_SASL_STEP => SaslStepArgs::from_xdr_with(args, limits)
            .map_err(Failure::Arguments)
            .and_then(|args| step(config, session, args.data.as_deref())),
        _ => return None,
    };
    Some(result.map_err(|failure| {
        session.shared.client.end_sasl();
        observe::libvirt_sasl_failed(&session.peer(), procedure, &failure);
        authentication_failed()
    }))
}

fn encode(value: &impl XdrEncode) -> Result<Vec<u8>, Failure> {
    value
        .to_xdr()
        .map_err(|e| Failure::Mechanism(std::format!("cannot encode the reply: {e}")))
}

/// What the client still has to do, as libvirtd answers: SASL until it
/// has authenticated, then nothing.
fn auth_list(session: &Session) -> Vec<u8> {
    // REMOTE_AUTH_SASL (1) or REMOTE_AUTH_NONE (0).
    let pending = i32::from(!session.is_authenticated());
    let mut out = Vec::with_capacity(8);
    crate::encode::put_u32(&mut out, 1);
    crate::encode::put_i32(&mut out, pending);
    out
}

fn init(config: &SaslConfig, session: &Session) -> Result<Vec<u8>, Failure> {
    if session.is_authenticated() {
        return Err(Failure::AlreadyAuthenticated);
    }
    let offered = config.offered(session.is_secure());
    if offered.is_empty() {
        return Err(Failure::NotSecure);
    }
    let mechlist = offered.join(",");
    if !session.shared.client.begin_sasl(Exchange {
        offered,
        mechanism: None,
    }) {
        return Err(Failure::InitTwice);
    }
    encode(&SaslInitRet { mechlist })
}

fn start(config: &SaslConfig, session: &Session, args: &SaslStartArgs) -> Result<Vec<u8>, Failure> {
    let mechanism = args.mechanism.to_ascii_uppercase();
    let server = session.shared.client.with_sasl(|exchange| {
        let exchange = exchange.ok_or(Failure::NoInit)?;
        if exchange.mechanism.is_some() {
            return Err(Failure::StartTwice);
        }
        if !exchange.offered.contains(&mechanism) {
            return Err(Failure::NotOffered(args.mechanism.clone()));
        }
        let sasl = SASLConfig::builder()
            .with_registry(Registry::with_mechanisms(&SERVER_MECHANISMS))
            .with_callback(Verifier {
                users: Arc::clone(&config.users),
            })
            .map_err(|e| Failure::Mechanism(e.to_string()))?;
        let name =
            Mechname::parse(mechanism.as_bytes()).map_err(|e| Failure::Mechanism(e.to_string()))?;
        let server = SASLServer::<SaslUser>::new(sasl)
            .start_suggested(name)
            .map_err(|e| Failure::Mechanism(e.to_string()))?;
        exchange.mechanism = Some((mechanism.clone(), server));
        Ok(())
    });
    server?;
    step(config, session, args.data.as_deref())
}

fn step(config: &SaslConfig, session: &Session, data: Option<&[u8]>) -> Result<Vec<u8>, Failure> {
    let outcome = session.shared.client.with_sasl(|exchange| {
        let exchange = exchange.ok_or(Failure::NoInit)?;
        let (_, server) = exchange.mechanism.as_mut().ok_or(Failure::NotStarted)?;
        let mut out = Vec::new();
        let state = server
            .step(data, &mut out)
            .map_err(|e| Failure::Mechanism(e.to_string()))?;
        if out.len() > AUTH_SASL_DATA_MAX as usize {
            return Err(Failure::TooLong(out.len()));
        }
        match state {
            State::Running => Ok((Some(out), None)),
            State::Finished(sent) => {
                let user = server.validation().ok_or(Failure::NotProven)?;
                let sent = matches!(sent, rsasl::prelude::MessageSent::Yes) || !out.is_empty();
                Ok((sent.then_some(out), Some(user)))
            }
        }
    })?;
    let (data, user) = outcome;
    if let Some(user) = user.as_ref().filter(|user| !config.admits(user)) {
        return Err(Failure::NotAllowed(user.clone()));
    }
    let complete = user.is_some();
    if let Some(user) = user {
        session.shared.client.end_sasl();
        session.authenticate(user);
    }
    encode(&SaslReply { complete, data })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_files_are_user_colon_password_lines() {
        let file = PasswordFile::parse("# users\nalice:s3cret\n\nbob:a:b:c\n").unwrap();
        assert_eq!(file.len(), 2);
        assert_eq!(file.password("alice").as_deref(), Some("s3cret"));
        assert_eq!(file.password("bob").as_deref(), Some("a:b:c"));
        assert_eq!(file.password("carol"), None);
        let e = PasswordFile::parse("alice:x\nno colon here\n").unwrap_err();
        assert_eq!(e.to_string(), "line 2: expected username:password");
        assert!(PasswordFile::parse(":nobody\n").is_err());
    }

    #[test]
    fn mechanisms_are_checked_and_plain_tcp_offers_none() {
        let users = PasswordFile::default();
        let config = SaslConfig::new(users.clone())
            .with_mechanisms(&["scram-sha-256", "PLAIN"])
            .unwrap();
        assert_eq!(config.mechanisms(), ["SCRAM-SHA-256", "PLAIN"]);
        assert_eq!(config.offered(true), ["SCRAM-SHA-256", "PLAIN"]);
        assert!(config.offered(false).is_empty());
        let e = SaslConfig::new(users)
            .with_mechanisms(&["DIGEST-MD5"])
            .unwrap_err();
        assert!(e.to_string().contains("DIGEST-MD5"), "{e}");
    }

    #[test]
    fn failures_read_as_libvirtds() {
        let e = authentication_failed();
        assert_eq!(e.code, AUTH_FAILED);
        assert_eq!(e.domain, error_domain::RPC);
        assert_eq!(
            e.message.as_ref().and_then(|m| m.to_str().ok()),
            Some("authentication failed: authentication failed")
        );
    }

    fn base64(text: &str) -> Vec<u8> {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut bits = 0u32;
        let mut count = 0;
        let mut out = Vec::new();
        for c in text.bytes().filter(|&c| c != b'=') {
            let value = ALPHABET.iter().position(|&a| a == c).unwrap();
            bits = bits << 6 | u32::try_from(value).unwrap();
            count += 6;
            if count >= 8 {
                count -= 8;
                out.push(u8::try_from(bits >> count & 0xff).unwrap());
            }
        }
        out
    }

    #[test]
    fn scram_keys_match_rfc_7677() {
        use sha2::Digest;
        use sha2::digest::generic_array::GenericArray;
        // RFC 7677 §3: user "user", password "pencil". The keys derived
        // here must give the RFC's server signature and accept its proof.
        let salt = "W22ZaJ0SNY7soEsUEjb6gQ==";
        let (stored, server) = scram_keys::<sha2::Sha256>(b"pencil", &base64(salt));
        let mut client_signature = GenericArray::default();
        let mut server_signature = GenericArray::default();
        rsasl::mechanisms::scram::tools::compute_signatures::<sha2::Sha256>(
            GenericArray::from_slice(&stored),
            GenericArray::from_slice(&server),
            "user",
            b"rOprNGfwEbeRWgbNEkqO",
            b"%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
            salt.as_bytes(),
            b"4096",
            b"biws",
            &mut client_signature,
            &mut server_signature,
        );
        assert_eq!(
            server_signature.to_vec(),
            base64("6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
        );
        let proof = base64("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
        let client_key: Vec<u8> = proof
            .iter()
            .zip(client_signature)
            .map(|(p, s)| p ^ s)
            .collect();
        assert_eq!(sha2::Sha256::digest(&client_key).to_vec(), stored);
        assert_eq!(scram_keys::<sha1::Sha1>(b"pencil", &[0; 16]).0.len(), 20);
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret(b"abc", b"abc"));
        assert!(!same_secret(b"abc", b"abd"));
        assert!(!same_secret(b"abc", b"abcd"));
    }
}
