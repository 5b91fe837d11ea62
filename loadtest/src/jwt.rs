//! Minting JWTs with `ring`: the header and claims as compact JSON, signed with the `--jwt-alg`
//! key. Tokens are minted before the run (see `tokens`), never while timing.

use std::fmt::Write as _;

use ring::hmac;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair};
use simd_json::OwnedValue as Value;
use simd_json::prelude::*;

use crate::base64;
use crate::json::escape_into;
use crate::keys::KeyMaterial;

/// A JWS algorithm (`--jwt-alg`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    /// HMAC with SHA-256.
    HS256,
    /// HMAC with SHA-384.
    HS384,
    /// HMAC with SHA-512.
    HS512,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RS512,
    /// RSASSA-PSS with SHA-256.
    PS256,
    /// RSASSA-PSS with SHA-384.
    PS384,
    /// RSASSA-PSS with SHA-512.
    PS512,
    /// ECDSA P-256 with SHA-256.
    ES256,
    /// ECDSA P-384 with SHA-384.
    ES384,
    /// Ed25519.
    EdDSA,
}

impl Alg {
    /// Every algorithm.
    pub const ALL: [Alg; 12] = [
        Alg::HS256,
        Alg::HS384,
        Alg::HS512,
        Alg::RS256,
        Alg::RS384,
        Alg::RS512,
        Alg::PS256,
        Alg::PS384,
        Alg::PS512,
        Alg::ES256,
        Alg::ES384,
        Alg::EdDSA,
    ];

    /// The name in the JOSE header.
    pub const fn name(self) -> &'static str {
        match self {
            Alg::HS256 => "HS256",
            Alg::HS384 => "HS384",
            Alg::HS512 => "HS512",
            Alg::RS256 => "RS256",
            Alg::RS384 => "RS384",
            Alg::RS512 => "RS512",
            Alg::PS256 => "PS256",
            Alg::PS384 => "PS384",
            Alg::PS512 => "PS512",
            Alg::ES256 => "ES256",
            Alg::ES384 => "ES384",
            Alg::EdDSA => "EdDSA",
        }
    }

    /// The algorithm named `name` (exact JOSE spelling).
    pub fn from_name(name: &str) -> Option<Alg> {
        Alg::ALL.into_iter().find(|a| a.name() == name)
    }

    /// Whether the key is a shared secret (HS*) rather than a private key file.
    pub const fn is_hmac(self) -> bool {
        matches!(self, Alg::HS256 | Alg::HS384 | Alg::HS512)
    }
}

/// What a minted token is made to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// Signed, `exp` in the future.
    Valid,
    /// Signed, `exp` an hour ago (`iat` two hours ago).
    Expired,
    /// Like `Valid`, with one bit of the signature flipped.
    BadSig,
}

/// A token could not be made.
#[derive(Debug, thiserror::Error)]
pub enum JwtError {
    /// The key does not fit the algorithm.
    #[error("--jwt-key does not fit --jwt-alg {alg}: {message}")]
    Key {
        /// The algorithm.
        alg: &'static str,
        /// Why.
        message: String,
    },
    /// `--claims` is not a JSON object.
    #[error("--claims: {0}")]
    Claims(String),
    /// ring refused to sign.
    #[error("signing failed ({0})")]
    Sign(&'static str),
}

enum Signer {
    Hmac(hmac::Key),
    Rsa(RsaKeyPair, &'static dyn signature::RsaEncoding),
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

/// Makes tokens: one fixed header, the `--claims` object, fresh `iat`/`exp`/`jti` each time.
pub struct Minter {
    alg: Alg,
    signer: Signer,
    rng: SystemRandom,
    header_b64: String,
    claims: Claims,
}

impl std::fmt::Debug for Minter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Minter")
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

/// `--claims`, pre-encoded: the user's members (without `jti`) and their `exp`/`iat` if given.
#[derive(Debug, Clone, Default)]
struct Claims {
    /// `"k":v,` for each member but `jti`, `exp`, `iat`.
    members: String,
    exp: Option<String>,
    iat: Option<String>,
}

impl Claims {
    fn parse(json: Option<&str>) -> Result<Claims, JwtError> {
        let Some(json) = json else {
            return Ok(Claims::default());
        };
        let mut scratch = json.as_bytes().to_vec();
        let value: Value = simd_json::to_owned_value(&mut scratch)
            .map_err(|e| JwtError::Claims(format!("invalid JSON: {e}")))?;
        let Some(object) = value.as_object() else {
            return Err(JwtError::Claims("must be a JSON object".to_owned()));
        };
        let mut claims = Claims::default();
        for (key, value) in object.iter() {
            match key.as_ref() {
                "jti" => {} // every token gets its own
                "exp" => claims.exp = Some(value.encode()),
                "iat" => claims.iat = Some(value.encode()),
                _ => {
                    escape_into(key, &mut claims.members);
                    claims.members.push(':');
                    claims.members.push_str(&value.encode());
                    claims.members.push(',');
                }
            }
        }
        Ok(claims)
    }
}

impl Minter {
    /// A minter for `alg` with `key`; `kid` goes in the header when given; `claims` (a JSON
    /// object) is merged into every token.
    pub fn new(
        alg: Alg,
        key: &KeyMaterial,
        kid: Option<&str>,
        claims: Option<&str>,
    ) -> Result<Minter, JwtError> {
        let rng = SystemRandom::new();
        let signer = Signer::new(alg, key, &rng)?;
        let mut header = String::from("{\"alg\":\"");
        header.push_str(alg.name());
        header.push_str("\",\"typ\":\"JWT\"");
        if let Some(kid) = kid {
            header.push_str(",\"kid\":");
            escape_into(kid, &mut header);
        }
        header.push('}');
        Ok(Minter {
            alg,
            signer,
            rng,
            header_b64: base64::encode_url(header.as_bytes()),
            claims: Claims::parse(claims)?,
        })
    }

    /// The algorithm.
    pub fn alg(&self) -> Alg {
        self.alg
    }

    /// The claims JSON of a token with `jti`, minted at `now` (unix seconds).
    pub fn claims_json(&self, jti: &str, variant: Variant, now: u64) -> String {
        let mut out = String::with_capacity(self.claims.members.len() + jti.len() + 64);
        out.push('{');
        out.push_str(&self.claims.members);
        // `write!` to a String cannot fail.
        match variant {
            Variant::Expired => {
                let _ = write!(
                    out,
                    "\"iat\":{},\"exp\":{},",
                    now.saturating_sub(7200),
                    now.saturating_sub(3600)
                );
            }
            Variant::Valid | Variant::BadSig => {
                match &self.claims.iat {
                    Some(iat) => {
                        let _ = write!(out, "\"iat\":{iat},");
                    }
                    None => {
                        let _ = write!(out, "\"iat\":{now},");
                    }
                }
                match &self.claims.exp {
                    Some(exp) => {
                        let _ = write!(out, "\"exp\":{exp},");
                    }
                    None => {
                        let _ = write!(out, "\"exp\":{},", now + 3600);
                    }
                }
            }
        }
        out.push_str("\"jti\":");
        escape_into(jti, &mut out);
        out.push('}');
        out
    }

    /// A compact JWS for `jti`, minted at `now` (unix seconds).
    pub fn mint(&self, jti: &str, variant: Variant, now: u64) -> Result<String, JwtError> {
        let claims = self.claims_json(jti, variant, now);
        let mut token = String::with_capacity(self.header_b64.len() + claims.len() * 4 / 3 + 400);
        token.push_str(&self.header_b64);
        token.push('.');
        base64::encode_url_into(claims.as_bytes(), &mut token);
        let mut signature = self.signer.sign(token.as_bytes(), &self.rng)?;
        if variant == Variant::BadSig
            && let Some(first) = signature.first_mut()
        {
            *first ^= 0x01;
        }
        token.push('.');
        base64::encode_url_into(&signature, &mut token);
        Ok(token)
    }

    /// The public half, in the form verifiers take it: RSA as PKCS#1 `RSAPublicKey` DER, EC as
    /// an uncompressed point, Ed25519 as 32 raw bytes; `None` for HMAC.
    pub fn public_key(&self) -> Option<Vec<u8>> {
        match &self.signer {
            Signer::Hmac(_) => None,
            Signer::Rsa(key, _) => Some(key.public().as_ref().to_vec()),
            Signer::Ecdsa(key) => Some(key.public_key().as_ref().to_vec()),
            Signer::Ed25519(key) => Some(key.public_key().as_ref().to_vec()),
        }
    }
}

impl Signer {
    fn new(alg: Alg, key: &KeyMaterial, rng: &SystemRandom) -> Result<Signer, JwtError> {
        let mismatch = |message: &str| JwtError::Key {
            alg: alg.name(),
            message: message.to_owned(),
        };
        let rejected = |e: ring::error::KeyRejected| JwtError::Key {
            alg: alg.name(),
            message: format!(
                "ring rejected the key ({e}); it must be PKCS#8 (convert: openssl pkcs8 -topk8 -nocrypt -in KEY -out key.pk8.pem)"
            ),
        };
        let hmac_alg = match alg {
            Alg::HS256 => Some(hmac::HMAC_SHA256),
            Alg::HS384 => Some(hmac::HMAC_SHA384),
            Alg::HS512 => Some(hmac::HMAC_SHA512),
            _ => None,
        };
        let rsa_encoding: Option<&'static dyn signature::RsaEncoding> = match alg {
            Alg::RS256 => Some(&signature::RSA_PKCS1_SHA256),
            Alg::RS384 => Some(&signature::RSA_PKCS1_SHA384),
            Alg::RS512 => Some(&signature::RSA_PKCS1_SHA512),
            Alg::PS256 => Some(&signature::RSA_PSS_SHA256),
            Alg::PS384 => Some(&signature::RSA_PSS_SHA384),
            Alg::PS512 => Some(&signature::RSA_PSS_SHA512),
            _ => None,
        };
        match (key, hmac_alg, rsa_encoding) {
            (KeyMaterial::Secret(secret), Some(algorithm), _) => {
                Ok(Signer::Hmac(hmac::Key::new(algorithm, secret)))
            }
            (KeyMaterial::Secret(_), None, _) => Err(mismatch("a private key file is needed")),
            (_, Some(_), _) => Err(mismatch("HS* takes a secret, not a private key file")),
            (KeyMaterial::RsaPkcs1(der), None, Some(encoding)) => Ok(Signer::Rsa(
                RsaKeyPair::from_der(der).map_err(rejected)?,
                encoding,
            )),
            (KeyMaterial::RsaPkcs1(_), None, None) => {
                Err(mismatch("an RSA key cannot sign this algorithm"))
            }
            (KeyMaterial::Pkcs8(der), None, Some(encoding)) => {
                // A DER file may also be PKCS#1: try that before giving up.
                let pair = RsaKeyPair::from_pkcs8(der)
                    .or_else(|e| RsaKeyPair::from_der(der).map_err(|_| e))
                    .map_err(rejected)?;
                Ok(Signer::Rsa(pair, encoding))
            }
            (KeyMaterial::Pkcs8(der), None, None) => match alg {
                Alg::ES256 | Alg::ES384 => {
                    let algorithm = if alg == Alg::ES256 {
                        &signature::ECDSA_P256_SHA256_FIXED_SIGNING
                    } else {
                        &signature::ECDSA_P384_SHA384_FIXED_SIGNING
                    };
                    let pair = EcdsaKeyPair::from_pkcs8(algorithm, der, rng).map_err(rejected)?;
                    Ok(Signer::Ecdsa(pair))
                }
                _ => {
                    let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).map_err(rejected)?;
                    Ok(Signer::Ed25519(pair))
                }
            },
        }
    }

    fn sign(&self, message: &[u8], rng: &SystemRandom) -> Result<Vec<u8>, JwtError> {
        match self {
            Signer::Hmac(key) => Ok(hmac::sign(key, message).as_ref().to_vec()),
            Signer::Rsa(key, encoding) => {
                let mut out = vec![0; key.public().modulus_len()];
                key.sign(*encoding, rng, message, &mut out)
                    .map_err(|_| JwtError::Sign("RSA"))?;
                Ok(out)
            }
            Signer::Ecdsa(key) => key
                .sign(rng, message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| JwtError::Sign("ECDSA")),
            Signer::Ed25519(key) => Ok(key.sign(message).as_ref().to_vec()),
        }
    }
}

#[cfg(test)]
mod tests;
