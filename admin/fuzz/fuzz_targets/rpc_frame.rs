//! Any byte stream given to the RPC decoder: the frame header is checked, each whole frame's
//! payload validated as a request and as a response. Never a panic, whatever the bytes.
#![no_main]

use admin::rpc::frame::{Decoded, HEADER_LEN, decode_header};
use admin::rpc::message::{read_request, read_response};
use libfuzzer_sys::fuzz_target;
use rkyv::util::AlignedVec;

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    while let Ok(Decoded::Frame { len }) = decode_header(rest) {
        let mut payload = AlignedVec::<16>::new();
        payload.extend_from_slice(&rest[HEADER_LEN..HEADER_LEN + len]);
        let _ = read_request(&payload);
        let _ = read_response(&payload);
        rest = &rest[HEADER_LEN + len..];
    }
});
