use proptest::prelude::*;

use super::*;

fn dec(s: &str) -> Result<Vec<u8>, Base64Error> {
    let mut out = [0u8; 64];
    decode(s.as_bytes(), &mut out).map(|n| out[..n].to_vec())
}

fn enc(b: &[u8]) -> String {
    let mut out = Vec::new();
    encode(b, &mut out);
    String::from_utf8(out).expect("ascii")
}

#[test]
fn rfc4648_vectors_without_padding() {
    for (plain, text) in [
        ("", ""),
        ("f", "Zg"),
        ("fo", "Zm8"),
        ("foo", "Zm9v"),
        ("foob", "Zm9vYg"),
        ("fooba", "Zm9vYmE"),
        ("foobar", "Zm9vYmFy"),
    ] {
        assert_eq!(dec(text).as_deref(), Ok(plain.as_bytes()), "{text}");
        assert_eq!(enc(plain.as_bytes()), text);
    }
}

#[test]
fn url_alphabet_only() {
    assert_eq!(dec("-_8").as_deref(), Ok(&[0xfb, 0xff][..]));
    assert_eq!(dec("+/8"), Err(Base64Error::InvalidByte));
    assert_eq!(dec("Zg=="), Err(Base64Error::InvalidByte));
    assert_eq!(dec("Zm9v\n"), Err(Base64Error::InvalidLength));
    assert_eq!(dec("Zm 9"), Err(Base64Error::InvalidByte));
    assert_eq!(dec("Zm9\u{e9}"), Err(Base64Error::InvalidLength));
}

#[test]
fn lone_sextet_is_refused() {
    assert_eq!(dec("Z"), Err(Base64Error::InvalidLength));
    assert_eq!(dec("Zm9vY"), Err(Base64Error::InvalidLength));
}

#[test]
fn non_canonical_trailing_bits_are_refused() {
    // "Zg" is canonical for "f"; "Zh" has a stray low bit.
    assert_eq!(dec("Zh"), Err(Base64Error::NonCanonical));
    assert_eq!(dec("Zm8"), Ok(b"fo".to_vec()));
    assert_eq!(dec("Zm9"), Err(Base64Error::NonCanonical));
}

#[test]
fn output_too_small() {
    let mut out = [0u8; 2];
    assert_eq!(decode(b"Zm9v", &mut out), Err(Base64Error::TooLong));
    assert_eq!(decoded_len(4), Some(3));
    assert_eq!(decoded_len(7), Some(5));
    assert_eq!(decoded_len(5), None);
}

proptest! {
    #[test]
    fn round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..48)) {
        let text = enc(&bytes);
        prop_assert_eq!(dec(&text), Ok(bytes));
    }

    #[test]
    fn never_panics_and_only_canonical_texts_decode(text in "[A-Za-z0-9_=+/ -]{0,40}") {
        if let Ok(bytes) = dec(&text) {
            prop_assert_eq!(enc(&bytes), text);
        }
    }
}
