use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::*;
use crate::http::{HeaderSlots, parse_request, parse_response};

fn s(v: &[u8]) -> &str {
    std::str::from_utf8(v).unwrap()
}

fn upstream(
    raw: &[u8],
    filter: &HeaderFilter,
    extra: &[(&[u8], &[u8])],
    f: impl FnOnce(&mut UpstreamRequest<'_>),
) -> String {
    let mut slots = HeaderSlots::new();
    let head = parse_request(raw, 64 * 1024, &mut slots).unwrap().unwrap();
    let mut req = UpstreamRequest {
        method: head.method_bytes(),
        path_and_query: b"/backend/path?x=1",
        authority: b"backend:8080",
        client: &head,
        filter,
        client_ip: b"10.0.0.9",
        extra,
        framing: head.framing(),
        close: false,
    };
    f(&mut req);
    let mut out = b"leftover|".to_vec();
    write_upstream_request(&mut out, &req);
    let text = s(&out).strip_prefix("leftover|").unwrap().to_owned();
    // Whatever it wrote must parse back as a valid request head.
    let mut slots = HeaderSlots::new();
    let back = parse_request(text.as_bytes(), 64 * 1024, &mut slots)
        .unwrap()
        .unwrap();
    assert_eq!(back.head_len(), text.len());
    text
}

#[test]
fn default_filter_forwards_content_type_only() {
    let raw = b"POST /in?q HTTP/1.1\r\nHost: gw.example\r\nContent-Type: application/json\r\n\
                Authorization: Bearer t\r\nCookie: c=1\r\nContent-Length: 2\r\n\r\n";
    let text = upstream(raw, &HeaderFilter::default(), &[], |_| {});
    assert_eq!(
        text,
        "POST /backend/path?x=1 HTTP/1.1\r\nHost: backend:8080\r\n\
         Content-Type: application/json\r\nX-Forwarded-For: 10.0.0.9\r\n\
         X-Forwarded-Host: gw.example\r\nContent-Length: 2\r\n\r\n"
    );
}

#[test]
fn all_filter_forwards_end_to_end_fields_and_appends_xff() {
    let raw = b"GET / HTTP/1.1\r\nHost: gw\r\nAccept: */*\r\nX-Forwarded-For: 1.1.1.1\r\n\
                Connection: keep-alive, X-Hop\r\nX-Hop: secret\r\nKeep-Alive: 5\r\nTE: trailers\r\n\
                Upgrade: websocket\r\nProxy-Authorization: basic x\r\nX-Forwarded-For: 2.2.2.2, 3.3.3.3\r\n\
                X-Forwarded-Host: spoofed\r\nExpect: 100-continue\r\nX-Keep: yes\r\n\r\n";
    let text = upstream(raw, &HeaderFilter::All, &[], |_| {});
    assert_eq!(
        text,
        "GET /backend/path?x=1 HTTP/1.1\r\nHost: backend:8080\r\nAccept: */*\r\nX-Keep: yes\r\n\
         X-Forwarded-For: 1.1.1.1, 2.2.2.2, 3.3.3.3, 10.0.0.9\r\nX-Forwarded-Host: gw\r\n\r\n"
    );
}

#[test]
fn a_filter_list_sets_xff_and_never_forwards_hop_by_hop() {
    let filter = HeaderFilter::from_names(["x-forwarded-for", "Connection", "X-Hop", "Accept"]);
    let raw = b"GET / HTTP/1.1\r\nHost: gw\r\nAccept: a\r\nX-Forwarded-For: 1.1.1.1\r\n\
                Connection: X-Hop\r\nX-Hop: h\r\n\r\n";
    let text = upstream(raw, &filter, &[], |_| {});
    assert_eq!(
        text,
        "GET /backend/path?x=1 HTTP/1.1\r\nHost: backend:8080\r\nAccept: a\r\n\
         X-Forwarded-For: 10.0.0.9\r\nX-Forwarded-Host: gw\r\n\r\n"
    );
}

#[test]
fn extra_fields_replace_client_fields_and_bad_ones_are_skipped() {
    let raw =
        b"GET / HTTP/1.1\r\nHost: gw\r\nX-User: forged\r\nx-user: again\r\nX-Other: o\r\n\r\n";
    let extra: &[(&[u8], &[u8])] = &[
        (b"X-User", b"alice"),
        (b"X-Evil", b"a\r\nInjected: 1"),
        (b"Bad Name", b"v"),
        (b"X-Empty", b""),
    ];
    let text = upstream(raw, &HeaderFilter::All, extra, |_| {});
    assert_eq!(
        text,
        "GET /backend/path?x=1 HTTP/1.1\r\nHost: backend:8080\r\nX-Other: o\r\n\
         X-Forwarded-For: 10.0.0.9\r\nX-Forwarded-Host: gw\r\nX-User: alice\r\nX-Empty: \r\n\r\n"
    );
}

#[test]
fn framing_is_re_emitted_never_copied() {
    let raw = b"PUT / HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n";
    let text = upstream(raw, &HeaderFilter::All, &[], |_| {});
    assert!(
        text.ends_with("Transfer-Encoding: chunked\r\n\r\n"),
        "{text}"
    );
    assert_eq!(text.matches("Transfer-Encoding").count(), 1);

    let raw = b"PUT / HTTP/1.1\r\nHost: gw\r\nContent-Length: 007\r\n\r\n";
    let text = upstream(raw, &HeaderFilter::All, &[], |_| {});
    assert!(text.ends_with("Content-Length: 7\r\n\r\n"), "{text}");

    // An empty POST says so; an empty GET says nothing.
    let raw = b"POST / HTTP/1.1\r\nHost: gw\r\n\r\n";
    assert!(upstream(raw, &HeaderFilter::All, &[], |_| {}).ends_with("Content-Length: 0\r\n\r\n"));
    let raw = b"GET / HTTP/1.1\r\nHost: gw\r\n\r\n";
    assert!(!upstream(raw, &HeaderFilter::All, &[], |_| {}).contains("Content-Length"));
}

#[test]
fn backend_method_close_and_http10_client() {
    let raw = b"GET / HTTP/1.0\r\n\r\n";
    let text = upstream(raw, &HeaderFilter::All, &[], |r| {
        r.method = b"POST";
        r.close = true;
    });
    assert_eq!(
        text,
        "POST /backend/path?x=1 HTTP/1.1\r\nHost: backend:8080\r\nX-Forwarded-For: 10.0.0.9\r\n\
         Content-Length: 0\r\nConnection: close\r\n\r\n"
    );
}

#[test]
fn header_filter_construction() {
    assert_eq!(HeaderFilter::from_names(["a", "*"]), HeaderFilter::All);
    let f = HeaderFilter::from_names(["X-Api-Key"]);
    assert!(f.allows(b"x-api-key"));
    assert!(f.allows(b"X-API-KEY"));
    assert!(!f.allows(b"x-api"));
    assert!(HeaderFilter::default().allows(b"content-type"));
    assert!(!HeaderFilter::from_names(Vec::<String>::new()).allows(b"content-type"));
}

#[test]
fn ip_text() {
    assert_eq!(
        IpText::new(IpAddr::V4(Ipv4Addr::new(192, 168, 0, 1))).as_bytes(),
        b"192.168.0.1"
    );
    assert_eq!(
        IpText::new("::ffff:1.2.3.4".parse().unwrap()).as_bytes(),
        b"1.2.3.4"
    );
    let long = IpAddr::V6(Ipv6Addr::new(
        0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xfffe,
    ));
    assert_eq!(s(IpText::new(long).as_bytes()), long.to_string());
    assert_eq!(format!("{:?}", IpText::new("::1".parse().unwrap())), "::1");
}

fn response(raw: &[u8], head: bool, client: Version, keep: bool) -> (String, bool) {
    let mut slots = HeaderSlots::new();
    let r = parse_response(raw, head, 64 * 1024, &mut slots)
        .unwrap()
        .unwrap();
    let framing = client_framing(r.framing(), client);
    let mut out = Vec::new();
    let kept = write_response_head(&mut out, &r, framing, client, keep);
    (s(&out).to_owned(), kept)
}

#[test]
fn response_head_drops_hop_by_hop_and_re_emits_length() {
    let raw = b"HTTP/1.1 201 Created\r\nContent-Type: a/b\r\nConnection: X-Internal\r\nX-Internal: 1\r\n\
                Keep-Alive: timeout=5\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nContent-Length: 3\r\n\r\n";
    let (text, kept) = response(raw, false, Version::Http11, true);
    assert!(kept);
    assert_eq!(
        text,
        "HTTP/1.1 201 Created\r\nContent-Type: a/b\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\
         Content-Length: 3\r\n\r\n"
    );
}

#[test]
fn until_close_becomes_chunked_for_http11_and_close_for_http10() {
    let raw = b"HTTP/1.0 200 OK\r\nContent-Type: t\r\n\r\n";
    let (text, kept) = response(raw, false, Version::Http11, true);
    assert!(kept);
    assert_eq!(
        text,
        "HTTP/1.1 200 OK\r\nContent-Type: t\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    let (text, kept) = response(raw, false, Version::Http10, true);
    assert!(!kept);
    assert_eq!(
        text,
        "HTTP/1.1 200 OK\r\nContent-Type: t\r\nConnection: close\r\n\r\n"
    );
}

#[test]
fn chunked_upstream() {
    let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n";
    let (text, kept) = response(raw, false, Version::Http11, false);
    assert!(!kept);
    assert_eq!(
        text,
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    let (text, _) = response(raw, false, Version::Http10, true);
    assert_eq!(text, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
}

#[test]
fn http10_client_kept_alive_is_told_so() {
    let raw = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    let (text, kept) = response(raw, false, Version::Http10, true);
    assert!(kept);
    assert_eq!(
        text,
        "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n"
    );
}

#[test]
fn bodiless_responses_keep_or_drop_content_length() {
    let (text, _) = response(
        b"HTTP/1.1 200 OK\r\nContent-Length: 42\r\n\r\n",
        true,
        Version::Http11,
        true,
    );
    assert_eq!(text, "HTTP/1.1 200 OK\r\nContent-Length: 42\r\n\r\n");
    let (text, _) = response(
        b"HTTP/1.1 304 Not Modified\r\nETag: x\r\nContent-Length: 42\r\n\r\n",
        false,
        Version::Http11,
        true,
    );
    assert_eq!(
        text,
        "HTTP/1.1 304 Not Modified\r\nETag: x\r\nContent-Length: 42\r\n\r\n"
    );
    let (text, _) = response(
        b"HTTP/1.1 204 No Content\r\nContent-Length: 42\r\n\r\n",
        false,
        Version::Http11,
        true,
    );
    assert_eq!(text, "HTTP/1.1 204 No Content\r\n\r\n");
    let (text, _) = response(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
        true,
        Version::Http11,
        true,
    );
    assert_eq!(text, "HTTP/1.1 200 OK\r\n\r\n");
}

#[test]
fn client_framing_table() {
    use ResponseFraming as R;
    assert_eq!(client_framing(R::None, Version::Http10), OutFraming::None);
    assert_eq!(
        client_framing(R::Length(4), Version::Http10),
        OutFraming::Length(4)
    );
    assert_eq!(
        client_framing(R::Chunked, Version::Http11),
        OutFraming::Chunked
    );
    assert_eq!(
        client_framing(R::UntilClose, Version::Http11),
        OutFraming::Chunked
    );
    assert_eq!(
        client_framing(R::Chunked, Version::Http10),
        OutFraming::Close
    );
    assert_eq!(
        client_framing(R::UntilClose, Version::Http10),
        OutFraming::Close
    );
}

#[test]
fn writers_reuse_the_buffer_without_reallocating() {
    let raw = b"GET / HTTP/1.1\r\nHost: gw\r\nAccept: */*\r\n\r\n";
    let mut slots = HeaderSlots::new();
    let head = parse_request(raw, 1024, &mut slots).unwrap().unwrap();
    let filter = HeaderFilter::All;
    let req = UpstreamRequest {
        method: b"GET",
        path_and_query: b"/x",
        authority: b"b:1",
        client: &head,
        filter: &filter,
        client_ip: b"1.2.3.4",
        extra: &[],
        framing: head.framing(),
        close: false,
    };
    let mut out = Vec::with_capacity(4096);
    let ptr = out.as_ptr();
    for _ in 0..100 {
        out.clear();
        write_upstream_request(&mut out, &req);
    }
    assert_eq!(out.as_ptr(), ptr);
}

/// The `request_head` fuzz oracle found that a client head with `MAX_HEADERS` fields, plus the
/// fields the gateway adds, is more than our own parser accepts: the writer keeps them all
/// (backends accept far more fields than 96).
#[test]
fn regression_a_full_head_is_written_with_the_fields_the_gateway_adds() {
    let mut raw = b"POST / HTTP/1.1\r\nHost: gw\r\n".to_vec();
    for i in 1..crate::http::MAX_HEADERS {
        raw.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
    }
    raw.extend_from_slice(b"\r\n");
    let mut slots = HeaderSlots::new();
    let head = parse_request(&raw, 64 * 1024, &mut slots).unwrap().unwrap();
    let filter = HeaderFilter::All;
    let extra: &[(&[u8], &[u8])] = &[(b"X-User", b"u")];
    let mut out = Vec::new();
    write_upstream_request(
        &mut out,
        &UpstreamRequest {
            method: b"POST",
            path_and_query: b"/",
            authority: b"b",
            client: &head,
            filter: &filter,
            client_ip: b"1.1.1.1",
            extra,
            framing: head.framing(),
            close: false,
        },
    );
    let text = s(&out);
    assert!(text.contains("X-95: v\r\nX-Forwarded-For: 1.1.1.1\r\nX-Forwarded-Host: gw\r\nX-User: u\r\nContent-Length: 0\r\n\r\n"), "{text}");
}
