//! JWT validation from arbitrary bytes: never a panic, and nothing passes that was not signed
//! with the key. The first byte picks the mode: raw bytes as the token, or arbitrary header and
//! payload texts signed with the real key (so the claim, revocation, role, scope and
//! propagation code runs on hostile JSON behind a valid signature).
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use proxy::config::{Alg, KeySource, PropagateClaim, ScopesMatcher, ValidatorSettings};
use proxy::jwt::base64url;
use proxy::jwt::keys::KeySet;
use proxy::jwt::store::KeyStore;
use proxy::jwt::{Propagated, RevocationCheck, Scratch, Validator};

const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";
const NOW: u64 = 1_700_000_000;

struct Fixture {
    validator: Validator,
    filter: std::sync::Arc<bloom::Revocations>,
    _writer: bloom::Writer,
    token_keys: Vec<Box<str>>,
}

fn b64(bytes: &[u8]) -> String {
    let mut out = Vec::new();
    base64url::encode(bytes, &mut out);
    String::from_utf8(out).unwrap_or_default()
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let doc = format!(
            r#"{{"keys":[{{"kty":"oct","kid":"k","k":"{}"}}]}}"#,
            b64(SECRET)
        );
        let set = KeySet::parse(doc.as_bytes(), &mut Vec::new()).expect("key set");
        let settings = ValidatorSettings {
            alg: Alg::HS256,
            keys: KeySource::Local {
                path: PathBuf::from("unused"),
            },
            audience: vec!["api".to_owned()],
            issuer: None,
            roles_key: "realm.roles".to_owned(),
            roles_key_is_nested: true,
            roles: vec!["admin".to_owned()],
            scopes_key: Some("scope".to_owned()),
            scopes: vec!["read".to_owned()],
            scopes_matcher: ScopesMatcher::All,
            propagate_claims: ["sub", "realm", "scope", "a.b"]
                .iter()
                .map(|c| PropagateClaim {
                    claim: (*c).to_owned(),
                    header: "X-C".to_owned(),
                })
                .collect(),
            cookie_key: "access_token".to_owned(),
            leeway: Duration::from_secs(1),
        };
        let geometry = bloom::Geometry::new(1000, 1e-6).expect("geometry");
        let (filter, mut writer) = bloom::Revocations::new(geometry, 3600, NOW).expect("filter");
        for key in [&b"jti-x"[..], b"sub-1", b"uid-42"] {
            writer.insert(key, NOW);
        }
        Fixture {
            validator: Validator::new(&settings, KeyStore::fixed(set)),
            filter,
            _writer: writer,
            token_keys: vec!["jti".into(), "sub".into(), "uid".into()],
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let f = fixture();
    let token = if mode % 2 == 0 {
        rest.to_vec()
    } else {
        // header and payload texts separated by the first 0xFF byte.
        let cut = rest.iter().position(|&b| b == 0xFF).unwrap_or(rest.len());
        let (header, payload) = rest.split_at(cut);
        let payload = payload.get(1..).unwrap_or(&[]);
        let input = format!("{}.{}", b64(header), b64(payload));
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, SECRET);
        let sig = ring::hmac::sign(&key, input.as_bytes());
        format!("{input}.{}", b64(sig.as_ref())).into_bytes()
    };
    let mut scratch = Scratch::new();
    let mut out = Propagated::default();
    let check = RevocationCheck {
        filter: &f.filter,
        token_keys: &f.token_keys,
    };
    let result = f
        .validator
        .validate(&token, NOW, Some(check), &mut scratch, &mut out);
    if mode % 2 == 0 && result.is_ok() {
        // Raw bytes pass only if they are a correctly signed token.
        let text = std::str::from_utf8(&token).expect("a valid token is ASCII");
        let (input, sig) = text.rsplit_once('.').expect("three parts");
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, SECRET);
        assert_eq!(b64(ring::hmac::sign(&key, input.as_bytes()).as_ref()), sig);
    }
    if result.is_ok() {
        assert_eq!(out.len(), 4);
    }
});
