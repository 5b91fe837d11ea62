use super::*;

#[test]
fn parses_host_port_path() {
    let t = Target::parse("http://127.0.0.1:8080/api/v1?x=1").unwrap();
    assert_eq!(t.host, "127.0.0.1");
    assert_eq!(t.port, 8080);
    assert_eq!(t.authority, "127.0.0.1:8080");
    assert_eq!(t.path, "/api/v1?x=1");
    let t = Target::parse("http://example.com").unwrap();
    assert_eq!((t.port, t.path.as_str()), (80, "/"));
    let t = Target::parse("http://[::1]:9000?q").unwrap();
    assert_eq!(
        (t.host.as_str(), t.port, t.path.as_str()),
        ("::1", 9000, "/?q")
    );
    assert_eq!(t.url(), "http://[::1]:9000/?q");
}

#[test]
fn rejects_what_it_cannot_do() {
    assert!(matches!(
        Target::parse("https://x"),
        Err(TargetError::Scheme(_))
    ));
    for bad in [
        "http://",
        "http://:80/",
        "http://h:0/",
        "http://h:99999/",
        "http://[::1/",
        "http://u@h/",
        "http://h/a b",
    ] {
        assert!(
            matches!(Target::parse(bad), Err(TargetError::Malformed { .. })),
            "{bad}"
        );
    }
}

#[test]
fn resolves_localhost_addresses() {
    let t = Target::parse("http://127.0.0.1:1/").unwrap();
    assert_eq!(t.resolve().unwrap(), "127.0.0.1:1".parse().unwrap());
}
