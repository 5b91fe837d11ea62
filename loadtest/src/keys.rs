//! Reading `--jwt-key`: an HMAC secret (text, `@FILE` raw bytes, or `jwk:FILE` taking the
//! first key of a JWK set) or a private key file (PKCS#8 DER or PEM; PKCS#1 for RSA).

use std::path::Path;

use simd_json::OwnedValue as Value;
use simd_json::prelude::*;

use crate::base64;

/// Key bytes ready for `ring`.
#[derive(Clone, PartialEq, Eq)]
pub enum KeyMaterial {
    /// An HMAC secret.
    Secret(Vec<u8>),
    /// A PKCS#8 `PrivateKeyInfo` (any algorithm), DER.
    Pkcs8(Vec<u8>),
    /// A PKCS#1 `RSAPrivateKey`, DER.
    RsaPkcs1(Vec<u8>),
}

impl std::fmt::Debug for KeyMaterial {
    // Never print key bytes.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (kind, len) = match self {
            KeyMaterial::Secret(b) => ("Secret", b.len()),
            KeyMaterial::Pkcs8(b) => ("Pkcs8", b.len()),
            KeyMaterial::RsaPkcs1(b) => ("RsaPkcs1", b.len()),
        };
        write!(f, "{kind}({len} bytes)")
    }
}

/// A loaded key and what its file said about itself (JWK `kid` and `alg`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedKey {
    /// The key bytes.
    pub material: KeyMaterial,
    /// The JWK's `kid`, used when `--jwt-kid` is not given.
    pub kid: Option<String>,
    /// The JWK's `alg`, used when `--jwt-alg` is not given.
    pub alg: Option<String>,
}

/// `--jwt-key` cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The file could not be read.
    #[error("--jwt-key {path}: {source}")]
    Read {
        /// The file named.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The content is not a usable key.
    #[error("--jwt-key {path}: {message}")]
    Invalid {
        /// The file (or `secret` for a text secret).
        path: String,
        /// What is wrong.
        message: String,
    },
}

fn invalid(path: &str, message: impl Into<String>) -> KeyError {
    KeyError::Invalid {
        path: path.to_owned(),
        message: message.into(),
    }
}

fn read(path: &str) -> Result<Vec<u8>, KeyError> {
    std::fs::read(Path::new(path)).map_err(|source| KeyError::Read {
        path: path.to_owned(),
        source,
    })
}

/// Loads an HMAC secret: `jwk:FILE` (first key of a JWK set, `kty: oct`), `@FILE` (the file's
/// raw bytes), or the text itself.
pub fn load_secret(spec: &str) -> Result<LoadedKey, KeyError> {
    if let Some(path) = spec.strip_prefix("jwk:") {
        return load_jwk_oct(path, &read(path)?);
    }
    let (path, bytes) = match spec.strip_prefix('@') {
        Some(path) => (path, read(path)?),
        None => ("secret", spec.as_bytes().to_vec()),
    };
    if bytes.is_empty() {
        return Err(invalid(path, "the secret is empty"));
    }
    Ok(LoadedKey {
        material: KeyMaterial::Secret(bytes),
        kid: None,
        alg: None,
    })
}

/// Loads a private key file (`FILE` or `@FILE`): PEM (`PRIVATE KEY`, `RSA PRIVATE KEY`) or DER
/// (PKCS#8; PKCS#1 is tried for RSA by the signer).
pub fn load_private(spec: &str) -> Result<LoadedKey, KeyError> {
    if spec.starts_with("jwk:") {
        return Err(invalid(
            spec,
            "JWK private keys are read for HS* only; pass a PKCS#8 file (PEM or DER)",
        ));
    }
    let path = spec.strip_prefix('@').unwrap_or(spec);
    let bytes = read(path)?;
    let material = if bytes.trim_ascii_start().starts_with(b"-----BEGIN") {
        from_pem(path, &bytes)?
    } else if bytes.first() == Some(&0x30) {
        KeyMaterial::Pkcs8(bytes)
    } else {
        return Err(invalid(
            path,
            "neither PEM nor DER (a DER key starts with 0x30)",
        ));
    };
    Ok(LoadedKey {
        material,
        kid: None,
        alg: None,
    })
}

/// Decodes the first PEM block of `bytes`.
fn from_pem(path: &str, bytes: &[u8]) -> Result<KeyMaterial, KeyError> {
    let text = std::str::from_utf8(bytes).map_err(|_| invalid(path, "PEM is not UTF-8"))?;
    let begin = text
        .find("-----BEGIN ")
        .ok_or_else(|| invalid(path, "no PEM BEGIN line"))?;
    let rest = &text[begin + "-----BEGIN ".len()..];
    let label_end = rest
        .find("-----")
        .ok_or_else(|| invalid(path, "malformed PEM BEGIN line"))?;
    let label = &rest[..label_end];
    let body = &rest[label_end + 5..];
    let end_marker = format!("-----END {label}-----");
    let body_end = body
        .find(&end_marker)
        .ok_or_else(|| invalid(path, format!("no `{end_marker}` line")))?;
    let der = base64::decode(&body.as_bytes()[..body_end])
        .map_err(|e| invalid(path, format!("PEM body: {e}")))?;
    match label {
        "PRIVATE KEY" => Ok(KeyMaterial::Pkcs8(der)),
        "RSA PRIVATE KEY" => Ok(KeyMaterial::RsaPkcs1(der)),
        "EC PRIVATE KEY" | "ENCRYPTED PRIVATE KEY" | "OPENSSH PRIVATE KEY" => Err(invalid(
            path,
            format!(
                "`{label}` is not supported; convert it: openssl pkcs8 -topk8 -nocrypt -in KEY -out key.pk8.pem"
            ),
        )),
        other => Err(invalid(path, format!("`{other}` is not a private key"))),
    }
}

/// The first key of a JWK set (or a lone JWK), which must be `kty: oct`.
fn load_jwk_oct(path: &str, bytes: &[u8]) -> Result<LoadedKey, KeyError> {
    let mut scratch = bytes.to_vec();
    let doc: Value = simd_json::to_owned_value(&mut scratch)
        .map_err(|e| invalid(path, format!("invalid JSON: {e}")))?;
    let key = match doc.get("keys") {
        Some(keys) => keys
            .as_array()
            .and_then(|a| a.first())
            .ok_or_else(|| invalid(path, "`keys` is not a non-empty array"))?,
        None => &doc,
    };
    let field = |name: &str| key.get(name).and_then(|v| v.as_str()).map(str::to_owned);
    match field("kty").as_deref() {
        Some("oct") => {}
        Some(other) => {
            return Err(invalid(
                path,
                format!("first key has kty `{other}`; HS* needs an `oct` key"),
            ));
        }
        None => return Err(invalid(path, "first key has no `kty`")),
    }
    let k = field("k").ok_or_else(|| invalid(path, "the oct key has no `k`"))?;
    let secret = base64::decode(k.as_bytes()).map_err(|e| invalid(path, format!("`k`: {e}")))?;
    if secret.is_empty() {
        return Err(invalid(path, "`k` is empty"));
    }
    Ok(LoadedKey {
        material: KeyMaterial::Secret(secret),
        kid: field("kid"),
        alg: field("alg"),
    })
}

#[cfg(test)]
mod tests;
