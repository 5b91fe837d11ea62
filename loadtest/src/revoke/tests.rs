use super::*;
use crate::target::Target;

fn options(url: &str) -> RevokeOptions {
    RevokeOptions {
        url: Target::parse(url).unwrap(),
        api_key: "K".into(),
        batch: false,
        parallel: 2,
        wait: Duration::from_secs(1),
    }
}

#[test]
fn single_request_is_percent_encoded_under_the_base_path() {
    let req = single_request(&options("http://rs:8090/"), "a b/c");
    assert_eq!(
        req,
        b"POST /tokens/jti/a%20b%2Fc HTTP/1.1\r\nHost: rs:8090\r\nAuthorization: bearer K\r\nContent-Length: 0\r\n\r\n"
    );
    let req = single_request(&options("http://rs/admin/"), "x");
    assert!(req.starts_with(b"POST /admin/tokens/jti/x HTTP/1.1\r\n"));
}

#[test]
fn batch_request_has_one_line_per_jti() {
    let req = batch_request(&options("http://rs:8090"), &["a", "bb"]);
    let text = String::from_utf8(req).unwrap();
    assert!(text.starts_with("POST /tokens/jti HTTP/1.1\r\n"));
    assert!(text.contains("Content-Length: 5\r\n"));
    assert!(text.ends_with("\r\n\r\na\nbb\n"));
}

#[test]
fn percent_encoding_keeps_unreserved() {
    assert_eq!(percent_encode("Az09-._~"), "Az09-._~");
    assert_eq!(percent_encode("é"), "%C3%A9");
}
