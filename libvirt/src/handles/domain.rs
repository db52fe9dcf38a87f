//! [`Domain`]: a virtual machine, as `virDomainPtr`.

use std::fmt::Write as _;

use super::connect::c_chars;
use super::{Connect, Result};
use crate::constants::{
    DomainCreateFlags, DomainState, DomainUndefineFlagsValues, DomainXMLFlags, UnknownValue,
};
use crate::remote::{
    RemoteDomainCreateWithFlagsArgs, RemoteDomainDestroyArgs, RemoteDomainGetAutostartArgs,
    RemoteDomainGetInfoArgs, RemoteDomainGetOsTypeArgs, RemoteDomainGetSecurityLabelArgs,
    RemoteDomainGetStateArgs, RemoteDomainGetXmlDescArgs, RemoteDomainHasManagedSaveImageArgs,
    RemoteDomainIsActiveArgs, RemoteDomainIsPersistentArgs, RemoteDomainResumeArgs,
    RemoteDomainSuspendArgs, RemoteDomainUndefineArgs, RemoteDomainUndefineFlagsArgs,
    RemoteNonnullDomain,
};

/// A domain (`virDomainPtr`): the connection and the domain's name, UUID
/// and id as the daemon last sent them.
#[derive(Clone)]
pub struct Domain {
    connect: Connect,
    raw: RemoteNonnullDomain,
}

/// What `virDomainGetInfo` tells.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DomainInfo {
    /// Running, shut off, ...; a state newer than this crate comes as
    /// [`UnknownValue`] with the raw value.
    pub state: Result<DomainState, UnknownValue>,
    /// The most memory the domain may have, in KiB (0: no limit).
    pub max_memory_kib: u64,
    /// The memory it has, in KiB.
    pub memory_kib: u64,
    /// Its virtual CPUs.
    pub vcpus: u16,
    /// CPU time used, in nanoseconds.
    pub cpu_time_ns: u64,
}

/// A domain's security label (`virSecurityLabel`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecurityLabel {
    /// The label; empty when the domain has none.
    pub label: String,
    /// Whether it is enforced (else permissive).
    pub enforcing: bool,
}

/// A UUID as libvirt writes it: 8-4-4-4-12 lowercase hex digits.
pub fn format_uuid(uuid: &[u8; 16]) -> String {
    let mut out = String::with_capacity(36);
    for (i, byte) in uuid.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        let _ = write!(out, "{byte:02x}");
    }
    out
}

/// A UUID in libvirt's text form (with or without dashes), or `None`.
pub fn parse_uuid(text: &str) -> Option<[u8; 16]> {
    let digits: Vec<u8> = text.bytes().filter(|&b| b != b'-').collect();
    if digits.len() != 32 || text.len() > 36 || !digits.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let mut uuid = [0u8; 16];
    for (byte, pair) in uuid.iter_mut().zip(digits.chunks(2)) {
        let pair = std::str::from_utf8(pair).ok()?;
        *byte = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(uuid)
}

super::identity!(
    Domain,
    RemoteNonnullDomain,
    "remote_nonnull_domain",
    "domain"
);

impl Domain {
    pub(crate) fn new(connect: Connect, raw: RemoteNonnullDomain) -> Domain {
        Domain { connect, raw }
    }

    /// The id while the domain runs, as the daemon last sent it
    /// (`None` when inactive).
    pub fn id(&self) -> Option<u32> {
        u32::try_from(self.raw.id).ok()
    }

    fn args_dom(&self) -> RemoteNonnullDomain {
        self.raw.clone()
    }

    /// State, memory, CPUs (`virDomainGetInfo`).
    pub async fn info(&self) -> Result<DomainInfo> {
        let args = RemoteDomainGetInfoArgs {
            dom: self.args_dom(),
        };
        let ret = self.connect.client().domain_get_info(&args).await?;
        Ok(DomainInfo {
            state: DomainState::try_from(i32::from(ret.state)),
            max_memory_kib: ret.max_mem,
            memory_kib: ret.memory,
            vcpus: ret.nr_virt_cpu,
            cpu_time_ns: ret.cpu_time,
        })
    }

    /// The state and the reason for it (`virDomainGetState`; the reason
    /// is one of the state's `virDomain<State>Reason` values, as sent).
    pub async fn state(&self) -> Result<(Result<DomainState, UnknownValue>, i32)> {
        let args = RemoteDomainGetStateArgs {
            dom: self.args_dom(),
            flags: 0,
        };
        let ret = self.connect.client().domain_get_state(&args).await?;
        Ok((DomainState::try_from(ret.state), ret.reason))
    }

    /// The domain's XML (`virDomainGetXMLDesc`).
    pub async fn xml_desc(&self, flags: DomainXMLFlags) -> Result<String> {
        let args = RemoteDomainGetXmlDescArgs {
            dom: self.args_dom(),
            flags: flags.bits(),
        };
        let ret = self.connect.client().domain_get_xml_desc(&args).await?;
        Ok(ret.xml.to_string_lossy().into_owned())
    }

    /// The guest OS type (`hvm`, `linux`; `virDomainGetOSType`).
    pub async fn os_type(&self) -> Result<String> {
        let args = RemoteDomainGetOsTypeArgs {
            dom: self.args_dom(),
        };
        let ret = self.connect.client().domain_get_os_type(&args).await?;
        Ok(ret.r#type.to_string_lossy().into_owned())
    }

    /// Whether it runs (`virDomainIsActive`).
    pub async fn is_active(&self) -> Result<bool> {
        let args = RemoteDomainIsActiveArgs {
            dom: self.args_dom(),
        };
        Ok(self.connect.client().domain_is_active(&args).await?.active != 0)
    }

    /// Whether it is defined, not only running (`virDomainIsPersistent`).
    pub async fn is_persistent(&self) -> Result<bool> {
        let args = RemoteDomainIsPersistentArgs {
            dom: self.args_dom(),
        };
        Ok(self
            .connect
            .client()
            .domain_is_persistent(&args)
            .await?
            .persistent
            != 0)
    }

    /// Whether it starts with the host (`virDomainGetAutostart`).
    pub async fn autostart(&self) -> Result<bool> {
        let args = RemoteDomainGetAutostartArgs {
            dom: self.args_dom(),
        };
        Ok(self
            .connect
            .client()
            .domain_get_autostart(&args)
            .await?
            .autostart
            != 0)
    }

    /// Whether it has a managed save image (`virDomainHasManagedSaveImage`).
    pub async fn has_managed_save_image(&self) -> Result<bool> {
        let args = RemoteDomainHasManagedSaveImageArgs {
            dom: self.args_dom(),
            flags: 0,
        };
        Ok(self
            .connect
            .client()
            .domain_has_managed_save_image(&args)
            .await?
            .result
            != 0)
    }

    /// Its security label (`virDomainGetSecurityLabel`).
    pub async fn security_label(&self) -> Result<SecurityLabel> {
        let args = RemoteDomainGetSecurityLabelArgs {
            dom: self.args_dom(),
        };
        let ret = self
            .connect
            .client()
            .domain_get_security_label(&args)
            .await?;
        Ok(SecurityLabel {
            label: c_chars(&ret.label),
            enforcing: ret.enforcing != 0,
        })
    }

    /// Starts the defined domain (`virDomainCreate`). The handle takes the
    /// id the daemon gave it.
    pub async fn create(&mut self) -> Result<()> {
        self.create_with_flags(DomainCreateFlags::empty()).await
    }

    /// Starts the defined domain with `flags` (`virDomainCreateWithFlags`).
    pub async fn create_with_flags(&mut self, flags: DomainCreateFlags) -> Result<()> {
        let args = RemoteDomainCreateWithFlagsArgs {
            dom: self.args_dom(),
            flags: flags.bits(),
        };
        let ret = self
            .connect
            .client()
            .domain_create_with_flags(&args)
            .await?;
        self.raw.id = ret.dom.id;
        Ok(())
    }

    /// Stops the domain at once (`virDomainDestroy`); as libvirt's client
    /// does, the handle forgets its id.
    pub async fn destroy(&mut self) -> Result<()> {
        let args = RemoteDomainDestroyArgs {
            dom: self.args_dom(),
        };
        self.connect.client().domain_destroy(&args).await?;
        self.raw.id = -1;
        Ok(())
    }

    /// Pauses it (`virDomainSuspend`).
    pub async fn suspend(&self) -> Result<()> {
        let args = RemoteDomainSuspendArgs {
            dom: self.args_dom(),
        };
        Ok(self.connect.client().domain_suspend(&args).await?)
    }

    /// Resumes it (`virDomainResume`).
    pub async fn resume(&self) -> Result<()> {
        let args = RemoteDomainResumeArgs {
            dom: self.args_dom(),
        };
        Ok(self.connect.client().domain_resume(&args).await?)
    }

    /// Removes its persistent definition (`virDomainUndefine`); a running
    /// domain becomes transient.
    pub async fn undefine(&self) -> Result<()> {
        let args = RemoteDomainUndefineArgs {
            dom: self.args_dom(),
        };
        Ok(self.connect.client().domain_undefine(&args).await?)
    }

    /// [`undefine`](Domain::undefine) with flags
    /// (`virDomainUndefineFlags`).
    pub async fn undefine_flags(&self, flags: DomainUndefineFlagsValues) -> Result<()> {
        let args = RemoteDomainUndefineFlagsArgs {
            dom: self.args_dom(),
            flags: flags.bits(),
        };
        Ok(self.connect.client().domain_undefine_flags(&args).await?)
    }
}

impl std::fmt::Debug for Domain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Domain")
            .field("name", &self.name())
            .field("uuid", &self.uuid_string())
            .field("id", &self.raw.id)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::{format_uuid, parse_uuid};

    #[test]
    fn uuids_read_and_print_as_libvirt_writes_them() {
        let text = "6695eb01-f6a4-8304-79aa-97f2502e193f";
        let uuid = parse_uuid(text).unwrap();
        assert_eq!(uuid[0], 0x66);
        assert_eq!(uuid[15], 0x3f);
        assert_eq!(format_uuid(&uuid), text);
        assert_eq!(parse_uuid("6695eb01f6a4830479aa97f2502e193f"), Some(uuid));
        for bad in [
            "",
            "test",
            "6695eb01-f6a4-8304-79aa-97f2502e193",
            "6695eb01-f6a4-8304-79aa-97f2502e193fff",
            "6695eb01-f6a4-8304-79aa-97f2502e193g",
            "+695eb01-f6a4-8304-79aa-97f2502e193f",
            "6695eb01-----f6a4-8304-79aa-97f2502e193f",
        ] {
            assert_eq!(parse_uuid(bad), None, "{bad}");
        }
    }
}
