//! [`Network`]: a virtual network, as `virNetworkPtr`.

use super::{Connect, Result};
use crate::constants::NetworkXMLFlags;
use crate::remote::{
    RemoteNetworkCreateArgs, RemoteNetworkDestroyArgs, RemoteNetworkGetAutostartArgs,
    RemoteNetworkGetBridgeNameArgs, RemoteNetworkGetXmlDescArgs, RemoteNetworkIsActiveArgs,
    RemoteNetworkIsPersistentArgs, RemoteNetworkUndefineArgs, RemoteNonnullNetwork,
};

/// A virtual network (`virNetworkPtr`).
#[derive(Clone)]
pub struct Network {
    connect: Connect,
    raw: RemoteNonnullNetwork,
}

super::identity!(
    Network,
    RemoteNonnullNetwork,
    "remote_nonnull_network",
    "network"
);

impl Network {
    pub(crate) fn new(connect: Connect, raw: RemoteNonnullNetwork) -> Network {
        Network { connect, raw }
    }

    /// Whether it runs (`virNetworkIsActive`).
    pub async fn is_active(&self) -> Result<bool> {
        let args = RemoteNetworkIsActiveArgs {
            net: self.raw.clone(),
        };
        Ok(self.connect.client().network_is_active(&args).await?.active != 0)
    }

    /// Whether it is defined, not only running (`virNetworkIsPersistent`).
    pub async fn is_persistent(&self) -> Result<bool> {
        let args = RemoteNetworkIsPersistentArgs {
            net: self.raw.clone(),
        };
        Ok(self
            .connect
            .client()
            .network_is_persistent(&args)
            .await?
            .persistent
            != 0)
    }

    /// Whether it starts with the host (`virNetworkGetAutostart`).
    pub async fn autostart(&self) -> Result<bool> {
        let args = RemoteNetworkGetAutostartArgs {
            net: self.raw.clone(),
        };
        Ok(self
            .connect
            .client()
            .network_get_autostart(&args)
            .await?
            .autostart
            != 0)
    }

    /// Its bridge device (`virNetworkGetBridgeName`).
    pub async fn bridge_name(&self) -> Result<String> {
        let args = RemoteNetworkGetBridgeNameArgs {
            net: self.raw.clone(),
        };
        let ret = self.connect.client().network_get_bridge_name(&args).await?;
        Ok(ret.name.to_string_lossy().into_owned())
    }

    /// Its XML (`virNetworkGetXMLDesc`).
    pub async fn xml_desc(&self, flags: NetworkXMLFlags) -> Result<String> {
        let args = RemoteNetworkGetXmlDescArgs {
            net: self.raw.clone(),
            flags: flags.bits(),
        };
        let ret = self.connect.client().network_get_xml_desc(&args).await?;
        Ok(ret.xml.to_string_lossy().into_owned())
    }

    /// Starts the defined network (`virNetworkCreate`).
    pub async fn create(&self) -> Result<()> {
        let args = RemoteNetworkCreateArgs {
            net: self.raw.clone(),
        };
        Ok(self.connect.client().network_create(&args).await?)
    }

    /// Stops it (`virNetworkDestroy`).
    pub async fn destroy(&self) -> Result<()> {
        let args = RemoteNetworkDestroyArgs {
            net: self.raw.clone(),
        };
        Ok(self.connect.client().network_destroy(&args).await?)
    }

    /// Removes its persistent definition (`virNetworkUndefine`).
    pub async fn undefine(&self) -> Result<()> {
        let args = RemoteNetworkUndefineArgs {
            net: self.raw.clone(),
        };
        Ok(self.connect.client().network_undefine(&args).await?)
    }
}

impl std::fmt::Debug for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Network")
            .field("name", &self.name())
            .field("uuid", &self.uuid_string())
            .finish_non_exhaustive()
    }
}
