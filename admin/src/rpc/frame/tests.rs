use super::*;

#[test]
fn incomplete_until_the_whole_frame_is_there() {
    let mut frame = header(5).to_vec();
    frame.extend_from_slice(b"hello");
    for cut in 0..frame.len() {
        assert_eq!(
            decode_header(&frame[..cut]),
            Ok(Decoded::Incomplete),
            "{cut}"
        );
    }
    assert_eq!(decode_header(&frame), Ok(Decoded::Frame { len: 5 }));
    frame.extend_from_slice(b"next");
    assert_eq!(decode_header(&frame), Ok(Decoded::Frame { len: 5 }));
}

#[test]
fn oversized_and_foreign_headers_are_refused() {
    let mut huge = header(MAX_PAYLOAD + 1);
    assert_eq!(
        decode_header(&huge),
        Err(FrameError::TooLarge(MAX_PAYLOAD as u32 + 1))
    );
    huge = [0xff, 0xff, 0xff, 0xff, VERSION, 0, 0, 0];
    assert!(matches!(decode_header(&huge), Err(FrameError::TooLarge(_))));
    assert_eq!(
        decode_header(&[0, 0, 0, 0, 2, 0, 0, 0]),
        Err(FrameError::Version(2))
    );
    assert_eq!(
        decode_header(&[0, 0, 0, 0, VERSION, 0, 1, 0]),
        Err(FrameError::Version(VERSION))
    );
    // A gob client (KrakenD's RPC) or an HTTP client talking to the port is refused at once.
    assert!(decode_header(b"GET / HTTP/1.1\r\n").is_err());
}
