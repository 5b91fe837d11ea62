use super::*;
use crate::jwt::testing::JwksServer;

#[test]
fn bodies_by_framing() {
    assert_eq!(
        body(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}").ok(),
        Some(b"{}".to_vec())
    );
    assert_eq!(
        body(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n{\r\n1\r\n}\r\n0\r\n\r\n")
            .ok(),
        Some(b"{}".to_vec())
    );
    assert_eq!(
        body(b"HTTP/1.0 200 OK\r\n\r\n{\"keys\":[]}").ok(),
        Some(b"{\"keys\":[]}".to_vec())
    );
    assert!(matches!(
        body(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"),
        Err(FetchError::Status(404))
    ));
    assert!(matches!(
        body(b"HTTP/1.1 301 Moved\r\nLocation: /x\r\nContent-Length: 0\r\n\r\n"),
        Err(FetchError::Status(301))
    ));
    assert!(matches!(
        body(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}"),
        Err(FetchError::Malformed(_))
    ));
    assert!(matches!(body(b"garbage"), Err(FetchError::Malformed(_))));
    assert!(matches!(
        body(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"),
        Err(FetchError::Malformed(_))
    ));
}

#[test]
fn plain_http() {
    let server = JwksServer::start(JwksServer::ok(r#"{"keys":[]}"#), false);
    let url = server.url(Scheme::Http, true);
    assert_eq!(
        fetch(&url, Duration::from_secs(5)).ok(),
        Some(br#"{"keys":[]}"#.to_vec())
    );
    assert_eq!(server.hits(), 1);
}

#[test]
fn https_without_verification_with_disable_jwk_security() {
    let server = JwksServer::start(JwksServer::ok(r#"{"keys":[]}"#), true);
    let url = server.url(Scheme::Https, true);
    assert_eq!(
        fetch(&url, Duration::from_secs(5)).ok(),
        Some(br#"{"keys":[]}"#.to_vec())
    );
}

#[test]
fn https_verifies_certificates_by_default() {
    let server = JwksServer::start(JwksServer::ok(r#"{"keys":[]}"#), true);
    let url = server.url(Scheme::Https, false);
    let error = fetch(&url, Duration::from_secs(5)).expect_err("self-signed must fail");
    assert!(error.to_string().contains("certificate"), "{error}");
}

#[test]
fn unreachable_and_silent_servers_fail_in_time() {
    // A port nobody listens on.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let server = JwksServer::start(String::new(), false);
    let mut url = server.url(Scheme::Http, true);
    url.port = closed;
    assert!(matches!(
        fetch(&url, Duration::from_secs(2)),
        Err(FetchError::Io(_))
    ));
    // A server that accepts and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    url.port = silent.local_addr().expect("addr").port();
    let started = Instant::now();
    assert!(matches!(
        fetch(&url, Duration::from_millis(300)),
        Err(FetchError::TimedOut(_))
    ));
    assert!(started.elapsed() < Duration::from_secs(2));
    drop(silent);
}
