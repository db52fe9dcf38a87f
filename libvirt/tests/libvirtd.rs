//! The crate's generated client, constants and typed parameters against a
//! real libvirtd: Debian's, with its test driver, started by
//! `scripts/test.sh` from `../shared/peers/libvirt` (`XDRGEN_PEERS_STATE`
//! names its state directory). Without it the tests are skipped loudly;
//! with `XDRGEN_REQUIRE_PEERS=1` they fail instead.

use xdrgen_libvirt::constants::{
    ConnectListAllDomainsFlags, DomainState, ErrorDomain, ErrorNumber, fields,
};
use xdrgen_libvirt::remote::{self, remote_program::Client};
use xdrgen_libvirt::{TypedParams, TypedValue};
use xdrgen_runtime::libvirt::{Connection, Error, OpenOptions};

/// The peer's test driver over TCP, as `../shared/peers/libvirt` starts it.
const URI: &str = "test+tcp://127.0.0.1:16509/default";

fn peers(test: &str) -> bool {
    xdrgen_testenv::require(
        test,
        "the real peers are not started (XDRGEN_PEERS_STATE unset; scripts/test.sh starts them)",
        std::env::var_os("XDRGEN_PEERS_STATE"),
    )
    .is_some()
}

async fn open() -> Client {
    Client(
        Connection::open(URI, OpenOptions::default())
            .await
            .unwrap_or_else(|e| panic!("{URI}: {e}")),
    )
}

async fn domain(client: &Client, name: &str) -> remote::RemoteNonnullDomain {
    client
        .domain_lookup_by_name(&remote::RemoteDomainLookupByNameArgs { name: name.into() })
        .await
        .unwrap()
        .dom
}

#[tokio::test]
async fn the_generated_client_reads_libvirtds_test_driver() {
    if !peers("xdrgen-libvirt libvirtd::the_generated_client_reads_libvirtds_test_driver") {
        return;
    }
    let client = open().await;

    // The test driver's "hypervisor" is version 0.0.2 (`virsh version`
    // shows it); the library is Debian's, 9.0 or later.
    let version = client.connect_get_version().await.unwrap().hv_ver;
    assert_eq!(version, 2);
    let library = client.connect_get_lib_version().await.unwrap().lib_ver;
    assert!(library >= 9_000_000, "{library}");

    // The test driver's one domain, "test", running; listed by flags.
    let listed = client
        .connect_list_all_domains(&remote::RemoteConnectListAllDomainsArgs {
            need_results: 1,
            flags: (ConnectListAllDomainsFlags::ACTIVE | ConnectListAllDomainsFlags::PERSISTENT)
                .bits(),
        })
        .await
        .unwrap();
    assert!(
        listed.domains.iter().any(|d| d.name == "test"),
        "{:?}",
        listed.domains
    );
    let inactive = client
        .connect_list_all_domains(&remote::RemoteConnectListAllDomainsArgs {
            need_results: 1,
            flags: ConnectListAllDomainsFlags::INACTIVE.bits(),
        })
        .await
        .unwrap();
    assert!(inactive.domains.iter().all(|d| d.name != "test"));

    // DOMAIN_GET_INFO's state byte is a virDomainState.
    let test = domain(&client, "test").await;
    let info = client
        .domain_get_info(&remote::RemoteDomainGetInfoArgs { dom: test.clone() })
        .await
        .unwrap();
    assert_eq!(
        DomainState::try_from(i32::from(info.state)),
        Ok(DomainState::Running)
    );
    let state = client
        .domain_get_state(&remote::RemoteDomainGetStateArgs {
            dom: test.clone(),
            flags: 0,
        })
        .await
        .unwrap()
        .state;
    assert_eq!(DomainState::try_from(state), Ok(DomainState::Running));

    // Typed parameters: the test driver's scheduler has one, "weight", 50
    // (what `virsh schedinfo test` shows).
    let scheduler = client
        .domain_get_scheduler_type(&remote::RemoteDomainGetSchedulerTypeArgs { dom: test.clone() })
        .await
        .unwrap();
    // DOMAIN_GET_SCHEDULER_PARAMETERS, as `virsh schedinfo` calls it: for
    // the _FLAGS variant libvirtd's public API adds
    // VIR_TYPED_PARAM_STRING_OKAY, which 9.0's test driver refuses.
    let params = client
        .domain_get_scheduler_parameters(&remote::RemoteDomainGetSchedulerParametersArgs {
            dom: test,
            nparams: scheduler.nparams,
        })
        .await
        .unwrap()
        .params;
    let params = TypedParams::from_remote(&params).unwrap();
    assert_eq!(
        params.get(fields::VIR_DOMAIN_SCHEDULER_WEIGHT),
        Some(&TypedValue::UInt(50)),
        "{params:?}"
    );
}

/// libvirt's error for a domain that does not exist carries codes the
/// constants name.
#[tokio::test]
async fn libvirts_errors_map_to_the_constants() {
    if !peers("xdrgen-libvirt libvirtd::libvirts_errors_map_to_the_constants") {
        return;
    }
    let client = open().await;
    let err = client
        .domain_lookup_by_name(&remote::RemoteDomainLookupByNameArgs {
            name: "no-such-domain".into(),
        })
        .await
        .unwrap_err();
    let Error::Remote(remote) = &err else {
        panic!("{err:?}");
    };
    assert_eq!(
        ErrorNumber::try_from(remote.code),
        Ok(ErrorNumber::ErrNoDomain)
    );
    assert_eq!(ErrorDomain::try_from(remote.domain), Ok(ErrorDomain::Test));
}
