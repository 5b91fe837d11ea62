use super::*;
use crate::rpc::frame::{Decoded, decode_header};

fn round_trip_request(request: &Request) -> Request {
    let mut out = AlignedVec::new();
    encode(request, &mut out);
    let Ok(Decoded::Frame { len }) = decode_header(&out) else {
        panic!("not a frame")
    };
    let archived = read_request(&out[HEADER_LEN..HEADER_LEN + len]).unwrap();
    rkyv::deserialize::<Request, rancor::Error>(archived).unwrap()
}

#[test]
fn requests_round_trip() {
    for request in [
        Request::Hello { mac: [7; 32] },
        Request::Add {
            id: 1,
            keys: vec![b"jti-a".to_vec(), b"sub-b".to_vec()],
        },
        Request::Check {
            id: 2,
            keys: vec![],
        },
        Request::Sync {
            id: 3,
            total: 10,
            offset: 4,
            bytes: vec![1, 2, 3],
        },
        Request::Status { id: 4 },
    ] {
        assert_eq!(round_trip_request(&request), request);
    }
}

#[test]
fn two_frames_in_one_buffer_stay_readable() {
    let mut out = AlignedVec::new();
    encode(&Response::Welcome, &mut out);
    let first = out.len();
    encode(
        &Response::Checked {
            id: 9,
            hits: vec![true, false],
        },
        &mut out,
    );
    let Ok(Decoded::Frame { len }) = decode_header(&out[first..]) else {
        panic!()
    };
    let archived = read_response(&out[first + HEADER_LEN..first + HEADER_LEN + len]).unwrap();
    let response: Response = rkyv::deserialize::<Response, rancor::Error>(archived).unwrap();
    assert_eq!(
        response,
        Response::Checked {
            id: 9,
            hits: vec![true, false]
        }
    );
}

#[test]
fn garbage_payloads_are_errors_not_panics() {
    let mut seed = 1u64;
    for len in 0..600 {
        let mut payload = AlignedVec::<16>::new();
        for _ in 0..len {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            payload.push((seed >> 56) as u8);
        }
        let _ = read_request(&payload);
        let _ = read_response(&payload);
    }
    // Every truncation and bit flip of a valid request.
    let mut valid = AlignedVec::new();
    encode(
        &Request::Add {
            id: 5,
            keys: vec![b"jti-x".to_vec(); 3],
        },
        &mut valid,
    );
    let payload = &valid[HEADER_LEN..];
    for cut in 0..payload.len() {
        let mut copy = AlignedVec::<16>::new();
        copy.extend_from_slice(&payload[..cut]);
        let _ = read_request(&copy);
    }
    for bit in 0..payload.len() * 8 {
        let mut copy = AlignedVec::<16>::new();
        copy.extend_from_slice(payload);
        copy[bit / 8] ^= 1 << (bit % 8);
        let _ = read_request(&copy);
    }
}
