//! Question: what does one protected request cost bloomgate in JWT work — split, base64url,
//! header and claims parse, signature check, `exp`/`iss`/`aud`/roles, the revocation filter
//! lookup and the propagated header — for HS256, RS256, ES256 and EdDSA, beside
//! `jsonwebtoken::decode` (the usual Rust choice; ring underneath too) doing the same checks on
//! the same token? `bloomgate` checks the signature every time; `bloomgate_seen_before` is the
//! same token again with the core's verified-token table, as a session's next request. And does
//! bloomgate allocate per token? (Run with the allocation profiler
//! columns: `alloc` counts per iteration.)
//!
//! `cargo bench -p perf --bench jwt`
//!
//! Before timing, both sides must accept every token (checked in `cases()`).

use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use proxy::config::{Alg, KeySource, PropagateClaim, ScopesMatcher, ValidatorSettings};
use proxy::jwt::base64url;
use proxy::jwt::keys::KeySet;
use proxy::jwt::store::KeyStore;
use proxy::jwt::{Propagated, RevocationCheck, Scratch, Validator};
use ring::signature::KeyPair as _;

#[global_allocator]
static ALLOC: divan::AllocProfiler = divan::AllocProfiler::system();

const RSA_PKCS8: &[u8] = include_bytes!("../../proxy/src/jwt/testdata/rsa2048.pk8");
const RSA_PEM: &[u8] = include_bytes!("../../proxy/src/jwt/testdata/rsa2048.pem");
const ALGS: [&str; 4] = ["HS256", "RS256", "ES256", "EdDSA"];

fn main() {
    let _ = cases();
    divan::main();
}

/// What `jsonwebtoken` decodes the claims into: a typical typed struct.
#[derive(serde::Serialize, serde::Deserialize)]
#[allow(dead_code)]
struct Claims {
    sub: String,
    jti: String,
    iss: String,
    aud: Vec<String>,
    exp: u64,
    iat: u64,
    roles: Vec<String>,
}

struct Case {
    token: String,
    validator: Validator,
    decoding: DecodingKey,
    validation: Validation,
}

struct Cases {
    by_alg: Vec<(&'static str, Case)>,
    filter: Arc<bloom::Revocations>,
    _writer: bloom::Writer,
    token_keys: Vec<Box<str>>,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn b64(bytes: &[u8]) -> String {
    let mut out = Vec::new();
    base64url::encode(bytes, &mut out);
    String::from_utf8(out).expect("ascii")
}

fn settings(alg: Alg) -> ValidatorSettings {
    ValidatorSettings {
        alg,
        keys: KeySource::Local {
            path: "unused".into(),
        },
        audience: vec!["api".to_owned()],
        issuer: Some("https://issuer.example".to_owned()),
        roles_key: "roles".to_owned(),
        roles_key_is_nested: false,
        roles: vec!["writer".to_owned()],
        scopes_key: None,
        scopes: Vec::new(),
        scopes_matcher: ScopesMatcher::Any,
        propagate_claims: vec![PropagateClaim {
            claim: "sub".to_owned(),
            header: "X-User".to_owned(),
        }],
        cookie_key: "access_token".to_owned(),
        leeway: Duration::from_secs(1),
    }
}

fn cases() -> &'static Cases {
    static CASES: OnceLock<Cases> = OnceLock::new();
    CASES.get_or_init(|| {
        let now = now();
        let claims = Claims {
            sub: "1234567890".to_owned(),
            jti: "43b7a832-5d4b-4d35-8f5c-0a1b2c3d4e5f".to_owned(),
            iss: "https://issuer.example".to_owned(),
            aud: vec!["api".to_owned()],
            exp: now + 86_400,
            iat: now - 10,
            roles: vec!["reader".to_owned(), "writer".to_owned()],
        };
        let rng = ring::rand::SystemRandom::new();
        let secret = b"a secret of thirty-two bytes....";
        let rsa = ring::signature::RsaKeyPair::from_pkcs8(RSA_PKCS8).expect("rsa");
        let rsa_pub = ring::signature::RsaPublicKeyComponents::<Vec<u8>>::from(rsa.public());
        let ec_pkcs8 = ring::signature::EcdsaKeyPair::generate_pkcs8(
            &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            &rng,
        )
        .expect("ec");
        let ec = ring::signature::EcdsaKeyPair::from_pkcs8(
            &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            ec_pkcs8.as_ref(),
            &rng,
        )
        .expect("ec");
        let point = ec.public_key().as_ref();
        let (x, y) = (b64(&point[1..33]), b64(&point[33..]));
        let ed_pkcs8 = ring::signature::Ed25519KeyPair::generate_pkcs8(&rng).expect("ed");
        let ed = ring::signature::Ed25519KeyPair::from_pkcs8(ed_pkcs8.as_ref()).expect("ed");
        let ed_x = b64(ed.public_key().as_ref());
        let (n, e) = (b64(&rsa_pub.n), b64(&rsa_pub.e));

        let specs: [(&str, Alg, Algorithm, EncodingKey, DecodingKey, String); 4] = [
            (
                "HS256",
                Alg::HS256,
                Algorithm::HS256,
                EncodingKey::from_secret(secret),
                DecodingKey::from_secret(secret),
                format!(r#"{{"kty":"oct","kid":"k1","k":"{}"}}"#, b64(secret)),
            ),
            (
                "RS256",
                Alg::RS256,
                Algorithm::RS256,
                EncodingKey::from_rsa_pem(RSA_PEM).expect("pem"),
                DecodingKey::from_rsa_components(&n, &e).expect("rsa"),
                format!(r#"{{"kty":"RSA","kid":"k1","n":"{n}","e":"{e}"}}"#),
            ),
            (
                "ES256",
                Alg::ES256,
                Algorithm::ES256,
                EncodingKey::from_ec_der(ec_pkcs8.as_ref()),
                DecodingKey::from_ec_components(&x, &y).expect("ec"),
                format!(r#"{{"kty":"EC","kid":"k1","crv":"P-256","x":"{x}","y":"{y}"}}"#),
            ),
            (
                "EdDSA",
                Alg::EdDSA,
                Algorithm::EdDSA,
                EncodingKey::from_ed_der(ed_pkcs8.as_ref()),
                DecodingKey::from_ed_components(&ed_x).expect("ed"),
                format!(r#"{{"kty":"OKP","kid":"k1","crv":"Ed25519","x":"{ed_x}"}}"#),
            ),
        ];
        let geometry = bloom::Geometry::new(1_000_000, 1e-7).expect("geometry");
        let (filter, mut writer) = bloom::Revocations::new(geometry, 3600, now).expect("filter");
        for i in 0..100_000u32 {
            writer.insert(format!("jti-revoked-{i}").as_bytes(), now);
        }
        let token_keys: Vec<Box<str>> = vec!["jti".into()];
        let mut by_alg = Vec::new();
        for (name, alg, jalg, encoding, decoding, jwk) in specs {
            let mut header = Header::new(jalg);
            header.kid = Some("k1".to_owned());
            let token = jsonwebtoken::encode(&header, &claims, &encoding).expect("encode");
            let doc = format!(r#"{{"keys":[{jwk}]}}"#);
            let set = KeySet::parse(doc.as_bytes(), &mut Vec::new()).expect("jwks");
            let validator = Validator::new(&settings(alg), KeyStore::fixed(set));
            let mut validation = Validation::new(jalg);
            validation.set_audience(&["api"]);
            validation.set_issuer(&["https://issuer.example"]);
            validation.leeway = 1;
            // The answers, checked before anything is timed.
            let mut scratch = Scratch::new();
            let mut out = Propagated::default();
            let check = RevocationCheck {
                filter: &filter,
                token_keys: &token_keys,
            };
            validator
                .validate(token.as_bytes(), now, Some(check), &mut scratch, &mut out)
                .unwrap_or_else(|e| panic!("bloomgate refused the {name} token: {e}"));
            assert_eq!(out.value(0), b"1234567890");
            let decoded = jsonwebtoken::decode::<Claims>(&token, &decoding, &validation)
                .unwrap_or_else(|e| panic!("jsonwebtoken refused the {name} token: {e}"));
            assert!(decoded.claims.roles.iter().any(|r| r == "writer"));
            by_alg.push((
                name,
                Case {
                    token,
                    validator,
                    decoding,
                    validation,
                },
            ));
        }
        Cases {
            by_alg,
            filter,
            _writer: writer,
            token_keys,
        }
    })
}

fn case(name: &str) -> &'static Case {
    &cases()
        .by_alg
        .iter()
        .find(|(n, _)| *n == name)
        .expect("a known algorithm")
        .1
}

/// bloomgate: the whole per-token chain, with a per-core scratch and a 1M-entry filter, the
/// signature checked every time (a token the core has not verified before).
#[divan::bench(args = ALGS)]
fn bloomgate(bencher: divan::Bencher, alg: &str) {
    validate_repeatedly(bencher, alg, Scratch::without_verified_tokens());
}

/// bloomgate: the same token again, as a client's next request sends it: its signature is
/// remembered by the core (`proxy::jwt::verified`), its claims are checked as ever.
#[divan::bench(args = ALGS)]
fn bloomgate_seen_before(bencher: divan::Bencher, alg: &str) {
    validate_repeatedly(bencher, alg, Scratch::new());
}

fn validate_repeatedly(bencher: divan::Bencher, alg: &str, mut scratch: Scratch) {
    let c = case(alg);
    let cases = cases();
    let now = now();
    let mut out = Propagated::default();
    bencher.bench_local(|| {
        let check = RevocationCheck {
            filter: &cases.filter,
            token_keys: &cases.token_keys,
        };
        let result = c.validator.validate(
            divan::black_box(c.token.as_bytes()),
            now,
            Some(check),
            &mut scratch,
            &mut out,
        );
        // Roles are part of the check on both sides.
        divan::black_box(result.is_ok() && out.len() == 1)
    });
}

/// jsonwebtoken: `decode` (signature, exp, iss, aud) into a typed struct, then the same role
/// check. No revocation lookup (it has none).
#[divan::bench(args = ALGS)]
fn jsonwebtoken(bencher: divan::Bencher, alg: &str) {
    let c = case(alg);
    bencher.bench_local(|| {
        let decoded =
            jsonwebtoken::decode::<Claims>(divan::black_box(&c.token), &c.decoding, &c.validation);
        divan::black_box(decoded.is_ok_and(|d| d.claims.roles.iter().any(|r| r == "writer")))
    });
}
