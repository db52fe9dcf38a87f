//! Registering the server's NFS and MOUNT version 3 with rpcbind, where
//! stock clients (libnfs, `showmount`, the kernel's `mount.nfs`,
//! `rpcinfo -T tcp6`) find their addresses: every endpoint the server
//! listens on, under its netid (`tcp`, `udp`, `tcp6`, `udp6`, `local`)
//! with its universal address.
//!
//! One host has one mapping per program version and netid. Without
//! `take_over`, a live server already registered there (nfs-ganesha, the
//! kernel's nfsd) is left alone and the registration fails. With it, the
//! mappings are taken for as long as this server runs, and the ones
//! displaced are put back when it stops, so the other server is found
//! again.

use std::time::Duration;

use xdrgen_protocols::mount3::mount_program;
use xdrgen_protocols::nfs3::nfs_program;
use xdrgen_protocols::registration::{self, Registration, RegistrationError, Rpcbind};
use xdrgen_protocols::rpcbind::{Rpcb, rpcbprog::rpcbvers4};
use xdrgen_runtime::rpc::{ClientConfig, Endpoint};

/// The program versions registered.
const PROGRAMS: [(u32, u32); 2] = [
    (nfs_program::PROGRAM, nfs_program::nfs_v3::VERSION),
    (mount_program::PROGRAM, mount_program::mount_v3::VERSION),
];

/// The server's mappings, and those it displaced.
#[derive(Debug)]
pub struct Registered {
    rpcbind: Rpcbind,
    registrations: Vec<Registration>,
    displaced: Vec<Rpcb>,
}

/// Maps NFS v3 and MOUNT v3 to every endpoint. A port mapper that only
/// speaks version 2 holds IPv4 TCP and UDP ports only: the other
/// endpoints are then served but not registered, and a warning says so.
pub async fn register(
    rpcbind: Rpcbind,
    endpoints: &[Endpoint],
    take_over: bool,
) -> Result<Registered, RegistrationError> {
    let mut registered = Registered {
        rpcbind: rpcbind.clone(),
        registrations: Vec::new(),
        displaced: Vec::new(),
    };
    // What the other server holds, from rpcbind's version 4 table, to be
    // put back later.
    let table = if take_over {
        registration::dump_entries(&rpcbind)
            .await
            .map_err(RegistrationError::Rpc)?
    } else {
        Vec::new()
    };
    for (program, version) in PROGRAMS {
        for endpoint in endpoints {
            let ours = endpoint.universal_address().unwrap_or_default();
            let theirs = table.iter().find(|e| {
                e.r_prog == program
                    && e.r_vers == version
                    && e.r_netid == endpoint.netid()
                    && e.r_addr.to_string_lossy() != ours
            });
            registered.displaced.extend(theirs.cloned());
        }
        let result = register_program(&rpcbind, program, version, endpoints, take_over).await;
        match result {
            Ok(registration) => registered.registrations.push(registration),
            Err(e) => {
                // Leave rpcbind as it was: nothing of ours, theirs restored.
                if let Err(cleanup) = registered.unregister().await {
                    tracing::warn!(%cleanup, "nfs-server: undoing a partial registration failed");
                }
                return Err(e);
            }
        }
    }
    Ok(registered)
}

/// One program version on every endpoint; on a version 2 port mapper, on
/// the IPv4 TCP and UDP ones.
async fn register_program(
    rpcbind: &Rpcbind,
    program: u32,
    version: u32,
    endpoints: &[Endpoint],
    take_over: bool,
) -> Result<Registration, RegistrationError> {
    let register = |endpoints: Vec<Endpoint>| async move {
        if take_over {
            Registration::register_endpoints_replacing(
                rpcbind.clone(),
                program,
                version,
                &endpoints,
            )
            .await
        } else {
            Registration::register_endpoints(rpcbind.clone(), program, version, &endpoints).await
        }
    };
    match register(endpoints.to_vec()).await {
        Err(RegistrationError::NeedsVersion4 { endpoint }) => {
            tracing::warn!(
                %endpoint,
                "nfs-server: rpcbind only speaks port mapper version 2: registering the IPv4 \
                 TCP and UDP endpoints only"
            );
            let ipv4 = endpoints
                .iter()
                .filter(|e| matches!(e, Endpoint::Tcp(a) | Endpoint::Udp(a) if a.is_ipv4()))
                .cloned()
                .collect();
            register(ipv4).await
        }
        other => other,
    }
}

impl Registered {
    /// The mappings of the server that held them before (netid and
    /// universal address), put back when this one unregisters.
    pub fn displaced(&self) -> &[Rpcb] {
        &self.displaced
    }

    /// Removes this server's mappings and restores the displaced ones.
    pub async fn unregister(self) -> Result<(), RegistrationError> {
        let mut first_error = None;
        for registration in self.registrations {
            if let Err(e) = registration.unregister().await {
                first_error.get_or_insert(e);
            }
        }
        if !self.displaced.is_empty() {
            let endpoint = match &self.rpcbind {
                Rpcbind::Tcp(addr) => Endpoint::Tcp(*addr),
                Rpcbind::Unix(path) => Endpoint::Unix(path.clone()),
            };
            let config = ClientConfig {
                timeout: Duration::from_secs(5),
                ..ClientConfig::default()
            };
            let restored = async {
                let v4 = rpcbvers4::Client::connect(endpoint, config).await?;
                for mapping in &self.displaced {
                    if !v4.rpcbproc_set(mapping).await? {
                        return Ok(Err(RegistrationError::RefusedAt {
                            netid: mapping.r_netid.to_string_lossy().into_owned(),
                            address: mapping.r_addr.to_string_lossy().into_owned(),
                        }));
                    }
                }
                Ok(Ok(()))
            };
            match restored.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    first_error.get_or_insert(e);
                }
                Err(e) => {
                    first_error.get_or_insert(RegistrationError::Rpc(e));
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}
