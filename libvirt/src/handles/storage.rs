//! [`StoragePool`] and [`StorageVol`]: storage, as `virStoragePoolPtr` and
//! `virStorageVolPtr`; volumes upload and download on the runtime's
//! streams (`AsyncWrite`/`AsyncRead`, sparse when asked).

use xdrgen_runtime::XdrString;
use xdrgen_runtime::libvirt::Stream;

use super::{Connect, Result};
use crate::constants::{
    StoragePoolState, StorageVolDownloadFlags, StorageVolType, StorageVolUploadFlags,
    StorageXMLFlags, UnknownValue,
};
use crate::remote::{
    RemoteNonnullStoragePool, RemoteNonnullStorageVol, RemoteStoragePoolGetInfoArgs,
    RemoteStoragePoolGetXmlDescArgs, RemoteStoragePoolIsActiveArgs,
    RemoteStoragePoolListAllVolumesArgs, RemoteStoragePoolRefreshArgs,
    RemoteStorageVolDownloadArgs, RemoteStorageVolGetInfoArgs, RemoteStorageVolGetPathArgs,
    RemoteStorageVolGetXmlDescArgs, RemoteStorageVolLookupByNameArgs, RemoteStorageVolUploadArgs,
};

/// A storage pool (`virStoragePoolPtr`).
#[derive(Clone)]
pub struct StoragePool {
    connect: Connect,
    raw: RemoteNonnullStoragePool,
}

/// What `virStoragePoolGetInfo` tells.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoragePoolInfo {
    /// Running, inactive, ...; a state newer than this crate comes as
    /// [`UnknownValue`] with the raw value.
    pub state: Result<StoragePoolState, UnknownValue>,
    /// Size in bytes.
    pub capacity: u64,
    /// Bytes allocated.
    pub allocation: u64,
    /// Bytes free.
    pub available: u64,
}

/// A storage volume (`virStorageVolPtr`).
#[derive(Clone)]
pub struct StorageVol {
    connect: Connect,
    raw: RemoteNonnullStorageVol,
}

/// What `virStorageVolGetInfo` tells.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StorageVolInfo {
    /// File, block device, ...; a type newer than this crate comes as
    /// [`UnknownValue`] with the raw value.
    pub kind: Result<StorageVolType, UnknownValue>,
    /// Logical size in bytes.
    pub capacity: u64,
    /// Bytes allocated.
    pub allocation: u64,
}

super::identity!(
    StoragePool,
    RemoteNonnullStoragePool,
    "remote_nonnull_storage_pool",
    "pool"
);

impl StoragePool {
    pub(crate) fn new(connect: Connect, raw: RemoteNonnullStoragePool) -> StoragePool {
        StoragePool { connect, raw }
    }

    /// State and sizes (`virStoragePoolGetInfo`).
    pub async fn info(&self) -> Result<StoragePoolInfo> {
        let args = RemoteStoragePoolGetInfoArgs {
            pool: self.raw.clone(),
        };
        let ret = self.connect.client().storage_pool_get_info(&args).await?;
        Ok(StoragePoolInfo {
            state: StoragePoolState::try_from(i32::from(ret.state)),
            capacity: ret.capacity,
            allocation: ret.allocation,
            available: ret.available,
        })
    }

    /// Whether it is active (`virStoragePoolIsActive`).
    pub async fn is_active(&self) -> Result<bool> {
        let args = RemoteStoragePoolIsActiveArgs {
            pool: self.raw.clone(),
        };
        Ok(self
            .connect
            .client()
            .storage_pool_is_active(&args)
            .await?
            .active
            != 0)
    }

    /// Its XML (`virStoragePoolGetXMLDesc`).
    pub async fn xml_desc(&self, flags: StorageXMLFlags) -> Result<String> {
        let args = RemoteStoragePoolGetXmlDescArgs {
            pool: self.raw.clone(),
            flags: flags.bits(),
        };
        let ret = self
            .connect
            .client()
            .storage_pool_get_xml_desc(&args)
            .await?;
        Ok(ret.xml.to_string_lossy().into_owned())
    }

    /// Rescans its volumes (`virStoragePoolRefresh`).
    pub async fn refresh(&self) -> Result<()> {
        let args = RemoteStoragePoolRefreshArgs {
            pool: self.raw.clone(),
            flags: 0,
        };
        Ok(self.connect.client().storage_pool_refresh(&args).await?)
    }

    /// Its volumes (`virStoragePoolListAllVolumes`).
    pub async fn list_all_volumes(&self) -> Result<Vec<StorageVol>> {
        let args = RemoteStoragePoolListAllVolumesArgs {
            pool: self.raw.clone(),
            need_results: 1,
            flags: 0,
        };
        let ret = self
            .connect
            .client()
            .storage_pool_list_all_volumes(&args)
            .await?;
        Ok(ret
            .vols
            .into_iter()
            .map(|raw| StorageVol::new(self.connect.clone(), raw))
            .collect())
    }

    /// Its volume named `name` (`virStorageVolLookupByName`).
    pub async fn lookup_volume_by_name(&self, name: &str) -> Result<StorageVol> {
        let args = RemoteStorageVolLookupByNameArgs {
            pool: self.raw.clone(),
            name: XdrString::from(name),
        };
        let ret = self
            .connect
            .client()
            .storage_vol_lookup_by_name(&args)
            .await?;
        Ok(StorageVol::new(self.connect.clone(), ret.vol))
    }
}

impl StorageVol {
    pub(crate) fn new(connect: Connect, raw: RemoteNonnullStorageVol) -> StorageVol {
        StorageVol { connect, raw }
    }

    /// The connection the volume belongs to.
    pub fn connect(&self) -> &Connect {
        &self.connect
    }

    /// The wire value (`remote_nonnull_storage_vol`).
    pub fn raw(&self) -> &RemoteNonnullStorageVol {
        &self.raw
    }

    /// The name.
    pub fn name(&self) -> std::borrow::Cow<'_, str> {
        self.raw.name.to_string_lossy()
    }

    /// The key (unique on the host; a file's path for `dir` pools).
    pub fn key(&self) -> std::borrow::Cow<'_, str> {
        self.raw.key.to_string_lossy()
    }

    /// The name of its pool.
    pub fn pool_name(&self) -> std::borrow::Cow<'_, str> {
        self.raw.pool.to_string_lossy()
    }

    /// Type and sizes (`virStorageVolGetInfo`).
    pub async fn info(&self) -> Result<StorageVolInfo> {
        let args = RemoteStorageVolGetInfoArgs {
            vol: self.raw.clone(),
        };
        let ret = self.connect.client().storage_vol_get_info(&args).await?;
        Ok(StorageVolInfo {
            kind: StorageVolType::try_from(i32::from(ret.r#type)),
            capacity: ret.capacity,
            allocation: ret.allocation,
        })
    }

    /// Its path on the host (`virStorageVolGetPath`).
    pub async fn path(&self) -> Result<String> {
        let args = RemoteStorageVolGetPathArgs {
            vol: self.raw.clone(),
        };
        let ret = self.connect.client().storage_vol_get_path(&args).await?;
        Ok(ret.name.to_string_lossy().into_owned())
    }

    /// Its XML (`virStorageVolGetXMLDesc`).
    pub async fn xml_desc(&self, flags: StorageXMLFlags) -> Result<String> {
        let args = RemoteStorageVolGetXmlDescArgs {
            vol: self.raw.clone(),
            flags: flags.bits(),
        };
        let ret = self
            .connect
            .client()
            .storage_vol_get_xml_desc(&args)
            .await?;
        Ok(ret.xml.to_string_lossy().into_owned())
    }

    /// Reads `length` bytes from `offset` (0 and 0: the whole volume)
    /// (`virStorageVolDownload`). The stream is an `AsyncRead`; with
    /// [`StorageVolDownloadFlags::STREAM`] (`_SPARSE_STREAM`) it is
    /// declared sparse, so holes come as holes through [`Stream::recv`] and
    /// as zeros through `AsyncRead`.
    pub async fn download(
        &self,
        offset: u64,
        length: u64,
        flags: StorageVolDownloadFlags,
    ) -> Result<Stream> {
        let args = RemoteStorageVolDownloadArgs {
            vol: self.raw.clone(),
            offset,
            length,
            flags: flags.bits(),
        };
        let ((), mut stream) = self.connect.client().storage_vol_download(&args).await?;
        stream.set_sparse(flags.contains(StorageVolDownloadFlags::STREAM));
        Ok(stream)
    }

    /// Writes `length` bytes at `offset` (0 and 0: the whole volume)
    /// (`virStorageVolUpload`). The stream is an `AsyncWrite` whose
    /// `shutdown` finishes the upload; with
    /// [`StorageVolUploadFlags::STREAM`] (`_SPARSE_STREAM`)
    /// [`Stream::send_hole`] may send holes.
    pub async fn upload(
        &self,
        offset: u64,
        length: u64,
        flags: StorageVolUploadFlags,
    ) -> Result<Stream> {
        let args = RemoteStorageVolUploadArgs {
            vol: self.raw.clone(),
            offset,
            length,
            flags: flags.bits(),
        };
        let ((), mut stream) = self.connect.client().storage_vol_upload(&args).await?;
        stream.set_sparse(flags.contains(StorageVolUploadFlags::STREAM));
        Ok(stream)
    }
}

impl std::fmt::Debug for StoragePool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoragePool")
            .field("name", &self.name())
            .field("uuid", &self.uuid_string())
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for StorageVol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StorageVol")
            .field("pool", &self.pool_name())
            .field("name", &self.name())
            .field("key", &self.key())
            .finish_non_exhaustive()
    }
}
