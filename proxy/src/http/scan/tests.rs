use super::*;

#[test]
fn finds_crlf_terminator() {
    let mut s = HeadScanner::new();
    assert!(s.find_end(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
}

#[test]
fn finds_bare_lf_terminator() {
    let mut s = HeadScanner::new();
    assert!(s.find_end(b"GET / HTTP/1.1\nHost: a\n\n"));
}

#[test]
fn incomplete_heads_are_not_ended() {
    let mut s = HeadScanner::new();
    assert!(!s.find_end(b"GET / HTTP/1.1\r\nHost: a\r\n"));
    assert!(!s.find_end(b"GET / HTTP/1.1\r\nHost: a\r\n\r"));
}

#[test]
fn byte_by_byte_growth_finds_the_end_exactly_when_complete() {
    let full = b"GET / HTTP/1.1\r\nHost: a\r\nX: y\r\n\r\nBODY";
    let end = full.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let mut s = HeadScanner::new();
    for n in 0..=full.len() {
        let found = s.find_end(&full[..n]);
        assert_eq!(found, n == end, "at {n}");
        if found {
            break;
        }
    }
}

#[test]
fn leading_empty_lines_are_not_a_terminator() {
    let buf = b"\r\n\r\n\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";
    let mut s = HeadScanner::new();
    assert!(!s.find_end(&buf[..6]));
    assert!(!s.find_end(&buf[..12]));
    assert!(s.find_end(buf));
    // Reported once.
    assert!(!s.find_end(buf));
}

#[test]
fn reset_starts_over() {
    let mut s = HeadScanner::new();
    assert!(s.find_end(b"A\r\n\r\n"));
    assert!(!s.find_end(b"A\r\n\r\n"));
    s.reset();
    assert!(s.find_end(b"A\r\n\r\n"));
}

#[test]
fn a_shrunk_buffer_does_not_panic() {
    let mut s = HeadScanner::new();
    assert!(!s.find_end(b"GET / HTTP/1.1\r\nHost: aaaaaaaaa"));
    assert!(!s.find_end(b"G"));
}
