use super::*;

#[test]
fn responses_are_read_from_the_status_line() {
    assert_eq!(
        parse_response(b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"),
        Some((201, &b""[..]))
    );
    assert_eq!(
        parse_response(b"HTTP/1.1 409 Conflict\r\n\r\n{\"error\":\"geometry\"}"),
        Some((409, &b"{\"error\":\"geometry\"}"[..]))
    );
    assert_eq!(parse_response(b"HTTP/1.1 201 Created\r\n"), None);
    assert_eq!(parse_response(b"SSH-2.0\r\n\r\n"), None);
    assert_eq!(parse_response(b"HTTP/1.1 abc x\r\n\r\n"), None);
    assert_eq!(parse_response(b""), None);
}

#[test]
fn escaping_keeps_the_body_json() {
    assert_eq!(json_escape("a\"b\\c\n"), "a\\\"b\\\\c\\u000a");
}
