use super::*;

#[test]
fn length_body_stops_at_its_length() {
    let mut d = BodyDecoder::for_request(BodyFraming::Length(5));
    assert!(!d.is_done());
    let s = d.decode(b"abc").unwrap();
    assert_eq!((s.data, s.consumed, s.done), (&b"abc"[..], 3, false));
    let s = d.decode(b"deGET /").unwrap();
    assert_eq!((s.data, s.consumed, s.done), (&b"de"[..], 2, true));
    assert!(d.is_done());
    let s = d.decode(b"more").unwrap();
    assert_eq!((s.data, s.consumed, s.done), (&b""[..], 0, true));
    assert_eq!(d.eof(), Ok(()));
}

#[test]
fn no_body_is_done_at_once() {
    for framing in [BodyFraming::None, BodyFraming::Length(0)] {
        let mut d = BodyDecoder::for_request(framing);
        assert!(d.is_done());
        let s = d.decode(b"GET / HTTP/1.1").unwrap();
        assert_eq!((s.consumed, s.done), (0, true));
    }
    let d = BodyDecoder::for_response(ResponseFraming::None);
    assert!(d.is_done());
}

#[test]
fn truncated_bodies_are_errors_at_eof() {
    let mut d = BodyDecoder::for_request(BodyFraming::Length(5));
    d.decode(b"ab").unwrap();
    assert_eq!(d.eof(), Err(BodyError::Truncated));
    let mut d = BodyDecoder::for_request(BodyFraming::Chunked);
    d.decode(b"5\r\nab").unwrap();
    assert_eq!(d.eof(), Err(BodyError::Truncated));
}

#[test]
fn until_close_takes_everything_until_eof() {
    let mut d = BodyDecoder::for_response(ResponseFraming::UntilClose);
    let s = d.decode(b"abc").unwrap();
    assert_eq!((s.data, s.consumed, s.done), (&b"abc"[..], 3, false));
    assert!(!d.is_done());
    assert_eq!(d.eof(), Ok(()));
    assert!(d.is_done());
    let s = d.decode(b"x").unwrap();
    assert_eq!((s.data, s.consumed, s.done), (&b""[..], 0, true));
}

#[test]
fn chunked_errors_surface() {
    let mut d = BodyDecoder::for_request(BodyFraming::Chunked);
    assert_eq!(
        d.decode(b"zz\r\n"),
        Err(BodyError::Chunked(ChunkedError::InvalidSize))
    );
}

#[test]
fn request_framing_converts() {
    assert_eq!(
        ResponseFraming::from(BodyFraming::None),
        ResponseFraming::None
    );
    assert_eq!(
        ResponseFraming::from(BodyFraming::Length(3)),
        ResponseFraming::Length(3)
    );
    assert_eq!(
        ResponseFraming::from(BodyFraming::Chunked),
        ResponseFraming::Chunked
    );
}
