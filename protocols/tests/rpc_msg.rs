//! The runtime's hand-written RPC headers (`xdrgen_runtime::rpc::message`)
//! and the bindings generated from `xdr/rpc_msg.x` (RFC 5531) put the same
//! bytes on the wire, for every kind of call and reply.

use xdrgen_protocols::rpc_msg::{self, AuthsysParms, RpcMsg, RpcMsgBody};
use xdrgen_runtime::rpc::{
    AcceptStat, AuthStat, AuthSys, CallHeader, MessageHeader, OpaqueAuth, RejectStat, ReplyHeader,
};
use xdrgen_runtime::{Limits, XdrDecode, XdrEncode};

fn headers() -> Vec<Vec<u8>> {
    let sys = AuthSys {
        stamp: 0x5eed,
        machine_name: "client.example".into(),
        uid: 1000,
        gid: 100,
        gids: (0..16).collect(),
    };
    let mut calls = vec![CallHeader::new(1, 100_000, 2, 3)];
    let mut with_sys = CallHeader::new(u32::MAX, 0x2000_0099, 1, 4);
    with_sys.credential = OpaqueAuth::sys(&sys).unwrap();
    with_sys.verifier = OpaqueAuth {
        flavor: 6,
        body: vec![7; 399],
    };
    calls.push(with_sys);
    let replies = [
        ReplyHeader::accepted(2, AcceptStat::Success),
        ReplyHeader::accepted(3, AcceptStat::ProgUnavail),
        ReplyHeader::accepted(4, AcceptStat::ProgMismatch { low: 2, high: 4 }),
        ReplyHeader::accepted(5, AcceptStat::ProcUnavail),
        ReplyHeader::accepted(6, AcceptStat::GarbageArgs),
        ReplyHeader::accepted(7, AcceptStat::SystemErr),
        ReplyHeader::denied(8, RejectStat::RpcMismatch { low: 2, high: 2 }),
        ReplyHeader::denied(9, RejectStat::AuthError(AuthStat::BadCred)),
        ReplyHeader::denied(10, RejectStat::AuthError(AuthStat::GssCtxProblem)),
    ];
    calls
        .iter()
        .map(|c| c.to_xdr().unwrap())
        .chain(replies.iter().map(|r| r.to_xdr().unwrap()))
        .collect()
}

#[test]
fn runtime_and_generated_headers_agree_byte_for_byte() {
    for bytes in headers() {
        let generated = RpcMsg::from_xdr(&bytes).unwrap();
        assert_eq!(generated.to_xdr().unwrap(), bytes);
        let (runtime, rest) = MessageHeader::decode_from(&bytes, &Limits::default()).unwrap();
        assert!(rest.is_empty());
        assert_eq!(runtime.xid(), generated.xid);
        match (&runtime, &generated.body) {
            (MessageHeader::Call(call), RpcMsgBody::Call(body)) => {
                assert_eq!(call.program, body.prog);
                assert_eq!(call.credential.body, body.cred.body);
                if call.credential.flavor == 1 {
                    let theirs = AuthsysParms::from_xdr(&body.cred.body).unwrap();
                    let ours = AuthSys::from_xdr(&call.credential.body).unwrap();
                    assert_eq!(theirs.machinename, ours.machine_name);
                    assert_eq!(theirs.gids, ours.gids);
                }
            }
            (MessageHeader::Reply(_), RpcMsgBody::Reply(_)) => {}
            other => panic!("call/reply disagree: {other:?}"),
        }
    }
    // The generated enum values are the runtime's.
    assert_eq!(
        rpc_msg::AuthStat::RpcsecGssCtxproblem as u32,
        AuthStat::GssCtxProblem as u32
    );
}
