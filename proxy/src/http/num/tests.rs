use super::*;

fn dec(n: u64) -> String {
    let mut out = Vec::new();
    write_u64(&mut out, n);
    String::from_utf8(out).unwrap()
}

fn hex(n: u64) -> String {
    let mut out = Vec::new();
    write_hex(&mut out, n);
    String::from_utf8(out).unwrap()
}

#[test]
fn decimal_matches_std() {
    for n in [
        0,
        1,
        9,
        10,
        99,
        100,
        12345,
        u64::from(u32::MAX),
        u64::MAX - 1,
        u64::MAX,
    ] {
        assert_eq!(dec(n), n.to_string());
    }
}

#[test]
fn hex_matches_std() {
    for n in [0, 1, 0xf, 0x10, 0xabc, 0xdead_beef, u64::MAX] {
        assert_eq!(hex(n), format!("{n:x}"));
    }
}

#[test]
fn appends_without_clearing() {
    let mut out = b"x=".to_vec();
    write_u64(&mut out, 42);
    assert_eq!(out, b"x=42");
}

#[test]
fn parse_decimal_is_strict() {
    assert_eq!(parse_decimal(b"0"), Some(0));
    assert_eq!(parse_decimal(b"007"), Some(7));
    assert_eq!(parse_decimal(b"18446744073709551615"), Some(u64::MAX));
    for bad in [
        &b""[..],
        b"18446744073709551616",
        b"+1",
        b"-1",
        b" 1",
        b"1 ",
        b"1,1",
        b"0x10",
        b"1e3",
    ] {
        assert_eq!(
            parse_decimal(bad),
            None,
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
}

proptest::proptest! {
    #[test]
    fn decimal_round_trips(n: u64) {
        let mut out = Vec::new();
        write_u64(&mut out, n);
        proptest::prop_assert_eq!(parse_decimal(&out), Some(n));
    }

    #[test]
    fn hex_matches_std_for_all(n: u64) {
        proptest::prop_assert_eq!(hex(n), format!("{n:x}"));
    }
}
