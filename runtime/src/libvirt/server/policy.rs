//! Who may call what, and how many clients at once: libvirtd's
//! authentication policy (`auth_unix_rw`, `auth_tcp`, `auth_tls`), the
//! procedures a client may call before it has authenticated, and the
//! client counts behind `max_clients` and `max_anonymous_clients`.

use std::string::String;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use std::vec::Vec;

use super::super::error::{ErrorDetails, RemoteError, error_code, error_domain};
use crate::observe::{self, RateLimited};

/// How the clients of a listener authenticate (libvirtd's `auth_unix_rw`,
/// `auth_tcp` and `auth_tls`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthPolicy {
    /// libvirtd's `none`: a client is authenticated once connected.
    #[default]
    None,
    /// A client starts anonymous, and until it authenticates only the
    /// authentication procedures are dispatched (`AUTH_LIST`, the SASL
    /// steps, `AUTH_POLKIT`); every other call is answered with libvirt's
    /// "authentication required" error and the connection stays open.
    /// A client authenticates with
    /// - a TLS client certificate whose subject DN matches one of
    ///   `tls_allowed_dn_list` (libvirtd's patterns: `*` for any run of
    ///   characters, `?` for one; the DN as GnuTLS prints it, in the
    ///   certificate's order, `O=xdrgen,CN=client`), checked when the
    ///   handshake ends;
    /// - or an exchange a service runs itself (SASL), which calls
    ///   [`Session::authenticate`](super::Session::authenticate) once it
    ///   succeeds.
    ///
    /// libvirtd closes a TLS connection whose certificate is not on its
    /// `tls_allowed_dn_list`; here it stays open and anonymous, so that
    /// another mechanism can still authenticate it.
    Required {
        /// DN patterns whose certificates authenticate a TLS client.
        tls_allowed_dn_list: Vec<String>,
    },
    /// libvirtd's `sasl` with its SASL exchange built in (feature `sasl`):
    /// [`Required`](AuthPolicy::Required), and the server answers the
    /// REMOTE program's AUTH_LIST and AUTH_SASL_INIT/START/STEP itself
    /// (SCRAM-SHA-256, SCRAM-SHA-1, and PLAIN over TLS or a Unix socket),
    /// authenticating the client as its SASL user name. Over plain TCP
    /// nobody can authenticate, as with libvirtd, which requires a SASL
    /// security layer there that none of these mechanisms has.
    #[cfg(feature = "sasl")]
    Sasl {
        /// The mechanisms and where passwords come from.
        sasl: super::sasl::SaslConfig,
        /// DN patterns whose certificates authenticate a TLS client
        /// without SASL.
        tls_allowed_dn_list: Vec<String>,
    },
}

impl AuthPolicy {
    /// Whether a client starts anonymous.
    pub fn requires_auth(&self) -> bool {
        !matches!(self, AuthPolicy::None)
    }

    /// Whether a TLS client certificate with subject `dn` authenticates
    /// its client.
    pub fn allows_dn(&self, dn: &str) -> bool {
        match self {
            AuthPolicy::None => true,
            AuthPolicy::Required {
                tls_allowed_dn_list,
            } => tls_allowed_dn_list
                .iter()
                .any(|pattern| glob_matches(pattern, dn)),
            #[cfg(feature = "sasl")]
            AuthPolicy::Sasl {
                tls_allowed_dn_list,
                ..
            } => tls_allowed_dn_list
                .iter()
                .any(|pattern| glob_matches(pattern, dn)),
        }
    }
}

/// libvirt's REMOTE program (`REMOTE_PROGRAM`).
const REMOTE_PROGRAM: u32 = 0x2000_8086;

/// `REMOTE_PROC_AUTH_LIST` (66), `_AUTH_SASL_INIT`, `_AUTH_SASL_START`,
/// `_AUTH_SASL_STEP` and `_AUTH_POLKIT` (70): the only procedures libvirtd
/// dispatches to a client that has not authenticated (its daemon clears
/// `needAuth` for these five and no others; every procedure of the QEMU,
/// LXC and other programs needs authentication).
const REMOTE_AUTH_PROCEDURES: core::ops::RangeInclusive<i32> = 66..=70;

/// Whether an anonymous client may call `procedure` of `program`.
pub(super) fn allowed_before_auth(program: u32, procedure: i32) -> bool {
    program == REMOTE_PROGRAM && REMOTE_AUTH_PROCEDURES.contains(&procedure)
}

/// What libvirtd answers a call that needs authentication from a client
/// that has none (`virNetServerProgramDispatchCall`): `VIR_ERR_RPC` from
/// `VIR_FROM_RPC`, not `VIR_ERR_AUTH_FAILED`, which older clients do not
/// know; the fields as `virReportError` fills them (the format `%s` and
/// the detail in `str1`/`str2`, `int1` and `int2` -1).
pub fn authentication_required() -> RemoteError {
    const MESSAGE: &str = "authentication required";
    let mut error = RemoteError::new(error_code::RPC, error_domain::RPC, MESSAGE);
    error.details = Some(std::boxed::Box::new(ErrorDetails {
        str1: Some("%s".into()),
        str2: Some(MESSAGE.into()),
        int1: -1,
        int2: -1,
        ..ErrorDetails::default()
    }));
    error
}

/// Whether `text` matches `pattern`, where `*` stands for any run of
/// characters and `?` for one (GLib's `g_pattern_match_simple`, which
/// libvirtd matches DNs with). Iterative, backtracking only to the last
/// `*`, so a hostile pattern costs at most the product of the lengths.
pub(super) fn glob_matches(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0, 0);
    // The last `*` seen, and where in `text` its run ends for now.
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == '?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((star_p, star_t)) => {
                    p = star_p + 1;
                    t = star_t + 1;
                    star = Some((star_p, star_t + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

/// How often refused clients are reported.
const REPORT_EVERY: Duration = Duration::from_secs(10);

/// Clients connected and, of those, anonymous ones, over every listener
/// of a server; checked against `max_clients` and `max_anonymous_clients`
/// as each client arrives.
pub(super) struct ClientCounts {
    max_clients: usize,
    max_anonymous_clients: usize,
    counts: Mutex<Counts>,
    refusals: Mutex<RateLimited>,
}

#[derive(Default)]
struct Counts {
    clients: usize,
    anonymous: usize,
}

/// Why a client was refused.
#[derive(Clone, Copy, Debug)]
pub(super) enum Refusal {
    /// `max_clients` clients were connected.
    Clients(usize),
    /// `max_anonymous_clients` anonymous clients were connected.
    Anonymous(usize),
}

impl core::fmt::Display for Refusal {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Refusal::Clients(max) => write!(f, "{max} clients connected (max_clients)"),
            Refusal::Anonymous(max) => write!(
                f,
                "{max} clients connected and not authenticated (max_anonymous_clients)"
            ),
        }
    }
}

impl ClientCounts {
    pub(super) fn new(max_clients: usize, max_anonymous_clients: usize) -> Arc<Self> {
        Arc::new(ClientCounts {
            max_clients,
            max_anonymous_clients,
            counts: Mutex::default(),
            refusals: Mutex::new(RateLimited::new(REPORT_EVERY)),
        })
    }

    fn counts(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts a new client, anonymous or authenticated as `identity`
    /// (a TLS certificate's subject), or refuses it, reported (at most
    /// every 10 s, with the number refused since) against `peer`.
    pub(super) fn admit(
        self: &Arc<Self>,
        anonymous: bool,
        identity: Option<String>,
        secure: bool,
        peer: &dyn core::fmt::Display,
    ) -> Result<ClientSlot, Refusal> {
        let refusal = {
            let mut counts = self.counts();
            if counts.clients >= self.max_clients {
                Some(Refusal::Clients(self.max_clients))
            } else if anonymous
                && self.max_anonymous_clients != 0
                && counts.anonymous >= self.max_anonymous_clients
            {
                Some(Refusal::Anonymous(self.max_anonymous_clients))
            } else {
                counts.clients += 1;
                counts.anonymous += usize::from(anonymous);
                None
            }
        };
        match refusal {
            None => Ok(ClientSlot {
                counts: Arc::clone(self),
                state: Mutex::new(ClientAuth {
                    anonymous,
                    identity,
                }),
                secure,
                #[cfg(feature = "sasl")]
                sasl: Mutex::new(None),
            }),
            Some(refusal) => {
                let count = self
                    .refusals
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .tick();
                if let Some(count) = count {
                    observe::libvirt_client_refused(peer, &refusal, count);
                }
                Err(refusal)
            }
        }
    }
}

/// A client's place in the counts, given back when it disconnects, and
/// whether it has authenticated.
pub(super) struct ClientSlot {
    counts: Arc<ClientCounts>,
    state: Mutex<ClientAuth>,
    /// TLS or a Unix socket (libvirtd's `virNetServerClientIsSecure`).
    secure: bool,
    /// The SASL exchange in progress, between INIT and its end.
    #[cfg(feature = "sasl")]
    sasl: Mutex<Option<super::sasl::Exchange>>,
}

#[derive(Debug)]
struct ClientAuth {
    anonymous: bool,
    identity: Option<String>,
}

impl core::fmt::Debug for ClientSlot {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ClientSlot")
            .field("state", &*self.state())
            .finish_non_exhaustive()
    }
}

impl ClientSlot {
    fn state(&self) -> std::sync::MutexGuard<'_, ClientAuth> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The client authenticated as `identity`: it no longer counts as
    /// anonymous. True the first time.
    pub(super) fn authenticate(&self, identity: &str) -> bool {
        let mut state = self.state();
        if !state.anonymous {
            return false;
        }
        state.anonymous = false;
        state.identity = Some(identity.into());
        let mut counts = self.counts.counts();
        counts.anonymous = counts.anonymous.saturating_sub(1);
        true
    }

    /// Whether the client has not authenticated.
    pub(super) fn is_anonymous(&self) -> bool {
        self.state().anonymous
    }

    /// Who the client is, if known.
    pub(super) fn identity(&self) -> Option<String> {
        self.state().identity.clone()
    }

    /// Whether the connection is TLS or a Unix socket.
    pub(super) fn is_secure(&self) -> bool {
        self.secure
    }

    /// Starts a SASL exchange; false if one is in progress.
    #[cfg(feature = "sasl")]
    pub(super) fn begin_sasl(&self, exchange: super::sasl::Exchange) -> bool {
        let mut sasl = self.sasl.lock().unwrap_or_else(PoisonError::into_inner);
        if sasl.is_some() {
            return false;
        }
        *sasl = Some(exchange);
        true
    }

    /// Runs `f` on the exchange in progress, if any.
    #[cfg(feature = "sasl")]
    pub(super) fn with_sasl<T>(
        &self,
        f: impl FnOnce(Option<&mut super::sasl::Exchange>) -> T,
    ) -> T {
        f(self
            .sasl
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_mut())
    }

    /// Ends the exchange in progress (it succeeded or failed).
    #[cfg(feature = "sasl")]
    pub(super) fn end_sasl(&self) {
        *self.sasl.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let anonymous = self
            .state
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .anonymous;
        let mut counts = self.counts.counts();
        counts.clients = counts.clients.saturating_sub(1);
        counts.anonymous = counts.anonymous.saturating_sub(usize::from(anonymous));
    }
}

#[cfg(test)]
mod tests {
    use super::{AuthPolicy, allowed_before_auth, glob_matches};

    #[test]
    fn globs_match_as_glib_does() {
        for (pattern, text) in [
            ("*", ""),
            ("*", "O=xdrgen,CN=client"),
            ("O=xdrgen,CN=*", "O=xdrgen,CN=client"),
            ("O=xdrgen,CN=client", "O=xdrgen,CN=client"),
            ("O=?drgen,*=client", "O=xdrgen,CN=client"),
            ("*a*b*", "xxaxxbxx"),
            ("a**b", "ab"),
        ] {
            assert!(glob_matches(pattern, text), "{pattern} {text}");
        }
        for (pattern, text) in [
            ("", "x"),
            ("O=xdrgen,CN=*", "O=rogue,CN=client"),
            ("O=xdrgen,CN=client", "O=xdrgen,CN=client2"),
            ("?", ""),
            ("*a*b", "xxbxxa"),
        ] {
            assert!(!glob_matches(pattern, text), "{pattern} {text}");
        }
        // Backtracking stays bounded on a hostile pattern.
        let text = "a".repeat(2000);
        assert!(!glob_matches(
            &"*a".repeat(200).replace("*a*a", "*a*b"),
            &text
        ));
    }

    #[test]
    fn only_the_remote_authentication_procedures_come_before_auth() {
        let remote = 0x2000_8086;
        for procedure in 66..=70 {
            assert!(allowed_before_auth(remote, procedure));
        }
        for procedure in [1, 2, 60, 65, 71, 157] {
            assert!(!allowed_before_auth(remote, procedure));
        }
        // QEMU's program: every procedure needs authentication.
        assert!(!allowed_before_auth(0x2000_8087, 66));
    }

    #[test]
    fn a_certificate_authenticates_when_its_dn_is_listed() {
        let policy = AuthPolicy::Required {
            tls_allowed_dn_list: std::vec!["O=xdrgen,CN=*".into()],
        };
        assert!(policy.requires_auth());
        assert!(policy.allows_dn("O=xdrgen,CN=client"));
        assert!(!policy.allows_dn("O=rogue,CN=client"));
        assert!(!AuthPolicy::None.requires_auth());
    }
}
