use std::collections::HashSet;

use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};

use super::*;
use crate::keys::{self, KeyMaterial};

const NOW: u64 = 4_000_000_000; // far enough ahead that "valid" stays valid for jsonwebtoken

#[derive(Debug, serde::Deserialize)]
struct Claims {
    jti: String,
    exp: u64,
    iat: u64,
    sub: Option<String>,
    aud: Option<String>,
}

fn testdata(name: &str) -> String {
    format!("{}/src/jwt/testdata/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn jsonwebtoken_alg(alg: Alg) -> Algorithm {
    match alg {
        Alg::HS256 => Algorithm::HS256,
        Alg::HS384 => Algorithm::HS384,
        Alg::HS512 => Algorithm::HS512,
        Alg::RS256 => Algorithm::RS256,
        Alg::RS384 => Algorithm::RS384,
        Alg::RS512 => Algorithm::RS512,
        Alg::PS256 => Algorithm::PS256,
        Alg::PS384 => Algorithm::PS384,
        Alg::PS512 => Algorithm::PS512,
        Alg::ES256 => Algorithm::ES256,
        Alg::ES384 => Algorithm::ES384,
        Alg::EdDSA => Algorithm::EdDSA,
    }
}

/// The key file (or secret) used for each algorithm.
fn key_for(alg: Alg) -> KeyMaterial {
    let spec = match alg {
        Alg::HS256 | Alg::HS384 | Alg::HS512 => {
            return keys::load_secret("a shared secret of decent length")
                .unwrap()
                .material;
        }
        Alg::RS256 | Alg::PS256 | Alg::PS512 => testdata("rsa2048.pk8.pem"),
        Alg::RS384 | Alg::RS512 | Alg::PS384 => testdata("rsa2048.pkcs1.pem"),
        Alg::ES256 => testdata("ec256.pk8.der"),
        Alg::ES384 => testdata("ec384.pk8.pem"),
        Alg::EdDSA => testdata("ed25519.pk8.pem"),
    };
    keys::load_private(&spec).unwrap().material
}

fn decoding_key(alg: Alg, minter: &Minter) -> DecodingKey {
    if alg.is_hmac() {
        return DecodingKey::from_secret(b"a shared secret of decent length");
    }
    let public = minter.public_key().unwrap();
    match alg {
        Alg::ES256 | Alg::ES384 => DecodingKey::from_ec_der(&public),
        Alg::EdDSA => DecodingKey::from_ed_der(&public),
        _ => DecodingKey::from_rsa_der(&public),
    }
}

fn validation(alg: Alg) -> Validation {
    let mut v = Validation::new(jsonwebtoken_alg(alg));
    v.validate_aud = false;
    v.leeway = 0;
    v
}

#[test]
fn every_alg_verifies_with_jsonwebtoken() {
    for alg in Alg::ALL {
        let minter = Minter::new(
            alg,
            &key_for(alg),
            Some("kid-1"),
            Some(r#"{"sub":"user-1","aud":"api","jti":"ignored"}"#),
        )
        .unwrap();
        let token = minter.mint("p-0-7", Variant::Valid, NOW).unwrap();
        let header = decode_header(&token).unwrap();
        assert_eq!(header.alg, jsonwebtoken_alg(alg), "{alg:?}");
        assert_eq!(header.kid.as_deref(), Some("kid-1"));
        let data = decode::<Claims>(&token, &decoding_key(alg, &minter), &validation(alg))
            .unwrap_or_else(|e| panic!("{alg:?}: {e}"));
        assert_eq!(data.claims.jti, "p-0-7");
        assert_eq!(data.claims.exp, NOW + 3600);
        assert_eq!(data.claims.iat, NOW);
        assert_eq!(data.claims.sub.as_deref(), Some("user-1"));
        assert_eq!(data.claims.aud.as_deref(), Some("api"));
    }
}

#[test]
fn badsig_and_expired_fail_for_the_right_reason() {
    use jsonwebtoken::errors::ErrorKind;
    for alg in [Alg::HS256, Alg::RS256, Alg::ES256, Alg::EdDSA] {
        let minter = Minter::new(alg, &key_for(alg), None, None).unwrap();
        let key = decoding_key(alg, &minter);
        let bad = minter.mint("b", Variant::BadSig, NOW).unwrap();
        let err = decode::<Claims>(&bad, &key, &validation(alg)).unwrap_err();
        assert_eq!(err.kind(), &ErrorKind::InvalidSignature, "{alg:?}");
        // A real clock: expired an hour ago.
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let expired = minter.mint("e", Variant::Expired, now).unwrap();
        let err = decode::<Claims>(&expired, &key, &validation(alg)).unwrap_err();
        assert_eq!(err.kind(), &ErrorKind::ExpiredSignature, "{alg:?}");
    }
}

#[test]
fn claims_exp_and_iat_are_kept_for_valid_overridden_for_expired() {
    let minter = Minter::new(
        Alg::HS256,
        &KeyMaterial::Secret(b"k".to_vec()),
        None,
        Some(r#"{"exp":123,"iat":100,"roles":["a","b"],"n":{"x":"q\"uote"}}"#),
    )
    .unwrap();
    let valid = minter.claims_json("j", Variant::Valid, 1000);
    assert!(valid.contains("\"exp\":123"), "{valid}");
    assert!(valid.contains("\"iat\":100"), "{valid}");
    assert!(valid.contains("\"roles\":[\"a\",\"b\"]"), "{valid}");
    assert!(valid.ends_with("\"jti\":\"j\"}"), "{valid}");
    let mut bytes = valid.clone().into_bytes();
    assert!(simd_json::to_owned_value(&mut bytes).is_ok(), "{valid}");
    let expired = minter.claims_json("j", Variant::Expired, 10_000);
    assert!(expired.contains("\"exp\":6400"), "{expired}");
    assert!(!expired.contains("\"exp\":123"), "{expired}");
}

#[test]
fn claims_must_be_an_object() {
    let key = KeyMaterial::Secret(b"k".to_vec());
    for bad in ["[1]", "{", "3", ""] {
        let err = Minter::new(Alg::HS256, &key, None, Some(bad)).unwrap_err();
        assert!(matches!(err, JwtError::Claims(_)), "{bad}");
    }
}

#[test]
fn key_and_alg_mismatches_are_errors() {
    let secret = KeyMaterial::Secret(b"k".to_vec());
    assert!(matches!(
        Minter::new(Alg::RS256, &secret, None, None),
        Err(JwtError::Key { .. })
    ));
    let rsa = key_for(Alg::RS256);
    assert!(Minter::new(Alg::HS256, &rsa, None, None).is_err());
    assert!(Minter::new(Alg::ES256, &rsa, None, None).is_err());
    assert!(Minter::new(Alg::EdDSA, &rsa, None, None).is_err());
    let ec = key_for(Alg::ES256);
    assert!(Minter::new(Alg::ES384, &ec, None, None).is_err());
    assert!(Minter::new(Alg::RS256, &ec, None, None).is_err());
    let pkcs1 = keys::load_private(&testdata("rsa2048.pkcs1.pem"))
        .unwrap()
        .material;
    assert!(Minter::new(Alg::ES256, &pkcs1, None, None).is_err());
}

#[test]
fn tokens_are_distinct_and_compact() {
    let minter = Minter::new(Alg::HS256, &KeyMaterial::Secret(b"k".to_vec()), None, None).unwrap();
    let mut seen = HashSet::new();
    for i in 0..100 {
        let t = minter
            .mint(&format!("x-0-{i}"), Variant::Valid, NOW)
            .unwrap();
        assert_eq!(t.matches('.').count(), 2);
        assert!(
            t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        );
        assert!(seen.insert(t));
    }
}

#[test]
fn alg_names_round_trip() {
    for alg in Alg::ALL {
        assert_eq!(Alg::from_name(alg.name()), Some(alg));
    }
    assert_eq!(Alg::from_name("none"), None);
    assert_eq!(Alg::from_name("hs256"), None);
}
