use rkyv::util::AlignedVec;

use super::*;
use crate::rpc::message::{self, Response};

fn frames(responses: &[Response]) -> Vec<u8> {
    let mut out = AlignedVec::<16>::new();
    for r in responses {
        message::encode(r, &mut out);
    }
    out.to_vec()
}

#[test]
fn frames_split_across_reads_come_out_whole_and_in_order() {
    let bytes = frames(&[
        Response::Welcome,
        Response::Added {
            id: 7,
            count: 3,
            new: 2,
        },
        Response::Checked {
            id: 8,
            hits: vec![true, false],
        },
    ]);
    for step in [1, 3, 7, 64] {
        let mut reader = FrameReader::new();
        let mut seen = Vec::new();
        for piece in bytes.chunks(step) {
            let space = reader.space();
            space[..piece.len()].copy_from_slice(piece);
            reader.filled(piece.len());
            while let Some(len) = reader.ready().unwrap() {
                seen.push(reader.take(len, response_name).unwrap());
            }
        }
        assert_eq!(seen, ["welcome", "added", "checked"], "step {step}");
    }
}

#[test]
fn a_foreign_header_is_an_error() {
    let mut reader = FrameReader::new();
    let bad = [0u8, 0, 0, 0, 9, 0, 0, 0];
    reader.space()[..8].copy_from_slice(&bad);
    reader.filled(8);
    assert!(reader.ready().is_err());
}

#[test]
fn key_runs_bound_frame_size_and_keep_order() {
    let keys: Vec<Vec<u8>> = (0..40_000)
        .map(|i| format!("jti-{i:020}").into_bytes())
        .collect();
    let runs: Vec<&[Vec<u8>]> = key_runs(&keys).collect();
    assert!(runs.len() > 1);
    for run in &runs {
        let bytes: usize = run.iter().map(|k| k.len() + KEY_OVERHEAD).sum();
        assert!(bytes <= KEYS_BYTES_PER_FRAME);
    }
    let joined: Vec<&Vec<u8>> = runs.iter().flat_map(|r| r.iter()).collect();
    assert_eq!(joined.len(), keys.len());
    let huge = vec![vec![0u8; KEYS_BYTES_PER_FRAME * 2]];
    assert_eq!(key_runs(&huge).count(), 1);
    assert_eq!(key_runs::<Vec<u8>>(&[]).count(), 0);
}
