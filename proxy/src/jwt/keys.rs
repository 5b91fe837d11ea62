//! JWK Sets (RFC 7517) turned into ring verification keys once, at start or on a refresh.
//!
//! Supported: `oct` (HS256/384/512), `RSA` `n`/`e` (RS256/384/512, PS256/384/512, 2048 to 8192
//! bits), `EC` P-256/P-384 `x`/`y` (ES256, ES384), `OKP` Ed25519 `x` (EdDSA). A key another
//! algorithm family, a curve bloomgate does not support (P-521, Ed448), `"use": "enc"`, or a key
//! whose own `alg` differs from the endpoint's is skipped with a note, never an error on its
//! own: JWK Sets commonly mix keys for several purposes. A key set with no key usable for the
//! endpoint's `alg` is an error.
//!
//! What it is not: no fetching (see `store` and `fetch`), no private keys, no `x5c` chains.

use ring::{hmac, signature};

use super::base64url;
use super::json::Json;
use crate::config::Alg;

#[cfg(test)]
mod tests;

/// Largest JWK Set document read (file or URL).
pub const MAX_JWKS_BYTES: usize = 1 << 20;

/// A parsed JWK Set: the keys bloomgate can verify with, in document order.
#[derive(Debug, Default)]
pub struct KeySet {
    keys: Box<[Jwk]>,
}

/// One verification key.
#[derive(Debug)]
pub struct Jwk {
    /// `kid`, if the JWK has one.
    pub kid: Option<Box<str>>,
    /// `alg`, if the JWK names one bloomgate knows.
    pub alg: Option<Alg>,
    key: Key,
}

/// Key material, prepared for ring.
enum Key {
    /// `oct`: one HMAC key per hash, so no request re-derives the pads.
    Hmac(Box<[hmac::Key; 3]>),
    /// `RSA`: modulus and exponent, big-endian, no leading zeros.
    Rsa(signature::RsaPublicKeyComponents<Box<[u8]>>),
    /// `EC` P-256: the uncompressed point `04 || x || y`.
    P256(Box<[u8]>),
    /// `EC` P-384: the uncompressed point.
    P384(Box<[u8]>),
    /// `OKP` Ed25519: the 32-byte public key.
    Ed25519([u8; 32]),
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Key::Hmac(_) => "oct",
            Key::Rsa(_) => "RSA",
            Key::P256(_) => "EC P-256",
            Key::P384(_) => "EC P-384",
            Key::Ed25519(_) => "OKP Ed25519",
        })
    }
}

/// Why a JWK Set document is refused as a whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeySetError {
    /// Not JSON, or not `{"keys": [...]}`.
    #[error("not a JWK Set: {0}")]
    Malformed(String),
    /// Larger than [`MAX_JWKS_BYTES`].
    #[error("larger than {MAX_JWKS_BYTES} bytes")]
    TooLarge,
    /// No key can verify tokens of the endpoint's `alg`.
    #[error("no key usable with alg {alg}{skipped}")]
    NoUsableKey {
        /// The endpoint's algorithm.
        alg: Alg,
        /// Why keys were skipped (`; skipped: ...`), or empty.
        skipped: String,
    },
}

/// Why a token's key cannot be chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LookupError {
    /// No key with this `kid` (or, without a `kid`, not exactly one candidate).
    UnknownKid,
    /// The set has no key at all (a `jwk_url` not fetched yet).
    Empty,
}

/// The signature does not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadSignature;

impl KeySet {
    /// Parses a JWK Set document. Keys bloomgate cannot use are left out; `notes` gets one line
    /// per key left out, saying why.
    pub fn parse(document: &[u8], notes: &mut Vec<String>) -> Result<KeySet, KeySetError> {
        if document.len() > MAX_JWKS_BYTES {
            return Err(KeySetError::TooLarge);
        }
        let mut bytes = document.to_vec();
        let tape =
            simd_json::to_tape(&mut bytes).map_err(|e| KeySetError::Malformed(e.to_string()))?;
        let root = Json::root(&tape.0)
            .and_then(|r| r.as_object())
            .ok_or_else(|| KeySetError::Malformed("expected a JSON object".to_owned()))?;
        let Some(Json::Array(list)) = root.get("keys") else {
            return Err(KeySetError::Malformed(
                "expected a \"keys\" array".to_owned(),
            ));
        };
        let mut keys = Vec::with_capacity(list.len());
        for (i, entry) in list.iter().enumerate() {
            match parse_jwk(entry) {
                Ok(jwk) => keys.push(jwk),
                Err(why) => notes.push(format!("keys[{i}]: skipped: {why}")),
            }
        }
        Ok(KeySet { keys: keys.into() })
    }

    /// [`KeySet::parse`], then checks that some key can verify `alg` tokens.
    pub fn parse_for(
        document: &[u8],
        alg: Alg,
        notes: &mut Vec<String>,
    ) -> Result<KeySet, KeySetError> {
        let set = KeySet::parse(document, notes)?;
        if set.supports(alg) {
            return Ok(set);
        }
        let skipped = if notes.is_empty() {
            String::new()
        } else {
            format!("; {}", notes.join("; "))
        };
        Err(KeySetError::NoUsableKey { alg, skipped })
    }

    /// How many keys the set holds.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Whether some key can verify `alg` tokens.
    pub fn supports(&self, alg: Alg) -> bool {
        self.keys.iter().any(|k| k.usable_with(alg))
    }

    /// The key for a token of `alg` with this `kid`. Without a `kid`, the only key usable with
    /// `alg`, if there is exactly one.
    pub fn find(&self, alg: Alg, kid: Option<&str>) -> Result<&Jwk, LookupError> {
        let index = self.position(alg, kid)?;
        self.key(index).ok_or(LookupError::Empty)
    }

    /// Where [`KeySet::find`]'s key sits in the set (for [`super::header::HeaderMemo`]).
    pub fn position(&self, alg: Alg, kid: Option<&str>) -> Result<usize, LookupError> {
        if self.keys.is_empty() {
            return Err(LookupError::Empty);
        }
        let mut usable = self
            .keys
            .iter()
            .enumerate()
            .filter(|(_, k)| k.usable_with(alg));
        match kid {
            Some(kid) => usable
                .find(|(_, k)| k.kid.as_deref() == Some(kid))
                .map(|(i, _)| i)
                .ok_or(LookupError::UnknownKid),
            None => match (usable.next(), usable.next()) {
                (Some((only, _)), None) => Ok(only),
                _ => Err(LookupError::UnknownKid),
            },
        }
    }

    /// The key at `index`.
    pub fn key(&self, index: usize) -> Option<&Jwk> {
        self.keys.get(index)
    }
}

impl Jwk {
    /// Whether this key can verify `alg` signatures: the right key type, and the JWK's own
    /// `alg`, when it has one, is `alg`.
    pub fn usable_with(&self, alg: Alg) -> bool {
        if self.alg.is_some_and(|own| own != alg) {
            return false;
        }
        matches!(
            (&self.key, alg),
            (Key::Hmac(_), Alg::HS256 | Alg::HS384 | Alg::HS512)
                | (
                    Key::Rsa(_),
                    Alg::RS256 | Alg::RS384 | Alg::RS512 | Alg::PS256 | Alg::PS384 | Alg::PS512
                )
                | (Key::P256(_), Alg::ES256)
                | (Key::P384(_), Alg::ES384)
                | (Key::Ed25519(_), Alg::EdDSA)
        )
    }

    /// Verifies `signature` over `message` with `alg`.
    pub fn verify(&self, alg: Alg, message: &[u8], sig: &[u8]) -> Result<(), BadSignature> {
        use signature::{
            ECDSA_P256_SHA256_FIXED, ECDSA_P384_SHA384_FIXED, ED25519, RSA_PKCS1_2048_8192_SHA256,
            RSA_PKCS1_2048_8192_SHA384, RSA_PKCS1_2048_8192_SHA512, RSA_PSS_2048_8192_SHA256,
            RSA_PSS_2048_8192_SHA384, RSA_PSS_2048_8192_SHA512, UnparsedPublicKey,
        };
        let ok = match (&self.key, alg) {
            (Key::Hmac(keys), Alg::HS256) => hmac::verify(&keys[0], message, sig),
            (Key::Hmac(keys), Alg::HS384) => hmac::verify(&keys[1], message, sig),
            (Key::Hmac(keys), Alg::HS512) => hmac::verify(&keys[2], message, sig),
            (Key::Rsa(rsa), alg) => {
                let params = match alg {
                    Alg::RS256 => &RSA_PKCS1_2048_8192_SHA256,
                    Alg::RS384 => &RSA_PKCS1_2048_8192_SHA384,
                    Alg::RS512 => &RSA_PKCS1_2048_8192_SHA512,
                    Alg::PS256 => &RSA_PSS_2048_8192_SHA256,
                    Alg::PS384 => &RSA_PSS_2048_8192_SHA384,
                    Alg::PS512 => &RSA_PSS_2048_8192_SHA512,
                    _ => return Err(BadSignature),
                };
                rsa.verify(params, message, sig)
            }
            (Key::P256(point), Alg::ES256) => {
                UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point).verify(message, sig)
            }
            (Key::P384(point), Alg::ES384) => {
                UnparsedPublicKey::new(&ECDSA_P384_SHA384_FIXED, point).verify(message, sig)
            }
            (Key::Ed25519(key), Alg::EdDSA) => {
                UnparsedPublicKey::new(&ED25519, key).verify(message, sig)
            }
            _ => return Err(BadSignature),
        };
        ok.map_err(|_| BadSignature)
    }
}

/// One JWK object into a key, or why it is skipped.
fn parse_jwk(entry: Json<'_, '_>) -> Result<Jwk, String> {
    let jwk = entry.as_object().ok_or("not an object")?;
    let text = |name: &str| -> Result<Option<&str>, String> {
        match jwk.get(name) {
            None | Some(Json::Null) => Ok(None),
            Some(Json::Str(s)) => Ok(Some(s)),
            Some(_) => Err(format!("\"{name}\" is not a string")),
        }
    };
    let kid = text("kid")?.map(Box::from);
    let named = |what: &str| match &kid {
        Some(kid) => format!("kid {kid:?}: {what}"),
        None => what.to_owned(),
    };
    if text("use")?.is_some_and(|u| u != "sig") {
        return Err(named("\"use\" is not \"sig\""));
    }
    let alg = match text("alg")? {
        None => None,
        Some(name) => Some(Alg::from_name(name).ok_or_else(|| {
            named(&format!(
                "alg {name:?} is not a signature algorithm bloomgate supports"
            ))
        })?),
    };
    let bytes = |name: &str| -> Result<Vec<u8>, String> {
        let value = text(name)?.ok_or_else(|| named(&format!("\"{name}\" is missing")))?;
        decode_lenient(value).ok_or_else(|| named(&format!("\"{name}\" is not base64url")))
    };
    let key = match text("kty")?.ok_or_else(|| named("\"kty\" is missing"))? {
        "oct" => {
            let k = bytes("k")?;
            if k.is_empty() {
                return Err(named("empty \"k\""));
            }
            Key::Hmac(Box::new([
                hmac::Key::new(hmac::HMAC_SHA256, &k),
                hmac::Key::new(hmac::HMAC_SHA384, &k),
                hmac::Key::new(hmac::HMAC_SHA512, &k),
            ]))
        }
        "RSA" => {
            let n = strip_zeros(bytes("n")?);
            let e = strip_zeros(bytes("e")?);
            if !(256..=1024).contains(&n.len()) {
                return Err(named(&format!(
                    "RSA modulus of {} bits (2048 to 8192 supported)",
                    n.len() * 8
                )));
            }
            if e.is_empty() || e.len() > 4 {
                return Err(named("bad RSA exponent"));
            }
            Key::Rsa(signature::RsaPublicKeyComponents {
                n: n.into(),
                e: e.into(),
            })
        }
        "EC" => {
            let (x, y) = (bytes("x")?, bytes("y")?);
            let size = match text("crv")? {
                Some("P-256") => 32,
                Some("P-384") => 48,
                other => return Err(named(&format!("curve {other:?} is not supported"))),
            };
            if x.len() != size || y.len() != size {
                return Err(named("x/y of the wrong length for the curve"));
            }
            let mut point = Vec::with_capacity(1 + 2 * size);
            point.push(4);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            if size == 32 {
                Key::P256(point.into())
            } else {
                Key::P384(point.into())
            }
        }
        "OKP" => {
            if text("crv")? != Some("Ed25519") {
                return Err(named("OKP curve is not Ed25519"));
            }
            let x = bytes("x")?;
            Key::Ed25519(
                x.try_into()
                    .map_err(|_| named("Ed25519 \"x\" is not 32 bytes"))?,
            )
        }
        other => return Err(named(&format!("key type {other:?} is not supported"))),
    };
    Ok(Jwk { kid, alg, key })
}

/// base64url as JWKs are found in the wild: trailing `=` padding tolerated (keys are read once,
/// from a trusted source; tokens get the strict decoder).
fn decode_lenient(text: &str) -> Option<Vec<u8>> {
    let text = text.trim_end_matches('=').as_bytes();
    let mut out = vec![0u8; base64url::decoded_len(text.len())?];
    let n = base64url::decode(text, &mut out).ok()?;
    out.truncate(n);
    Some(out)
}

fn strip_zeros(mut bytes: Vec<u8>) -> Vec<u8> {
    let zeros = bytes.iter().take_while(|&&b| b == 0).count();
    bytes.drain(..zeros);
    bytes
}
