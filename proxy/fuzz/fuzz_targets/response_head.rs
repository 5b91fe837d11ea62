//! Upstream response heads from arbitrary bytes: parsing never panics, and an accepted head
//! re-serialised for the client parses again with the same status.
#![no_main]

use libfuzzer_sys::fuzz_target;
use proxy::http::write::{client_framing, write_response_head};
use proxy::http::{HeaderSlots, MAX_HEADERS, Version, parse_response};

fuzz_target!(|data: &[u8]| {
    let Some((&flags, raw)) = data.split_first() else {
        return;
    };
    let request_was_head = flags & 1 == 1;
    let client = if flags & 2 == 2 {
        Version::Http10
    } else {
        Version::Http11
    };
    let (mut s1, mut s2) = (HeaderSlots::new(), HeaderSlots::new());
    let Ok(Some(head)) = parse_response(raw, request_was_head, 4096, &mut s1) else {
        return;
    };
    assert!(head.head_len() <= raw.len());
    let mut out = Vec::new();
    let framing = client_framing(head.framing(), client);
    write_response_head(&mut out, &head, framing, client, flags & 4 == 4);
    // The gateway adds up to two fields; past MAX_HEADERS our own parser would refuse them
    // (regression `a_full_response_head_is_written_with_its_framing`).
    if head.headers().len() + 2 > MAX_HEADERS {
        return;
    }
    let back = parse_response(&out, request_was_head, usize::MAX, &mut s2)
        .expect("the client head must be valid")
        .expect("the client head must be complete");
    assert_eq!(back.status(), head.status());
    assert_eq!(back.head_len(), out.len());
});
