//! ONC RPC message headers (RFC 5531): the input is one record's payload,
//! decoded as a call or reply header under the default `Limits`; an
//! AUTH_SYS credential is decoded too. What it checks: no panic or
//! unbounded allocation, and whatever decodes encodes back to exactly the
//! bytes it was decoded from (strict XDR has one encoding per value).
#![no_main]

use libfuzzer_sys::fuzz_target;
use xdrgen_runtime::rpc::message::flavor;
use xdrgen_runtime::rpc::{AuthSys, MessageHeader, OpaqueAuth};
use xdrgen_runtime::{Limits, XdrEncode};

fn check_auth(auth: &OpaqueAuth) {
    if auth.flavor == flavor::AUTH_SYS {
        xdrgen_fuzz::decode_reencode::<AuthSys>(&auth.body);
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok((header, rest)) = MessageHeader::decode_from(data, &Limits::default()) else {
        return;
    };
    let consumed = &data[..data.len() - rest.len()];
    let again = match &header {
        MessageHeader::Call(call) => {
            check_auth(&call.credential);
            check_auth(&call.verifier);
            call.to_xdr()
        }
        MessageHeader::Reply(reply) => reply.to_xdr(),
    };
    assert_eq!(again.expect("a decoded header encodes"), consumed);
    // The header alone, as the generated `XdrDecode` sees it, agrees.
    xdrgen_fuzz::decode_reencode::<AuthSys>(data);
});
