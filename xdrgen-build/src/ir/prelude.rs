//! The ONC RPC environment that rpcgen's C output gets from `<rpc/rpc.h>`
//! and libtirpc: types and constants real `.x` files use without defining.
//! Written in `.x` itself and parsed like any input; a file's own
//! definitions always win, and only what is used reaches the IR.

/// Name of the synthetic file the prelude is loaded as.
pub(crate) const PRELUDE_NAME: &str = "<builtin>";

/// The prelude source.
pub(crate) const PRELUDE: &str = r"
/* <rpc/types.h> and libtirpc's xdr_* integer routines */
typedef int int32_t;
typedef unsigned int uint32_t;
typedef unsigned int u_int32_t;
typedef hyper int64_t;
typedef unsigned hyper uint64_t;
typedef unsigned hyper u_int64_t;
typedef hyper quad_t;
typedef unsigned hyper u_quad_t;
typedef hyper longlong_t;
typedef unsigned hyper u_longlong_t;
typedef short int16_t;
typedef unsigned short uint16_t;
typedef unsigned short u_int16_t;
typedef char int8_t;
typedef unsigned char uint8_t;
typedef unsigned char u_int8_t;
typedef unsigned int u_int;
typedef unsigned long u_long;
typedef unsigned short u_short;
typedef unsigned char u_char;
typedef unsigned int rpcprog_t;
typedef unsigned int rpcvers_t;
typedef unsigned int rpcproc_t;
typedef unsigned int rpcprot_t;
typedef unsigned int rpcport_t;

const TRUE = 1;
const FALSE = 0;

/* RFC 5531 authentication flavors */
const AUTH_NONE = 0;
const AUTH_NULL = 0;
const AUTH_SYS = 1;
const AUTH_UNIX = 1;
const AUTH_SHORT = 2;
const AUTH_DH = 3;
const AUTH_DES = 3;
const AUTH_KERB = 4;
const RPCSEC_GSS = 6;
const MAX_AUTH_BYTES = 400;
const MAX_MACHINE_NAME = 255;
const NGRPS = 16;
const MAXNETNAMELEN = 255;
const MAX_NETOBJ_SZ = 1024;

/* xdr_netobj: counted bytes up to MAX_NETOBJ_SZ */
typedef opaque netobj<MAX_NETOBJ_SZ>;

/* xdr_des_block: 8 opaque bytes */
typedef opaque des_block[8];

/* xdr_netbuf: maxlen, then bytes bounded by it */
struct netbuf {
    unsigned int maxlen;
    opaque buf<>;
};

/* RFC 5531 section 8.2 */
struct opaque_auth {
    int flavor;
    opaque body<MAX_AUTH_BYTES>;
};

/* RFC 5531 appendix A */
struct authsys_parms {
    unsigned int stamp;
    string machinename<MAX_MACHINE_NAME>;
    unsigned int uid;
    unsigned int gid;
    unsigned int gids<NGRPS>;
};
typedef authsys_parms authunix_parms;
";
