//! Every integration test of the workspace's generated code, runtime and
//! peers, as one test binary: each file of this directory is a module.
//! One binary links the runtime, the generated protocols and their
//! dependencies once instead of once per file, which keeps the target
//! directory (and the lone clone's, which builds this too) a fraction of
//! the size; CI once ran out of disk. Run one file's tests with
//! `cargo test -p xdrgen-tests --test suite rpc::`.
//!
//! `lone_clone.rs` stays a binary of its own: it builds a whole copy of
//! the workspace, and would slow every timed test beside it.

mod capture;

mod bounded;
mod differential;
mod dissector;
mod dump_tshark;
mod hostile;
mod libvirt;
mod libvirt_cli;
mod libvirt_peer;
mod libvirt_policy;
mod libvirt_sasl;
mod libvirt_streams;
mod libvirt_tls;
mod libvirt_uri;
mod nfs_ganesha;
mod nfs_server;
mod observability;
mod peer_files;
mod roundtrip;
mod rpc;
mod rpc_peers;
mod rpcbind_v4;
mod unions;
