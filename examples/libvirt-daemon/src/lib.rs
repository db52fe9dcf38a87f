//! A small libvirt daemon built on the `Service` trait generated from the
//! part of libvirt's REMOTE protocol it serves (`remote_subset.x`): a
//! handful of in-memory domains, enough for the stock `virsh` to list,
//! inspect, start and destroy them and to watch lifecycle events. Declared
//! procedures it does not implement answer `VIR_ERR_NO_SUPPORT` through the
//! trait's defaults, which virsh prints as "this function is not supported
//! by the connection driver"; undeclared ones get what libvirtd answers for
//! unknown procedures (`VIR_ERR_RPC`, "unknown procedure: N"), which virsh
//! tolerates for the commands this daemon serves.

mod storage;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::watch;
use xdrgen_runtime::XdrString;
use xdrgen_runtime::libvirt::{Context, RemoteError, Session, error_code, error_domain};

/// The generated REMOTE protocol.
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod remote {
    include!(concat!(env!("OUT_DIR"), "/remote_subset.rs"));
}

use remote::remote_program::{PROGRAM, Service, VERSION};
#[allow(clippy::wildcard_imports)] // the protocol's types, by their libvirt names
use remote::*;

/// `virDomainState`.
const RUNNING: i32 = 1;
const PAUSED: i32 = 3;
const SHUTOFF: i32 = 5;
/// `virDomainEventType` and details.
const EVENT_DEFINED: i32 = 0;
const EVENT_STARTED: i32 = 2;
const EVENT_SUSPENDED: i32 = 3;
const EVENT_RESUMED: i32 = 4;
const EVENT_STOPPED: i32 = 5;
const DETAIL_DESTROYED: i32 = 1;
/// `VIR_DOMAIN_EVENT_ID_LIFECYCLE`.
const EVENT_ID_LIFECYCLE: i32 = 0;
/// `VIR_CONNECT_LIST_DOMAINS_ACTIVE` / `_INACTIVE`.
const LIST_ACTIVE: u32 = 1;
const LIST_INACTIVE: u32 = 2;
/// `remote_procedure` number of the callback lifecycle event.
const PROC_EVENT_CALLBACK_LIFECYCLE: i32 = 318;

/// One in-memory domain.
#[derive(Clone, Debug)]
struct Domain {
    name: String,
    uuid: [u8; 16],
    /// -1 while inactive.
    id: i32,
    state: i32,
    memory_kib: u64,
    vcpus: u16,
}

impl Domain {
    fn wire(&self) -> RemoteNonnullDomain {
        RemoteNonnullDomain {
            name: XdrString::from(self.name.as_str()),
            uuid: self.uuid,
            id: self.id,
        }
    }

    fn xml(&self) -> String {
        let mut uuid = String::new();
        for (i, b) in self.uuid.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                uuid.push('-');
            }
            uuid.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
            uuid.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
        }
        format!(
            "<domain type='xdrgen'>\n  <name>{}</name>\n  <uuid>{uuid}</uuid>\n  \
             <memory unit='KiB'>{}</memory>\n  <vcpu>{}</vcpu>\n  \
             <os>\n    <type>hvm</type>\n  </os>\n</domain>\n",
            self.name, self.memory_kib, self.vcpus
        )
    }
}

/// An event registration of one connection.
#[derive(Clone, Debug)]
struct Callback {
    session: Session,
    event_id: i32,
    /// Only events of this domain (by uuid), or all.
    domain: Option<[u8; 16]>,
}

#[derive(Debug, Default)]
struct State {
    domains: Vec<Domain>,
    next_id: i32,
    callbacks: HashMap<i32, Callback>,
    next_callback: i32,
}

/// The daemon: its domains and its connections' event registrations.
#[derive(Clone, Debug)]
pub struct Daemon {
    state: Arc<Mutex<State>>,
    /// How many lifecycle callbacks are registered now (see
    /// [`Daemon::lifecycle_callbacks`]).
    lifecycle_callbacks: Arc<watch::Sender<usize>>,
    /// The directory whose files are its storage volumes, if any.
    volumes: Option<Arc<PathBuf>>,
}

impl Default for Daemon {
    fn default() -> Self {
        Daemon::new()
    }
}

fn no_domain(what: &str) -> RemoteError {
    RemoteError::new(
        error_code::NO_DOMAIN,
        error_domain::DOM,
        format!("Domain not found: {what}"),
    )
}

fn invalid(message: &str) -> RemoteError {
    RemoteError::new(error_code::OPERATION_INVALID, error_domain::DOM, message)
}

impl Daemon {
    /// A daemon with two domains: `demo-running` (running) and `demo-off`
    /// (shut off).
    pub fn new() -> Daemon {
        let domains = vec![
            Domain {
                name: "demo-running".into(),
                uuid: *b"xdrgen-demo-0001",
                id: 1,
                state: RUNNING,
                memory_kib: 524_288,
                vcpus: 2,
            },
            Domain {
                name: "demo-off".into(),
                uuid: *b"xdrgen-demo-0002",
                id: -1,
                state: SHUTOFF,
                memory_kib: 262_144,
                vcpus: 1,
            },
        ];
        Daemon {
            state: Arc::new(Mutex::new(State {
                domains,
                next_id: 2,
                ..State::default()
            })),
            lifecycle_callbacks: Arc::new(watch::Sender::new(0)),
            volumes: None,
        }
    }

    /// Serves the regular files in `dir` as the storage volumes of pool
    /// `default` (key and path: the file's canonical path), for
    /// downloading and uploading, sparse or not (`virsh vol-download
    /// --sparse PATH FILE`).
    #[must_use]
    pub fn with_volumes(mut self, dir: impl Into<PathBuf>) -> Daemon {
        self.volumes = Some(Arc::new(dir.into()));
        self
    }

    fn volume_dir(&self) -> Option<&Path> {
        self.volumes.as_deref().map(PathBuf::as_path)
    }

    /// The number of lifecycle event callbacks registered, over all
    /// connections, as it changes: a watcher (such as `virsh event`) is
    /// ready for events once it has registered one.
    pub fn lifecycle_callbacks(&self) -> watch::Receiver<usize> {
        self.lifecycle_callbacks.subscribe()
    }

    /// Publishes the lifecycle callback count of `state`.
    fn callbacks_changed(&self, state: &State) {
        let lifecycle = state
            .callbacks
            .values()
            .filter(|c| c.event_id == EVENT_ID_LIFECYCLE)
            .count();
        self.lifecycle_callbacks.send_replace(lifecycle);
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn find(&self, uuid: &[u8; 16]) -> Result<Domain, RemoteError> {
        self.state()
            .domains
            .iter()
            .find(|d| &d.uuid == uuid)
            .cloned()
            .ok_or_else(|| no_domain("no domain with matching uuid"))
    }

    /// Changes a domain and tells every connection watching it.
    async fn transition(
        &self,
        uuid: &[u8; 16],
        change: impl FnOnce(&mut Domain, &mut i32) -> Result<(i32, i32), RemoteError>,
    ) -> Result<(), RemoteError> {
        let (domain, event, detail, watchers) = {
            let mut state = self.state();
            let State {
                domains, next_id, ..
            } = &mut *state;
            let domain = domains
                .iter_mut()
                .find(|d| &d.uuid == uuid)
                .ok_or_else(|| no_domain("no domain with matching uuid"))?;
            let (event, detail) = change(domain, next_id)?;
            let domain = domain.clone();
            let watchers: Vec<(i32, Session)> = state
                .callbacks
                .iter()
                .filter(|(_, c)| c.event_id == EVENT_ID_LIFECYCLE)
                .filter(|(_, c)| c.domain.is_none_or(|u| &u == uuid))
                .map(|(id, c)| (*id, c.session.clone()))
                .collect();
            (domain, event, detail, watchers)
        };
        for (callback_id, session) in watchers {
            let msg = RemoteDomainEventCallbackLifecycleMsg {
                callback_id,
                msg: RemoteDomainEventLifecycleMsg {
                    dom: domain.wire(),
                    event,
                    detail,
                },
            };
            session
                .send_event(PROGRAM, VERSION, PROC_EVENT_CALLBACK_LIFECYCLE, &msg)
                .await;
        }
        Ok(())
    }
}

/// What `virsh screenshot` of a domain saves: a small PPM image whose
/// colour comes from the domain's uuid.
pub fn screenshot(uuid: &[u8; 16]) -> Vec<u8> {
    let (width, height) = (64, 48);
    let mut image = format!("P6\n{width} {height}\n255\n").into_bytes();
    for y in 0..height {
        for x in 0..width {
            let shade = u8::try_from((x * 4 + y) % 256).unwrap_or(0);
            image.extend_from_slice(&[uuid[15].wrapping_mul(37), shade, 255 - shade]);
        }
    }
    image
}

type Result<T, E = RemoteError> = std::result::Result<T, E>;

impl Service for Daemon {
    async fn auth_list(&self, cx: &Context) -> Result<RemoteAuthListRet> {
        // What the client still has to do, as libvirtd answers: nothing
        // once authenticated, else SASL (what libvirtd's `auth_tcp` and
        // `auth_tls` ask for when they require authentication).
        let pending = if cx.session().is_authenticated() {
            RemoteAuthType::RemoteAuthNone
        } else {
            RemoteAuthType::RemoteAuthSasl
        };
        Ok(RemoteAuthListRet {
            types: vec![pending],
        })
    }

    async fn connect_supports_feature(
        &self,
        _cx: &Context,
        args: RemoteConnectSupportsFeatureArgs,
    ) -> Result<RemoteConnectSupportsFeatureRet> {
        // 10: keepalive; 14: callback events; 15: close callbacks.
        let supported = i32::from(matches!(args.feature, 10 | 14 | 15));
        Ok(RemoteConnectSupportsFeatureRet { supported })
    }

    async fn connect_open(&self, _cx: &Context, _args: RemoteConnectOpenArgs) -> Result<()> {
        Ok(())
    }

    async fn connect_close(&self, _cx: &Context) -> Result<()> {
        Ok(())
    }

    async fn connect_register_close_callback(&self, _cx: &Context) -> Result<()> {
        Ok(())
    }

    async fn connect_unregister_close_callback(&self, _cx: &Context) -> Result<()> {
        Ok(())
    }

    async fn connect_get_type(&self, _cx: &Context) -> Result<RemoteConnectGetTypeRet> {
        Ok(RemoteConnectGetTypeRet {
            r#type: "XDRGEN".into(),
        })
    }

    async fn connect_get_version(&self, _cx: &Context) -> Result<RemoteConnectGetVersionRet> {
        Ok(RemoteConnectGetVersionRet { hv_ver: 1_000_000 })
    }

    async fn connect_get_lib_version(
        &self,
        _cx: &Context,
    ) -> Result<RemoteConnectGetLibVersionRet> {
        Ok(RemoteConnectGetLibVersionRet { lib_ver: 9_000_000 })
    }

    async fn connect_list_all_domains(
        &self,
        _cx: &Context,
        args: RemoteConnectListAllDomainsArgs,
    ) -> Result<RemoteConnectListAllDomainsRet> {
        let wanted = |d: &Domain| {
            let active = d.id != -1;
            let filter = args.flags & (LIST_ACTIVE | LIST_INACTIVE);
            filter == 0
                || (active && filter & LIST_ACTIVE != 0)
                || (!active && filter & LIST_INACTIVE != 0)
        };
        let domains: Vec<_> = self
            .state()
            .domains
            .iter()
            .filter(|d| wanted(d))
            .map(Domain::wire)
            .collect();
        let count = u32::try_from(domains.len()).unwrap_or(u32::MAX);
        Ok(RemoteConnectListAllDomainsRet {
            domains: if args.need_results != 0 {
                domains
            } else {
                Vec::new()
            },
            ret: count,
        })
    }

    async fn domain_lookup_by_name(
        &self,
        _cx: &Context,
        args: RemoteDomainLookupByNameArgs,
    ) -> Result<RemoteDomainLookupByNameRet> {
        let state = self.state();
        let domain = state
            .domains
            .iter()
            .find(|d| args.name == d.name.as_str())
            .ok_or_else(|| no_domain(&format!("no domain with matching name '{}'", args.name)))?;
        Ok(RemoteDomainLookupByNameRet { dom: domain.wire() })
    }

    async fn domain_lookup_by_uuid(
        &self,
        _cx: &Context,
        args: RemoteDomainLookupByUuidArgs,
    ) -> Result<RemoteDomainLookupByUuidRet> {
        Ok(RemoteDomainLookupByUuidRet {
            dom: self.find(&args.uuid)?.wire(),
        })
    }

    async fn domain_get_state(
        &self,
        _cx: &Context,
        args: RemoteDomainGetStateArgs,
    ) -> Result<RemoteDomainGetStateRet> {
        Ok(RemoteDomainGetStateRet {
            state: self.find(&args.dom.uuid)?.state,
            reason: 0,
        })
    }

    async fn domain_get_info(
        &self,
        _cx: &Context,
        args: RemoteDomainGetInfoArgs,
    ) -> Result<RemoteDomainGetInfoRet> {
        let d = self.find(&args.dom.uuid)?;
        Ok(RemoteDomainGetInfoRet {
            state: u8::try_from(d.state).unwrap_or(0),
            max_mem: d.memory_kib,
            memory: if d.id == -1 { 0 } else { d.memory_kib },
            nr_virt_cpu: d.vcpus,
            cpu_time: 0,
        })
    }

    async fn domain_get_os_type(
        &self,
        _cx: &Context,
        args: RemoteDomainGetOsTypeArgs,
    ) -> Result<RemoteDomainGetOsTypeRet> {
        self.find(&args.dom.uuid)?;
        Ok(RemoteDomainGetOsTypeRet {
            r#type: "hvm".into(),
        })
    }

    async fn domain_is_persistent(
        &self,
        _cx: &Context,
        args: RemoteDomainIsPersistentArgs,
    ) -> Result<RemoteDomainIsPersistentRet> {
        self.find(&args.dom.uuid)?;
        Ok(RemoteDomainIsPersistentRet { persistent: 1 })
    }

    async fn domain_get_autostart(
        &self,
        _cx: &Context,
        args: RemoteDomainGetAutostartArgs,
    ) -> Result<RemoteDomainGetAutostartRet> {
        self.find(&args.dom.uuid)?;
        Ok(RemoteDomainGetAutostartRet { autostart: 0 })
    }

    async fn domain_get_xml_desc(
        &self,
        _cx: &Context,
        args: RemoteDomainGetXmlDescArgs,
    ) -> Result<RemoteDomainGetXmlDescRet> {
        Ok(RemoteDomainGetXmlDescRet {
            xml: self.find(&args.dom.uuid)?.xml().into(),
        })
    }

    async fn domain_create(&self, _cx: &Context, args: RemoteDomainCreateArgs) -> Result<()> {
        self.transition(&args.dom.uuid, |d, next_id| {
            if d.id != -1 {
                return Err(invalid(
                    "Requested operation is not valid: domain is already running",
                ));
            }
            d.id = *next_id;
            *next_id += 1;
            d.state = RUNNING;
            Ok((EVENT_STARTED, 0))
        })
        .await
    }

    async fn domain_destroy(&self, _cx: &Context, args: RemoteDomainDestroyArgs) -> Result<()> {
        self.transition(&args.dom.uuid, |d, _| {
            if d.id == -1 {
                return Err(invalid(
                    "Requested operation is not valid: domain is not running",
                ));
            }
            d.id = -1;
            d.state = SHUTOFF;
            Ok((EVENT_STOPPED, DETAIL_DESTROYED))
        })
        .await
    }

    async fn domain_suspend(&self, _cx: &Context, args: RemoteDomainSuspendArgs) -> Result<()> {
        self.transition(&args.dom.uuid, |d, _| {
            if d.state != RUNNING {
                return Err(invalid(
                    "Requested operation is not valid: domain is not running",
                ));
            }
            d.state = PAUSED;
            Ok((EVENT_SUSPENDED, 0))
        })
        .await
    }

    async fn domain_resume(&self, _cx: &Context, args: RemoteDomainResumeArgs) -> Result<()> {
        self.transition(&args.dom.uuid, |d, _| {
            if d.state != PAUSED {
                return Err(invalid(
                    "Requested operation is not valid: domain is not paused",
                ));
            }
            d.state = RUNNING;
            Ok((EVENT_RESUMED, 0))
        })
        .await
    }

    async fn domain_define_xml(
        &self,
        _cx: &Context,
        args: RemoteDomainDefineXmlArgs,
    ) -> Result<RemoteDomainDefineXmlRet> {
        let xml = args.xml.to_string();
        let name = xml
            .split_once("<name>")
            .and_then(|(_, rest)| rest.split_once("</name>"))
            .map(|(name, _)| name.trim().to_string())
            .filter(|n| !n.is_empty())
            .ok_or_else(|| {
                RemoteError::new(error_code::INVALID_ARG, error_domain::DOM, "missing <name>")
            })?;
        let uuid = {
            let mut state = self.state();
            if state.domains.iter().any(|d| d.name == name) {
                return Err(invalid("domain already exists"));
            }
            let mut uuid = [0u8; 16];
            let n = state.domains.len() + 1;
            uuid[..12].copy_from_slice(b"xdrgen-demo-");
            uuid[12..].copy_from_slice(format!("{n:04}").as_bytes());
            state.domains.push(Domain {
                name,
                uuid,
                id: -1,
                state: SHUTOFF,
                memory_kib: 131_072,
                vcpus: 1,
            });
            uuid
        };
        self.transition(&uuid, |_, _| Ok((EVENT_DEFINED, 0)))
            .await?;
        Ok(RemoteDomainDefineXmlRet {
            dom: self.find(&uuid)?.wire(),
        })
    }

    async fn domain_screenshot(
        &self,
        cx: &Context,
        args: RemoteDomainScreenshotArgs,
    ) -> Result<RemoteDomainScreenshotRet> {
        let domain = self.find(&args.dom.uuid)?;
        if domain.id == -1 {
            return Err(invalid(
                "Requested operation is not valid: domain is not running",
            ));
        }
        // The image follows the reply on the call's stream.
        let mut stream = cx.open_stream();
        tokio::spawn(async move {
            if stream.send(&screenshot(&domain.uuid)).await.is_ok() {
                let _ = stream.finish().await;
            }
        });
        Ok(RemoteDomainScreenshotRet {
            mime: Some("image/x-portable-pixmap".into()),
        })
    }

    async fn storage_vol_lookup_by_key(
        &self,
        _cx: &Context,
        args: RemoteStorageVolLookupByKeyArgs,
    ) -> Result<RemoteStorageVolLookupByKeyRet> {
        Ok(RemoteStorageVolLookupByKeyRet {
            vol: storage::lookup(self.volume_dir(), &args.key.to_string())?,
        })
    }

    async fn storage_vol_lookup_by_path(
        &self,
        _cx: &Context,
        args: RemoteStorageVolLookupByPathArgs,
    ) -> Result<RemoteStorageVolLookupByPathRet> {
        Ok(RemoteStorageVolLookupByPathRet {
            vol: storage::lookup(self.volume_dir(), &args.path.to_string())?,
        })
    }

    async fn storage_vol_download(
        &self,
        cx: &Context,
        args: RemoteStorageVolDownloadArgs,
    ) -> Result<()> {
        storage::download(self.volume_dir(), cx, &args)
    }

    async fn storage_vol_upload(
        &self,
        cx: &Context,
        args: RemoteStorageVolUploadArgs,
    ) -> Result<()> {
        storage::upload(self.volume_dir(), cx, &args)
    }

    async fn connect_domain_event_callback_register_any(
        &self,
        cx: &Context,
        args: RemoteConnectDomainEventCallbackRegisterAnyArgs,
    ) -> Result<RemoteConnectDomainEventCallbackRegisterAnyRet> {
        let mut state = self.state();
        let callback_id = state.next_callback;
        state.next_callback += 1;
        state.callbacks.insert(
            callback_id,
            Callback {
                session: cx.session().clone(),
                event_id: args.event_id,
                domain: args.dom.map(|d| d.uuid),
            },
        );
        self.callbacks_changed(&state);
        Ok(RemoteConnectDomainEventCallbackRegisterAnyRet { callback_id })
    }

    async fn connect_domain_event_callback_deregister_any(
        &self,
        cx: &Context,
        args: RemoteConnectDomainEventCallbackDeregisterAnyArgs,
    ) -> Result<()> {
        let mut state = self.state();
        match state.callbacks.get(&args.callback_id) {
            Some(c) if c.session.id() == cx.session().id() => {
                state.callbacks.remove(&args.callback_id);
                self.callbacks_changed(&state);
                Ok(())
            }
            _ => Err(RemoteError::new(
                error_code::INTERNAL_ERROR,
                error_domain::RPC,
                format!("domain event callback {} not registered", args.callback_id),
            )),
        }
    }

    fn disconnected(&self, session: &Session) {
        let mut state = self.state();
        state
            .callbacks
            .retain(|_, c| c.session.id() != session.id());
        self.callbacks_changed(&state);
    }
}
