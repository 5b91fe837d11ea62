use super::*;

fn parse_text(text: &str) -> Result<(String, Option<String>), AuthReason> {
    let mut bytes = text.as_bytes().to_vec();
    let tape = simd_json::to_tape(&mut bytes).map_err(|_| AuthReason::Malformed)?;
    parse(Json::root(&tape.0)).map(|h| (h.alg.to_owned(), h.kid.map(str::to_owned)))
}

#[test]
fn alg_and_kid() {
    assert_eq!(
        parse_text(r#"{"typ":"JWT","alg":"HS256","kid":"sim2"}"#),
        Ok(("HS256".to_owned(), Some("sim2".to_owned())))
    );
    assert_eq!(
        parse_text(r#"{"alg":"ES256","kid":null}"#),
        Ok(("ES256".to_owned(), None))
    );
    assert_eq!(
        parse_text(r#"{"alg":"ES256","kid":""}"#),
        Ok(("ES256".to_owned(), None))
    );
    // Key sources in the token are ignored: keys only ever come from the config.
    assert_eq!(
        parse_text(r#"{"alg":"RS256","jku":"https://evil","jwk":{"kty":"RSA"},"x5u":"x"}"#),
        Ok(("RS256".to_owned(), None))
    );
}

#[test]
fn refused_headers() {
    for text in [
        "[]",
        "{}",
        r#"{"alg":null}"#,
        r#"{"alg":["HS256"]}"#,
        r#"{"alg":"HS256","kid":7}"#,
        r#"{"alg":"HS256","crit":["b64"],"b64":false}"#,
        r#"{"alg":"HS256","crit":[]}"#,
    ] {
        assert_eq!(parse_text(text), Err(AuthReason::Malformed), "{text}");
    }
}
