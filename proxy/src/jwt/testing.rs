//! Helpers for the JWT unit tests: keys, token minting with ring, default settings.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ring::rand::SystemRandom;
use ring::signature::{self, KeyPair as _};

use super::base64url;
use super::keys::KeySet;
use super::store::KeyStore;
use super::{Propagated, RevocationCheck, Scratch, Validator};
use crate::config::{Alg, KeySource, ScopesMatcher, ValidatorSettings};
use crate::reject::Reject;

/// A fixed 2048-bit RSA test key (PKCS#8 DER), made for these tests with openssl.
pub const RSA_PKCS8: &[u8] = include_bytes!("testdata/rsa2048.pk8");

/// A time inside every test token's validity.
pub const NOW: u64 = 1_700_000_000;

pub fn b64(bytes: &[u8]) -> String {
    let mut out = Vec::new();
    base64url::encode(bytes, &mut out);
    String::from_utf8(out).expect("base64url is ascii")
}

pub fn unb64(text: &str) -> Vec<u8> {
    let mut out = vec![0u8; text.len()];
    let n = base64url::decode(text.as_bytes(), &mut out).expect("valid base64url");
    out.truncate(n);
    out
}

/// A signing key of any supported family.
pub enum Signer {
    Hmac(Vec<u8>),
    Rsa(signature::RsaKeyPair),
    Ec(signature::EcdsaKeyPair),
    Ed(signature::Ed25519KeyPair),
}

impl Signer {
    pub fn hmac(k: &[u8]) -> Signer {
        Signer::Hmac(k.to_vec())
    }

    pub fn rsa() -> Signer {
        Signer::Rsa(signature::RsaKeyPair::from_pkcs8(RSA_PKCS8).expect("test RSA key"))
    }

    pub fn ec(alg: Alg) -> Signer {
        let algorithm = match alg {
            Alg::ES384 => &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
            _ => &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        };
        let rng = SystemRandom::new();
        let pkcs8 = signature::EcdsaKeyPair::generate_pkcs8(algorithm, &rng).expect("keygen");
        Signer::Ec(
            signature::EcdsaKeyPair::from_pkcs8(algorithm, pkcs8.as_ref(), &rng).expect("key"),
        )
    }

    pub fn ed() -> Signer {
        let pkcs8 =
            signature::Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).expect("keygen");
        Signer::Ed(signature::Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("key"))
    }

    /// The public JWK (with `kid`).
    pub fn jwk(&self, kid: &str) -> String {
        match self {
            Signer::Hmac(k) => format!(r#"{{"kty":"oct","kid":"{kid}","k":"{}"}}"#, b64(k)),
            Signer::Rsa(pair) => {
                let c = signature::RsaPublicKeyComponents::<Vec<u8>>::from(pair.public());
                format!(
                    r#"{{"kty":"RSA","kid":"{kid}","n":"{}","e":"{}"}}"#,
                    b64(&c.n),
                    b64(&c.e)
                )
            }
            Signer::Ec(pair) => {
                let point = pair.public_key().as_ref();
                let size = (point.len() - 1) / 2;
                let crv = if size == 32 { "P-256" } else { "P-384" };
                format!(
                    r#"{{"kty":"EC","kid":"{kid}","crv":"{crv}","x":"{}","y":"{}"}}"#,
                    b64(&point[1..=size]),
                    b64(&point[size + 1..])
                )
            }
            Signer::Ed(pair) => format!(
                r#"{{"kty":"OKP","kid":"{kid}","crv":"Ed25519","x":"{}"}}"#,
                b64(pair.public_key().as_ref())
            ),
        }
    }

    /// Signs `header.payload` (both JSON texts) with `alg`.
    pub fn token(&self, alg: Alg, header: &str, payload: &str) -> String {
        let input = format!("{}.{}", b64(header.as_bytes()), b64(payload.as_bytes()));
        let rng = SystemRandom::new();
        let sig = match self {
            Signer::Hmac(k) => {
                let algorithm = match alg {
                    Alg::HS384 => ring::hmac::HMAC_SHA384,
                    Alg::HS512 => ring::hmac::HMAC_SHA512,
                    _ => ring::hmac::HMAC_SHA256,
                };
                let key = ring::hmac::Key::new(algorithm, k);
                ring::hmac::sign(&key, input.as_bytes()).as_ref().to_vec()
            }
            Signer::Rsa(pair) => {
                let padding: &dyn signature::RsaEncoding = match alg {
                    Alg::RS384 => &signature::RSA_PKCS1_SHA384,
                    Alg::RS512 => &signature::RSA_PKCS1_SHA512,
                    Alg::PS256 => &signature::RSA_PSS_SHA256,
                    Alg::PS384 => &signature::RSA_PSS_SHA384,
                    Alg::PS512 => &signature::RSA_PSS_SHA512,
                    _ => &signature::RSA_PKCS1_SHA256,
                };
                let mut sig = vec![0; pair.public().modulus_len()];
                pair.sign(padding, &rng, input.as_bytes(), &mut sig)
                    .expect("rsa sign");
                sig
            }
            Signer::Ec(pair) => pair
                .sign(&rng, input.as_bytes())
                .expect("sign")
                .as_ref()
                .to_vec(),
            Signer::Ed(pair) => pair.sign(input.as_bytes()).as_ref().to_vec(),
        };
        format!("{input}.{}", b64(&sig))
    }

    /// A token with header `{"alg":..,"kid":"k1"}` and these claims.
    pub fn mint(&self, alg: Alg, claims: &str) -> String {
        self.token(alg, &format!(r#"{{"alg":"{alg}","kid":"k1"}}"#), claims)
    }
}

/// A key set from a list of JWK texts.
pub fn keyset(jwks: &[String]) -> KeySet {
    let doc = format!(r#"{{"keys":[{}]}}"#, jwks.join(","));
    KeySet::parse(doc.as_bytes(), &mut Vec::new()).expect("valid test key set")
}

/// Settings with KrakenD's defaults for `alg` (the key source is not read by the tests).
pub fn settings(alg: Alg) -> ValidatorSettings {
    ValidatorSettings {
        alg,
        keys: KeySource::Local {
            path: PathBuf::from("unused.json"),
        },
        audience: Vec::new(),
        issuer: None,
        roles_key: "roles".to_owned(),
        roles_key_is_nested: false,
        roles: Vec::new(),
        scopes_key: None,
        scopes: Vec::new(),
        scopes_matcher: ScopesMatcher::Any,
        propagate_claims: Vec::new(),
        cookie_key: "access_token".to_owned(),
        leeway: Duration::from_secs(1),
    }
}

/// A validator over `signer`'s public key (kid `k1`).
pub fn validator(settings: &ValidatorSettings, signer: &Signer) -> Validator {
    Validator::new(settings, KeyStore::fixed(keyset(&[signer.jwk("k1")])))
}

/// Runs the validator on `token` at [`NOW`], without a filter.
pub fn check(v: &Validator, token: &str) -> Result<Vec<Vec<u8>>, Reject> {
    check_with(v, token, None)
}

/// Runs the validator on `token` at [`NOW`] with a revocation check.
pub fn check_with(
    v: &Validator,
    token: &str,
    revocation: Option<RevocationCheck<'_>>,
) -> Result<Vec<Vec<u8>>, Reject> {
    let mut scratch = Scratch::new();
    let mut out = Propagated::default();
    v.validate(token.as_bytes(), NOW, revocation, &mut scratch, &mut out)?;
    Ok((0..out.len()).map(|i| out.value(i).to_vec()).collect())
}

/// A tiny HTTP(S) server for JWK Set fetch tests: answers every request with `response`
/// (a complete raw HTTP response, replaceable) and counts requests.
pub struct JwksServer {
    pub port: u16,
    pub response: Arc<std::sync::Mutex<String>>,
    pub hits: Arc<std::sync::atomic::AtomicUsize>,
}

impl JwksServer {
    /// A `200` with `body` and `Content-Length`.
    pub fn ok(body: &str) -> String {
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    }

    pub fn start(response: String, tls: bool) -> JwksServer {
        use std::io::Write as _;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let shared = Arc::new(std::sync::Mutex::new(response));
        let hits = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (r, h) = (Arc::clone(&shared), Arc::clone(&hits));
        let tls_config = tls.then(tls_server_config);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut tcp) = stream else { continue };
                h.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let response = r.lock().map(|s| s.clone()).unwrap_or_default();
                let serve = |s: &mut dyn ReadWrite| {
                    let mut buf = [0u8; 4096];
                    let mut seen = Vec::new();
                    while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                        match s.read(&mut buf) {
                            Ok(0) | Err(_) => return,
                            Ok(n) => seen.extend_from_slice(&buf[..n]),
                        }
                    }
                    let _ = s.write_all(response.as_bytes());
                    let _ = s.flush();
                };
                match &tls_config {
                    None => serve(&mut tcp),
                    Some(config) => {
                        let Ok(conn) = rustls::ServerConnection::new(Arc::clone(config)) else {
                            continue;
                        };
                        let mut tls = rustls::StreamOwned::new(conn, tcp);
                        serve(&mut tls);
                        tls.conn.send_close_notify();
                        let _ = tls.flush();
                    }
                }
            }
        });
        JwksServer {
            port,
            response: shared,
            hits,
        }
    }

    pub fn hits(&self) -> usize {
        self.hits.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub fn set(&self, response: String) {
        if let Ok(mut r) = self.response.lock() {
            *r = response;
        }
    }

    /// A `jwk_url` pointing here.
    pub fn url(&self, scheme: crate::config::Scheme, insecure: bool) -> crate::config::JwkUrl {
        crate::config::JwkUrl {
            raw: format!("{}://127.0.0.1:{}/jwks", scheme.as_str(), self.port),
            scheme,
            host: "127.0.0.1".to_owned(),
            port: self.port,
            host_header: format!("127.0.0.1:{}", self.port),
            path: "/jwks".to_owned(),
            insecure,
        }
    }
}

pub trait ReadWrite: std::io::Read + std::io::Write {}
impl<T: std::io::Read + std::io::Write> ReadWrite for T {}

/// A rustls server config with the self-signed test certificate (CN localhost, 127.0.0.1).
fn tls_server_config() -> Arc<rustls::ServerConfig> {
    let cert =
        rustls::pki_types::CertificateDer::from(include_bytes!("testdata/tls-cert.der").to_vec());
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(
        include_bytes!("testdata/tls-key.pk8").to_vec().into(),
    );
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .expect("test certificate");
    Arc::new(config)
}
