use std::num::NonZeroU64;

use proptest::prelude::*;

use super::*;

/// What a whole decode produced: the data, and where and how it ended.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    data: Vec<u8>,
    /// Bytes consumed when it finished, or `None` if it needs more input.
    end: Result<Option<usize>, ChunkedError>,
}

/// Feeds `input` revealed up to each of `cuts` (then whole), the way the glue does: the
/// unconsumed bytes are offered again, with more appended.
fn decode_with_cuts(input: &[u8], cuts: &[usize]) -> Outcome {
    let mut d = ChunkedDecoder::new();
    let mut data = Vec::new();
    let mut pos = 0;
    let mut ends: Vec<usize> = cuts.iter().map(|&c| c.min(input.len())).collect();
    ends.sort_unstable();
    ends.push(input.len());
    for end in ends {
        while pos < end {
            match d.decode(&input[pos..end]) {
                Err(e) => return Outcome { data, end: Err(e) },
                Ok(step) => {
                    assert!(step.consumed <= end - pos);
                    data.extend_from_slice(step.data);
                    pos += step.consumed;
                    if step.done {
                        assert!(d.is_done());
                        return Outcome {
                            data,
                            end: Ok(Some(pos)),
                        };
                    }
                    if step.consumed == 0 {
                        break;
                    }
                }
            }
        }
    }
    Outcome {
        data,
        end: Ok(None),
    }
}

fn decode(input: &[u8]) -> Outcome {
    decode_with_cuts(input, &[])
}

fn ok(data: &[u8], end: usize) -> Outcome {
    Outcome {
        data: data.to_vec(),
        end: Ok(Some(end)),
    }
}

fn err(input: &[u8]) -> ChunkedError {
    match decode(input).end {
        Err(e) => e,
        other => panic!(
            "expected an error for {:?}, got {other:?}",
            String::from_utf8_lossy(input)
        ),
    }
}

#[test]
fn decodes_a_simple_body() {
    let input = b"4\r\nWiki\r\n5\r\npedia\r\n0\r\n\r\n";
    assert_eq!(decode(input), ok(b"Wikipedia", input.len()));
}

#[test]
fn leaves_pipelined_bytes_unconsumed() {
    let input = b"3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\n";
    assert_eq!(decode(input), ok(b"abc", 13));
}

#[test]
fn accepts_hex_case_and_leading_zeros() {
    let input = b"000A\r\n0123456789\r\n0000\r\n\r\n";
    assert_eq!(decode(input), ok(b"0123456789", input.len()));
    let input = b"a\r\n0123456789\r\n0\r\n\r\n";
    assert_eq!(decode(input), ok(b"0123456789", input.len()));
}

#[test]
fn ignores_extensions() {
    let input = b"3;name=value;flag\r\nabc\r\n3 ; q=\"x y\"\r\ndef\r\n0;last\r\n\r\n";
    assert_eq!(decode(input), ok(b"abcdef", input.len()));
}

#[test]
fn drops_trailers() {
    let input = b"1\r\na\r\n0\r\nX-Checksum: 1\r\nX-Other: two words\r\n\r\n";
    assert_eq!(decode(input), ok(b"a", input.len()));
}

#[test]
fn empty_body() {
    assert_eq!(decode(LAST_CHUNK), ok(b"", 5));
}

#[test]
fn incomplete_input_asks_for_more() {
    for input in [
        &b""[..],
        b"4",
        b"4\r",
        b"4\r\nWi",
        b"4\r\nWiki\r",
        b"0\r\n",
        b"0\r\n\r",
        b"0\r\nX: y\r\n",
    ] {
        assert_eq!(
            decode(input).end,
            Ok(None),
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }
}

#[test]
fn size_errors() {
    assert_eq!(err(b"\r\n"), ChunkedError::InvalidSize);
    assert_eq!(err(b"x\r\n"), ChunkedError::InvalidSize);
    assert_eq!(err(b"-1\r\n"), ChunkedError::InvalidSize);
    assert_eq!(err(b"+1\r\n"), ChunkedError::InvalidSize);
    assert_eq!(err(b"0x5\r\n"), ChunkedError::InvalidSize);
    assert_eq!(err(b" 5\r\n"), ChunkedError::InvalidSize);
    assert_eq!(err(b"5 \r\n"), ChunkedError::InvalidSize);
    assert_eq!(err(b"5 x\r\n"), ChunkedError::InvalidSize);
    assert_eq!(err(b"5g\r\n"), ChunkedError::InvalidSize);
}

#[test]
fn size_is_bounded() {
    // 16 digits fit.
    assert_eq!(decode(b"ffffffffffffffff\r\nab").end, Ok(None));
    assert_eq!(decode(b"0000000000000001\r\na\r\n0\r\n\r\n").data, b"a");
    // 17 digits, even leading zeros, do not.
    assert_eq!(err(b"00000000000000001\r\n"), ChunkedError::SizeTooLong);
    assert_eq!(err(b"10000000000000000\r\n"), ChunkedError::SizeTooLong);
}

#[test]
fn line_endings_must_be_crlf() {
    assert_eq!(err(b"3\nabc\r\n0\r\n\r\n"), ChunkedError::BadLineEnding);
    assert_eq!(err(b"3\rabc"), ChunkedError::BadLineEnding);
    assert_eq!(err(b"3;x\nabc"), ChunkedError::BadLineEnding);
    assert_eq!(err(b"0\r\n\n"), ChunkedError::BadLineEnding);
    assert_eq!(err(b"0\r\n\rx"), ChunkedError::BadLineEnding);
    assert_eq!(err(b"0\r\nX: y\n\r\n"), ChunkedError::BadLineEnding);
    assert_eq!(err(b"0\r\nX: y\rz"), ChunkedError::BadLineEnding);
}

#[test]
fn data_must_be_followed_by_crlf() {
    assert_eq!(err(b"3\r\nabcd\r\n"), ChunkedError::MissingDataCrlf);
    assert_eq!(err(b"3\r\nabc\n0\r\n\r\n"), ChunkedError::MissingDataCrlf);
    assert_eq!(err(b"3\r\nabc\rx"), ChunkedError::MissingDataCrlf);
}

#[test]
fn extensions_are_bounded_and_checked() {
    let mut long = b"1;".to_vec();
    long.extend(std::iter::repeat_n(b'a', usize::from(MAX_EXTENSION_BYTES)));
    long.extend_from_slice(b"\r\nx\r\n0\r\n\r\n");
    assert_eq!(decode(&long).data, b"x");
    let mut too_long = b"1;".to_vec();
    too_long.extend(std::iter::repeat_n(
        b'a',
        usize::from(MAX_EXTENSION_BYTES) + 1,
    ));
    too_long.extend_from_slice(b"\r\n");
    assert_eq!(err(&too_long), ChunkedError::ExtensionTooLong);
    // Whitespace before ';' counts too.
    let mut spaces = b"1".to_vec();
    spaces.extend(std::iter::repeat_n(
        b' ',
        usize::from(MAX_EXTENSION_BYTES) + 1,
    ));
    assert_eq!(err(&spaces), ChunkedError::ExtensionTooLong);
    assert_eq!(err(b"1;a\x00b\r\n"), ChunkedError::InvalidExtension);
    assert_eq!(err(b"1;a\x7f\r\n"), ChunkedError::InvalidExtension);
}

#[test]
fn trailers_are_bounded_and_checked() {
    let mut d = ChunkedDecoder::with_max_trailer_bytes(8);
    // "X: 12\r\n" is 7 bytes: fits.
    let s = d.decode(b"0\r\nX: 12\r\n\r\n").unwrap();
    assert!(s.done);
    let mut d = ChunkedDecoder::with_max_trailer_bytes(8);
    assert_eq!(
        d.decode(b"0\r\nX: 1234\r\n\r\n"),
        Err(ChunkedError::TrailerTooLarge)
    );
    assert_eq!(err(b"0\r\nX: \x01\r\n\r\n"), ChunkedError::InvalidTrailer);
    let mut many = b"0\r\n".to_vec();
    while many.len() <= DEFAULT_MAX_TRAILER_BYTES + 10 {
        many.extend_from_slice(b"X-Trailer: value\r\n");
    }
    assert_eq!(err(&many), ChunkedError::TrailerTooLarge);
}

#[test]
fn errors_are_sticky() {
    let mut d = ChunkedDecoder::new();
    assert!(d.decode(b"x").is_err());
    assert_eq!(d.decode(b"0\r\n\r\n"), Err(ChunkedError::InvalidSize));
}

#[test]
fn done_decoder_consumes_nothing() {
    let mut d = ChunkedDecoder::new();
    assert!(d.decode(b"0\r\n\r\n").unwrap().done);
    let s = d.decode(b"1\r\na\r\n").unwrap();
    assert_eq!((s.consumed, s.done, s.data), (0, true, &b""[..]));
}

#[test]
fn every_single_split_gives_the_same_result() {
    let input = b"4;e=1\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nT: v\r\n\r\nNEXT";
    let whole = decode(input);
    assert_eq!(whole, ok(b"Wikipedia in\r\n\r\nchunks.", input.len() - 4));
    for cut in 0..=input.len() {
        assert_eq!(decode_with_cuts(input, &[cut]), whole, "cut at {cut}");
    }
    let every: Vec<usize> = (0..=input.len()).collect();
    assert_eq!(decode_with_cuts(input, &every), whole);
}

#[test]
fn one_data_slice_per_call_borrows_the_input() {
    let input = b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
    let mut d = ChunkedDecoder::new();
    let s = d.decode(input).unwrap();
    assert_eq!((s.data, s.consumed, s.done), (&b"abc"[..], 6, false));
    assert!(std::ptr::eq(s.data.as_ptr(), input[3..].as_ptr()));
    let s = d.decode(&input[6..]).unwrap();
    assert_eq!((s.data, s.consumed), (&b"de"[..], 7));
    let s = d.decode(&input[13..]).unwrap();
    assert_eq!((s.data, s.consumed, s.done), (&b""[..], 7, true));
}

#[test]
fn encoder_writes_canonical_framing() {
    let mut out = Vec::new();
    write_chunk(&mut out, b"hello");
    write_chunk(&mut out, b"");
    write_chunk(&mut out, &[b'x'; 26]);
    write_last_chunk(&mut out);
    let mut expected = b"5\r\nhello\r\n1a\r\n".to_vec();
    expected.extend_from_slice(&[b'x'; 26]);
    expected.extend_from_slice(b"\r\n0\r\n\r\n");
    assert_eq!(out, expected);

    let mut out = Vec::new();
    write_chunk_header(&mut out, NonZeroU64::new(0xabcdef).unwrap());
    assert_eq!(out, b"abcdef\r\n");
}

/// Encodes `body` cut into chunks of the given sizes (cycled), with optional extensions and
/// trailers.
fn encode(body: &[u8], sizes: &[usize], extensions: bool, trailers: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = body;
    let mut i = 0;
    while !rest.is_empty() {
        let n = sizes[i % sizes.len()].clamp(1, rest.len());
        i += 1;
        let (chunk, tail) = rest.split_at(n);
        if extensions {
            // Upper-case hex and an extension: not canonical, still valid.
            out.extend_from_slice(format!("{n:X};ext={i}").as_bytes());
            out.extend_from_slice(b"\r\n");
            out.extend_from_slice(chunk);
            out.extend_from_slice(b"\r\n");
        } else {
            write_chunk(&mut out, chunk);
        }
        rest = tail;
    }
    if trailers {
        out.extend_from_slice(b"0\r\nX-Trailer: yes\r\n\r\n");
    } else {
        write_last_chunk(&mut out);
    }
    out
}

proptest! {
    #[test]
    fn round_trips_random_bodies_chunks_and_splits(
        body in proptest::collection::vec(any::<u8>(), 0..2048),
        sizes in proptest::collection::vec(1usize..300, 1..8),
        cuts in proptest::collection::vec(0usize..2600, 0..12),
        extensions: bool,
        trailers: bool,
        tail in proptest::collection::vec(any::<u8>(), 0..16),
    ) {
        let mut input = encode(&body, &sizes, extensions, trailers);
        let framed = input.len();
        input.extend_from_slice(&tail);
        let got = decode_with_cuts(&input, &cuts);
        prop_assert_eq!(got, ok(&body, framed));
    }

    #[test]
    fn random_bytes_never_panic_and_splits_do_not_matter(
        input in proptest::collection::vec(any::<u8>(), 0..512),
        cuts in proptest::collection::vec(0usize..600, 0..8),
    ) {
        prop_assert_eq!(decode_with_cuts(&input, &cuts), decode(&input));
    }

    #[test]
    fn framing_like_noise_never_panics(
        parts in proptest::collection::vec(
            prop_oneof![
                Just(&b"\r\n"[..]), Just(&b"\n"[..]), Just(&b"\r"[..]), Just(&b"0"[..]),
                Just(&b"1"[..]), Just(&b"f"[..]), Just(&b";"[..]), Just(&b" "[..]),
                Just(&b"a"[..]), Just(&b"X: y"[..]), Just(&b"\0"[..]),
            ],
            0..64,
        ),
        cuts in proptest::collection::vec(0usize..256, 0..8),
    ) {
        let input = parts.concat();
        prop_assert_eq!(decode_with_cuts(&input, &cuts), decode(&input));
    }
}
