use super::{ParsedUrl, Scheme, parse_url};

fn ok(input: &str, default_http: bool) -> ParsedUrl {
    parse_url(input, default_http).unwrap_or_else(|e| panic!("{input}: {e}"))
}

#[test]
fn schemes_ports_and_paths() {
    let u = ok("http://api.example.com", false);
    assert_eq!(
        (u.scheme, u.host.as_str(), u.port, u.path.as_str()),
        (Scheme::Http, "api.example.com", 80, "")
    );
    let u = ok("HTTPS://Example.COM:8443/a/b?c=d", false);
    assert_eq!(
        (u.scheme, u.host.as_str(), u.port, u.path.as_str()),
        (Scheme::Https, "example.com", 8443, "/a/b?c=d")
    );
    assert_eq!(u.authority, "example.com:8443");
    let u = ok("https://h", false);
    assert_eq!(u.port, 443);
    let u = ok("fake_api", true);
    assert_eq!(
        (u.scheme, u.host.as_str(), u.port),
        (Scheme::Http, "fake_api", 80)
    );
    let u = ok("127.0.0.1:8081", true);
    assert_eq!(
        (u.host.as_str(), u.port, u.authority.as_str()),
        ("127.0.0.1", 8081, "127.0.0.1:8081")
    );
    let u = ok("http://[::1]:9000/", false);
    assert_eq!(
        (
            u.host.as_str(),
            u.port,
            u.path.as_str(),
            u.authority.as_str()
        ),
        ("::1", 9000, "/", "[::1]:9000")
    );
    let u = ok("http://[fe80::1]", false);
    assert_eq!((u.host.as_str(), u.port), ("fe80::1", 80));
    let u = ok("http://h?x=1", false);
    assert_eq!(u.path, "?x=1");
}

#[test]
fn bad_urls_are_refused_with_a_reason() {
    let cases = [
        ("", true, "must not be empty"),
        ("ftp://h", true, "unsupported scheme \"ftp\""),
        ("h", false, "is not an absolute URL"),
        ("http://", true, "no host"),
        ("http://:80", true, "no host"),
        ("http://h:", true, "is not a port number"),
        ("http://h:0", true, "is not a port number"),
        ("http://h:65536", true, "is not a port number"),
        ("http://h:+80", true, "is not a port number"),
        ("http://h:80:90", true, "is not a port number"),
        ("http://u:p@h", true, "user info"),
        ("http://h/#frag", true, "fragment"),
        ("http://h x", true, "whitespace"),
        ("http://h\n", true, "whitespace"),
        ("http://[::1", true, "unclosed ["),
        ("http://[nope]", true, "is not an IPv6 address"),
        ("http://[::1]x", true, "unexpected characters after ]"),
        ("http://h%41", true, "is not a valid host name"),
        ("http://hé", true, "is not a valid host name"),
    ];
    for (input, default_http, want) in cases {
        let e = parse_url(input, default_http).expect_err(input);
        assert!(e.contains(want), "{input:?}: {e:?} should contain {want:?}");
    }
}
