use super::*;

#[test]
fn decimal_text() {
    let mut buf = [0u8; 20];
    assert_eq!(decimal(0, &mut buf), b"0");
    assert_eq!(decimal(42, &mut buf), b"42");
    assert_eq!(decimal(-7, &mut buf), b"-7");
    assert_eq!(decimal(i64::MIN, &mut buf), b"-9223372036854775808");
    assert_eq!(decimal(i64::MAX, &mut buf), b"9223372036854775807");
    assert_eq!(decimal_u64(u64::MAX, &mut buf), b"18446744073709551615");
}

#[test]
fn integral_numbers() {
    assert_eq!(integral(42.0), Some(42));
    assert_eq!(integral(-3.0), Some(-3));
    assert_eq!(integral(0.5), None);
    assert_eq!(integral(1e300), None);
}

#[test]
fn keys_are_name_dash_value() {
    let mut buf = [0u8; 16];
    assert_eq!(write_key(&mut buf, b"jti", b"abc"), b"jti-abc");
    assert_eq!(revocation_key("sub", "a-b"), b"sub-a-b".to_vec());
}

#[test]
fn lookups_hit_the_real_filter() {
    let geometry = bloom::Geometry::new(1000, 1e-6).expect("geometry");
    let (filter, mut writer) = Revocations::new(geometry, 60, 1000).expect("filter");
    writer.insert(b"jti-a", 1000);
    let token_keys: Vec<Box<str>> = vec!["jti".into()];
    let check = RevocationCheck {
        filter: &filter,
        token_keys: &token_keys,
    };
    let mut spill = Vec::new();
    let revoked = |text: &str, spill: &mut Vec<u8>| {
        let mut bytes = text.as_bytes().to_vec();
        let tape = simd_json::to_tape(&mut bytes).expect("json");
        let claims = Json::root(&tape.0)
            .and_then(|r| r.as_object())
            .expect("object");
        check.is_revoked(&claims, spill)
    };
    assert!(revoked(r#"{"jti":"a"}"#, &mut spill));
    assert!(revoked(r#"{"jti":["b","a"]}"#, &mut spill));
    assert!(!revoked(r#"{"jti":"b"}"#, &mut spill));
    assert!(!revoked(r#"{"sub":"a"}"#, &mut spill));
}
