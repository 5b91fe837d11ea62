use super::*;
use crate::http::{HeaderSlots, parse_request};

fn extract_from(head: &str) -> Result<Vec<u8>, AuthReason> {
    let raw = format!("GET / HTTP/1.1\r\nHost: h\r\n{head}\r\n");
    let mut slots = HeaderSlots::new();
    let parsed = parse_request(raw.as_bytes(), 1 << 16, &mut slots)
        .expect("valid head")
        .expect("complete head");
    extract(&parsed, b"access_token").map(<[u8]>::to_vec)
}

#[test]
fn bearer_scheme_any_case_or_bare() {
    for head in [
        "Authorization: Bearer a.b.c\r\n",
        "Authorization: bearer a.b.c\r\n",
        "Authorization: BEARER   a.b.c\r\n",
        "authorization: a.b.c\r\n",
    ] {
        assert_eq!(extract_from(head), Ok(b"a.b.c".to_vec()), "{head:?}");
    }
    // "Bearer " alone, another scheme: the whole value (then refused as malformed).
    assert_eq!(
        extract_from("Authorization: Basic dXNlcjpwYXNz\r\n"),
        Ok(b"Basic dXNlcjpwYXNz".to_vec())
    );
    assert_eq!(
        extract_from("Authorization: Bearer\r\n"),
        Ok(b"Bearer".to_vec())
    );
}

#[test]
fn the_first_authorization_wins_and_blocks_the_cookie() {
    assert_eq!(
        extract_from("Authorization: Bearer x.y.z\r\nAuthorization: Bearer a.b.c\r\n"),
        Ok(b"x.y.z".to_vec())
    );
    assert_eq!(
        extract_from("Authorization: Bearer x.y.z\r\nCookie: access_token=a.b.c\r\n"),
        Ok(b"x.y.z".to_vec())
    );
}

#[test]
fn cookie_when_there_is_no_authorization() {
    assert_eq!(
        extract_from("Cookie: a=1; access_token=a.b.c; z=2\r\n"),
        Ok(b"a.b.c".to_vec())
    );
    assert_eq!(
        extract_from("Cookie: a=1\r\nCookie: access_token=\"a.b.c\"\r\n"),
        Ok(b"a.b.c".to_vec())
    );
    // An empty Authorization falls back to the cookie.
    assert_eq!(
        extract_from("Authorization: \r\nCookie: access_token=a.b.c\r\n"),
        Ok(b"a.b.c".to_vec())
    );
    // Names are exact.
    assert_eq!(
        extract_from("Cookie: Access_Token=a.b.c; xaccess_token=1\r\n"),
        Err(AuthReason::NoToken)
    );
    assert_eq!(
        extract_from("Cookie: access_token=\r\n"),
        Err(AuthReason::NoToken)
    );
    assert_eq!(extract_from(""), Err(AuthReason::NoToken));
}

#[test]
fn split_into_three_non_empty_parts() {
    let c = split(b"aa.bb.cc").expect("compact");
    assert_eq!(
        (c.header, c.payload, c.signature, c.signing_input),
        (&b"aa"[..], &b"bb"[..], &b"cc"[..], &b"aa.bb"[..])
    );
    for bad in [
        &b""[..],
        b"abc",
        b"a.b",
        b"a.b.",
        b".b.c",
        b"a..c",
        b"a.b.c.d",
        b"a.b.c.d.e",
        b"..",
    ] {
        assert_eq!(
            split(bad),
            Err(AuthReason::Malformed),
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
    let big = vec![b'a'; MAX_TOKEN_BYTES + 1];
    assert_eq!(split(&big), Err(AuthReason::TooLarge));
}
