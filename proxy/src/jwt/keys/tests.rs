use super::*;

const PLAYGROUND: &[u8] = include_bytes!(
    "../../../../../shared/fixtures/krakend/playground-community.jwk-symmetric.json"
);

fn parse_doc(doc: &str) -> (Result<KeySet, KeySetError>, Vec<String>) {
    let mut notes = Vec::new();
    (KeySet::parse(doc.as_bytes(), &mut notes), notes)
}

#[test]
fn the_krakend_playground_set() {
    let mut notes = Vec::new();
    let set = KeySet::parse_for(PLAYGROUND, Alg::HS256, &mut notes).expect("usable for HS256");
    assert_eq!(set.len(), 1);
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(
        notes[0].contains("sim1") && notes[0].contains("A128KW"),
        "{notes:?}"
    );
    assert_eq!(
        set.find(Alg::HS256, Some("sim2")).map(|k| k.kid.as_deref()),
        Ok(Some("sim2"))
    );
    assert_eq!(
        set.find(Alg::HS256, Some("sim1")).err(),
        Some(LookupError::UnknownKid)
    );
    // The JWK says HS256: it does not serve HS512 tokens.
    assert_eq!(
        set.find(Alg::HS512, Some("sim2")).err(),
        Some(LookupError::UnknownKid)
    );
    let error = KeySet::parse_for(PLAYGROUND, Alg::RS256, &mut Vec::new()).expect_err("no RSA key");
    assert!(
        error
            .to_string()
            .starts_with("no key usable with alg RS256"),
        "{error}"
    );
}

#[test]
fn documents_that_are_not_key_sets() {
    for doc in [
        "",
        "[]",
        "{}",
        r#"{"keys":{}}"#,
        r#"{"keys":"x"}"#,
        "{\"keys\":[",
    ] {
        assert!(
            matches!(parse_doc(doc).0, Err(KeySetError::Malformed(_))),
            "{doc}"
        );
    }
    let big = vec![b' '; MAX_JWKS_BYTES + 1];
    assert_eq!(
        KeySet::parse(&big, &mut Vec::new()).err(),
        Some(KeySetError::TooLarge)
    );
}

#[test]
fn unusable_keys_are_skipped_with_a_reason() {
    let (set, notes) = parse_doc(
        r#"{"keys":[
            {"kty":"oct","k":"c2VjcmV0","use":"enc"},
            {"kty":"oct","k":""},
            {"kty":"oct","k":"c2V+cmV0"},
            {"kty":"RSA","n":"AQAB","e":"AQAB"},
            {"kty":"EC","crv":"P-521","x":"AA","y":"AA"},
            {"kty":"EC","crv":"P-256","x":"AAAA","y":"AAAA"},
            {"kty":"OKP","crv":"Ed448","x":"AA"},
            {"kty":"OKP","crv":"Ed25519","x":"AAAA"},
            {"kty":"XYZ"},
            {"k":"c2VjcmV0"},
            {"kty":"oct","k":"c2VjcmV0","kid":7},
            "not an object",
            {"kty":"oct","k":"c2VjcmV0=","kid":"padded"}
        ]}"#,
    );
    let set = set.expect("a set");
    assert_eq!(set.len(), 1, "{notes:?}");
    assert_eq!(notes.len(), 12, "{notes:?}");
    assert!(set.find(Alg::HS256, Some("padded")).is_ok());
}

#[test]
fn key_types_serve_their_algorithms_only() {
    let doc = r#"{"keys":[
        {"kty":"oct","kid":"h","k":"c2VjcmV0"},
        {"kty":"EC","kid":"e","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},
        {"kty":"OKP","kid":"d","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
    ]}"#;
    let set = parse_doc(doc).0.expect("set");
    assert!(set.find(Alg::HS384, Some("h")).is_ok());
    assert!(set.find(Alg::ES256, Some("h")).is_err());
    assert!(set.find(Alg::ES256, Some("e")).is_ok());
    assert!(set.find(Alg::ES384, Some("e")).is_err());
    assert!(set.find(Alg::EdDSA, Some("d")).is_ok());
    assert!(set.find(Alg::RS256, None).is_err());
    // One key per family: a kid-less token finds it.
    assert_eq!(
        set.find(Alg::EdDSA, None).map(|k| k.kid.as_deref()),
        Ok(Some("d"))
    );
    assert!(set.supports(Alg::ES256) && !set.supports(Alg::PS256));
    assert_eq!(
        KeySet::default().find(Alg::HS256, None).err(),
        Some(LookupError::Empty)
    );
}
