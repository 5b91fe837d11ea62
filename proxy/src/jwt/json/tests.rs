use super::*;

fn with<R>(text: &str, f: impl FnOnce(&[Node<'_>]) -> R) -> R {
    let mut bytes = text.as_bytes().to_vec();
    let tape = simd_json::to_tape(&mut bytes).expect("valid JSON");
    f(&tape.0)
}

fn dup(text: &str) -> bool {
    with(text, |nodes| has_duplicate_keys(nodes, &mut Vec::new()))
}

#[test]
fn views_walk_nested_values() {
    with(
        r#"{"a":[1,{"b":"x"},[2,3]],"c":{"d":{"e":-4}},"f":1.5,"g":18446744073709551615,"h":null,"i":true}"#,
        |nodes| {
            let root = Json::root(nodes)
                .and_then(|r| r.as_object())
                .expect("object");
            assert_eq!(root.len(), 6);
            let Some(Json::Array(a)) = root.get("a") else {
                panic!("a is an array")
            };
            assert_eq!(a.len(), 3);
            let items: Vec<_> = a.iter().collect();
            assert!(matches!(items[0], Json::Int(1)));
            assert_eq!(
                items[1]
                    .as_object()
                    .and_then(|o| o.get("b"))
                    .and_then(|b| b.as_str()),
                Some("x")
            );
            assert!(matches!(root.get_path("c.d.e"), Some(Json::Int(-4))));
            assert!(root.get_path("c.d.x").is_none());
            assert!(root.get_path("a.b").is_none());
            assert!(matches!(root.get("f"), Some(Json::Float(f)) if f == 1.5));
            assert!(matches!(root.get("g"), Some(Json::UInt(u64::MAX))));
            assert!(matches!(root.get("h"), Some(Json::Null)));
            assert!(matches!(root.get("i"), Some(Json::Bool(true))));
            let keys: Vec<&str> = root.iter().map(|(k, _)| k).collect();
            assert_eq!(keys, ["a", "c", "f", "g", "h", "i"]);
        },
    );
}

#[test]
fn strings_are_unescaped_in_place() {
    with(r#"{"k\u0041":"a\"b\\c\u00e9"}"#, |nodes| {
        let root = Json::root(nodes)
            .and_then(|r| r.as_object())
            .expect("object");
        assert_eq!(
            root.get("kA").and_then(|v| v.as_str()),
            Some("a\"b\\c\u{e9}")
        );
    });
}

#[test]
fn duplicates_anywhere_are_found() {
    assert!(!dup(r#"{"a":1,"b":{"a":2},"c":[{"a":3},{"a":4}]}"#));
    assert!(dup(r#"{"a":1,"a":1}"#));
    assert!(dup(r#"{"a":1,"\u0061":2}"#));
    assert!(dup(r#"{"x":{"y":[{"k":1,"k":2}]}}"#));
    assert!(!dup(r#"[{"k":1},{"k":2}]"#));
    // Large objects take the sorted-hash path.
    let keys: Vec<String> = (0..300).map(|i| format!(r#""key{i}":{i}"#)).collect();
    assert!(!dup(&format!("{{{}}}", keys.join(","))));
    assert!(dup(&format!("{{{},\"key0\":[]}}", keys.join(","))));
    assert!(dup(&format!(
        "{{\"n\":{{{},\"key299\":1}}}}",
        keys.join(",")
    )));
}

#[test]
fn a_truncated_tape_reads_as_missing_values() {
    with(r#"{"a":[1,2],"b":"x"}"#, |nodes| {
        for cut in 0..nodes.len() {
            let short = &nodes[..cut];
            if let Some(Json::Object(o)) = Json::root(short) {
                let _ = o.iter().count();
            }
            let _ = has_duplicate_keys(short, &mut Vec::new());
        }
    });
}
