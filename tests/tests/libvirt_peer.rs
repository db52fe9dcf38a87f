//! A client generated from libvirt's `remote_protocol.x` drives a real
//! libvirtd (Debian's 9.0, test driver, started by `scripts/test.sh` from
//! `../shared/peers/libvirt`), and what it sees matches `virsh` against the
//! same daemon. Without `XDRGEN_PEERS_STATE` these tests say they are
//! skipped; with `XDRGEN_REQUIRE_PEERS=1` they fail instead. The bindings come
//! from `../shared/corpus`: without it the file is one loud skip.

#[cfg(not(corpus))]
#[test]
fn needs_the_corpus() {
    xdrgen_tests::skip(
        "libvirt_peer",
        "../shared/corpus (libvirt's remote_protocol.x) is not beside the clone",
    );
}

#[cfg(corpus)]
mod with_corpus {
    use std::process::Command;
    use std::time::Duration;

    use xdrgen_runtime::XdrString;
    use xdrgen_runtime::libvirt::{Connection, ConnectionConfig, Error, error_code, error_domain};
    use xdrgen_tests::corpus_libvirt_remote_protocol as remote;

    use remote::remote_program::{self as prog, Client};

    const TCP: &str = "127.0.0.1:16509";
    const URI_TCP: &str = "test+tcp://127.0.0.1:16509/default";

    /// `VIR_DRV_FEATURE_PROGRAM_KEEPALIVE` for CONNECT_SUPPORTS_FEATURE.
    const FEATURE_PROGRAM_KEEPALIVE: i32 = 10;
    /// `VIR_DOMAIN_EVENT_ID_LIFECYCLE`.
    const EVENT_ID_LIFECYCLE: i32 = 0;
    /// `virDomainEventType` values.
    const DEFINED: i32 = 0;
    const UNDEFINED: i32 = 1;
    const STARTED: i32 = 2;
    const SUSPENDED: i32 = 3;
    const RESUMED: i32 = 4;
    const STOPPED: i32 = 5;

    fn virsh(args: &[&str]) -> String {
        let out = Command::new("virsh")
            .arg("-c")
            .arg(URI_TCP)
            .args(args)
            .output()
            .expect("virsh runs");
        assert!(
            out.status.success(),
            "virsh {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    async fn virsh_async(args: &[&str]) -> String {
        let args: Vec<String> = args.iter().map(ToString::to_string).collect();
        tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            virsh(&args)
        })
        .await
        .unwrap()
    }

    /// AUTH_LIST (auth none), then CONNECT_OPEN of `test:///default`.
    async fn open(connection: Connection) -> Client {
        let client = Client(connection);
        let auth = client.auth_list().await.unwrap();
        assert!(
            auth.types.contains(&remote::RemoteAuthType::RemoteAuthNone),
            "{auth:?}"
        );
        client
            .connect_open(&remote::RemoteConnectOpenArgs {
                name: Some("test:///default".into()),
                flags: 0,
            })
            .await
            .unwrap();
        client
    }

    async fn domains(client: &Client) -> Vec<remote::RemoteNonnullDomain> {
        let all = client
            .connect_list_all_domains(&remote::RemoteConnectListAllDomainsArgs {
                need_results: 1,
                flags: 0,
            })
            .await
            .unwrap();
        assert_eq!(all.ret as usize, all.domains.len());
        all.domains
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_generated_client_drives_libvirtd_like_virsh() {
        let Some(_) =
            xdrgen_tests::peers("libvirt_peer::a_generated_client_drives_libvirtd_like_virsh")
        else {
            return;
        };
        let connection = Connection::connect_tcp(TCP, ConnectionConfig::default())
            .await
            .unwrap();
        let client = open(connection.clone()).await;

        // The library version, and every domain, as virsh sees them.
        let version = client.connect_get_lib_version().await.unwrap().lib_ver;
        let shown = virsh_async(&["version"]).await;
        let expected = format!(
            "Using library: libvirt {}.{}.{}",
            version / 1_000_000,
            version / 1000 % 1000,
            version % 1000
        );
        assert!(shown.contains(&expected), "{shown}");
        let mut names: Vec<String> = domains(&client)
            .await
            .iter()
            .map(|d| d.name.to_string())
            .collect();
        names.sort();
        let mut listed: Vec<String> = virsh_async(&["list", "--all", "--name"])
            .await
            .lines()
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect();
        listed.sort();
        assert_eq!(names, listed);
        assert!(names.contains(&"test".to_string()));

        // A domain's XML, byte for byte what `virsh dumpxml` prints.
        let test = domains(&client)
            .await
            .into_iter()
            .find(|d| d.name == "test")
            .unwrap();
        let xml = client
            .domain_get_xml_desc(&remote::RemoteDomainGetXmlDescArgs {
                dom: test.clone(),
                flags: 0,
            })
            .await
            .unwrap()
            .xml;
        assert_eq!(
            xml.to_string().trim_end(),
            virsh_async(&["dumpxml", "test"]).await.trim_end()
        );

        // Lifecycle events while calls are in flight.
        let mut events = client.events();
        let callback = client
            .connect_domain_event_callback_register_any(
                &remote::RemoteConnectDomainEventCallbackRegisterAnyArgs {
                    event_id: EVENT_ID_LIFECYCLE,
                    dom: None,
                },
            )
            .await
            .unwrap()
            .callback_id;

        let name = format!("xdrgen-e2e-{}", std::process::id());
        let domain_xml = format!(
            "<domain type='test'><name>{name}</name><memory>8192</memory>\
         <os><type>hvm</type></os></domain>"
        );
        let dom = client
            .domain_define_xml(&remote::RemoteDomainDefineXmlArgs {
                xml: XdrString::from(domain_xml.as_str()),
            })
            .await
            .unwrap()
            .dom;
        let state = |n: &str| {
            let n = n.to_string();
            async move { virsh_async(&["domstate", &n]).await.trim().to_string() }
        };
        assert_eq!(state(&name).await, "shut off");
        client
            .domain_create(&remote::RemoteDomainCreateArgs { dom: dom.clone() })
            .await
            .unwrap();
        assert_eq!(state(&name).await, "running");
        client
            .domain_suspend(&remote::RemoteDomainSuspendArgs { dom: dom.clone() })
            .await
            .unwrap();
        assert_eq!(state(&name).await, "paused");
        client
            .domain_resume(&remote::RemoteDomainResumeArgs { dom: dom.clone() })
            .await
            .unwrap();
        assert_eq!(state(&name).await, "running");
        client
            .domain_destroy(&remote::RemoteDomainDestroyArgs { dom: dom.clone() })
            .await
            .unwrap();
        assert_eq!(state(&name).await, "shut off");
        client
            .domain_undefine(&remote::RemoteDomainUndefineArgs { dom })
            .await
            .unwrap();

        let mut seen = Vec::new();
        let wanted = [DEFINED, STARTED, SUSPENDED, RESUMED, STOPPED, UNDEFINED];
        while seen.len() < wanted.len() {
            let event = tokio::time::timeout(Duration::from_secs(10), events.recv())
                .await
                .expect("lifecycle events within 10 s")
                .unwrap();
            if let prog::Event::DomainEventCallbackLifecycle(m) = event {
                if m.msg.dom.name == name.as_str() {
                    seen.push(m.msg.event);
                }
            }
        }
        assert_eq!(seen, wanted);
        client
            .connect_domain_event_callback_deregister_any(
                &remote::RemoteConnectDomainEventCallbackDeregisterAnyArgs {
                    callback_id: callback,
                },
            )
            .await
            .unwrap();

        // Many calls at once on the one connection; DOMAIN_GET_INFO says
        // what `virsh dominfo` prints.
        let dominfo = virsh_async(&["dominfo", "test"]).await;
        let shown = |field: &str| -> u64 {
            dominfo
                .lines()
                .find_map(|l| l.strip_prefix(field))
                .and_then(|rest| rest.trim().split(' ').next())
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("no {field} in virsh dominfo: {dominfo}"))
        };
        let (cpus, max_memory_kib) = (shown("CPU(s):"), shown("Max memory:"));
        let calls: Vec<_> = (0..32)
            .map(|i| {
                let client = client.clone();
                let test = test.clone();
                tokio::spawn(async move {
                    if i % 2 == 0 {
                        client.connect_get_lib_version().await.unwrap().lib_ver
                    } else {
                        let info = client
                            .domain_get_info(&remote::RemoteDomainGetInfoArgs { dom: test })
                            .await
                            .unwrap();
                        assert_eq!(info.max_mem, max_memory_kib);
                        u64::from(info.nr_virt_cpu)
                    }
                })
            })
            .collect();
        for (i, call) in calls.into_iter().enumerate() {
            let got = call.await.unwrap();
            if i % 2 == 0 {
                assert_eq!(got, version);
            } else {
                assert_eq!(got, cpus);
            }
        }

        // Keepalive: the daemon answers a PING with a PONG.
        let keepalive = client
            .connect_supports_feature(&remote::RemoteConnectSupportsFeatureArgs {
                feature: FEATURE_PROGRAM_KEEPALIVE,
            })
            .await
            .unwrap();
        assert_eq!(keepalive.supported, 1);
        connection.ping().await.unwrap();
        assert_eq!(
            (connection.pings_sent(), connection.pongs_received()),
            (1, 1)
        );
        // Idle with keepalive running: after 500 ms without a packet our
        // client pings, and libvirtd's PONGs keep the connection open for
        // the 3 s. Ten unanswered PINGs before giving up leaves room for a
        // loaded machine's late PONG.
        connection.start_keepalive(Duration::from_millis(500), 10);
        tokio::time::sleep(Duration::from_secs(3)).await;
        let (pings, pongs) = (connection.pings_sent(), connection.pongs_received());
        assert!(pings >= 2, "no keepalive PING while idle ({pings} in all)");
        assert!(
            pongs >= 2,
            "no PONG for the idle PINGs ({pongs} of {pings})"
        );
        assert_eq!(
            client.connect_get_lib_version().await.unwrap().lib_ver,
            version
        );

        // A stream: the test driver's screenshot of "test", read to its end,
        // is what `virsh screenshot` saves.
        let (ret, mut stream) = client
            .domain_screenshot(&remote::RemoteDomainScreenshotArgs {
                dom: test,
                screen: 0,
                flags: 0,
            })
            .await
            .unwrap();
        let image = stream.read_to_end().await.unwrap();
        stream.finish().await.unwrap();
        assert!(ret.mime.is_some());
        let file = std::env::temp_dir().join(format!("xdrgen-shot-{}.img", std::process::id()));
        virsh_async(&["screenshot", "test", file.to_str().unwrap()]).await;
        let expected = std::fs::read(&file).unwrap();
        let _ = std::fs::remove_file(&file);
        assert!(!image.is_empty());
        assert_eq!(image, expected);

        // Aborting a stream part-way: libvirtd confirms, and the connection
        // goes on.
        let (_, mut stream) = client
            .domain_screenshot(&remote::RemoteDomainScreenshotArgs {
                dom: domains(&client)
                    .await
                    .into_iter()
                    .find(|d| d.name == "test")
                    .unwrap(),
                screen: 0,
                flags: 0,
            })
            .await
            .unwrap();
        assert!(stream.recv().await.unwrap().is_some());
        stream.abort().await.unwrap();

        // An unknown procedure is a libvirt error; the connection goes on.
        let unknown: Result<(), Error> = connection
            .call(prog::PROGRAM, prog::VERSION, 99_999, &())
            .await;
        let Err(Error::Remote(error)) = unknown else {
            panic!("expected libvirtd's error, got {unknown:?}");
        };
        // libvirtd (virNetServerProgramDispatch) reports VIR_ERR_RPC from
        // VIR_FROM_RPC for a procedure number its program lacks.
        assert_eq!(
            (error.code, error.domain),
            (error_code::RPC, error_domain::RPC),
            "{error:?}"
        );
        assert_eq!(
            error.message.as_ref().map(ToString::to_string).as_deref(),
            Some("unknown procedure: 99999"),
            "{error:?}"
        );
        assert_eq!(
            client.connect_get_lib_version().await.unwrap().lib_ver,
            version
        );
        client.connect_close().await.unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_unix_socket_works_too() {
        let Some(state) = xdrgen_tests::peers("libvirt_peer::the_unix_socket_works_too") else {
            return;
        };
        let socket = state.join("libvirt/sock/libvirt-sock");
        let connection = Connection::connect_unix(&socket, ConnectionConfig::default())
            .await
            .unwrap();
        let client = open(connection).await;
        assert!(domains(&client).await.iter().any(|d| d.name == "test"));
        client.connect_close().await.unwrap();
    }
}
