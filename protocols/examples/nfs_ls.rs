//! `ls -l` of an NFSv3 export with the generated clients: MOUNT's MNT for
//! the root handle, LOOKUPs down to the directory, then READDIRPLUS page
//! by page (cookie and cookie verifier), all found through rpcbind.
//!
//! `cargo run -p xdrgen-protocols --example nfs_ls -- HOST EXPORT [PATH]`,
//! for example `127.0.0.1 /export` against nfs-ganesha or the example
//! server (`examples/nfs-server`).

use std::os::unix::fs::MetadataExt;
use std::time::Duration;

use xdrgen_protocols::mount3::{Mountres3, mount_program::mount_v3};
use xdrgen_protocols::nfs3::nfs_program::nfs_v3;
use xdrgen_protocols::nfs3::{
    Diropargs3, Ftype3, Lookup3args, Lookup3res, NfsFh3, PostOpAttr, Readdirplus3args,
    Readdirplus3res,
};
use xdrgen_protocols::registration::Protocol;
use xdrgen_runtime::rpc::ClientConfig;
use xdrgen_runtime::rpc::message::{AuthSys, OpaqueAuth};

/// AUTH_SYS as this process's user, as NFS servers expect.
fn config() -> Result<ClientConfig, Box<dyn std::error::Error>> {
    let me = std::fs::metadata("/proc/self")?;
    let credential = OpaqueAuth::sys(&AuthSys {
        stamp: 0,
        machine_name: "localhost".into(),
        uid: me.uid(),
        gid: me.gid(),
        gids: Vec::new(),
    })?;
    Ok(ClientConfig {
        timeout: Duration::from_secs(30),
        credential,
        ..ClientConfig::default()
    })
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [host, export, rest @ ..] = args.as_slice() else {
        return Err("usage: nfs_ls HOST EXPORT [PATH]".into());
    };
    let config = config()?;

    let mount = mount_v3::Client::connect_rpcbind(host, Protocol::Tcp, config.clone()).await?;
    let mut dir = match mount.mountproc3_mnt(&export.as_str().into()).await? {
        Mountres3::Mnt3Ok(ok) => NfsFh3 { data: ok.fhandle },
        Mountres3::Default(status) => {
            return Err(format!("MNT {export}: {:?}", status.get()).into());
        }
    };
    let nfs = nfs_v3::Client::connect_rpcbind(host, Protocol::Tcp, config).await?;
    for name in rest
        .iter()
        .flat_map(|path| path.split('/'))
        .filter(|n| !n.is_empty())
    {
        let what = Diropargs3 {
            dir,
            name: name.into(),
        };
        dir = match nfs.nfsproc3_lookup(&Lookup3args { what }).await? {
            Lookup3res::Nfs3Ok(ok) => ok.object,
            Lookup3res::Default { discriminant, .. } => {
                return Err(format!("LOOKUP {name}: {:?}", discriminant.get()).into());
            }
        };
    }

    let (mut cookie, mut cookieverf, mut replies) = (0, [0; 8], 0);
    loop {
        let args = Readdirplus3args {
            dir: dir.clone(),
            cookie,
            cookieverf,
            dircount: 8192,
            maxcount: 32768,
        };
        let ok = match nfs.nfsproc3_readdirplus(&args).await? {
            Readdirplus3res::Nfs3Ok(ok) => ok,
            Readdirplus3res::Default { discriminant, .. } => {
                return Err(format!("READDIRPLUS: {:?}", discriminant.get()).into());
            }
        };
        replies += 1;
        cookieverf = ok.cookieverf;
        let mut entry = ok.reply.entries.as_ref();
        while let Some(e) = entry {
            if let PostOpAttr::True(attrs) = &e.name_attributes {
                let kind = match attrs.r#type {
                    Ftype3::Nf3dir => 'd',
                    Ftype3::Nf3lnk => 'l',
                    _ => '-',
                };
                println!(
                    "{kind}{:04o} {:>5} {:>5} {:>12} {}",
                    attrs.mode,
                    attrs.uid,
                    attrs.gid,
                    attrs.size,
                    e.name.to_string_lossy()
                );
            }
            cookie = e.cookie;
            entry = e.nextentry.as_deref();
        }
        if ok.reply.eof {
            break;
        }
    }
    eprintln!("({replies} READDIRPLUS replies)");
    Ok(())
}
