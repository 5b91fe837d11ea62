use super::*;

/// Feeds `input` in pieces of `step` bytes through a growing buffer, the way the connection
/// does, and returns the responses seen.
fn run(
    parser: &mut ResponseParser,
    input: &[u8],
    step: usize,
) -> Result<Vec<Response>, ParseError> {
    let mut buf = Vec::new();
    let mut out = Vec::new();
    for piece in input.chunks(step.max(1)) {
        buf.extend_from_slice(piece);
        loop {
            match parser.feed(&buf)? {
                Step::Consumed(0) => break,
                Step::Consumed(n) => {
                    buf.drain(..n);
                }
                Step::Done(n, r) => {
                    buf.drain(..n);
                    out.push(r);
                }
            }
        }
    }
    Ok(out)
}

fn every_split(input: &[u8], method: &str) -> Vec<Response> {
    let mut reference = None;
    for step in 1..=input.len() {
        let mut parser = ResponseParser::new(method);
        let got = run(&mut parser, input, step).unwrap();
        assert!(parser.idle(), "step {step}");
        match &reference {
            None => reference = Some(got),
            Some(r) => assert_eq!(&got, r, "step {step}"),
        }
    }
    reference.unwrap_or_default()
}

const KEEP: Response = Response {
    status: 200,
    close: false,
};

#[test]
fn content_length_and_pipelined_responses() {
    let input = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloHTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer\r\ncontent-length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
    let got = every_split(input, "GET");
    assert_eq!(
        got,
        vec![
            KEEP,
            Response {
                status: 401,
                close: false
            },
            Response {
                status: 200,
                close: true
            }
        ]
    );
}

#[test]
fn chunked_with_extensions_and_trailers() {
    let input = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5;ext=1\r\nhello\r\nA\r\n0123456789\r\n0\r\nX-Trailer: y\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n";
    let got = every_split(input, "GET");
    assert_eq!(
        got,
        vec![
            KEEP,
            Response {
                status: 204,
                close: false
            }
        ]
    );
}

#[test]
fn interim_head_and_bodiless_responses() {
    let input = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc";
    assert_eq!(every_split(input, "GET"), vec![KEEP]);
    // A HEAD response announces a length it does not send.
    let input = b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n";
    assert_eq!(every_split(input, "HEAD"), vec![KEEP, KEEP]);
}

#[test]
fn http10_and_close_delimited_bodies() {
    let mut parser = ResponseParser::new("GET");
    let got = run(&mut parser, b"HTTP/1.0 200 OK\r\n\r\nsome body", 4).unwrap();
    assert!(got.is_empty());
    assert_eq!(
        parser.eof(),
        Ok(Some(Response {
            status: 200,
            close: true
        }))
    );
    let mut parser = ResponseParser::new("GET");
    let got = run(
        &mut parser,
        b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n",
        7,
    )
    .unwrap();
    assert_eq!(got, vec![KEEP]);
}

#[test]
fn truncation_and_garbage_are_errors() {
    let mut parser = ResponseParser::new("GET");
    run(
        &mut parser,
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
        100,
    )
    .unwrap();
    assert_eq!(parser.eof(), Err(ParseError::Truncated));
    assert_eq!(ResponseParser::new("GET").eof(), Ok(None));

    let bad: [&[u8]; 6] = [
        b"SMTP ready\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\naXX",
        b"HTTP/1.1 101 Switching Protocols\r\n\r\n",
    ];
    for input in bad {
        let mut parser = ResponseParser::new("GET");
        assert!(
            run(&mut parser, input, 1000).is_err(),
            "{}",
            String::from_utf8_lossy(input)
        );
    }
}

#[test]
fn oversized_heads_and_chunk_lines_are_errors_not_hangs() {
    let mut huge = b"HTTP/1.1 200 OK\r\nX: ".to_vec();
    huge.resize(MAX_HEAD + 10, b'a');
    let mut parser = ResponseParser::new("GET");
    assert_eq!(
        run(&mut parser, &huge, huge.len()),
        Err(ParseError::HeadTooLarge)
    );

    let mut long = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    long.resize(long.len() + MAX_LINE + 10, b'0');
    let mut parser = ResponseParser::new("GET");
    assert_eq!(
        run(&mut parser, &long, long.len()),
        Err(ParseError::Chunked)
    );
}

#[test]
fn chunked_and_length_together_means_close_after() {
    let input =
        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    assert_eq!(
        every_split(input, "GET"),
        vec![Response {
            status: 200,
            close: true
        }]
    );
}

#[test]
fn request_template_splices_the_token() {
    let target = Target::parse("http://gw:8080/api?x=1").unwrap();
    let headers = vec![Header::parse("Accept: */*").unwrap()];
    let token = Header::parse("Authorization: Bearer {token}").unwrap();
    let t = RequestTemplate::new("GET", &target, &headers, Some(&token), None);
    let mut out = Vec::new();
    t.render("abc.def.ghi", &mut out);
    assert_eq!(
        out,
        b"GET /api?x=1 HTTP/1.1\r\nHost: gw:8080\r\nAccept: */*\r\nAuthorization: Bearer abc.def.ghi\r\n\r\n"
    );

    let t = RequestTemplate::new("POST", &target, &[], None, Some(b"{}"));
    out.clear();
    t.render("ignored", &mut out);
    assert_eq!(
        out,
        b"POST /api?x=1 HTTP/1.1\r\nHost: gw:8080\r\nContent-Length: 2\r\n\r\n{}"
    );

    let cookie = Header::parse("Cookie: access_token={token}; theme=dark").unwrap();
    let host = Header::parse("host: other").unwrap();
    let t = RequestTemplate::new("POST", &target, &[host], Some(&cookie), None);
    out.clear();
    t.render("T", &mut out);
    assert_eq!(
        out,
        b"POST /api?x=1 HTTP/1.1\r\nhost: other\r\nContent-Length: 0\r\nCookie: access_token=T; theme=dark\r\n\r\n"
    );
}

#[test]
fn header_parsing() {
    assert_eq!(
        Header::parse("X-A:  b c "),
        Some(Header {
            name: "X-A".into(),
            value: "b c".into()
        })
    );
    assert_eq!(Header::parse("no colon"), None);
    assert_eq!(Header::parse("bad name: v"), None);
    assert_eq!(Header::parse(": v"), None);
}
