//! The portmapper protocol (RFC 1833) through `#[xdr_program]`: no build
//! script.

/// Types, constants and procedure numbers of `protocols/xdr/portmap.x`.
#[xdrgen_macros::xdr_program(file = "../../protocols/xdr/portmap.x")]
pub mod portmap {}
