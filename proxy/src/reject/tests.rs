use super::*;
use crate::http::{HeaderSlots, parse_response};

const ALL: [Reject; 13] = [
    Reject::BadRequest(BadRequestReason::BareLf),
    Reject::Unauthorized(AuthReason::Revoked),
    Reject::Forbidden,
    Reject::NotFound,
    Reject::MethodNotAllowed,
    Reject::RequestTimeout,
    Reject::PayloadTooLarge,
    Reject::ExpectationFailed,
    Reject::HeaderTooLarge,
    Reject::NotImplemented,
    Reject::BadGateway,
    Reject::GatewayTimeout,
    Reject::VersionNotSupported,
];

fn written(r: Reject, keep_alive: bool) -> (String, bool) {
    let mut out = Vec::new();
    let kept = r.write_response(&mut out, keep_alive);
    (String::from_utf8(out).unwrap(), kept)
}

#[test]
fn statuses_match_the_contract() {
    let statuses: Vec<u16> = ALL.iter().map(Reject::status).collect();
    assert_eq!(
        statuses,
        [
            400, 401, 403, 404, 405, 408, 413, 417, 431, 501, 502, 504, 505
        ]
    );
}

#[test]
fn every_auth_reason_is_401() {
    for reason in [
        AuthReason::NoToken,
        AuthReason::Malformed,
        AuthReason::BadSignature,
        AuthReason::AlgMismatch,
        AuthReason::UnknownKid,
        AuthReason::KeyUnavailable,
        AuthReason::Expired,
        AuthReason::NotYetValid,
        AuthReason::IssuedInFuture,
        AuthReason::WrongIssuer,
        AuthReason::WrongAudience,
        AuthReason::BadClaim,
        AuthReason::Revoked,
        AuthReason::TooLarge,
        AuthReason::DuplicateClaim,
        AuthReason::Misconfigured,
    ] {
        let r = Reject::Unauthorized(reason);
        assert_eq!(r.status(), 401);
        assert!(!r.must_close());
        assert!(!reason.as_str().is_empty());
        // The reason is never sent.
        let (text, _) = written(r, true);
        assert!(!text.contains(reason.as_str()));
        assert_eq!(
            text,
            written(Reject::Unauthorized(AuthReason::NoToken), true).0
        );
    }
}

#[test]
fn unauthorized_is_exactly_the_contract() {
    let (text, kept) = written(Reject::Unauthorized(AuthReason::Expired), true);
    assert!(kept);
    assert_eq!(
        text,
        "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer error=\"invalid_token\"\r\n\
         Content-Length: 0\r\n\r\n"
    );
}

#[test]
fn not_found_is_gins() {
    let (text, kept) = written(Reject::NotFound, false);
    assert!(!kept);
    assert_eq!(
        text,
        "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 18\r\n\
         Connection: close\r\n\r\n404 page not found"
    );
}

#[test]
fn protocol_errors_always_close() {
    for r in ALL {
        let (text, kept) = written(r, true);
        assert_eq!(kept, !r.must_close(), "{r}");
        assert_eq!(
            text.contains("Connection: close\r\n"),
            r.must_close(),
            "{r}"
        );
    }
    assert!(Reject::BadRequest(BadRequestReason::MissingHost).must_close());
    assert!(!Reject::NotFound.must_close());
}

#[test]
fn every_response_is_well_formed_and_its_length_is_right() {
    for r in ALL {
        for keep in [true, false] {
            let (text, _) = written(r, keep);
            let mut slots = HeaderSlots::new();
            let parsed = parse_response(text.as_bytes(), false, 4096, &mut slots)
                .unwrap()
                .unwrap();
            assert_eq!(parsed.status(), r.status());
            let body = &text.as_bytes()[parsed.head_len()..];
            assert_eq!(parsed.content_length(), Some(body.len() as u64), "{r}");
        }
    }
}

#[test]
fn head_responses_have_no_body() {
    let mut out = Vec::new();
    assert!(Reject::NotFound.write_head_response(&mut out, true));
    let text = String::from_utf8(out).unwrap();
    assert!(text.ends_with("Content-Length: 18\r\n\r\n"), "{text}");
}

#[test]
fn display_for_logs() {
    assert_eq!(
        Reject::Unauthorized(AuthReason::Revoked).to_string(),
        "401 unauthorized: revoked"
    );
    assert!(
        Reject::BadRequest(BadRequestReason::BareLf)
            .to_string()
            .contains("BareLf")
    );
    assert_eq!(Reject::GatewayTimeout.to_string(), "504 GatewayTimeout");
    assert_eq!(
        BadRequestReason::from(ChunkedError::SizeTooLong),
        BadRequestReason::BadChunk(ChunkedError::SizeTooLong)
    );
}
