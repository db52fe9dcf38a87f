//! Throwaway certificate authorities for the TLS tests, made with the
//! `openssl` command, in libvirt's pkipath file names (`cacert.pem`,
//! `{who}cert.pem`, `{who}key.pem`) and with the extensions libvirt checks.

use std::path::Path;
use std::process::Command;

/// `ext.cnf`: the sections `ca`, `server` (for 127.0.0.1 and localhost)
/// and `client`.
const EXTENSIONS: &str = "[req]\ndistinguished_name=dn\n[dn]\n\
    [ca]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n\
    [server]\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n\
    extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n\
    [client]\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n\
    extendedKeyUsage=clientAuth\n";

/// Whether the `openssl` command is installed; without it `test` is
/// skipped loudly (and fails when `XDRGEN_REQUIRE_PEERS` is set).
pub fn openssl_available(test: &str) -> bool {
    crate::require_tools(test, &[("openssl", &["version"], "openssl")])
}

/// Runs `openssl` in `dir`; a failure panics with what it printed.
pub fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A self-signed CA in `dir` (created if missing): `{name}cert.pem` and
/// `{name}key.pem`, with `ext.cnf` beside them for [`sign`].
pub fn make_ca(dir: &Path, name: &str, subject: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("ext.cnf"), EXTENSIONS).unwrap();
    let (key, cert) = (format!("{name}key.pem"), format!("{name}cert.pem"));
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            &key,
            "-out",
            &cert,
            "-days",
            "2",
            "-subj",
            subject,
            "-extensions",
            "ca",
            "-config",
            "ext.cnf",
        ],
    );
}

/// `{who}cert.pem` and `{who}key.pem` in `dir`, signed by the CA
/// `cacert.pem` there: `extensions` is `server` or `client`, `extra` more
/// arguments for the request (such as `-multivalue-rdn`).
pub fn sign(dir: &Path, who: &str, subject: &str, extensions: &str, extra: &[&str]) {
    let (key, csr, cert) = (
        format!("{who}key.pem"),
        format!("{who}.csr"),
        format!("{who}cert.pem"),
    );
    let mut request = vec![
        "req", "-newkey", "rsa:2048", "-nodes", "-keyout", &key, "-out", &csr, "-subj", subject,
        "-config", "ext.cnf",
    ];
    request.extend_from_slice(extra);
    openssl(dir, &request);
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "cacert.pem",
            "-CAkey",
            "cakey.pem",
            "-CAcreateserial",
            "-out",
            &cert,
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
            "-extensions",
            extensions,
        ],
    );
}
