//! Typed handles over the REMOTE protocol, as libvirt's C API has them:
//! [`Connect`] (`virConnectPtr`) opens a URI and hands out [`Domain`],
//! [`Network`], [`StoragePool`] and [`StorageVol`]. Each handle holds the
//! connection (a clone: cheap, shared) and the object's wire identity
//! (`remote_nonnull_*`), so it is as thin as libvirt's own: every method is
//! one call of the generated client, its libvirt error kept as
//! [`LibvirtError`] (code, domain, message).

mod connect;
mod domain;
mod error;
mod events;
mod network;
mod storage;

pub use connect::{Connect, SecurityModel};
pub use domain::{Domain, DomainInfo, SecurityLabel, format_uuid, parse_uuid};
pub use error::{Error, LibvirtError, Result};
pub use events::{DomainEvents, LifecycleEvent};
pub use network::Network;
pub use storage::{StoragePool, StoragePoolInfo, StorageVol, StorageVolInfo};
