//! libvirt's `tls` transport: the same packets inside TLS, with
//! certificates checked both ways, as libvirtd does by default. The files
//! follow libvirt's `pkipath` layout: `cacert.pem`, then `clientcert.pem`
//! and `clientkey.pem` for a client, `servercert.pem` and `serverkey.pem`
//! for a server.
//!
//! libvirt adds one step to TLS: once the handshake is done and the client
//! certificate checked, the server writes a single byte, 1, which the
//! client waits for before the first packet.

use std::fmt;
use std::io;
use std::path::Path;
use std::string::{String, ToString};
use std::sync::Arc;
use std::vec::Vec;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig, SignatureScheme};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, ToSocketAddrs};
use tokio_rustls::{TlsAcceptor, TlsConnector};

use super::client::{Connection, ConnectionConfig};
use super::server::Server;
use crate::observe;

/// libvirt's default TLS port.
pub const DEFAULT_PORT: u16 = 16514;

/// Why certificates or keys could not be loaded.
#[derive(Debug)]
pub struct TlsError(String);

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TlsError {}

fn bad(what: &Path, e: impl fmt::Display) -> TlsError {
    TlsError(std::format!("{}: {e}", what.display()))
}

fn certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| bad(path, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(path, e))?;
    if certs.is_empty() {
        return Err(bad(path, "no certificate"));
    }
    Ok(certs)
}

fn key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| bad(path, e))
}

fn roots(path: &Path) -> Result<Arc<RootCertStore>, TlsError> {
    let mut roots = RootCertStore::empty();
    for cert in certs(path)? {
        roots.add(cert).map_err(|e| bad(path, e))?;
    }
    Ok(Arc::new(roots))
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A client configuration from a libvirt `pkipath` directory: the CA that
/// signs the daemon's certificate, and this client's certificate and key
/// (libvirtd asks for one by default).
pub fn client_config(pki_dir: &Path) -> Result<Arc<ClientConfig>, TlsError> {
    client_config_from_files(
        &pki_dir.join("cacert.pem"),
        &pki_dir.join("clientcert.pem"),
        &pki_dir.join("clientkey.pem"),
        true,
    )
}

/// A client configuration from the files libvirt would use (see
/// `uri::TlsFiles`): the CA certificate, and this client's certificate and
/// key when the certificate file exists. With `verify_server` false
/// (libvirt's `no_verify=1`) a daemon certificate that fails the checks is
/// accepted, with a warning, as libvirt accepts it; the handshake's
/// signatures are still checked.
pub fn client_config_from_files(
    ca_cert: &Path,
    client_cert: &Path,
    client_key: &Path,
    verify_server: bool,
) -> Result<Arc<ClientConfig>, TlsError> {
    let roots = roots(ca_cert)?;
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError(e.to_string()))?;
    let builder = if verify_server {
        builder.with_root_certificates(roots)
    } else {
        let checks = WebPkiServerVerifier::builder_with_provider(roots, provider())
            .build()
            .map_err(|e| bad(ca_cert, e))?;
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(ReportOnly(checks)))
    };
    let config = if client_cert.exists() {
        builder
            .with_client_auth_cert(certs(client_cert)?, key(client_key)?)
            .map_err(|e| bad(client_cert, e))?
    } else {
        builder.with_no_client_auth()
    };
    Ok(Arc::new(config))
}

/// `no_verify=1`: the usual certificate checks, whose failure is reported
/// and ignored.
#[derive(Debug)]
struct ReportOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ReportOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Err(error) =
            self.0
                .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            observe::tls_certificate_ignored(&server_name.to_str(), &error);
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// A server configuration from a `pkipath` directory: its certificate and
/// key, and the CA client certificates must be signed by (required unless
/// `verify_clients` is false, like libvirtd's `tls_no_verify_certificate`).
pub fn server_config(pki_dir: &Path, verify_clients: bool) -> Result<Arc<ServerConfig>, TlsError> {
    let builder = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError(e.to_string()))?;
    let builder = if verify_clients {
        let ca = pki_dir.join("cacert.pem");
        let verifier = WebPkiClientVerifier::builder_with_provider(roots(&ca)?, provider())
            .build()
            .map_err(|e| bad(&ca, e))?;
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    let cert = pki_dir.join("servercert.pem");
    let mut config = builder
        .with_single_cert(certs(&cert)?, key(&pki_dir.join("serverkey.pem"))?)
        .map_err(|e| bad(&cert, e))?;
    // libvirt's client polls for the confirmation byte and reads once: a
    // TLS 1.3 session ticket arriving first makes that read fail (EAGAIN).
    config.send_tls13_tickets = 0;
    Ok(Arc::new(config))
}

impl Connection {
    /// Connects over TLS, checking the daemon's certificate for
    /// `server_name` (a host name or IP address, as in the URI).
    pub async fn connect_tls(
        addr: impl ToSocketAddrs,
        server_name: &str,
        tls: Arc<ClientConfig>,
        config: ConnectionConfig,
    ) -> io::Result<Connection> {
        let name = ServerName::try_from(server_name.to_string())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let tcp = TcpStream::connect(addr).await?;
        tcp.set_nodelay(true)?;
        let mut stream = TlsConnector::from(tls).connect(name, tcp).await?;
        let mut confirmation = [0u8; 1];
        stream.read_exact(&mut confirmation).await?;
        if confirmation != [1] {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "the daemon refused this client's certificate",
            ));
        }
        Ok(Connection::from_stream(stream, config))
    }
}

impl Server {
    /// Serves TLS connections until shutdown; a connection whose handshake
    /// fails (an untrusted client certificate, say) is closed.
    pub async fn serve_tls(&self, listener: TcpListener, tls: Arc<ServerConfig>) -> io::Result<()> {
        let acceptor = TlsAcceptor::from(tls);
        let accept = || listener.accept();
        let max = self.config().max_connections;
        let handshake_timeout = self.config().partial_message_timeout;
        crate::stream_io::accept_until(accept, self.stopping(), max, |(tcp, addr)| {
            let _ = TcpStream::set_nodelay(&tcp, true);
            let server = self.clone();
            let acceptor = acceptor.clone();
            async move {
                let handshake = async {
                    let mut stream = acceptor.accept(tcp).await?;
                    // libvirt's confirmation byte: the certificate passed.
                    stream.write_all(&[1]).await?;
                    stream.flush().await?;
                    Ok::<_, io::Error>(stream)
                };
                let done = match handshake_timeout {
                    Some(limit) => {
                        tokio::time::timeout(limit, handshake)
                            .await
                            .unwrap_or_else(|_| {
                                Err(io::Error::new(
                                    io::ErrorKind::TimedOut,
                                    std::format!("handshake not finished within {limit:?}"),
                                ))
                            })
                    }
                    None => handshake.await,
                };
                match done {
                    Ok(stream) => server.serve_tls_connection(stream).await,
                    Err(error) => observe::tls_handshake_failed(&addr, &error),
                }
            }
        })
        .await;
        Ok(())
    }
}
