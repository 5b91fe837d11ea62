use super::*;
use crate::http::parse_request;

fn with_head<R>(raw: &[u8], f: impl FnOnce(&Headers<'_>) -> R) -> R {
    let mut slots = HeaderSlots::new();
    let head = parse_request(raw, 64 * 1024, &mut slots).unwrap().unwrap();
    f(head.headers())
}

#[test]
fn fixed_hop_by_hop_names_in_any_case() {
    for name in [
        "Connection",
        "keep-alive",
        "PROXY-CONNECTION",
        "TE",
        "Trailer",
        "transfer-encoding",
        "Upgrade",
        "Proxy-Authenticate",
        "proxy-authorization",
    ] {
        assert!(is_hop_by_hop_name(name.as_bytes()), "{name}");
    }
    for name in [
        "Content-Type",
        "Authorization",
        "Cookie",
        "Trailers",
        "T",
        "Host",
    ] {
        assert!(!is_hop_by_hop_name(name.as_bytes()), "{name}");
    }
}

#[test]
fn names_listed_in_connection_are_hop_by_hop() {
    let raw = b"GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, X-Secret ,\r\n\
                Connection: x-other\r\nX-Secret: 1\r\nX-Other: 2\r\nX-Kept: 3\r\n\r\n";
    with_head(raw, |h| {
        assert!(h.is_hop_by_hop(b"x-secret"));
        assert!(h.is_hop_by_hop(b"X-OTHER"));
        assert!(h.is_hop_by_hop(b"Connection"));
        assert!(!h.is_hop_by_hop(b"X-Kept"));
        assert!(!h.is_hop_by_hop(b"X-Secre"));
    });
}

#[test]
fn get_is_case_insensitive_and_ordered() {
    let raw = b"GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\nx-a: 2\r\n\r\n";
    with_head(raw, |h| {
        assert_eq!(h.get("X-a"), Some(&b"1"[..]));
        assert_eq!(h.get_all("x-A").collect::<Vec<_>>(), vec![&b"1"[..], b"2"]);
        assert_eq!(h.get("missing"), None);
        assert_eq!(h.len(), 3);
        assert!(!h.is_empty());
        assert_eq!(h.as_slice().len(), h.iter().count());
        assert!(format!("{h:?}").contains("X-A"));
    });
}

#[test]
fn list_elements_trims_and_skips_empties() {
    let v: Vec<&[u8]> = list_elements(b" a ,,\tb\t, ,c").collect();
    assert_eq!(v, vec![&b"a"[..], b"b", b"c"]);
    assert!(list_contains(b"Close, Upgrade", b"close"));
    assert!(!list_contains(b"closed", b"close"));
    assert_eq!(list_elements(b"").count(), 0);
}

#[test]
fn trim_ows_edges() {
    assert_eq!(trim_ows(b""), b"");
    assert_eq!(trim_ows(b" \t "), b"");
    assert_eq!(trim_ows(b" a b "), b"a b");
}

#[test]
fn value_and_name_validity() {
    assert!(is_valid_value(b"a b\tc\x80"));
    assert!(is_valid_value(b""));
    for bad in [&b"a\rb"[..], b"a\nb", b"a\0", b"\x7f", b"\x1b"] {
        assert!(!is_valid_value(bad));
    }
    assert!(is_valid_name(b"X-User_ID.1"));
    for bad in [&b""[..], b"a b", b"a:b", b"a\r", b"\xff"] {
        assert!(!is_valid_name(bad));
    }
}
