use std::time::Duration;

use super::{Node, is_comment_key, parse_document};
use crate::config::ConfigError;

/// Parses `json` and runs `f` on its root object.
fn with_root<T>(json: &str, f: impl FnOnce(&super::Obj<'_>) -> T) -> T {
    let doc = parse_document(json.as_bytes(), "test.json").expect("valid JSON");
    let root = Node::root(&doc);
    f(&root.object().expect("an object"))
}

fn syntax_error(json: &str) -> ConfigError {
    parse_document(json.as_bytes(), "k.json").expect_err("invalid JSON")
}

#[test]
fn syntax_errors_name_the_file_and_position() {
    let e = syntax_error("{\n  \"a\": 1\n  \"b\": 2\n}");
    assert_eq!(e.path, "k.json");
    assert_eq!(
        e.message,
        "invalid JSON at line 3, column 3: malformed object (a missing comma, colon or quote?)"
    );
    assert_eq!(e.to_string().lines().count(), 1);

    let e = syntax_error("{\"a\": tru}");
    assert_eq!(
        e.message,
        "invalid JSON at line 1, column 7: invalid literal"
    );
    let e = syntax_error("{\"a\": [1,2,}");
    assert!(
        e.message.starts_with("invalid JSON at line 1, column 12: "),
        "{}",
        e.message
    );
    let e = syntax_error("{\"a\": 01}");
    assert!(
        e.message.ends_with("invalid or out-of-range number"),
        "{}",
        e.message
    );
    let e = syntax_error("{\"port\": 99999999999999999999999}");
    assert!(
        e.message.ends_with("invalid or out-of-range number"),
        "{}",
        e.message
    );
}

#[test]
fn empty_and_truncated_files_are_errors() {
    assert_eq!(syntax_error("").message, "invalid JSON: the file is empty");
    assert_eq!(
        syntax_error(" \n\t ").message,
        "invalid JSON: the file is empty"
    );
    assert!(syntax_error("{\"a\": ").message.starts_with("invalid JSON"));
    assert!(
        syntax_error("{\"a\": \"x}")
            .message
            .starts_with("invalid JSON")
    );
    assert!(syntax_error("{} {}").message.starts_with("invalid JSON"));
    assert!(syntax_error("\u{0}").message.starts_with("invalid JSON"));
}

#[test]
fn a_byte_order_mark_is_skipped() {
    let doc = parse_document(b"\xef\xbb\xbf{\"version\": 3}", "k.json");
    assert!(doc.is_ok());
}

#[test]
fn type_errors_name_the_nested_field() {
    let json = r#"{"a": {"b": [{"c": 1}, {"c": "x"}]}}"#;
    let e = with_root(json, |root| {
        let b = root.require("a")?.object()?.require("b")?;
        let items = b.array()?;
        items[1].object()?.require("c")?.int()
    })
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        r#"config error: a.b[1].c: expected an integer, got a string ("x")"#
    );

    let e = with_root(r#"{"t": 5}"#, |root| root.require("t")?.duration()).unwrap_err();
    assert_eq!(
        e.to_string(),
        r#"config error: t: expected a duration string like "2s", got a number (5)"#
    );
    let e = with_root(r#"{"t": "5 s"}"#, |root| root.require("t")?.duration()).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("config error: t: invalid duration \"5 s\""),
        "{e}"
    );
    let e = with_root(r#"{"l": ["a", 2]}"#, |root| root.require("l")?.str_list()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "config error: l[1]: expected a string, got a number (2)"
    );
    let e = with_root(r#"{"o": []}"#, |root| {
        root.require("o")?.object().map(|_| ())
    })
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "config error: o: expected an object, got an array"
    );
    let e = with_root(r#"{"b": "true"}"#, |root| root.require("b")?.bool()).unwrap_err();
    assert_eq!(
        e.to_string(),
        r#"config error: b: expected a boolean, got a string ("true")"#
    );
}

#[test]
fn missing_keys_are_named() {
    let e = with_root(r#"{"a": {}}"#, |root| {
        root.require("a")?.object()?.require("zz").map(|_| ())
    })
    .unwrap_err();
    assert_eq!(e.to_string(), "config error: a.zz: required");
}

#[test]
fn null_is_the_same_as_absent() {
    with_root(r#"{"a": null}"#, |root| {
        assert!(root.get("a").unwrap().is_none());
        assert!(root.get("b").unwrap().is_none());
    });
}

#[test]
fn comment_keys_never_match() {
    for key in ["@comment", "$schema", "_x", "#y"] {
        assert!(is_comment_key(key), "{key}");
    }
    for key in ["comment", "port", "a@b", ""] {
        assert!(!is_comment_key(key), "{key}");
    }
    with_root(r#"{"@comment": 1, "@comment": 2, "_port": "x"}"#, |root| {
        assert!(root.get("@comment").unwrap().is_none());
        assert!(root.get("port").unwrap().is_none());
    });
}

#[test]
fn a_key_given_twice_is_an_error() {
    let e = with_root(r#"{"x": {"port": 1, "port": 2}}"#, |root| {
        root.require("x")?.object()?.get("port").map(|_| ())
    })
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        r#"config error: x: the key "port" is given twice"#
    );
    let e = with_root(r#"{"N": 1, "n": 2}"#, |root| root.get_ci("n").map(|_| ())).unwrap_err();
    assert_eq!(
        e.to_string(),
        r#"config error: <config>: the key "n" is given twice (as "N" and "n")"#
    );
}

#[test]
fn case_insensitive_lookup_keeps_the_written_spelling_in_paths() {
    with_root(r#"{"s": {"tTl": "x"}}"#, |root| {
        let s = root.require("s").unwrap().object().unwrap();
        let node = s.get_ci("TTL").unwrap().expect("found");
        assert_eq!(node.path(), "s.tTl");
        assert!(s.get("TTL").unwrap().is_none(), "get is exact");
    });
}

#[test]
fn numbers_integers_and_ports() {
    with_root(
        r#"{"a": 1e7, "b": 10000000, "c": 10000000.5, "d": -3, "e": 1e300, "f": 1.5, "g": 70000, "h": 8080}"#,
        |root| {
            let n = |k: &str| root.require(k).unwrap();
            assert_eq!(n("a").integral(), Ok(10_000_000));
            assert_eq!(n("b").integral(), Ok(10_000_000));
            assert_eq!(n("b").int(), Ok(10_000_000));
            assert!(
                n("a")
                    .int()
                    .unwrap_err()
                    .to_string()
                    .ends_with("expected an integer, got a number (10000000)")
            );
            assert!(n("c").integral().is_err());
            assert_eq!(n("d").integral(), Ok(-3));
            assert!(n("e").integral().is_err());
            assert_eq!(n("f").f64(), Ok(1.5));
            assert_eq!(n("h").port(), Ok(8080));
            assert_eq!(
                n("g").port().unwrap_err().to_string(),
                "config error: g: must be a port number (0-65535), got 70000"
            );
            assert_eq!(
                n("d").port().unwrap_err().to_string(),
                "config error: d: must be a port number (0-65535), got -3"
            );
        },
    );
}

#[test]
fn positive_durations() {
    with_root(r#"{"a": "0s", "b": "1m30s"}"#, |root| {
        assert_eq!(
            root.require("b").unwrap().positive_duration(),
            Ok(Duration::from_secs(90))
        );
        let e = root.require("a").unwrap().positive_duration().unwrap_err();
        assert_eq!(e.to_string(), "config error: a: must be greater than 0");
    });
}

#[test]
fn control_characters_in_values_stay_on_one_line() {
    let e = with_root("{\"a\": \"x\\ny\"}", |root| root.require("a")?.int()).unwrap_err();
    assert_eq!(e.to_string().lines().count(), 1, "{e}");
}
