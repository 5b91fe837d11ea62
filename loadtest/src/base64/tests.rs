use super::*;

#[test]
fn rfc4648_vectors_round_trip() {
    let cases: [(&[u8], &str); 7] = [
        (b"", ""),
        (b"f", "Zg"),
        (b"fo", "Zm8"),
        (b"foo", "Zm9v"),
        (b"foob", "Zm9vYg"),
        (b"fooba", "Zm9vYmE"),
        (b"foobar", "Zm9vYmFy"),
    ];
    for (plain, encoded) in cases {
        assert_eq!(encode_url(plain), encoded);
        assert_eq!(decode(encoded.as_bytes()).as_deref(), Ok(plain));
    }
}

#[test]
fn url_alphabet_and_standard_alphabet_both_decode() {
    assert_eq!(encode_url(&[0xfb, 0xff]), "-_8");
    assert_eq!(decode(b"-_8").as_deref(), Ok(&[0xfb, 0xff][..]));
    assert_eq!(decode(b"+/8=").as_deref(), Ok(&[0xfb, 0xff][..]));
    assert_eq!(decode(b"Zm9v\nYmFy\r\n").as_deref(), Ok(&b"foobar"[..]));
}

#[test]
fn garbage_is_an_error_not_a_panic() {
    assert_eq!(decode(b"Zm9v!"), Err(Base64Error(4)));
    assert!(decode(b"Z").is_err());
    assert!(decode(b"Zg==Zg").is_err());
}
