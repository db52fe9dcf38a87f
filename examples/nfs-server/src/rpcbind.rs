//! Registering the server's NFS and MOUNT version 3 with rpcbind, where
//! stock clients (libnfs, `showmount`, the kernel's `mount.nfs`) find
//! their ports.
//!
//! One host has one mapping per program version and protocol. Without
//! `take_over`, a live server already registered there (nfs-ganesha, the
//! kernel's nfsd) is left alone and the registration fails. With it, the
//! mappings are taken for as long as this server runs, and the ones
//! displaced are put back when it stops, so the other server is found
//! again.

use std::time::Duration;

use xdrgen_protocols::mount3::mount_program;
use xdrgen_protocols::nfs3::nfs_program;
use xdrgen_protocols::portmap::{Mapping, pmap_prog::pmap_vers};
use xdrgen_protocols::registration::{self, Protocol, Registration, RegistrationError, Rpcbind};
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
    displaced: Vec<Mapping>,
}

/// Maps NFS v3 and MOUNT v3 to `tcp_port` and `udp_port`.
pub async fn register(
    rpcbind: Rpcbind,
    tcp_port: u16,
    udp_port: u16,
    take_over: bool,
) -> Result<Registered, RegistrationError> {
    let ports = [(Protocol::Tcp, tcp_port), (Protocol::Udp, udp_port)];
    let mut registered = Registered {
        rpcbind: rpcbind.clone(),
        registrations: Vec::new(),
        displaced: Vec::new(),
    };
    for (program, version) in PROGRAMS {
        let result = if take_over {
            for (protocol, ours) in ports {
                let existing = registration::get_port(&rpcbind, program, version, protocol).await;
                let existing = existing.map_err(RegistrationError::Rpc)?;
                if let Some(port) = existing.filter(|&port| port != ours) {
                    registered.displaced.push(Mapping {
                        prog: program,
                        vers: version,
                        prot: protocol.number(),
                        port: u32::from(port),
                    });
                }
            }
            Registration::register_replacing(rpcbind.clone(), program, version, &ports).await
        } else {
            Registration::register(rpcbind.clone(), program, version, &ports).await
        };
        match result {
            Ok(registration) => registered.registrations.push(registration),
            Err(e) => {
                // Leave rpcbind as it was: nothing of ours, theirs restored.
                if let Err(cleanup) = registered.unregister().await {
                    eprintln!("nfs-server: undoing a partial registration failed: {cleanup}");
                }
                return Err(e);
            }
        }
    }
    Ok(registered)
}

impl Registered {
    /// The mappings of the server that held them before, put back when
    /// this one unregisters.
    pub fn displaced(&self) -> &[Mapping] {
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
                let pmap = pmap_vers::Client::connect(endpoint, config).await?;
                for mapping in &self.displaced {
                    if !pmap.pmapproc_set(mapping).await? {
                        return Ok(Err(RegistrationError::Refused {
                            mapping: mapping.clone(),
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
