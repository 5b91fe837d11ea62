use super::*;

fn with_claims<R>(text: &str, f: impl FnOnce(&Object<'_, '_>) -> R) -> R {
    let mut bytes = text.as_bytes().to_vec();
    let tape = simd_json::to_tape(&mut bytes).expect("valid JSON");
    let root = Json::root(&tape.0)
        .and_then(|r| r.as_object())
        .expect("object");
    f(&root)
}

fn boxed(items: &[&str]) -> Box<[Box<str>]> {
    items.iter().map(|s| Box::from(*s)).collect()
}

#[test]
fn registered_claims_boundaries() {
    let rules = Registered {
        issuer: None,
        audience: boxed(&[]),
        leeway: 5,
    };
    let at = |text: &str, now: u64| with_claims(text, |c| rules.check(c, now));
    assert_eq!(at(r#"{"exp":100}"#, 105), Ok(()));
    assert_eq!(at(r#"{"exp":100}"#, 106), Err(AuthReason::Expired));
    assert_eq!(at(r#"{"nbf":100}"#, 95), Ok(()));
    assert_eq!(at(r#"{"nbf":100}"#, 94), Err(AuthReason::NotYetValid));
    assert_eq!(at(r#"{"iat":100}"#, 95), Ok(()));
    assert_eq!(at(r#"{"iat":100}"#, 94), Err(AuthReason::IssuedInFuture));
    assert_eq!(at(r#"{"exp":-1}"#, 0), Ok(()));
    assert_eq!(at(r#"{"exp":-10}"#, 0), Err(AuthReason::Expired));
    assert_eq!(at(r#"{"exp":1e300}"#, u64::MAX / 2), Ok(()));
    assert_eq!(at(r#"{"exp":18446744073709551615}"#, u64::MAX / 2), Ok(()));
    for bad in [
        r#"{"exp":true}"#,
        r#"{"nbf":[1]}"#,
        r#"{"iat":{}}"#,
        r#"{"iss":1}"#,
        r#"{"sub":[]}"#,
        r#"{"jti":false}"#,
        r#"{"aud":7}"#,
        r#"{"aud":["a",null]}"#,
    ] {
        assert_eq!(at(bad, 0), Err(AuthReason::BadClaim), "{bad}");
    }
}

#[test]
fn roles_shapes() {
    let roles = Roles {
        key: "roles".into(),
        nested: false,
        required: boxed(&["a", "b"]),
    };
    let allows = |text: &str| with_claims(text, |c| roles.allows(c));
    assert!(allows(r#"{"roles":["x","b"]}"#));
    assert!(allows(r#"{"roles":"x a"}"#));
    assert!(!allows(r#"{"roles":"x  ab"}"#));
    assert!(!allows(r#"{"roles":[["a"]]}"#));
    assert!(!allows(r#"{"roles":{"a":1}}"#));
    assert!(!allows(r#"{"roles":[]}"#));
    assert!(!allows("{}"));
    // A nested key starting with http is a plain name (KrakenD).
    let url = Roles {
        key: "http://example.com/roles".into(),
        nested: true,
        required: boxed(&["a"]),
    };
    assert!(with_claims(r#"{"http://example.com/roles":["a"]}"#, |c| {
        url.allows(c)
    }));
}

#[test]
fn scopes_any_and_all() {
    let mut scopes = Scopes {
        key: "scp".into(),
        required: boxed(&["r", "w"]),
        matcher: ScopesMatcher::All,
    };
    let allows = |s: &Scopes, text: &str| with_claims(text, |c| s.allows(c));
    assert!(allows(&scopes, r#"{"scp":"w r"}"#));
    assert!(!allows(&scopes, r#"{"scp":"w"}"#));
    scopes.matcher = ScopesMatcher::Any;
    assert!(allows(&scopes, r#"{"scp":["w"]}"#));
    assert!(!allows(&scopes, r#"{"scp":[]}"#));
    assert!(!allows(&scopes, r#"{"other":"r"}"#));
    scopes.key = "a.b".into();
    assert!(allows(&scopes, r#"{"a":{"b":"r"}}"#));
    assert!(allows(&scopes, r#"{"a.b":"r"}"#));
}
