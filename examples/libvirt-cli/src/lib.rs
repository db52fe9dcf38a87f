//! `xvirsh`: the everyday `virsh` verbs over [`xdrgen_libvirt`]'s handles,
//! reaching libvirtd through any libvirt URI (unix, tcp, tls, ssh, ext).
//! Output follows virsh's for the same verbs (the `list` table, the
//! `dominfo` fields, the event lines, `error: ` messages), so scripts and
//! people used to virsh read it the same way.
//!
//! The command is a library function, [`run`], so tests drive it in
//! process; `src/main.rs` hands it the process's arguments and streams.

use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::time::Duration;

use clap::{Parser, Subcommand};
use xdrgen_libvirt::constants::{
    ConnectListAllDomainsFlags, DomainCreateFlags, DomainState, DomainXMLFlags, UnknownValue,
};
use xdrgen_libvirt::{Connect, Domain, Error, LifecycleEvent, StorageVol, parse_uuid};
use xdrgen_runtime::libvirt::OpenOptions;

mod format;
mod volume;

pub use format::{event_detail_name, event_type_name, state_name};

/// `virsh`'s everyday verbs over xdrgen's libvirt client.
#[derive(Debug, Parser)]
#[command(name = "xvirsh", version)]
pub struct Cli {
    /// The libvirt URI to connect to (default: `LIBVIRT_DEFAULT_URI`, else
    /// `qemu:///system` as root and `qemu:///session` otherwise).
    #[arg(short = 'c', long = "connect", value_name = "URI")]
    pub uri: Option<String>,
    /// Open the connection read-only.
    #[arg(short = 'r', long)]
    pub readonly: bool,
    /// Quiet: no blank line after each command's output, as `virsh -q`.
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// The verb.
    #[command(subcommand)]
    pub command: Command,
}

/// The verbs, named and shaped as virsh's.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List domains (running ones unless `--all` or `--inactive`).
    List {
        /// Running and defined domains.
        #[arg(long)]
        all: bool,
        /// Defined domains that are not running.
        #[arg(long)]
        inactive: bool,
    },
    /// Show a domain's state, CPUs, memory and security label.
    Dominfo {
        /// Domain id, UUID or name.
        domain: String,
    },
    /// Print a domain's XML.
    Dumpxml {
        /// Domain id, UUID or name.
        domain: String,
        /// The definition the domain boots from next, not the live one.
        #[arg(long)]
        inactive: bool,
        /// Include security-sensitive information.
        #[arg(long)]
        security_info: bool,
    },
    /// Start a defined domain.
    Start {
        /// Domain UUID or name.
        domain: String,
        /// Start it paused.
        #[arg(long)]
        paused: bool,
    },
    /// Stop a running domain at once.
    Destroy {
        /// Domain id, UUID or name.
        domain: String,
    },
    /// Define a domain from an XML file.
    Define {
        /// The domain's XML.
        file: PathBuf,
    },
    /// Remove a domain's definition.
    Undefine {
        /// Domain id, UUID or name.
        domain: String,
    },
    /// Print domain events.
    Event {
        /// Only this domain's (id, UUID or name).
        #[arg(long)]
        domain: Option<String>,
        /// The event to wait for; `lifecycle` is the one this client knows.
        #[arg(long, default_value = "lifecycle")]
        event: String,
        /// Keep printing events until Ctrl-C or the timeout (else stop
        /// after the first).
        #[arg(long = "loop")]
        repeat: bool,
        /// Stop after this many seconds.
        #[arg(long, value_name = "SECONDS")]
        timeout: Option<u64>,
        /// Prefix each event with the time it arrived.
        #[arg(long)]
        timestamp: bool,
    },
    /// Upload a file into a storage volume.
    VolUpload {
        /// The volume, and where in it to write.
        #[command(flatten)]
        range: VolumeRange,
        /// The file to read.
        file: PathBuf,
        /// Keep the file's holes as holes (the daemon must support sparse
        /// streams).
        #[arg(long)]
        sparse: bool,
    },
    /// Download a storage volume into a file.
    VolDownload {
        /// The volume, and what of it to read.
        #[command(flatten)]
        range: VolumeRange,
        /// The file to write.
        file: PathBuf,
        /// Write the volume's holes as holes (the daemon must support
        /// sparse streams).
        #[arg(long)]
        sparse: bool,
    },
}

/// The volume and the part of it `vol-upload` and `vol-download` move.
#[derive(Debug, clap::Args)]
pub struct VolumeRange {
    /// Volume name (with `--pool`), key or path.
    vol: String,
    /// The volume's pool.
    #[arg(long)]
    pool: Option<String>,
    /// Where in the volume to start.
    #[arg(long, default_value_t = 0)]
    offset: u64,
    /// How many bytes (0: all).
    #[arg(long, default_value_t = 0)]
    length: u64,
}

/// A command that failed: the `error: ` lines virsh would print, most
/// general first.
#[derive(Debug)]
pub struct Failure {
    /// The lines, without `error: `.
    pub lines: Vec<String>,
}

impl Failure {
    fn new(line: impl Into<String>) -> Failure {
        Failure {
            lines: vec![line.into()],
        }
    }

    /// `what` failed because of `cause`: virsh's two lines, the second the
    /// cause (libvirt's message, or the error and its sources).
    fn because(what: impl Into<String>, cause: &dyn std::error::Error) -> Failure {
        Failure {
            lines: vec![what.into(), chain(cause)],
        }
    }
}

/// An error and each of its sources, joined with ": ".
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut out = error.to_string();
    let mut next = error.source();
    while let Some(e) = next {
        out.push_str(": ");
        out.push_str(&e.to_string());
        next = e.source();
    }
    out
}

type Outcome = Result<(), Failure>;

/// Output that could not be written (a closed pipe) ends the command.
fn written(result: std::io::Result<()>) -> Outcome {
    result.map_err(|e| Failure::because("cannot write the output", &e))
}

/// The URI when `-c` is not given, as libvirt's client chooses it.
pub fn default_uri() -> String {
    if let Ok(uri) = std::env::var("LIBVIRT_DEFAULT_URI")
        && !uri.is_empty()
    {
        return uri;
    }
    if rustix::process::geteuid().is_root() {
        "qemu:///system".to_string()
    } else {
        "qemu:///session".to_string()
    }
}

/// A future that completes when the user interrupts the command.
pub type Interrupt = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Ctrl-C (SIGINT) as an [`Interrupt`]; never, if the handler cannot be
/// installed.
pub fn ctrl_c() -> Interrupt {
    Box::pin(async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    })
}

/// Runs `xvirsh` with `args` (the program name first), writing what virsh
/// would write to standard output into `out` and its errors into `err`;
/// `interrupt` ends `event --loop` as Ctrl-C does ([`ctrl_c`] in the
/// command). Returns the exit status: 0 on success, 1 on failure (virsh's).
pub async fn run<I, T>(
    args: I,
    out: &mut (dyn Write + Send),
    err: &mut (dyn Write + Send),
    interrupt: Interrupt,
) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let shown = e.render().to_string();
            // --help and --version are not failures.
            let target: &mut (dyn Write + Send) = if e.use_stderr() { err } else { out };
            let _ = target.write_all(shown.as_bytes());
            return u8::from(e.use_stderr());
        }
    };
    let quiet = cli.quiet;
    let result = execute(cli, out, interrupt).await;
    let status = match &result {
        Ok(()) => 0,
        Err(failure) => {
            for line in &failure.lines {
                let _ = writeln!(err, "error: {line}");
            }
            1
        }
    };
    // virsh ends every command, failed or not, with a blank line.
    if !quiet {
        let _ = writeln!(out);
    }
    let _ = out.flush();
    let _ = err.flush();
    status
}

async fn execute(cli: Cli, out: &mut (dyn Write + Send), interrupt: Interrupt) -> Outcome {
    let uri = cli.uri.unwrap_or_else(default_uri);
    let options = OpenOptions {
        read_only: cli.readonly,
        ..OpenOptions::default()
    };
    let connect = Connect::open(&uri, options)
        .await
        .map_err(|e| Failure::because("failed to connect to the hypervisor", &e))?;
    let result = match cli.command {
        Command::List { all, inactive } => list(&connect, all, inactive, out).await,
        Command::Dominfo { domain } => dominfo(&connect, &domain, out).await,
        Command::Dumpxml {
            domain,
            inactive,
            security_info,
        } => {
            let mut flags = DomainXMLFlags::empty();
            if security_info {
                flags |= DomainXMLFlags::SECURE;
            }
            if inactive {
                flags |= DomainXMLFlags::INACTIVE;
            }
            dumpxml(&connect, &domain, flags, out).await
        }
        Command::Start { domain, paused } => start(&connect, &domain, paused, out).await,
        Command::Destroy { domain } => destroy(&connect, &domain, out).await,
        Command::Define { file } => define(&connect, &file, out).await,
        Command::Undefine { domain } => undefine(&connect, &domain, out).await,
        Command::Event {
            domain,
            event,
            repeat,
            timeout,
            timestamp,
        } => {
            let options = EventOptions {
                repeat,
                timeout: timeout.map(Duration::from_secs),
                timestamp,
            };
            events(&connect, domain.as_deref(), &event, options, interrupt, out).await
        }
        Command::VolUpload {
            range,
            file,
            sparse,
        } => {
            let vol = lookup_volume(&connect, &range.vol, range.pool.as_deref()).await?;
            volume::upload(&vol, &file, range.offset, range.length, sparse).await
        }
        Command::VolDownload {
            range,
            file,
            sparse,
        } => {
            let vol = lookup_volume(&connect, &range.vol, range.pool.as_deref()).await?;
            volume::download(&vol, &file, range.offset, range.length, sparse).await
        }
    };
    // A goodbye that fails does not change the verb's outcome.
    let _ = connect.close().await;
    result
}

/// The domain `text` names, tried as virsh tries it: an id, a UUID, a
/// name.
async fn lookup_domain(connect: &Connect, text: &str) -> Result<Domain, Failure> {
    if let Ok(id) = text.parse::<i32>()
        && id >= 0
        && let Ok(domain) = connect.lookup_domain_by_id(id).await
    {
        return Ok(domain);
    }
    if let Some(uuid) = parse_uuid(text)
        && let Ok(domain) = connect.lookup_domain_by_uuid(&uuid).await
    {
        return Ok(domain);
    }
    connect
        .lookup_domain_by_name(text)
        .await
        .map_err(|_| Failure::new(format!("failed to get domain '{text}'")))
}

/// The volume `text` names: by name in `pool`, else by key, then path.
async fn lookup_volume(
    connect: &Connect,
    text: &str,
    pool: Option<&str>,
) -> Result<StorageVol, Failure> {
    if let Some(pool_name) = pool {
        let pool = connect
            .lookup_storage_pool_by_name(pool_name)
            .await
            .map_err(|e| Failure::because(format!("failed to get pool '{pool_name}'"), &e))?;
        return pool
            .lookup_volume_by_name(text)
            .await
            .map_err(|e| Failure::because(format!("failed to get vol '{text}'"), &e));
    }
    if let Ok(vol) = connect.lookup_storage_vol_by_key(text).await {
        return Ok(vol);
    }
    connect
        .lookup_storage_vol_by_path(text)
        .await
        .map_err(|e| Failure::because(format!("failed to get vol '{text}'"), &e))
}

/// A domain's state: `virDomainGetState`, or `virDomainGetInfo` from a
/// daemon without it.
async fn domain_state(domain: &Domain) -> Result<Result<DomainState, UnknownValue>, Error> {
    match domain.state().await {
        Ok((state, _reason)) => Ok(state),
        Err(_) => Ok(domain.info().await?.state),
    }
}

async fn list(
    connect: &Connect,
    all: bool,
    inactive: bool,
    out: &mut (dyn Write + Send),
) -> Outcome {
    let flags = match (all, inactive) {
        (true, _) => ConnectListAllDomainsFlags::ACTIVE | ConnectListAllDomainsFlags::INACTIVE,
        (false, true) => ConnectListAllDomainsFlags::INACTIVE,
        (false, false) => ConnectListAllDomainsFlags::ACTIVE,
    };
    let mut domains = connect
        .list_all_domains(flags)
        .await
        .map_err(|e| Failure::because("failed to list domains", &e))?;
    // virsh's order: running domains by id, then the others by name.
    domains.sort_by(|a, b| match (a.id(), b.id()) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.name().to_lowercase().cmp(&b.name().to_lowercase()),
    });
    let mut rows = Vec::with_capacity(domains.len());
    for domain in &domains {
        let state = domain_state(domain).await.map_or("no state", state_name);
        let id = domain
            .id()
            .map_or_else(|| "-".to_string(), |id| id.to_string());
        rows.push(vec![id, domain.name().into_owned(), state.to_string()]);
    }
    written(out.write_all(format::table(&["Id", "Name", "State"], &rows).as_bytes()))
}

async fn dominfo(connect: &Connect, text: &str, out: &mut (dyn Write + Send)) -> Outcome {
    let domain = lookup_domain(connect, text).await?;
    let mut lines = Vec::new();
    let mut field = |label: &str, value: String| lines.push(format!("{label:<15} {value}"));
    field(
        "Id:",
        domain
            .id()
            .map_or_else(|| "-".to_string(), |id| id.to_string()),
    );
    field("Name:", domain.name().into_owned());
    field("UUID:", domain.uuid_string());
    if let Ok(os_type) = domain.os_type().await {
        field("OS Type:", os_type);
    }
    if let Ok(info) = domain.info().await {
        field("State:", state_name(info.state).to_string());
        field("CPU(s):", info.vcpus.to_string());
        if info.cpu_time_ns != 0 {
            #[allow(clippy::cast_precision_loss)] // a tenth of a second is all it shows
            let seconds = info.cpu_time_ns as f64 / 1e9;
            field("CPU time:", format!("{seconds:.1}s"));
        }
        if info.max_memory_kib == u64::from(u32::MAX) {
            field("Max memory:", "no limit".to_string());
        } else {
            field("Max memory:", format!("{} KiB", info.max_memory_kib));
        }
        field("Used memory:", format!("{} KiB", info.memory_kib));
    }
    let yes_no = |answer: Result<bool, Error>| match answer {
        Ok(true) => "yes",
        Ok(false) => "no",
        Err(_) => "unknown",
    };
    field(
        "Persistent:",
        yes_no(domain.is_persistent().await).to_string(),
    );
    let autostart = match domain.autostart().await {
        Ok(true) => "enable",
        Ok(false) => "disable",
        Err(_) => "no autostart",
    };
    field("Autostart:", autostart.to_string());
    field(
        "Managed save:",
        yes_no(domain.has_managed_save_image().await).to_string(),
    );
    // The host's security model, and the domain's label under it.
    if let Ok(model) = connect.security_model().await
        && !model.model.is_empty()
    {
        field("Security model:", model.model);
        field("Security DOI:", model.doi);
        if let Ok(label) = domain.security_label().await
            && !label.label.is_empty()
        {
            let mode = if label.enforcing {
                "enforcing"
            } else {
                "permissive"
            };
            field("Security label:", format!("{} ({mode})", label.label));
        }
    }
    let mut text = lines.join("\n");
    text.push('\n');
    written(out.write_all(text.as_bytes()))
}

async fn dumpxml(
    connect: &Connect,
    text: &str,
    flags: DomainXMLFlags,
    out: &mut (dyn Write + Send),
) -> Outcome {
    let domain = lookup_domain(connect, text).await?;
    let xml = domain
        .xml_desc(flags)
        .await
        .map_err(|e| Failure::because(format!("failed to get the XML of domain '{text}'"), &e))?;
    written(out.write_all(xml.as_bytes()))
}

async fn start(
    connect: &Connect,
    text: &str,
    paused: bool,
    out: &mut (dyn Write + Send),
) -> Outcome {
    let mut domain = lookup_domain(connect, text).await?;
    if domain.id().is_some() {
        return Err(Failure::new("Domain is already active"));
    }
    let name = domain.name().into_owned();
    let flags = if paused {
        DomainCreateFlags::START_PAUSED
    } else {
        DomainCreateFlags::empty()
    };
    domain
        .create_with_flags(flags)
        .await
        .map_err(|e| Failure::because(format!("Failed to start domain '{name}'"), &e))?;
    written(writeln!(out, "Domain '{name}' started"))
}

async fn destroy(connect: &Connect, text: &str, out: &mut (dyn Write + Send)) -> Outcome {
    let mut domain = lookup_domain(connect, text).await?;
    let name = domain.name().into_owned();
    domain
        .destroy()
        .await
        .map_err(|e| Failure::because(format!("Failed to destroy domain '{name}'"), &e))?;
    written(writeln!(out, "Domain '{name}' destroyed"))
}

async fn define(connect: &Connect, file: &Path, out: &mut (dyn Write + Send)) -> Outcome {
    let shown = file.display();
    let xml = std::fs::read_to_string(file).map_err(|e| {
        Failure::because(
            format!("Failed to read file '{shown}' to define domain"),
            &e,
        )
    })?;
    let domain = connect
        .define_domain_xml(&xml)
        .await
        .map_err(|e| Failure::because(format!("Failed to define domain from {shown}"), &e))?;
    written(writeln!(
        out,
        "Domain '{}' defined from {shown}",
        domain.name()
    ))
}

async fn undefine(connect: &Connect, text: &str, out: &mut (dyn Write + Send)) -> Outcome {
    let domain = lookup_domain(connect, text).await?;
    let name = domain.name().into_owned();
    domain
        .undefine()
        .await
        .map_err(|e| Failure::because(format!("Failed to undefine domain '{name}'"), &e))?;
    written(writeln!(out, "Domain '{name}' has been undefined"))
}

/// How `event` runs.
struct EventOptions {
    repeat: bool,
    timeout: Option<Duration>,
    timestamp: bool,
}

/// Why the event loop stopped.
enum Stop {
    Timeout,
    Interrupted,
    Count,
}

async fn events(
    connect: &Connect,
    domain: Option<&str>,
    event: &str,
    options: EventOptions,
    mut interrupt: Interrupt,
    out: &mut (dyn Write + Send),
) -> Outcome {
    if event != "lifecycle" {
        return Err(Failure::new(format!(
            "unknown event type {event}: this client knows 'lifecycle'"
        )));
    }
    let domain = match domain {
        Some(text) => Some(lookup_domain(connect, text).await?),
        None => None,
    };
    let mut receiver = connect
        .domain_lifecycle_events(domain.as_ref())
        .await
        .map_err(|e| Failure::because("failed to register event 'lifecycle'", &e))?;
    let deadline = options.timeout.map(|t| tokio::time::Instant::now() + t);
    let mut received = 0u64;
    let stop = loop {
        let next = async {
            match deadline {
                Some(at) => tokio::time::timeout_at(at, receiver.recv()).await.ok(),
                None => Some(receiver.recv().await),
            }
        };
        let event = tokio::select! {
            event = next => event,
            () = &mut interrupt => break Stop::Interrupted,
        };
        let Some(event) = event else {
            break Stop::Timeout;
        };
        let event = event.map_err(|e| Failure::because("the event loop ended", &e))?;
        received += 1;
        written(write_event(&event, options.timestamp, out))?;
        if !options.repeat {
            break Stop::Count;
        }
    };
    let _ = receiver.deregister().await;
    match stop {
        Stop::Timeout => written(writeln!(out, "event loop timed out"))?,
        Stop::Interrupted => written(writeln!(out, "event loop interrupted"))?,
        Stop::Count => {}
    }
    written(writeln!(out, "events received: {received}"))
}

fn write_event(
    event: &LifecycleEvent,
    timestamp: bool,
    out: &mut (dyn Write + Send),
) -> std::io::Result<()> {
    if timestamp {
        write!(out, "{}: ", format::timestamp(std::time::SystemTime::now()))?;
    }
    writeln!(
        out,
        "event 'lifecycle' for domain '{}': {} {}",
        event.domain.name(),
        event_type_name(event.event),
        event_detail_name(event.event, event.detail)
    )?;
    // Each event shows as it arrives, also through a pipe.
    out.flush()
}
