use super::*;

#[test]
fn the_right_key_passes_and_others_do_not() {
    let n = nonce();
    let mac = answer(b"secret", &n);
    assert!(verify(b"secret", &n, &mac));
    assert!(!verify(b"secreT", &n, &mac));
    let mut other = n;
    other[0] ^= 1;
    assert!(!verify(b"secret", &other, &mac));
    assert!(!verify(b"secret", &n, &mac[..31]));
    assert_ne!(nonce(), nonce());
}
