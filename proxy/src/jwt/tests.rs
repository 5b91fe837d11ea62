//! The validator end to end (sans-io): RFC 7515 / RFC 8037 vectors, tokens minted by an
//! independent library (`jsonwebtoken`), every check's failure, the revocation filter, and
//! mutated tokens that must never panic.

use std::sync::Arc;

use proptest::prelude::*;

use super::keys::KeySet;
use super::testing::*;
use super::*;
use crate::config::{PropagateClaim, ScopesMatcher};

/// Just before the RFC 7515 examples' `exp`.
const A_NOW: u64 = 1_300_819_000;

/// RFC 7515 A.1: HS256.
const A1_TOKEN: &str = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const A1_JWK: &str = r#"{"kty":"oct","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"}"#;

/// RFC 7515 A.2: RS256.
const A2_TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw";
const A2_JWK: &str = r#"{"kty":"RSA","n":"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ","e":"AQAB"}"#;

/// RFC 7515 A.3: ES256.
const A3_TOKEN: &str = "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";
const A3_JWK: &str = r#"{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#;

/// RFC 8037 A.4: Ed25519 (its payload is not JSON, so it is checked at the key level).
const A4_TOKEN: &str = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";
const A4_JWK: &str =
    r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;

fn rfc_validator(alg: Alg, jwk: &str) -> Validator {
    Validator::new(&settings(alg), KeyStore::fixed(keyset(&[jwk.to_owned()])))
}

fn validate_at(v: &Validator, token: &[u8], now: u64) -> Result<(), Reject> {
    let mut scratch = Scratch::new();
    let mut out = Propagated::default();
    v.validate(token, now, None, &mut scratch, &mut out)
}

/// Every single-bit change of `token` is refused.
fn every_flip_fails(v: &Validator, token: &str, now: u64) {
    let mut scratch = Scratch::new();
    let mut out = Propagated::default();
    let mut bytes = token.as_bytes().to_vec();
    for i in 0..bytes.len() {
        for bit in 0..8 {
            bytes[i] ^= 1 << bit;
            let result = v.validate(&bytes, now, None, &mut scratch, &mut out);
            assert!(
                result.is_err(),
                "byte {i} bit {bit} of {token} was accepted"
            );
            bytes[i] ^= 1 << bit;
        }
    }
    // The scratch is still good for the original.
    assert_eq!(
        v.validate(token.as_bytes(), now, None, &mut scratch, &mut out),
        Ok(())
    );
}

#[test]
fn rfc7515_a1_hs256() {
    let v = rfc_validator(Alg::HS256, A1_JWK);
    assert_eq!(validate_at(&v, A1_TOKEN.as_bytes(), A_NOW), Ok(()));
    every_flip_fails(&v, A1_TOKEN, A_NOW);
    // The example's exp is 1300819380: later it is expired.
    assert_eq!(
        validate_at(&v, A1_TOKEN.as_bytes(), 1_300_819_382),
        Err(Reject::Unauthorized(AuthReason::Expired))
    );
}

#[test]
fn rfc7515_a2_rs256() {
    let v = rfc_validator(Alg::RS256, A2_JWK);
    assert_eq!(validate_at(&v, A2_TOKEN.as_bytes(), A_NOW), Ok(()));
    every_flip_fails(&v, A2_TOKEN, A_NOW);
}

#[test]
fn rfc7515_a3_es256() {
    let v = rfc_validator(Alg::ES256, A3_JWK);
    assert_eq!(validate_at(&v, A3_TOKEN.as_bytes(), A_NOW), Ok(()));
    every_flip_fails(&v, A3_TOKEN, A_NOW);
}

#[test]
fn rfc8037_a4_ed25519() {
    let set = keyset(&[A4_JWK.to_owned()]);
    let key = set.find(Alg::EdDSA, None).expect("the only key");
    let (input, sig) = A4_TOKEN.rsplit_once('.').expect("three parts");
    let sig = unb64(sig);
    assert_eq!(key.verify(Alg::EdDSA, input.as_bytes(), &sig), Ok(()));
    let mut input = input.as_bytes().to_vec();
    for i in 0..input.len() {
        for bit in 0..8 {
            input[i] ^= 1 << bit;
            assert!(
                key.verify(Alg::EdDSA, &input, &sig).is_err(),
                "input {i}.{bit}"
            );
            input[i] ^= 1 << bit;
        }
    }
    let mut sig = sig;
    for i in 0..sig.len() {
        for bit in 0..8 {
            sig[i] ^= 1 << bit;
            assert!(
                key.verify(Alg::EdDSA, &input, &sig).is_err(),
                "sig {i}.{bit}"
            );
            sig[i] ^= 1 << bit;
        }
    }
    // The full validator verifies the signature, then refuses the non-JSON payload.
    let v = rfc_validator(Alg::EdDSA, A4_JWK);
    assert_eq!(
        validate_at(&v, A4_TOKEN.as_bytes(), A_NOW),
        Err(Reject::Unauthorized(AuthReason::Malformed))
    );
}

mod interop {
    //! Tokens minted by `jsonwebtoken`, an independent implementation.
    use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
    use ring::signature::KeyPair as _;

    use super::*;

    #[derive(serde::Serialize)]
    struct Claims<'a> {
        sub: &'a str,
        jti: &'a str,
        iss: &'a str,
        aud: &'a [&'a str],
        exp: u64,
        iat: u64,
        roles: &'a [&'a str],
    }

    fn claims() -> Claims<'static> {
        Claims {
            sub: "1234567890",
            jti: "43b7a832-5d4b-4d35-8f5c-0a1b2c3d4e5f",
            iss: "https://issuer.example",
            aud: &["api", "other"],
            exp: NOW + 3600,
            iat: NOW - 10,
            roles: &["reader", "writer"],
        }
    }

    fn mint(alg: Algorithm, key: &EncodingKey) -> String {
        let mut header = Header::new(alg);
        header.kid = Some("k1".to_owned());
        encode(&header, &claims(), key).expect("jsonwebtoken encodes")
    }

    fn strict(alg: Alg) -> ValidatorSettings {
        let mut s = settings(alg);
        s.issuer = Some("https://issuer.example".to_owned());
        s.audience = vec!["api".to_owned()];
        s.roles = vec!["writer".to_owned()];
        s.propagate_claims = vec![PropagateClaim {
            claim: "sub".to_owned(),
            header: "X-User".to_owned(),
        }];
        s
    }

    fn accepts(alg: Alg, jwk: String, token: &str) {
        let v = Validator::new(&strict(alg), KeyStore::fixed(keyset(&[jwk])));
        assert_eq!(check(&v, token), Ok(vec![b"1234567890".to_vec()]), "{alg}");
        every_flip_fails_signature(&v, token);
    }

    /// Flipping any bit of the signature part fails (the header and payload are covered by the
    /// RFC vectors; one pass per algorithm here keeps the suite fast).
    fn every_flip_fails_signature(v: &Validator, token: &str) {
        let start = token.rfind('.').expect("three parts") + 1;
        let mut bytes = token.as_bytes().to_vec();
        let mut scratch = Scratch::new();
        let mut out = Propagated::default();
        for i in start..bytes.len() {
            bytes[i] ^= 0x01;
            assert!(
                v.validate(&bytes, NOW, None, &mut scratch, &mut out)
                    .is_err()
            );
            bytes[i] ^= 0x01;
        }
    }

    #[test]
    fn hmac() {
        let secret = b"a secret of thirty-two bytes....";
        for (alg, jalg) in [
            (Alg::HS256, Algorithm::HS256),
            (Alg::HS384, Algorithm::HS384),
            (Alg::HS512, Algorithm::HS512),
        ] {
            let token = mint(jalg, &EncodingKey::from_secret(secret));
            accepts(alg, Signer::hmac(secret).jwk("k1"), &token);
        }
    }

    #[test]
    fn rsa() {
        let pem = include_bytes!("testdata/rsa2048.pem");
        let key = EncodingKey::from_rsa_pem(pem).expect("pkcs8 pem");
        for (alg, jalg) in [
            (Alg::RS256, Algorithm::RS256),
            (Alg::RS384, Algorithm::RS384),
            (Alg::RS512, Algorithm::RS512),
            (Alg::PS256, Algorithm::PS256),
        ] {
            accepts(alg, Signer::rsa().jwk("k1"), &mint(jalg, &key));
        }
    }

    #[test]
    fn ecdsa() {
        let rng = ring::rand::SystemRandom::new();
        for (alg, jalg, ring_alg) in [
            (
                Alg::ES256,
                Algorithm::ES256,
                &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            ),
            (
                Alg::ES384,
                Algorithm::ES384,
                &ring::signature::ECDSA_P384_SHA384_FIXED_SIGNING,
            ),
        ] {
            let pkcs8 = ring::signature::EcdsaKeyPair::generate_pkcs8(ring_alg, &rng).expect("gen");
            let pair = ring::signature::EcdsaKeyPair::from_pkcs8(ring_alg, pkcs8.as_ref(), &rng)
                .expect("key");
            let token = mint(jalg, &EncodingKey::from_ec_der(pkcs8.as_ref()));
            accepts(alg, Signer::Ec(pair).jwk("k1"), &token);
        }
    }

    #[test]
    fn eddsa() {
        let pkcs8 =
            ring::signature::Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new())
                .expect("gen");
        let pair = ring::signature::Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("key");
        let _ = pair.public_key();
        let token = mint(Algorithm::EdDSA, &EncodingKey::from_ed_der(pkcs8.as_ref()));
        accepts(Alg::EdDSA, Signer::Ed(pair).jwk("k1"), &token);
    }
}

#[test]
fn every_key_family_round_trips() {
    for (alg, signer) in [
        (Alg::ES256, Signer::ec(Alg::ES256)),
        (Alg::ES384, Signer::ec(Alg::ES384)),
        (Alg::EdDSA, Signer::ed()),
        (Alg::PS384, Signer::rsa()),
        (Alg::PS512, Signer::rsa()),
        (Alg::RS512, Signer::rsa()),
    ] {
        let v = validator(&settings(alg), &signer);
        assert_eq!(check(&v, &signer.mint(alg, GOOD)), Ok(vec![]), "{alg}");
        let other = if alg == Alg::EdDSA {
            Signer::ed()
        } else {
            Signer::ec(alg)
        };
        if matches!(alg, Alg::ES256 | Alg::ES384 | Alg::EdDSA) {
            assert_eq!(
                check(&v, &other.mint(alg, GOOD)),
                Err(Reject::Unauthorized(AuthReason::BadSignature)),
                "{alg}: another key"
            );
        }
    }
}

fn hs() -> Signer {
    Signer::hmac(b"0123456789abcdef0123456789abcdef")
}

const GOOD: &str = r#"{"sub":"u1","jti":"j1","exp":1700003600,"iat":1699999990}"#;

#[test]
fn alg_must_equal_the_configured_one() {
    let signer = hs();
    let v = validator(&settings(Alg::HS256), &signer);
    assert_eq!(check(&v, &signer.mint(Alg::HS256, GOOD)), Ok(vec![]));
    // Signed correctly with HS384, but the endpoint says HS256.
    assert_eq!(
        check(&v, &signer.mint(Alg::HS384, GOOD)),
        Err(Reject::Unauthorized(AuthReason::AlgMismatch))
    );
    // alg none, with or without a signature part.
    let none = format!("{}.{}", b64(br#"{"alg":"none"}"#), b64(GOOD.as_bytes()));
    assert_eq!(
        check(&v, &format!("{none}.")),
        Err(Reject::Unauthorized(AuthReason::Malformed))
    );
    assert_eq!(
        check(&v, &format!("{none}.c2ln")),
        Err(Reject::Unauthorized(AuthReason::AlgMismatch))
    );
    // Case matters: "hs256" is not HS256.
    let lower = signer.token(Alg::HS256, r#"{"alg":"hs256","kid":"k1"}"#, GOOD);
    assert_eq!(
        check(&v, &lower),
        Err(Reject::Unauthorized(AuthReason::AlgMismatch))
    );
}

#[test]
fn algorithm_confusion_fails() {
    // An RS256 endpoint; the attacker signs HS256 with the RSA public key as the secret.
    let rsa = Signer::rsa();
    let v = validator(&settings(Alg::RS256), &rsa);
    let public = ring::signature::RsaPublicKeyComponents::<Vec<u8>>::from(match &rsa {
        Signer::Rsa(pair) => pair.public(),
        _ => unreachable!("an RSA signer"),
    });
    let forged = Signer::hmac(&public.n).mint(Alg::HS256, GOOD);
    assert_eq!(
        check(&v, &forged),
        Err(Reject::Unauthorized(AuthReason::AlgMismatch))
    );
    // Claiming RS256 with an HMAC signature: the RSA check fails.
    let forged = Signer::hmac(&public.n).token(Alg::HS256, r#"{"alg":"RS256","kid":"k1"}"#, GOOD);
    assert_eq!(
        check(&v, &forged),
        Err(Reject::Unauthorized(AuthReason::BadSignature))
    );
}

#[test]
fn kid_selects_the_key() {
    let (a, b) = (hs(), Signer::hmac(b"another secret, also 32 bytes!!!"));
    let store = KeyStore::fixed(keyset(&[a.jwk("a"), b.jwk("b")]));
    let v = Validator::new(&settings(Alg::HS256), store);
    let with_kid = |s: &Signer, kid: &str| {
        s.token(
            Alg::HS256,
            &format!(r#"{{"alg":"HS256","kid":"{kid}"}}"#),
            GOOD,
        )
    };
    assert_eq!(check(&v, &with_kid(&a, "a")), Ok(vec![]));
    assert_eq!(check(&v, &with_kid(&b, "b")), Ok(vec![]));
    assert_eq!(
        check(&v, &with_kid(&a, "b")),
        Err(Reject::Unauthorized(AuthReason::BadSignature))
    );
    assert_eq!(
        check(&v, &with_kid(&a, "c")),
        Err(Reject::Unauthorized(AuthReason::UnknownKid))
    );
    // No kid and two keys: which one is ambiguous.
    let no_kid = a.token(Alg::HS256, r#"{"alg":"HS256"}"#, GOOD);
    assert_eq!(
        check(&v, &no_kid),
        Err(Reject::Unauthorized(AuthReason::UnknownKid))
    );
    // No kid and one key: that key.
    let single = validator(&settings(Alg::HS256), &a);
    assert_eq!(check(&single, &no_kid), Ok(vec![]));
}

#[test]
fn an_empty_key_set_is_key_unavailable() {
    let v = Validator::new(&settings(Alg::HS256), KeyStore::fixed(KeySet::default()));
    assert_eq!(
        check(&v, &hs().mint(Alg::HS256, GOOD)),
        Err(Reject::Unauthorized(AuthReason::KeyUnavailable))
    );
}

fn claims_result(s: &ValidatorSettings, claims: &str) -> Result<Vec<Vec<u8>>, Reject> {
    let signer = hs();
    check(&validator(s, &signer), &signer.mint(Alg::HS256, claims))
}

#[test]
fn time_claims_with_leeway() {
    let s = settings(Alg::HS256);
    let at = |claim: &str, t: i64| claims_result(&s, &format!(r#"{{"{claim}":{t}}}"#));
    let now = NOW as i64;
    // exp: valid through now - 1 (leeway 1 s), expired at now - 2.
    assert_eq!(at("exp", now - 1), Ok(vec![]));
    assert_eq!(
        at("exp", now - 2),
        Err(Reject::Unauthorized(AuthReason::Expired))
    );
    assert_eq!(at("nbf", now + 1), Ok(vec![]));
    assert_eq!(
        at("nbf", now + 2),
        Err(Reject::Unauthorized(AuthReason::NotYetValid))
    );
    assert_eq!(at("iat", now + 1), Ok(vec![]));
    assert_eq!(
        at("iat", now + 2),
        Err(Reject::Unauthorized(AuthReason::IssuedInFuture))
    );
    // Fractions are truncated; null is absent; other types are refused.
    assert_eq!(
        claims_result(&s, &format!(r#"{{"exp":{}.9}}"#, now - 2)),
        Err(Reject::Unauthorized(AuthReason::Expired))
    );
    assert_eq!(claims_result(&s, r#"{"exp":null}"#), Ok(vec![]));
    assert_eq!(
        claims_result(&s, r#"{"exp":"1700003600"}"#),
        Err(Reject::Unauthorized(AuthReason::BadClaim))
    );
    // A wider leeway.
    let mut wide = settings(Alg::HS256);
    wide.leeway = std::time::Duration::from_secs(60);
    assert_eq!(
        claims_result(&wide, &format!(r#"{{"exp":{}}}"#, now - 60)),
        Ok(vec![])
    );
    // No exp: never expires (as KrakenD).
    assert_eq!(claims_result(&s, "{}"), Ok(vec![]));
}

#[test]
fn issuer_and_audience() {
    let mut s = settings(Alg::HS256);
    s.issuer = Some("https://krakend.io".to_owned());
    s.audience = vec!["a".to_owned(), "b".to_owned()];
    let ok = Ok(vec![]);
    let wrong_aud = Err(Reject::Unauthorized(AuthReason::WrongAudience));
    assert_eq!(
        claims_result(&s, r#"{"iss":"https://krakend.io","aud":["b","x","a"]}"#),
        ok
    );
    assert_eq!(
        claims_result(&s, r#"{"iss":"https://krakend.io","aud":["a"]}"#),
        wrong_aud
    );
    assert_eq!(
        claims_result(&s, r#"{"iss":"https://krakend.io","aud":"a"}"#),
        wrong_aud
    );
    assert_eq!(
        claims_result(&s, r#"{"iss":"https://krakend.io"}"#),
        wrong_aud
    );
    assert_eq!(
        claims_result(&s, r#"{"iss":"https://krakend.io","aud":["a","b",1]}"#),
        Err(Reject::Unauthorized(AuthReason::BadClaim))
    );
    assert_eq!(
        claims_result(&s, r#"{"iss":"https://krakend.io/","aud":["a","b"]}"#),
        Err(Reject::Unauthorized(AuthReason::WrongIssuer))
    );
    assert_eq!(
        claims_result(&s, r#"{"aud":["a","b"]}"#),
        Err(Reject::Unauthorized(AuthReason::WrongIssuer))
    );
    s.audience = vec!["a".to_owned()];
    assert_eq!(
        claims_result(&s, r#"{"iss":"https://krakend.io","aud":"a"}"#),
        ok
    );
    // sub and jti must be strings when present (go-jose refuses the claims otherwise).
    assert_eq!(
        claims_result(&s, r#"{"iss":"https://krakend.io","aud":"a","sub":7}"#),
        Err(Reject::Unauthorized(AuthReason::BadClaim))
    );
}

#[test]
fn duplicate_keys_are_refused() {
    let s = settings(Alg::HS256);
    assert_eq!(
        claims_result(&s, r#"{"jti":"a","sub":"x","jti":"b"}"#),
        Err(Reject::Unauthorized(AuthReason::DuplicateClaim))
    );
    // Equal after unescaping.
    assert_eq!(
        claims_result(&s, r#"{"jti":"a","j\u0074i":"b"}"#),
        Err(Reject::Unauthorized(AuthReason::DuplicateClaim))
    );
    // Nested objects too.
    assert_eq!(
        claims_result(&s, r#"{"realm":{"roles":[],"roles":["admin"]}}"#),
        Err(Reject::Unauthorized(AuthReason::DuplicateClaim))
    );
    let signer = hs();
    let v = validator(&s, &signer);
    let header = r#"{"alg":"HS256","kid":"k1","kid":"k2"}"#;
    assert_eq!(
        check(&v, &signer.token(Alg::HS256, header, GOOD)),
        Err(Reject::Unauthorized(AuthReason::DuplicateClaim))
    );
    // Many members (the sorted path): a repeat among 40 keys, and none.
    let many: Vec<String> = (0..40).map(|i| format!(r#""k{i}":{i}"#)).collect();
    let unique = format!("{{{}}}", many.join(","));
    assert_eq!(claims_result(&s, &unique), Ok(vec![]));
    let repeated = format!("{{{},\"k17\":0}}", many.join(","));
    assert_eq!(
        claims_result(&s, &repeated),
        Err(Reject::Unauthorized(AuthReason::DuplicateClaim))
    );
}

#[test]
fn shapes_that_are_not_a_compact_jws() {
    let signer = hs();
    let v = validator(&settings(Alg::HS256), &signer);
    let token = signer.mint(Alg::HS256, GOOD);
    let malformed = Err(Reject::Unauthorized(AuthReason::Malformed));
    assert_eq!(check(&v, "a.bad.token"), malformed);
    assert_eq!(check(&v, "garbage"), malformed);
    assert_eq!(check(&v, &format!("{token}.x")), malformed);
    assert_eq!(check(&v, &format!("{token}.x.y")), malformed);
    assert_eq!(check(&v, &format!(" {token}")), malformed);
    assert_eq!(check(&v, &token.replacen('.', "..", 1)), malformed);
    let json = format!(
        r#"{{"payload":"{}","signatures":[]}}"#,
        b64(GOOD.as_bytes())
    );
    assert_eq!(check(&v, &json), malformed);
    // The header must be an object with a string alg; crit is refused.
    for header in [
        r#"["HS256"]"#,
        r#"{"kid":"k1"}"#,
        r#"{"alg":256,"kid":"k1"}"#,
        r#"{"alg":"HS256","kid":1}"#,
        r#"{"alg":"HS256","kid":"k1","crit":["exp"],"exp":1}"#,
        r#"{"alg":"HS256","kid":"k1""#,
    ] {
        assert_eq!(
            check(&v, &signer.token(Alg::HS256, header, GOOD)),
            malformed,
            "{header}"
        );
    }
    // The payload must be a JSON object.
    for payload in ["[]", "\"x\"", "1", "{", "{\"a\":1}x"] {
        assert_eq!(
            check(&v, &signer.mint(Alg::HS256, payload)),
            malformed,
            "{payload}"
        );
    }
    // Too large.
    let big = format!(r#"{{"pad":"{}"}}"#, "x".repeat(token::MAX_TOKEN_BYTES));
    assert_eq!(
        check(&v, &signer.mint(Alg::HS256, &big)),
        Err(Reject::Unauthorized(AuthReason::TooLarge))
    );
    // Padding in any part.
    assert_eq!(check(&v, &format!("{token}=")), malformed);
}

#[test]
fn a_token_just_under_the_limit_passes() {
    let signer = hs();
    let v = validator(&settings(Alg::HS256), &signer);
    let mut pad = 11_000;
    loop {
        let token = signer.mint(Alg::HS256, &format!(r#"{{"pad":"{}"}}"#, "x".repeat(pad)));
        if token.len() > token::MAX_TOKEN_BYTES {
            break;
        }
        assert_eq!(check(&v, &token), Ok(vec![]));
        pad += 700;
    }
}

fn filter() -> (Arc<bloom::Revocations>, bloom::Writer) {
    let geometry = bloom::Geometry::new(10_000, 1e-7).expect("geometry");
    bloom::Revocations::new(geometry, 3600, NOW).expect("filter")
}

#[test]
fn revocation_is_checked_before_roles() {
    let (shared, mut writer) = filter();
    let keys: Vec<Box<str>> = vec!["jti".into(), "sub".into(), "uid".into(), "groups".into()];
    let check_revoked = |v: &Validator, token: &str| {
        check_with(
            v,
            token,
            Some(RevocationCheck {
                filter: &shared,
                token_keys: &keys,
            }),
        )
    };
    let signer = hs();
    let mut s = settings(Alg::HS256);
    s.roles = vec!["admin".to_owned()];
    let v = validator(&s, &signer);
    let lacks_role = signer.mint(Alg::HS256, r#"{"jti":"j-1","roles":["user"]}"#);
    let has_role = signer.mint(Alg::HS256, r#"{"jti":"j-2","roles":"user admin"}"#);
    assert_eq!(check_revoked(&v, &lacks_role), Err(Reject::Forbidden));
    assert_eq!(check_revoked(&v, &has_role), Ok(vec![]));

    writer.insert(b"jti-j-1", NOW);
    writer.insert(b"jti-j-2", NOW);
    let revoked = Err(Reject::Unauthorized(AuthReason::Revoked));
    assert_eq!(check_revoked(&v, &lacks_role), revoked.clone());
    assert_eq!(check_revoked(&v, &has_role), revoked.clone());

    // Integers by their decimal text, string elements of arrays each, later keys too.
    let open = validator(&settings(Alg::HS256), &signer);
    writer.insert(b"uid-42", NOW);
    writer.insert(b"uid--7", NOW);
    writer.insert(b"groups-banned", NOW);
    writer.insert(b"sub-alice", NOW);
    for (claims, expected) in [
        (r#"{"jti":"fresh","uid":42}"#, true),
        (r#"{"jti":"fresh","uid":42.0}"#, true),
        (r#"{"jti":"fresh","uid":-7}"#, true),
        (r#"{"jti":"fresh","uid":43}"#, false),
        (r#"{"jti":"fresh","uid":42.5}"#, false),
        (r#"{"jti":"fresh","uid":"42"}"#, true),
        (r#"{"jti":"fresh","groups":["ok",1,"banned"]}"#, true),
        (r#"{"jti":"fresh","groups":[["banned"]]}"#, false),
        (r#"{"jti":"fresh","groups":{"banned":true}}"#, false),
        (r#"{"sub":"alice"}"#, true),
        (r#"{"sub":"Alice"}"#, false),
        (r#"{"nested":{"jti":"j-1"}}"#, false),
    ] {
        let result = check_revoked(&open, &signer.mint(Alg::HS256, claims));
        let expected = if expected {
            revoked.clone()
        } else {
            Ok(vec![])
        };
        assert_eq!(result, expected, "{claims}");
    }
    // A long value spills out of the stack buffer and is still found.
    let long = "v".repeat(2000);
    writer.insert(format!("jti-{long}").as_bytes(), NOW);
    let token = signer.mint(Alg::HS256, &format!(r#"{{"jti":"{long}"}}"#));
    assert_eq!(check_revoked(&open, &token), revoked);
}

#[test]
fn roles_and_scopes_are_403() {
    let mut s = settings(Alg::HS256);
    s.roles_key = "realm_access.roles".to_owned();
    s.roles_key_is_nested = true;
    s.roles = vec!["admin".to_owned(), "ops".to_owned()];
    s.scopes_key = Some("scope".to_owned());
    s.scopes = vec!["read".to_owned(), "write".to_owned()];
    s.scopes_matcher = ScopesMatcher::All;
    let ok = Ok(vec![]);
    let forbidden = Err(Reject::Forbidden);
    for (claims, expected) in [
        (
            r#"{"realm_access":{"roles":["ops"]},"scope":"read write"}"#,
            &ok,
        ),
        (
            r#"{"realm_access":{"roles":["ops"]},"scope":["write","read"]}"#,
            &ok,
        ),
        (
            r#"{"realm_access":{"roles":["ops"]},"scope":"read"}"#,
            &forbidden,
        ),
        (
            r#"{"realm_access":{"roles":["user"]},"scope":"read write"}"#,
            &forbidden,
        ),
        (
            r#"{"realm_access":{"roles":[1,null,{}]},"scope":"read write"}"#,
            &forbidden,
        ),
        (
            r#"{"realm_access":"admin","scope":"read write"}"#,
            &forbidden,
        ),
        (r#"{"scope":"read write"}"#, &forbidden),
        (
            r#"{"realm_access":{"roles":["admin"]},"scope":[]}"#,
            &forbidden,
        ),
    ] {
        assert_eq!(&claims_result(&s, claims), expected, "{claims}");
    }
    s.scopes_matcher = ScopesMatcher::Any;
    assert_eq!(
        claims_result(&s, r#"{"realm_access":{"roles":"x admin"},"scope":"read"}"#),
        ok
    );
    // Without roles_key_is_nested a dotted key is a plain claim name.
    s.roles_key_is_nested = false;
    assert_eq!(
        claims_result(&s, r#"{"realm_access.roles":["admin"],"scope":"read"}"#),
        ok
    );
    assert_eq!(
        claims_result(&s, r#"{"realm_access":{"roles":["admin"]},"scope":"read"}"#),
        forbidden
    );
}

#[test]
fn propagated_claims_render_like_krakend() {
    let mut s = settings(Alg::HS256);
    let names = [
        "sub", "n", "f", "big", "b", "arr", "obj", "missing", "null", "a.b", "esc",
    ];
    s.propagate_claims = names
        .iter()
        .map(|n| PropagateClaim {
            claim: (*n).to_owned(),
            header: format!("X-{}", n.replace('.', "-")),
        })
        .collect();
    let claims = r#"{"sub":"u 1","n":42,"f":1.5,"big":3.0,"b":true,"arr":["x",2,[3]],"obj":{"k":"v","n":[1]},"null":null,"a":{"b":"deep"},"esc":"\u00e9\n"}"#;
    let values = claims_result(&s, claims).expect("valid");
    let text: Vec<String> = values
        .iter()
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .collect();
    assert_eq!(
        text,
        [
            "u 1",
            "42",
            "1.500000",
            "3",
            "true",
            "x,2,[3]",
            r#"{"k":"v","n":[1]}"#,
            "",
            "",
            "deep",
            "\u{e9}\n"
        ]
    );
}

#[test]
fn the_scratch_is_reused_without_growing() {
    let signer = hs();
    let v = validator(&settings(Alg::HS256), &signer);
    let mut scratch = Scratch::new();
    let mut out = Propagated::default();
    let token = signer.mint(Alg::HS256, GOOD);
    let _ = v.validate(token.as_bytes(), NOW, None, &mut scratch, &mut out);
    let capacity = scratch.tape.0.capacity();
    for _ in 0..100 {
        assert_eq!(
            v.validate(token.as_bytes(), NOW, None, &mut scratch, &mut out),
            Ok(())
        );
    }
    assert_eq!(scratch.tape.0.capacity(), capacity);
    assert!(scratch.tape.0.is_empty());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Arbitrary bytes never panic and never pass.
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let signer = hs();
        let v = validator(&settings(Alg::HS256), &signer);
        let mut scratch = Scratch::new();
        let mut out = Propagated::default();
        prop_assert!(v.validate(&bytes, NOW, None, &mut scratch, &mut out).is_err());
    }

    /// Real tokens, mutated (bytes replaced, removed, inserted), never panic; any that pass
    /// verify with the original signature over the original text.
    #[test]
    fn mutated_tokens_never_panic(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0..3u8), 1..6),
        claims in prop::sample::select(vec![
            GOOD,
            r#"{"a":[1,2,{"b":null}],"c":"\u0041\"","d":-1.5e3}"#,
            r#"{"jti":["x","y"],"roles":"a b","exp":1e30}"#,
        ]),
    ) {
        let signer = hs();
        let v = validator(&settings(Alg::HS256), &signer);
        let mut token = signer.mint(Alg::HS256, claims).into_bytes();
        for (at, byte, op) in edits {
            let i = at.index(token.len().max(1));
            match op {
                0 if i < token.len() => token[i] = byte,
                1 if i < token.len() => { token.remove(i); }
                _ => token.insert(i.min(token.len()), byte),
            }
        }
        let mut scratch = Scratch::new();
        let mut out = Propagated::default();
        let _ = v.validate(&token, NOW, None, &mut scratch, &mut out);
    }

    /// Random JSON-ish payloads under a valid signature never panic.
    #[test]
    fn signed_garbage_payloads_never_panic(payload in "[\\[\\]{}\":,0-9a-z. \\\\-]{0,80}") {
        let signer = hs();
        let mut s = settings(Alg::HS256);
        s.roles = vec!["a".to_owned()];
        s.scopes_key = Some("s.t".to_owned());
        s.scopes = vec!["x".to_owned()];
        s.propagate_claims = vec![PropagateClaim { claim: "a".to_owned(), header: "X-A".to_owned() }];
        let v = validator(&s, &signer);
        let _ = check(&v, &signer.mint(Alg::HS256, &payload));
    }
}

/// The header memo (one per scratch, as on a core) never lets a token through that the full
/// path would refuse: a key set replaced under it, another `alg`, another `kid`.
mod header_memo {
    use super::*;

    const CLAIMS: &str = r#"{"sub":"alice","exp":4000000000}"#;
    const NOW: u64 = 1_700_000_000;

    fn run(v: &Validator, token: &str, scratch: &mut Scratch) -> Result<(), Reject> {
        v.validate(
            token.as_bytes(),
            NOW,
            None,
            scratch,
            &mut Propagated::default(),
        )
    }

    #[test]
    fn a_replaced_key_set_is_looked_up_again() {
        let old = Signer::hmac(b"the old secret, 32 bytes long...");
        let new = Signer::hmac(b"the new secret, 32 bytes long...");
        let store = KeyStore::fixed(keyset(&[old.jwk("k1")]));
        let v = Validator::new(&settings(Alg::HS256), Arc::clone(&store));
        let mut scratch = Scratch::new();
        let token = old.mint(Alg::HS256, CLAIMS);
        assert_eq!(run(&v, &token, &mut scratch), Ok(()));
        assert_eq!(run(&v, &token, &mut scratch), Ok(()), "a memo hit");
        // Rotated: same kid, another secret. The old token's header is byte for byte the same.
        store.replace(keyset(&[new.jwk("k1")]));
        assert_eq!(
            run(&v, &token, &mut scratch),
            Err(Reject::Unauthorized(AuthReason::BadSignature))
        );
        assert_eq!(run(&v, &new.mint(Alg::HS256, CLAIMS), &mut scratch), Ok(()));
        // Rotated away: the kid is gone.
        store.replace(keyset(&[new.jwk("k2")]));
        assert_eq!(
            run(&v, &new.mint(Alg::HS256, CLAIMS), &mut scratch),
            Err(Reject::Unauthorized(AuthReason::UnknownKid))
        );
    }

    #[test]
    fn another_validators_alg_is_checked_again() {
        let signer = Signer::hmac(b"one secret for two algorithms...");
        let store = KeyStore::fixed(keyset(&[signer.jwk("k1")]));
        let hs256 = Validator::new(&settings(Alg::HS256), Arc::clone(&store));
        let hs384 = Validator::new(&settings(Alg::HS384), Arc::clone(&store));
        let mut scratch = Scratch::new();
        let token = signer.mint(Alg::HS256, CLAIMS);
        assert_eq!(run(&hs256, &token, &mut scratch), Ok(()));
        assert_eq!(
            run(&hs384, &token, &mut scratch),
            Err(Reject::Unauthorized(AuthReason::AlgMismatch))
        );
        assert_eq!(run(&hs256, &token, &mut scratch), Ok(()));
    }

    #[test]
    fn each_kid_finds_its_own_key() {
        let one = Signer::hmac(b"the first secret, 32 bytes long.");
        let two = Signer::hmac(b"the second secret, 32 bytes long");
        let store = KeyStore::fixed(keyset(&[one.jwk("one"), two.jwk("two")]));
        let v = Validator::new(&settings(Alg::HS256), store);
        let mut scratch = Scratch::new();
        let header = |kid: &str| format!(r#"{{"alg":"HS256","kid":"{kid}"}}"#);
        let by_one = one.token(Alg::HS256, &header("one"), CLAIMS);
        let by_two = two.token(Alg::HS256, &header("two"), CLAIMS);
        // `two`'s key under `one`'s header: the memo's key for that header is `one`'s.
        let forged = two.token(Alg::HS256, &header("one"), CLAIMS);
        for _ in 0..2 {
            assert_eq!(run(&v, &by_one, &mut scratch), Ok(()));
            assert_eq!(run(&v, &by_two, &mut scratch), Ok(()));
            assert_eq!(
                run(&v, &forged, &mut scratch),
                Err(Reject::Unauthorized(AuthReason::BadSignature))
            );
        }
    }
}

/// The verified-token table skips the signature of a token seen before, and nothing else.
mod verified_tokens {
    use super::*;
    use crate::jwt::verified::{MAX_TOKEN, Verified};

    const NOW: u64 = 1_700_000_000;

    #[test]
    fn a_remembered_token_still_has_its_claims_checked() {
        let signer = Signer::hmac(b"a secret of thirty-two bytes.....");
        let v = validator(&settings(Alg::HS256), &signer);
        let (shared, mut writer) = filter();
        let keys: Vec<Box<str>> = vec!["jti".into()];
        let check = |scratch: &mut Scratch, token: &str, now: u64| {
            let revocation = Some(RevocationCheck {
                filter: &shared,
                token_keys: &keys,
            });
            v.validate(
                token.as_bytes(),
                now,
                revocation,
                scratch,
                &mut Propagated::default(),
            )
        };
        let mut scratch = Scratch::new();
        let token = signer.mint(
            Alg::HS256,
            &format!(r#"{{"jti":"j-9","exp":{}}}"#, NOW + 60),
        );
        assert_eq!(check(&mut scratch, &token, NOW), Ok(()));
        assert_eq!(check(&mut scratch, &token, NOW), Ok(()), "remembered");
        // Expired later: the claims are read again, whatever the table says.
        assert_eq!(
            check(&mut scratch, &token, NOW + 120),
            Err(Reject::Unauthorized(AuthReason::Expired))
        );
        // Revoked: so is the filter.
        writer.insert(b"jti-j-9", NOW);
        assert_eq!(
            check(&mut scratch, &token, NOW),
            Err(Reject::Unauthorized(AuthReason::Revoked))
        );
    }

    #[test]
    fn a_token_too_long_to_remember_is_checked_every_time() {
        let signer = Signer::hmac(b"a secret of thirty-two bytes.....");
        let v = validator(&settings(Alg::HS256), &signer);
        let token = signer.mint(Alg::HS256, &format!(r#"{{"pad":"{}"}}"#, "x".repeat(2000)));
        assert!(token.len() > MAX_TOKEN);
        let mut scratch = Scratch::new();
        for _ in 0..3 {
            assert_eq!(
                v.validate(
                    token.as_bytes(),
                    NOW,
                    None,
                    &mut scratch,
                    &mut Propagated::default()
                ),
                Ok(())
            );
        }
        // The same bytes with a broken signature fail, before and after.
        let mut forged = token.into_bytes();
        let at = forged.len() - 10;
        forged[at] = if forged[at] == b'A' { b'B' } else { b'A' };
        assert_eq!(
            v.validate(&forged, NOW, None, &mut scratch, &mut Propagated::default()),
            Err(Reject::Unauthorized(AuthReason::BadSignature))
        );
    }

    #[test]
    fn a_hit_needs_the_same_bytes_alg_and_key_set() {
        let signer = Signer::hmac(b"a secret of thirty-two bytes.....");
        let set = Arc::new(keyset(&[signer.jwk("k1")]));
        let other = Arc::new(keyset(&[signer.jwk("k1")]));
        let mut table = Verified::new();
        let a = b"aaaa.bbbb.same-tail-12345678".to_vec();
        table.insert(&a, Alg::HS256, &set);
        assert!(table.contains(&a, Alg::HS256, &set));
        assert!(!table.contains(&a, Alg::HS384, &set), "another alg");
        assert!(
            !table.contains(&a, Alg::HS256, &other),
            "another key set, equal in content"
        );
        // Same length and tail (so the same slot), one byte apart: compared in full.
        let mut b = a.clone();
        b[2] = b'x';
        assert!(!table.contains(&b, Alg::HS256, &set));
        // It takes the slot over.
        table.insert(&b, Alg::HS256, &set);
        assert!(table.contains(&b, Alg::HS256, &set));
        assert!(!table.contains(&a, Alg::HS256, &set));
        // A prefix is not the token.
        assert!(!table.contains(&b[..b.len() - 1], Alg::HS256, &set));
    }
}
