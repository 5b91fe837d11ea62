//! A small blocking HTTP/1.1 client for `jwk_url`: one `GET`, `Connection: close`, the body read
//! to the end (at most [`super::keys::MAX_JWKS_BYTES`]), every step under a deadline. `https`
//! through rustls with the Mozilla roots (`webpki-roots`); with `disable_jwk_security` plain
//! `http` is allowed and TLS certificates are not verified (KrakenD's meaning of the flag).
//!
//! It runs at start and on the key refresher's own thread, never on a data core. Redirects are
//! not followed (a 3xx is an error that names the status).

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::keys::MAX_JWKS_BYTES;
use crate::config::{JwkUrl, Scheme};
use crate::http::{BodyDecoder, HeaderSlots, parse_response};

#[cfg(test)]
mod tests;

/// Connect, send and receive must all finish within this.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// The largest response head read.
const MAX_HEAD: usize = 64 * 1024;

/// Why a JWK Set could not be fetched.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// DNS, connect, read or write failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The TLS handshake or the certificate failed.
    #[error("tls: {0}")]
    Tls(String),
    /// Not an HTTP/1.x response, or a bad body framing.
    #[error("malformed response: {0}")]
    Malformed(&'static str),
    /// A status other than 200.
    #[error("status {0}")]
    Status(u16),
    /// Larger than the limit.
    #[error("response larger than {MAX_JWKS_BYTES} bytes")]
    TooLarge,
    /// Did not finish within the timeout.
    #[error("timed out after {0:?}")]
    TimedOut(Duration),
}

/// Fetches the document at `url` (the response body of a 200), within `timeout`.
pub fn fetch(url: &JwkUrl, timeout: Duration) -> Result<Vec<u8>, FetchError> {
    let deadline = Instant::now() + timeout;
    let addrs: Vec<_> = (url.host.as_str(), url.port).to_socket_addrs()?.collect();
    let mut last = std::io::Error::new(std::io::ErrorKind::NotFound, "no address");
    let mut tcp = None;
    for addr in addrs {
        let left = remaining(deadline, timeout)?;
        match TcpStream::connect_timeout(&addr, left) {
            Ok(s) => {
                tcp = Some(s);
                break;
            }
            Err(e) => last = e,
        }
    }
    let tcp = tcp.ok_or(last)?;
    tcp.set_nodelay(true)?;
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nAccept: application/json\r\nUser-Agent: bloomgate/{}\r\nConnection: close\r\n\r\n",
        url.path,
        url.host_header,
        env!("CARGO_PKG_VERSION")
    );
    let raw = match url.scheme {
        Scheme::Http => exchange(tcp, request.as_bytes(), deadline, timeout)?,
        Scheme::Https => {
            let config = tls_config(url.insecure)?;
            let name = rustls::pki_types::ServerName::try_from(url.host.clone())
                .map_err(|e| FetchError::Tls(e.to_string()))?;
            let conn = rustls::ClientConnection::new(config, name)
                .map_err(|e| FetchError::Tls(e.to_string()))?;
            let stream = rustls::StreamOwned::new(conn, tcp);
            exchange(stream, request.as_bytes(), deadline, timeout)?
        }
    };
    body(&raw)
}

/// Something with a socket under it whose timeouts can be set.
trait Socket: Read + Write {
    fn tcp(&self) -> &TcpStream;
}

impl Socket for TcpStream {
    fn tcp(&self) -> &TcpStream {
        self
    }
}

impl Socket for rustls::StreamOwned<rustls::ClientConnection, TcpStream> {
    fn tcp(&self) -> &TcpStream {
        &self.sock
    }
}

/// Writes the request and reads until the server closes.
fn exchange(
    mut stream: impl Socket,
    request: &[u8],
    deadline: Instant,
    timeout: Duration,
) -> Result<Vec<u8>, FetchError> {
    stream
        .tcp()
        .set_write_timeout(Some(remaining(deadline, timeout)?))?;
    stream.write_all(request)?;
    stream.flush()?;
    let mut raw = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        stream
            .tcp()
            .set_read_timeout(Some(remaining(deadline, timeout)?))?;
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                raw.extend_from_slice(chunk.get(..n).unwrap_or(&[]));
                if raw.len() > MAX_JWKS_BYTES + MAX_HEAD {
                    return Err(FetchError::TooLarge);
                }
            }
            // A server that closes without TLS close_notify after a complete response.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !raw.is_empty() => break,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Err(FetchError::TimedOut(timeout));
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(raw)
}

fn remaining(deadline: Instant, timeout: Duration) -> Result<Duration, FetchError> {
    deadline
        .checked_duration_since(Instant::now())
        .filter(|d| !d.is_zero())
        .ok_or(FetchError::TimedOut(timeout))
}

/// The body of a complete `200` response in `raw` (head, then the body to the end).
pub fn body(raw: &[u8]) -> Result<Vec<u8>, FetchError> {
    let mut slots = HeaderSlots::new();
    let head = parse_response(raw, false, MAX_HEAD, &mut slots)
        .map_err(|_| FetchError::Malformed("bad response head"))?
        .ok_or(FetchError::Malformed("incomplete response head"))?;
    if head.status() != 200 {
        return Err(FetchError::Status(head.status()));
    }
    let mut decoder = BodyDecoder::for_response(head.framing());
    let mut rest = raw.get(head.head_len()..).unwrap_or(&[]);
    let mut out = Vec::new();
    while !decoder.is_done() {
        if rest.is_empty() {
            decoder
                .eof()
                .map_err(|_| FetchError::Malformed("truncated body"))?;
            break;
        }
        let step = decoder
            .decode(rest)
            .map_err(|_| FetchError::Malformed("bad body framing"))?;
        out.extend_from_slice(step.data);
        if out.len() > MAX_JWKS_BYTES {
            return Err(FetchError::TooLarge);
        }
        rest = rest.get(step.consumed..).unwrap_or(&[]);
        if step.consumed == 0 && step.data.is_empty() && !decoder.is_done() {
            return Err(FetchError::Malformed("truncated body"));
        }
    }
    Ok(out)
}

/// The TLS client configuration: ring, the Mozilla roots, or no certificate verification at
/// all (`disable_jwk_security`; the handshake signatures are still checked).
fn tls_config(insecure: bool) -> Result<Arc<rustls::ClientConfig>, FetchError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| FetchError::Tls(e.to_string()))?;
    let config = if insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerification(provider)))
            .with_no_client_auth()
    } else {
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    Ok(Arc::new(config))
}

/// Accepts any certificate (`disable_jwk_security: true`).
#[derive(Debug)]
struct NoVerification(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
