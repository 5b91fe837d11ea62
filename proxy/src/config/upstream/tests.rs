use super::Upstream;
use crate::config::ErrorKind;

#[test]
fn hosts_get_http_and_port_80_by_default() {
    let u = Upstream::parse("fake_api", "host[0]").unwrap();
    assert_eq!(
        u,
        Upstream {
            host: "fake_api".into(),
            port: 80,
            host_header: "fake_api".into()
        }
    );
    assert_eq!(u.authority(), "fake_api:80");
    assert_eq!(u.to_string(), "http://fake_api:80");
    let u = Upstream::parse("http://127.0.0.1:8081", "host[0]").unwrap();
    assert_eq!(
        (u.host.as_str(), u.port, u.host_header.as_str()),
        ("127.0.0.1", 8081, "127.0.0.1:8081")
    );
    let u = Upstream::parse("http://showrss.info/", "host[0]").unwrap();
    assert_eq!(u.host_header, "showrss.info");
    let u = Upstream::parse("HTTP://[::1]:9000", "host[0]").unwrap();
    assert_eq!(u.authority(), "[::1]:9000");
}

#[test]
fn https_and_host_paths_are_unsupported_not_invalid() {
    let e =
        Upstream::parse("https://api.github.com", "endpoints[0].backend[0].host[0]").unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unsupported);
    assert_eq!(e.path, "endpoints[0].backend[0].host[0]");
    assert!(
        e.message.contains("https backends are not supported"),
        "{}",
        e.message
    );
    let e = Upstream::parse("http://h/base", "host[1]").unwrap_err();
    assert_eq!(
        (e.kind, e.path.as_str()),
        (ErrorKind::Unsupported, "host[1]")
    );
}

#[test]
fn garbage_hosts_are_invalid() {
    for bad in ["", "ftp://h", "http://h:0", "http://a b", "http://u@h"] {
        let e = Upstream::parse(bad, "host[0]").expect_err(bad);
        assert_eq!(e.kind, ErrorKind::Invalid, "{bad}");
    }
}
