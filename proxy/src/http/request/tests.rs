use proptest::prelude::*;

use super::*;
use crate::http::MAX_HEADERS;

const MAX: usize = 64 * 1024;

fn parse(raw: &[u8]) -> Result<Option<RequestHead<'_>>, HeadError> {
    parse_request(raw, MAX, crate::http::headers::leaked_slots())
}

fn head(raw: &[u8]) -> RequestHead<'_> {
    match parse(raw) {
        Ok(Some(h)) => h,
        other => panic!("{:?}: {other:?}", String::from_utf8_lossy(raw)),
    }
}

fn bad(raw: &[u8]) -> BadRequestReason {
    match parse(raw) {
        Err(HeadError::BadRequest(r)) => r,
        other => panic!(
            "{:?}: expected 400, got {other:?}",
            String::from_utf8_lossy(raw)
        ),
    }
}

fn error(raw: &[u8]) -> HeadError {
    match parse(raw) {
        Err(e) => e,
        other => panic!(
            "{:?}: expected an error, got {other:?}",
            String::from_utf8_lossy(raw)
        ),
    }
}

// ---- the happy path ----

#[test]
fn parses_a_simple_get() {
    let raw = b"GET /a/b?x=1&y HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n";
    let h = head(raw);
    assert_eq!(h.method(), Method::Get);
    assert_eq!(h.method_bytes(), b"GET");
    assert_eq!(h.target(), b"/a/b?x=1&y");
    assert_eq!(h.path(), b"/a/b");
    assert_eq!(h.query(), Some(&b"x=1&y"[..]));
    assert_eq!(h.version(), Version::Http11);
    assert_eq!(h.version().minor(), 1);
    assert_eq!(h.head_len(), raw.len());
    assert_eq!(h.framing(), BodyFraming::None);
    assert!(h.keep_alive());
    assert_eq!(h.host(), Some(&b"example.com"[..]));
    assert!(!h.expect_continue());
    assert_eq!(h.headers().len(), 2);
    assert_eq!(h.header_iter().count(), 2);
}

#[test]
fn head_len_excludes_the_body_and_pipelined_requests() {
    let raw = b"POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\n";
    let h = head(raw);
    assert_eq!(&raw[h.head_len()..h.head_len() + 5], b"hello");
    assert_eq!(h.framing(), BodyFraming::Length(5));
}

#[test]
fn query_edge_cases() {
    assert_eq!(head(b"GET /a HTTP/1.1\r\nHost: a\r\n\r\n").query(), None);
    assert_eq!(
        head(b"GET /a? HTTP/1.1\r\nHost: a\r\n\r\n").query(),
        Some(&b""[..])
    );
    let h = head(b"GET /a?b?c HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!((h.path(), h.query()), (&b"/a"[..], Some(&b"b?c"[..])));
    assert_eq!(
        head(b"GET /%2F%20x HTTP/1.1\r\nHost: a\r\n\r\n").path(),
        b"/%2F%20x"
    );
}

#[test]
fn methods_are_classified_case_sensitively() {
    for (token, m) in [
        ("GET", Method::Get),
        ("HEAD", Method::Head),
        ("POST", Method::Post),
        ("PUT", Method::Put),
        ("PATCH", Method::Patch),
        ("DELETE", Method::Delete),
        ("OPTIONS", Method::Options),
        ("TRACE", Method::Trace),
        ("PROPFIND", Method::Other),
        ("get", Method::Other),
    ] {
        let raw = format!("{token} / HTTP/1.1\r\nHost: a\r\n\r\n");
        let h = head(raw.as_bytes());
        assert_eq!(h.method(), m, "{token}");
        assert_eq!(h.method_bytes(), token.as_bytes());
    }
}

#[test]
fn method_names_from_config() {
    assert_eq!(Method::from_config_name("get"), Some(Method::Get));
    assert_eq!(Method::from_config_name("Delete"), Some(Method::Delete));
    assert_eq!(Method::from_config_name("FETCH"), None);
    assert_eq!(Method::from_config_name("VERYLONGMETHOD"), None);
    assert_eq!(Method::Patch.as_str(), Some("PATCH"));
    assert_eq!(Method::Other.as_str(), None);
}

#[test]
fn keep_alive_rules() {
    let ka = |raw: &[u8]| head(raw).keep_alive();
    assert!(ka(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
    assert!(!ka(
        b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
    ));
    assert!(!ka(
        b"GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, CLOSE\r\n\r\n"
    ));
    assert!(!ka(
        b"GET / HTTP/1.1\r\nHost: a\r\nConnection: x\r\nConnection: close\r\n\r\n"
    ));
    assert!(!ka(b"GET / HTTP/1.0\r\n\r\n"));
    assert!(ka(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"));
    assert!(!ka(
        b"GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n"
    ));
}

#[test]
fn http10_without_host_is_fine() {
    let h = head(b"GET / HTTP/1.0\r\n\r\n");
    assert_eq!(h.version(), Version::Http10);
    assert_eq!(h.host(), None);
}

#[test]
fn expect_continue() {
    assert!(
        head(b"PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n")
            .expect_continue()
    );
    // HTTP/1.0: ignored, whatever it says.
    let h = head(b"PUT / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n");
    assert!(!h.expect_continue());
    assert!(parse(b"PUT / HTTP/1.0\r\nExpect: magic\r\n\r\n").is_ok());
    assert_eq!(
        error(b"PUT / HTTP/1.1\r\nHost: a\r\nExpect: magic\r\n\r\n"),
        HeadError::ExpectationFailed
    );
}

#[test]
fn absolute_form_takes_path_and_authority() {
    let h = head(b"GET http://backend.example:8080/x/y?q=1 HTTP/1.1\r\nHost: ignored\r\n\r\n");
    assert_eq!(h.path(), b"/x/y");
    assert_eq!(h.query(), Some(&b"q=1"[..]));
    assert_eq!(h.host(), Some(&b"backend.example:8080"[..]));
    let h = head(b"GET HTTPS://a.example HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!((h.path(), h.query()), (&b"/"[..], None));
    let h = head(b"GET http://a.example?x HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!((h.path(), h.query()), (&b"/"[..], Some(&b"x"[..])));
}

#[test]
fn leading_empty_lines_are_skipped_and_counted() {
    let raw = b"\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";
    assert_eq!(head(raw).head_len(), raw.len());
}

#[test]
fn incomplete_heads_ask_for_more() {
    let raw = b"GET /a HTTP/1.1\r\nHost: a\r\nX: y\r\n\r\n";
    for n in 0..raw.len() {
        assert!(matches!(parse(&raw[..n]), Ok(None)), "at {n}");
    }
}

// ---- limits ----

#[test]
fn head_over_the_limit_is_431() {
    let raw = b"GET / HTTP/1.1\r\nHost: a\r\nX: 0123456789\r\n\r\n";
    let mut slots = HeaderSlots::new();
    assert!(parse_request(raw, raw.len(), &mut slots).unwrap().is_some());
    let mut slots = HeaderSlots::new();
    assert_eq!(
        parse_request(raw, raw.len() - 1, &mut slots).unwrap_err(),
        HeadError::HeaderTooLarge
    );
    // Incomplete and already at the limit: can only get larger.
    let partial = &raw[..20];
    let mut slots = HeaderSlots::new();
    assert!(parse_request(partial, 21, &mut slots).unwrap().is_none());
    let mut slots = HeaderSlots::new();
    assert_eq!(
        parse_request(partial, 20, &mut slots).unwrap_err(),
        HeadError::HeaderTooLarge
    );
}

#[test]
fn too_many_fields_is_431() {
    let mut raw = b"GET / HTTP/1.1\r\nHost: a\r\n".to_vec();
    for i in 0..MAX_HEADERS {
        raw.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
    }
    raw.extend_from_slice(b"\r\n");
    assert_eq!(error(&raw), HeadError::HeaderTooLarge);

    let mut raw = b"GET / HTTP/1.1\r\nHost: a\r\n".to_vec();
    for i in 0..MAX_HEADERS - 1 {
        raw.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
    }
    raw.extend_from_slice(b"\r\n");
    assert_eq!(head(&raw).headers().len(), MAX_HEADERS);
}

// ---- versions ----

#[test]
fn versions() {
    assert_eq!(
        error(b"GET / HTTP/2.0\r\nHost: a\r\n\r\n"),
        HeadError::VersionNotSupported
    );
    assert_eq!(
        error(b"GET / HTTP/1.2\r\nHost: a\r\n\r\n"),
        HeadError::VersionNotSupported
    );
    assert_eq!(
        error(b"GET / HTTP/0.9\r\n\r\n"),
        HeadError::VersionNotSupported
    );
    assert_eq!(
        error(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
        HeadError::VersionNotSupported
    );
    assert_eq!(
        bad(b"GET / HTTX/1.1\r\nHost: a\r\n\r\n"),
        BadRequestReason::InvalidVersion
    );
    assert_eq!(
        bad(b"GET / http/1.1\r\nHost: a\r\n\r\n"),
        BadRequestReason::InvalidVersion
    );
    assert_eq!(
        bad(b"GET / HTTP/x\r\nHost: a\r\n\r\n"),
        BadRequestReason::InvalidVersion
    );
    // HTTP/0.9 style request line without a version.
    assert!(matches!(error(b"GET /\r\n\r\n"), HeadError::BadRequest(_)));
}

// ---- request smuggling defences ----

#[test]
fn content_length_with_transfer_encoding_is_400() {
    assert_eq!(
        bad(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"),
        BadRequestReason::ContentLengthWithTransferEncoding
    );
    assert_eq!(
        bad(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"),
        BadRequestReason::ContentLengthWithTransferEncoding
    );
}

#[test]
fn differing_content_lengths_are_400_identical_ones_are_one() {
    assert_eq!(
        bad(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n"),
        BadRequestReason::ConflictingContentLength
    );
    let h = head(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\ncontent-length: 3\r\n\r\n");
    assert_eq!(h.framing(), BodyFraming::Length(3));
}

#[test]
fn malformed_content_length_is_400() {
    for value in [
        "",
        "-1",
        "+1",
        "1 2",
        "1,1",
        "3, 3",
        "0x10",
        "1e2",
        "abc",
        "18446744073709551616",
        "99999999999999999999999",
    ] {
        let raw = format!("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: {value}\r\n\r\n");
        assert_eq!(
            bad(raw.as_bytes()),
            BadRequestReason::InvalidContentLength,
            "{value:?}"
        );
    }
    let h = head(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length:  18446744073709551615 \r\n\r\n");
    assert_eq!(h.framing(), BodyFraming::Length(u64::MAX));
    let h = head(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(h.framing(), BodyFraming::Length(0));
}

#[test]
fn transfer_encoding_must_be_exactly_chunked() {
    let te = |value: &str| {
        let raw = format!("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: {value}\r\n\r\n");
        let mut slots = HeaderSlots::new();
        parse_request(raw.as_bytes(), MAX, &mut slots).map(|h| h.map(|h| h.framing()))
    };
    assert_eq!(te("chunked"), Ok(Some(BodyFraming::Chunked)));
    assert_eq!(te("Chunked"), Ok(Some(BodyFraming::Chunked)));
    assert_eq!(te(" chunked ,"), Ok(Some(BodyFraming::Chunked)));
    let not_final = Err(HeadError::BadRequest(BadRequestReason::ChunkedNotFinal));
    assert_eq!(te("gzip"), not_final);
    assert_eq!(te("identity"), not_final);
    assert_eq!(te("chunked, gzip"), not_final);
    assert_eq!(te("chunked, chunked"), not_final);
    assert_eq!(te("chunked;q=1"), not_final);
    assert_eq!(te("xchunked"), not_final);
    assert_eq!(te(""), not_final);
    assert_eq!(te(","), not_final);
    assert_eq!(te("gzip, chunked"), Err(HeadError::NotImplemented));
    assert_eq!(te("identity, chunked"), Err(HeadError::NotImplemented));
}

#[test]
fn two_transfer_encoding_fields_are_400() {
    assert_eq!(
        bad(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"),
        BadRequestReason::DuplicateTransferEncoding
    );
}

#[test]
fn transfer_encoding_in_http10_is_400() {
    assert_eq!(
        bad(b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"),
        BadRequestReason::TransferEncodingInHttp10
    );
}

#[test]
fn obs_fold_and_whitespace_before_colon_are_400() {
    assert_eq!(
        bad(b"GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n"),
        BadRequestReason::InvalidHeaderName
    );
    assert_eq!(
        bad(b"GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n\tb\r\n\r\n"),
        BadRequestReason::InvalidHeaderName
    );
    assert_eq!(
        bad(b"GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n"),
        BadRequestReason::InvalidHeaderName
    );
    assert_eq!(
        bad(b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length\t: 1\r\n\r\n"),
        BadRequestReason::InvalidHeaderName
    );
    assert_eq!(
        bad(b"GET / HTTP/1.1\r\n Host: a\r\n\r\n"),
        BadRequestReason::InvalidHeaderName
    );
    assert_eq!(
        bad(b"GET / HTTP/1.1\r\nHost: a\r\nNo-Colon\r\n\r\n"),
        BadRequestReason::InvalidHeaderName
    );
    assert_eq!(
        bad(b"GET / HTTP/1.1\r\nHost: a\r\nX(y): 1\r\n\r\n"),
        BadRequestReason::InvalidHeaderName
    );
}

#[test]
fn control_bytes_nul_and_bare_cr_are_400() {
    assert_eq!(
        bad(b"GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n"),
        BadRequestReason::InvalidHeaderValue
    );
    assert_eq!(
        bad(b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x1bb\r\n\r\n"),
        BadRequestReason::InvalidHeaderValue
    );
    assert_eq!(
        bad(b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x7fb\r\n\r\n"),
        BadRequestReason::InvalidHeaderValue
    );
    assert!(matches!(
        bad(b"GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n"),
        BadRequestReason::InvalidHeaderValue | BadRequestReason::InvalidNewLine
    ));
    assert!(matches!(
        bad(b"GET / HTTP/1.1\rHost: a\r\n\r\n"),
        BadRequestReason::InvalidNewLine | BadRequestReason::MalformedRequestLine
    ));
    assert_eq!(
        bad(b"GET /\0 HTTP/1.1\r\nHost: a\r\n\r\n"),
        BadRequestReason::MalformedRequestLine
    );
    assert_eq!(
        bad(b"GET /a\x01b HTTP/1.1\r\nHost: a\r\n\r\n"),
        BadRequestReason::MalformedRequestLine
    );
    assert_eq!(
        bad(b"G\0T / HTTP/1.1\r\nHost: a\r\n\r\n"),
        BadRequestReason::MalformedRequestLine
    );
    // Tabs and obs-text are legal in values.
    assert!(
        parse(b"GET / HTTP/1.1\r\nHost: a\r\nX: a\tb\xe9\r\n\r\n")
            .unwrap()
            .is_some()
    );
}

#[test]
fn bare_lf_is_400() {
    assert_eq!(
        bad(b"GET / HTTP/1.1\nHost: a\n\n"),
        BadRequestReason::BareLf
    );
    assert_eq!(
        bad(b"GET / HTTP/1.1\r\nHost: a\nX: y\r\n\r\n"),
        BadRequestReason::BareLf
    );
    assert_eq!(
        bad(b"GET / HTTP/1.1\r\nHost: a\r\n\n"),
        BadRequestReason::BareLf
    );
    assert_eq!(
        bad(b"\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"),
        BadRequestReason::BareLf
    );
}

#[test]
fn request_line_shapes() {
    assert_eq!(
        bad(b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n"),
        BadRequestReason::MalformedRequestLine
    );
    assert!(matches!(
        error(b"GET /  HTTP/1.1\r\nHost: a\r\n\r\n"),
        HeadError::BadRequest(_)
    ));
    assert!(matches!(
        error(b"GET / HTTP/1.1 \r\nHost: a\r\n\r\n"),
        HeadError::BadRequest(_)
    ));
    assert_eq!(
        bad(b" GET / HTTP/1.1\r\nHost: a\r\n\r\n"),
        BadRequestReason::MalformedRequestLine
    );
}

#[test]
fn targets() {
    for target in [
        "a/b",
        "*",
        "example.com:443",
        "ftp://a/b",
        "http:///x",
        "http://user@a/x",
        "http://a b/",
    ] {
        let raw = format!("GET {target} HTTP/1.1\r\nHost: a\r\n\r\n");
        assert!(
            matches!(parse(raw.as_bytes()), Err(HeadError::BadRequest(_))),
            "{target:?}"
        );
    }
    assert_eq!(
        bad(b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"),
        BadRequestReason::InvalidTarget
    );
    assert_eq!(
        bad(b"GET /a#frag HTTP/1.1\r\nHost: a\r\n\r\n"),
        BadRequestReason::InvalidTarget
    );
    assert_eq!(
        bad("GET /caf\u{e9} HTTP/1.1\r\nHost: a\r\n\r\n".as_bytes()),
        BadRequestReason::InvalidTarget
    );
    // `//` is an origin-form path (empty segments), not an authority.
    assert_eq!(head(b"GET //x HTTP/1.1\r\nHost: a\r\n\r\n").path(), b"//x");
}

#[test]
fn connect_is_405() {
    assert_eq!(
        error(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"),
        HeadError::MethodNotAllowed
    );
    assert_eq!(
        error(b"CONNECT / HTTP/1.1\r\nHost: a\r\n\r\n"),
        HeadError::MethodNotAllowed
    );
}

#[test]
fn host_rules() {
    assert_eq!(
        bad(b"GET / HTTP/1.1\r\n\r\n"),
        BadRequestReason::MissingHost
    );
    assert_eq!(
        bad(b"GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n"),
        BadRequestReason::DuplicateHost
    );
    assert_eq!(
        bad(b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n"),
        BadRequestReason::InvalidHost
    );
    assert_eq!(
        bad(b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"),
        BadRequestReason::InvalidHost
    );
    assert_eq!(
        bad(b"GET / HTTP/1.1\r\nHost: a\xff\r\n\r\n"),
        BadRequestReason::InvalidHost
    );
    assert_eq!(
        head(b"GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n").host(),
        Some(&b"[::1]:8080"[..])
    );
    // Empty Host is allowed (RFC 9112 §3.2) and stays empty.
    assert_eq!(
        head(b"GET / HTTP/1.1\r\nHost:\r\n\r\n").host(),
        Some(&b""[..])
    );
}

#[test]
fn every_head_error_closes_and_maps_to_its_status() {
    for (e, status) in [
        (HeadError::BadRequest(BadRequestReason::BareLf), 400),
        (HeadError::HeaderTooLarge, 431),
        (HeadError::MethodNotAllowed, 405),
        (HeadError::NotImplemented, 501),
        (HeadError::VersionNotSupported, 505),
        (HeadError::ExpectationFailed, 417),
    ] {
        assert!(e.must_close());
        assert_eq!(Reject::from(e).status(), status, "{e}");
    }
}

// ---- the incremental parser ----

#[test]
fn request_parser_handles_byte_by_byte_arrival() {
    let raw = b"GET /x HTTP/1.1\r\nHost: a\r\nX-Long: aaaaaaaaaaaaaaaaaaaa\r\n\r\nNEXT";
    let end = raw.len() - 4;
    let mut p = RequestParser::new(MAX);
    for n in 0..end {
        let mut slots = HeaderSlots::new();
        assert!(matches!(p.parse(&raw[..n], &mut slots), Ok(None)), "at {n}");
    }
    let mut slots = HeaderSlots::new();
    let h = p.parse(&raw[..end], &mut slots).unwrap().unwrap();
    assert_eq!(h.head_len(), end);
    // Ready for the next head.
    let mut slots = HeaderSlots::new();
    assert!(
        p.parse(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", &mut slots)
            .unwrap()
            .is_some()
    );
}

#[test]
fn request_parser_enforces_the_limit_without_a_terminator() {
    let mut p = RequestParser::new(32);
    let mut slots = HeaderSlots::new();
    assert!(
        p.parse(b"GET / HTTP/1.1\r\nX: aaaaaaaa", &mut slots)
            .unwrap()
            .is_none()
    );
    let mut slots = HeaderSlots::new();
    assert_eq!(
        p.parse(
            b"GET / HTTP/1.1\r\nX: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            &mut slots
        )
        .unwrap_err(),
        HeadError::HeaderTooLarge
    );
}

#[test]
fn request_parser_reports_errors_and_recovers() {
    let mut p = RequestParser::new(MAX);
    let mut slots = HeaderSlots::new();
    assert!(
        p.parse(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", &mut slots)
            .is_err()
    );
    let mut slots = HeaderSlots::new();
    assert!(
        p.parse(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", &mut slots)
            .unwrap()
            .is_some()
    );
    p.reset();
}

#[test]
fn request_parser_pipelining() {
    let raw = b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n";
    let mut p = RequestParser::new(MAX);
    let mut slots = HeaderSlots::new();
    let first = p.parse(raw, &mut slots).unwrap().unwrap();
    assert_eq!(first.path(), b"/1");
    let rest = &raw[first.head_len()..];
    let mut slots = HeaderSlots::new();
    let second = p.parse(rest, &mut slots).unwrap().unwrap();
    assert_eq!(second.path(), b"/2");
    assert_eq!(second.head_len(), rest.len());
}

#[test]
fn empty_input_is_incomplete() {
    assert!(matches!(parse(b""), Ok(None)));
    let mut slots = HeaderSlots::new();
    assert!(matches!(
        RequestParser::new(0).parse(b"", &mut slots),
        Err(HeadError::HeaderTooLarge)
    ));
}

#[test]
fn only_empty_lines_is_incomplete() {
    assert!(matches!(parse(b"\r\n\r\n\r\n"), Ok(None)));
}

// ---- properties ----

/// Parses through a `RequestParser`, revealing `raw` up to each cut in turn.
fn parse_with_cuts(raw: &[u8], cuts: &[usize], max: usize) -> Result<Option<usize>, HeadError> {
    let mut p = RequestParser::new(max);
    let mut ends: Vec<usize> = cuts.iter().map(|&c| c.min(raw.len())).collect();
    ends.sort_unstable();
    ends.push(raw.len());
    for end in ends {
        let mut slots = HeaderSlots::new();
        match p.parse(&raw[..end], &mut slots) {
            Ok(None) => {}
            Ok(Some(h)) => return Ok(Some(h.head_len())),
            Err(e) => return Err(e),
        }
    }
    Ok(None)
}

fn check_invariants(raw: &[u8], result: &Result<Option<RequestHead<'_>>, HeadError>) {
    if let Ok(Some(h)) = result {
        assert!(h.head_len() <= raw.len());
        assert!(h.path().starts_with(b"/"));
        assert!(h.head_len() <= MAX);
        assert_ne!(h.method(), Method::Connect);
        if h.version() == Version::Http11 {
            assert!(h.host().is_some());
        }
    }
}

const VALID: &[&[u8]] = &[
    b"GET /a/b?x=1 HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n",
    b"POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nConnection: keep-alive, x\r\n\r\nhello",
    b"PUT /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    b"GET http://a.example/x HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
];

fn mutate(base: &[u8], ops: &[(u8, usize, u8)]) -> Vec<u8> {
    let mut v = base.to_vec();
    for &(op, at, byte) in ops {
        let at = if v.is_empty() { 0 } else { at % (v.len() + 1) };
        match op % 4 {
            0 if at < v.len() => v[at] = byte,
            1 => v.insert(at, byte),
            2 if at < v.len() => {
                v.remove(at);
            }
            3 => {
                let piece: Vec<u8> = v[at..].iter().take(8).copied().collect();
                let mut spliced = v[..at].to_vec();
                spliced.extend_from_slice(&piece);
                spliced.extend_from_slice(&v[at..]);
                v = spliced;
            }
            _ => {}
        }
    }
    v
}

fn interesting_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        any::<u8>(),
        Just(b'\r'),
        Just(b'\n'),
        Just(b' '),
        Just(b':'),
        Just(b'\t'),
        Just(0u8),
        Just(b','),
        Just(b'/'),
        Just(b'?'),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_bytes_never_panic(raw in proptest::collection::vec(any::<u8>(), 0..1024)) {
        let r = parse(&raw);
        check_invariants(&raw, &r);
    }

    #[test]
    fn mutated_valid_requests_never_panic(
        base in 0..VALID.len(),
        ops in proptest::collection::vec((any::<u8>(), any::<usize>(), interesting_byte()), 1..8),
    ) {
        let raw = mutate(VALID[base], &ops);
        let r = parse(&raw);
        check_invariants(&raw, &r);
        let mut slots = HeaderSlots::new();
        let r = parse_request(&raw, 40, &mut slots);
        if let Ok(Some(h)) = &r {
            prop_assert!(h.head_len() <= 40);
        }
    }

    #[test]
    fn splits_do_not_change_the_outcome(
        base in 0..VALID.len(),
        ops in proptest::collection::vec((any::<u8>(), any::<usize>(), interesting_byte()), 0..4),
        cuts in proptest::collection::vec(0usize..200, 0..10),
    ) {
        let raw = mutate(VALID[base], &ops);
        let whole = parse_with_cuts(&raw, &[], MAX);
        prop_assert_eq!(parse_with_cuts(&raw, &cuts, MAX), whole);
    }

    #[test]
    fn valid_requests_parse_at_any_split(base in 0..VALID.len(), cuts in proptest::collection::vec(0usize..200, 0..10)) {
        let raw = VALID[base];
        let whole = parse(raw).unwrap().unwrap().head_len();
        prop_assert_eq!(parse_with_cuts(raw, &cuts, MAX), Ok(Some(whole)));
    }
}

// ---- fuzz regressions: each crash found by `proxy/fuzz` becomes a named test here ----

/// fuzz `request_head` crash-0b000dbe (`\t`): the stateless parser refuses at once, the
/// incremental one waits for a blank line (or the size limit) before running the full parser.
/// Deliberate: see `HeadScanner`; the fuzz oracle was corrected.
#[test]
fn regression_a_lone_tab_waits_for_a_blank_line() {
    assert_eq!(
        error(b"\t"),
        HeadError::BadRequest(BadRequestReason::MalformedRequestLine)
    );
    let mut p = RequestParser::new(MAX);
    let mut slots = HeaderSlots::new();
    assert!(matches!(p.parse(b"\t", &mut slots), Ok(None)));
    let mut slots = HeaderSlots::new();
    assert_eq!(
        p.parse(b"\t\r\n\r\n", &mut slots).unwrap_err(),
        HeadError::BadRequest(BadRequestReason::MalformedRequestLine)
    );
}

/// fuzz `request_head` crash-a3498de4 (`\n\nAU\xbf` revealed after 2 bytes): the scanner
/// reported the leading empty lines as a head end, so the outcome depended on the split. The
/// scanner now skips leading empty lines first.
#[test]
fn regression_leading_empty_lines_then_garbage_is_split_invariant() {
    let raw = b"\n\nAU\xbf";
    assert_eq!(
        parse_with_cuts(raw, &[2], MAX),
        parse_with_cuts(raw, &[], MAX)
    );
    let raw = b"\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";
    for cut in 0..raw.len() {
        assert_eq!(
            parse_with_cuts(raw, &[cut], MAX),
            Ok(Some(raw.len())),
            "cut {cut}"
        );
    }
}
