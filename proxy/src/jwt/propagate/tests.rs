use super::*;

fn render_text(value: &str) -> String {
    let doc = format!(r#"{{"v":{value}}}"#);
    let mut bytes = doc.into_bytes();
    let tape = simd_json::to_tape(&mut bytes).expect("json");
    let claims = Json::root(&tape.0)
        .and_then(|r| r.as_object())
        .expect("object");
    let mut out = Propagated::default();
    out.push_claim(&claims, "v");
    out.push_claim(&claims, "missing");
    assert_eq!(out.len(), 2);
    assert_eq!(out.value(1), b"");
    String::from_utf8(out.value(0).to_vec()).expect("utf-8")
}

#[test]
fn krakend_rendering() {
    assert_eq!(render_text(r#""text""#), "text");
    assert_eq!(render_text("-12"), "-12");
    assert_eq!(render_text("1e3"), "1000");
    assert_eq!(render_text("0.1"), "0.100000");
    assert_eq!(render_text("1e300"), format!("{:.6}", 1e300));
    assert_eq!(render_text("false"), "false");
    assert_eq!(render_text("null"), "");
    assert_eq!(render_text(r#"["a","b"]"#), "a,b");
    assert_eq!(render_text("[]"), "");
    assert_eq!(
        render_text(r#"[1.5,true,null,{"a":"\""}]"#),
        r#"1.500000,true,,{"a":"\""}"#
    );
    assert_eq!(
        render_text(r#"{"a":[1,0.5],"b":"\u0001"}"#),
        r#"{"a":[1,0.5],"b":"\u0001"}"#
    );
}

#[test]
fn values_are_indexed_in_order() {
    let mut out = Propagated::default();
    assert!(out.is_empty());
    assert_eq!(out.value(0), b"");
    let mut bytes = br#"{"a":"1","b":"22"}"#.to_vec();
    let tape = simd_json::to_tape(&mut bytes).expect("json");
    let claims = Json::root(&tape.0)
        .and_then(|r| r.as_object())
        .expect("object");
    for name in ["b", "a", "b"] {
        out.push_claim(&claims, name);
    }
    assert_eq!(
        [out.value(0), out.value(1), out.value(2)],
        [&b"22"[..], b"1", b"22"]
    );
    out.clear();
    assert!(out.is_empty());
}
