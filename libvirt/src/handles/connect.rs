//! [`Connect`]: a connection to a libvirt daemon, as `virConnectPtr`.

use xdrgen_runtime::XdrString;
use xdrgen_runtime::libvirt::{Connection, OpenOptions};

use super::{Domain, DomainEvents, Error, Network, Result, StoragePool, StorageVol};
use crate::constants::{
    ConnectListAllDomainsFlags, ConnectListAllNetworksFlags, ConnectListAllStoragePoolsFlags,
    DomainEventID,
};
use crate::remote::remote_program::Client;
use crate::remote::{
    RemoteConnectDomainEventCallbackRegisterAnyArgs, RemoteConnectListAllDomainsArgs,
    RemoteConnectListAllNetworksArgs, RemoteConnectListAllStoragePoolsArgs,
    RemoteDomainDefineXmlArgs, RemoteDomainLookupByIdArgs, RemoteDomainLookupByNameArgs,
    RemoteDomainLookupByUuidArgs, RemoteNetworkLookupByNameArgs, RemoteNetworkLookupByUuidArgs,
    RemoteStoragePoolLookupByNameArgs, RemoteStoragePoolLookupByUuidArgs,
    RemoteStorageVolLookupByKeyArgs, RemoteStorageVolLookupByPathArgs,
};

/// A connection to a libvirt daemon (`virConnectPtr`): opens a URI
/// through the runtime and hands out handles for its domains, networks,
/// storage pools and volumes. Clones share the connection; it closes when
/// the last clone (handles hold one) is dropped, or on
/// [`close`](Connect::close).
#[derive(Clone)]
pub struct Connect {
    client: Client,
}

/// The security model of the daemon's host (`virSecurityModel`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecurityModel {
    /// The model (`selinux`, `apparmor`, `testSecurity`); empty when
    /// there is none.
    pub model: String,
    /// Its domain of interpretation.
    pub doi: String,
}

/// A `char` array from the wire as text, up to its first NUL (libvirt
/// sends C buffers with their terminator).
pub(crate) fn c_chars(chars: &[i8]) -> String {
    let bytes: Vec<u8> = chars
        .iter()
        .map(|&c| c.to_ne_bytes()[0])
        .take_while(|&b| b != 0)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

impl Connect {
    /// Opens `uri` (`qemu:///system`, `qemu+ssh://host/system`,
    /// `test+tcp://127.0.0.1/default`, ...) with libvirt's rules for
    /// transports, sockets and authentication
    /// ([`Connection::open`]).
    pub async fn open(uri: &str, options: OpenOptions) -> Result<Connect> {
        Ok(Connect::from_connection(
            Connection::open(uri, options).await?,
        ))
    }

    /// Handles over a connection already open (CONNECT_OPEN sent).
    pub fn from_connection(connection: Connection) -> Connect {
        Connect {
            client: Client(connection),
        }
    }

    /// The generated REMOTE client, for the procedures the handles do not
    /// wrap.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The runtime's connection: keepalive, [`closed`](Connection::closed),
    /// raw calls.
    pub fn connection(&self) -> &Connection {
        &self.client.0
    }

    /// Closes the connection as libvirt's client does: CONNECT_CLOSE, then
    /// the transport. Handles made from it fail with a closed connection
    /// afterwards.
    pub async fn close(&self) -> Result<()> {
        let said_goodbye = self.client.connect_close().await;
        self.connection().close();
        Ok(said_goodbye?)
    }

    /// The URI the daemon opened (`virConnectGetURI`).
    pub async fn uri(&self) -> Result<String> {
        let ret = self.client.connect_get_uri().await?;
        Ok(ret.uri.to_string_lossy().into_owned())
    }

    /// The driver's name (`QEMU`, `TEST`; `virConnectGetType`).
    pub async fn driver_type(&self) -> Result<String> {
        let ret = self.client.connect_get_type().await?;
        Ok(ret.r#type.to_string_lossy().into_owned())
    }

    /// The host's security model (`virNodeGetSecurityModel`).
    pub async fn security_model(&self) -> Result<SecurityModel> {
        let ret = self.client.node_get_security_model().await?;
        Ok(SecurityModel {
            model: c_chars(&ret.model),
            doi: c_chars(&ret.doi),
        })
    }

    /// Domains matching `flags` (`virConnectListAllDomains`; empty for
    /// all), in the daemon's order.
    pub async fn list_all_domains(&self, flags: ConnectListAllDomainsFlags) -> Result<Vec<Domain>> {
        let args = RemoteConnectListAllDomainsArgs {
            need_results: 1,
            flags: flags.bits(),
        };
        let ret = self.client.connect_list_all_domains(&args).await?;
        Ok(ret
            .domains
            .into_iter()
            .map(|raw| Domain::new(self.clone(), raw))
            .collect())
    }

    /// The domain named `name` (`virDomainLookupByName`).
    pub async fn lookup_domain_by_name(&self, name: &str) -> Result<Domain> {
        let args = RemoteDomainLookupByNameArgs {
            name: XdrString::from(name),
        };
        let ret = self.client.domain_lookup_by_name(&args).await?;
        Ok(Domain::new(self.clone(), ret.dom))
    }

    /// The domain with `uuid` (`virDomainLookupByUUID`).
    pub async fn lookup_domain_by_uuid(&self, uuid: &[u8; 16]) -> Result<Domain> {
        let args = RemoteDomainLookupByUuidArgs { uuid: *uuid };
        let ret = self.client.domain_lookup_by_uuid(&args).await?;
        Ok(Domain::new(self.clone(), ret.dom))
    }

    /// The running domain with `id` (`virDomainLookupByID`).
    pub async fn lookup_domain_by_id(&self, id: i32) -> Result<Domain> {
        let args = RemoteDomainLookupByIdArgs { id };
        let ret = self.client.domain_lookup_by_id(&args).await?;
        Ok(Domain::new(self.clone(), ret.dom))
    }

    /// Defines (or redefines) a persistent domain from its XML
    /// (`virDomainDefineXML`).
    pub async fn define_domain_xml(&self, xml: &str) -> Result<Domain> {
        let args = RemoteDomainDefineXmlArgs {
            xml: XdrString::from(xml),
        };
        let ret = self.client.domain_define_xml(&args).await?;
        Ok(Domain::new(self.clone(), ret.dom))
    }

    /// Networks matching `flags` (`virConnectListAllNetworks`; empty for
    /// all).
    pub async fn list_all_networks(
        &self,
        flags: ConnectListAllNetworksFlags,
    ) -> Result<Vec<Network>> {
        let args = RemoteConnectListAllNetworksArgs {
            need_results: 1,
            flags: flags.bits(),
        };
        let ret = self.client.connect_list_all_networks(&args).await?;
        Ok(ret
            .nets
            .into_iter()
            .map(|raw| Network::new(self.clone(), raw))
            .collect())
    }

    /// The network named `name` (`virNetworkLookupByName`).
    pub async fn lookup_network_by_name(&self, name: &str) -> Result<Network> {
        let args = RemoteNetworkLookupByNameArgs {
            name: XdrString::from(name),
        };
        let ret = self.client.network_lookup_by_name(&args).await?;
        Ok(Network::new(self.clone(), ret.net))
    }

    /// The network with `uuid` (`virNetworkLookupByUUID`).
    pub async fn lookup_network_by_uuid(&self, uuid: &[u8; 16]) -> Result<Network> {
        let args = RemoteNetworkLookupByUuidArgs { uuid: *uuid };
        let ret = self.client.network_lookup_by_uuid(&args).await?;
        Ok(Network::new(self.clone(), ret.net))
    }

    /// Storage pools matching `flags` (`virConnectListAllStoragePools`;
    /// empty for all).
    pub async fn list_all_storage_pools(
        &self,
        flags: ConnectListAllStoragePoolsFlags,
    ) -> Result<Vec<StoragePool>> {
        let args = RemoteConnectListAllStoragePoolsArgs {
            need_results: 1,
            flags: flags.bits(),
        };
        let ret = self.client.connect_list_all_storage_pools(&args).await?;
        Ok(ret
            .pools
            .into_iter()
            .map(|raw| StoragePool::new(self.clone(), raw))
            .collect())
    }

    /// The storage pool named `name` (`virStoragePoolLookupByName`).
    pub async fn lookup_storage_pool_by_name(&self, name: &str) -> Result<StoragePool> {
        let args = RemoteStoragePoolLookupByNameArgs {
            name: XdrString::from(name),
        };
        let ret = self.client.storage_pool_lookup_by_name(&args).await?;
        Ok(StoragePool::new(self.clone(), ret.pool))
    }

    /// The storage pool with `uuid` (`virStoragePoolLookupByUUID`).
    pub async fn lookup_storage_pool_by_uuid(&self, uuid: &[u8; 16]) -> Result<StoragePool> {
        let args = RemoteStoragePoolLookupByUuidArgs { uuid: *uuid };
        let ret = self.client.storage_pool_lookup_by_uuid(&args).await?;
        Ok(StoragePool::new(self.clone(), ret.pool))
    }

    /// The volume with `key` (`virStorageVolLookupByKey`).
    pub async fn lookup_storage_vol_by_key(&self, key: &str) -> Result<StorageVol> {
        let args = RemoteStorageVolLookupByKeyArgs {
            key: XdrString::from(key),
        };
        let ret = self.client.storage_vol_lookup_by_key(&args).await?;
        Ok(StorageVol::new(self.clone(), ret.vol))
    }

    /// The volume at `path` (`virStorageVolLookupByPath`).
    pub async fn lookup_storage_vol_by_path(&self, path: &str) -> Result<StorageVol> {
        let args = RemoteStorageVolLookupByPathArgs {
            path: XdrString::from(path),
        };
        let ret = self.client.storage_vol_lookup_by_path(&args).await?;
        Ok(StorageVol::new(self.clone(), ret.vol))
    }

    /// Registers for domain lifecycle events
    /// (`virConnectDomainEventRegisterAny` with
    /// `VIR_DOMAIN_EVENT_ID_LIFECYCLE`), of one domain or of all: events
    /// from the daemon's answer on, until
    /// [`DomainEvents::deregister`].
    pub async fn domain_lifecycle_events(&self, domain: Option<&Domain>) -> Result<DomainEvents> {
        // Subscribed before registering, so the first event cannot slip
        // between the two.
        let receiver = self.client.events();
        let args = RemoteConnectDomainEventCallbackRegisterAnyArgs {
            event_id: DomainEventID::Lifecycle.to_raw(),
            dom: domain.map(|d| d.raw().clone()),
        };
        let ret = self
            .client
            .connect_domain_event_callback_register_any(&args)
            .await
            .map_err(Error::from)?;
        Ok(DomainEvents::new(self.clone(), receiver, ret.callback_id))
    }
}
