use super::*;

fn split(pieces: &[&[u8]], max: usize) -> Result<Vec<String>, LineTooLong> {
    let mut s = LineSplitter::new(max);
    let mut out = Vec::new();
    for p in pieces {
        s.feed(p, |l| out.push(String::from_utf8_lossy(l).into_owned()))?;
    }
    s.finish(|l| out.push(String::from_utf8_lossy(l).into_owned()))?;
    Ok(out)
}

#[test]
fn lf_crlf_blank_lines_and_a_last_line_without_newline() {
    let body: &[u8] = b"a\nb\r\n\n  \r\n\r\nc\nlast";
    assert_eq!(split(&[body], 100).unwrap(), ["a", "b", "c", "last"]);
    assert_eq!(split(&[b""], 100).unwrap(), Vec::<String>::new());
    assert_eq!(split(&[b"\n\n"], 100).unwrap(), Vec::<String>::new());
}

#[test]
fn every_split_point_gives_the_same_lines() {
    let body: &[u8] = b"jti-1\r\njti-22\n\r\njti-333\r\n\njti-4444";
    let whole = split(&[body], 100).unwrap();
    for a in 0..=body.len() {
        for b in a..=body.len() {
            let pieces = [&body[..a], &body[a..b], &body[b..]];
            assert_eq!(split(&pieces, 100).unwrap(), whole, "cuts {a} {b}");
        }
    }
    let bytewise: Vec<&[u8]> = body.chunks(1).collect();
    assert_eq!(split(&bytewise, 100).unwrap(), whole);
}

#[test]
fn a_line_over_the_limit_is_refused_wherever_it_is_cut() {
    assert_eq!(split(&[b"12345\n"], 5).unwrap(), ["12345"]);
    assert_eq!(split(&[b"12345\r\n"], 5).unwrap(), ["12345"]);
    assert_eq!(split(&[b"123", b"45\r", b"\n"], 5).unwrap(), ["12345"]);
    assert!(split(&[b"123456\n"], 5).is_err());
    assert!(split(&[b"123", b"456\n"], 5).is_err());
    assert!(split(&[b"123", b"456"], 5).is_err());
    assert!(split(&[b"ok\n", b"1234567"], 5).is_err());
    // Memory stays bounded: a long line fails before it is held.
    let mut s = LineSplitter::new(8);
    assert!(s.feed(&[b'x'; 1000], |_| {}).is_err());
}
