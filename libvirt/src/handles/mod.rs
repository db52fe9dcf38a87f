//! Typed handles over the REMOTE protocol, as libvirt's C API has them:
//! [`Connect`] (`virConnectPtr`) opens a URI and hands out [`Domain`],
//! [`Network`], [`StoragePool`] and [`StorageVol`]. Each handle holds the
//! connection (a clone: cheap, shared) and the object's wire identity
//! (`remote_nonnull_*`), so it is as thin as libvirt's own: every method is
//! one call of the generated client, its libvirt error kept as
//! [`LibvirtError`] (code, domain, message).

/// The accessors every handle with a name and a UUID has: its
/// connection, its wire value, name and UUID.
macro_rules! identity {
    ($handle:ident, $raw:ty, $wire:literal, $what:literal) => {
        impl $handle {
            #[doc = concat!("The connection the ", $what, " belongs to.")]
            pub fn connect(&self) -> &super::Connect {
                &self.connect
            }

            #[doc = concat!("The wire value (`", $wire, "`), for generated procedures the handle does not wrap.")]
            pub fn raw(&self) -> &$raw {
                &self.raw
            }

            /// The name (lossy if the daemon sent bytes that are not UTF-8).
            pub fn name(&self) -> std::borrow::Cow<'_, str> {
                self.raw.name.to_string_lossy()
            }

            /// The UUID.
            pub fn uuid(&self) -> [u8; 16] {
                self.raw.uuid
            }

            /// The UUID as libvirt writes it.
            pub fn uuid_string(&self) -> String {
                super::format_uuid(&self.raw.uuid)
            }
        }
    };
}
use identity;

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
