//! Chunked bodies from arbitrary bytes: decoding must never panic, must give the same data and
//! outcome however the input is split, and the data re-encoded canonically must decode back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use proxy::http::chunked::{ChunkedDecoder, ChunkedError, write_chunk, write_last_chunk};

#[derive(Debug, PartialEq)]
struct Outcome {
    data: Vec<u8>,
    end: Result<Option<usize>, ChunkedError>,
}

fn decode(input: &[u8], cuts: &[usize]) -> Outcome {
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

fuzz_target!(|data: &[u8]| {
    // The first four bytes pick split points.
    if data.len() < 4 {
        return;
    }
    let (cuts, input) = data.split_at(4);
    let cuts: Vec<usize> = cuts.iter().map(|&c| usize::from(c) * 3).collect();
    let whole = decode(input, &[]);
    assert_eq!(decode(input, &cuts), whole);

    // Re-encode what was decoded, in chunks of the first cut's size, and decode it back.
    let size = cuts[0].max(1);
    let mut encoded = Vec::new();
    for chunk in whole.data.chunks(size) {
        write_chunk(&mut encoded, chunk);
    }
    write_last_chunk(&mut encoded);
    let back = decode(&encoded, &cuts);
    assert_eq!(back.data, whole.data);
    assert_eq!(back.end, Ok(Some(encoded.len())));
});
