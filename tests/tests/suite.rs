//! The integration tests that need no shared peer, as one test binary:
//! each file of this directory is a module. One binary links the runtime,
//! the generated protocols and their dependencies once instead of once
//! per file, which keeps the target directory (and the lone clone's,
//! which builds this too) much smaller; CI once ran out of disk. Run one
//! file's tests with `cargo test -p xdrgen-tests --test suite rpc::`.
//!
//! The other files stay binaries of their own (tests/Cargo.toml), since
//! cargo runs binaries one after another:
//! - those that use the peers `scripts/test.sh` starts (rpcbind, ganesha,
//!   libvirtd), because some read a peer's whole state or capture all its
//!   traffic, and a test of another file running beside them would change
//!   what they see;
//! - `lone_clone.rs`, whose nested build would load every timed test.

mod capture;

mod bounded;
mod differential;
mod dissector;
mod hostile;
mod libvirt;
mod libvirt_policy;
mod libvirt_sasl;
mod libvirt_streams;
mod libvirt_tls;
mod observability;
mod peer_files;
mod roundtrip;
mod rpc;
mod unions;
