use super::*;

fn revoke(key: &str, value: &[u8]) -> Route {
    Route::Revoke {
        key: key.as_bytes().to_vec(),
        value: value.to_vec(),
    }
}

#[test]
fn every_contract_path_routes() {
    assert_eq!(route(b"GET", b"/__health"), Ok(Route::Health));
    assert_eq!(
        route(b"POST", b"/tokens/sub/jimmy"),
        Ok(revoke("sub", b"jimmy"))
    );
    assert_eq!(
        route(b"GET", b"/tokens/jti/abc"),
        Ok(Route::Check {
            key: b"jti".to_vec(),
            value: b"abc".to_vec()
        })
    );
    assert_eq!(
        route(b"POST", b"/tokens/jti"),
        Ok(Route::RevokeBatch {
            key: b"jti".to_vec()
        })
    );
    assert_eq!(route(b"GET", b"/instances"), Ok(Route::Instances));
    assert_eq!(route(b"POST", b"/instances"), Ok(Route::Register));
    assert_eq!(
        route(b"DELETE", b"/instances/10.0.0.1:1234"),
        Ok(Route::Unregister("10.0.0.1:1234".parse().unwrap()))
    );
    assert_eq!(
        route(b"DELETE", b"/instances/%5B::1%5D:99"),
        Ok(Route::Unregister("[::1]:99".parse().unwrap()))
    );
    assert_eq!(route(b"GET", b"/status"), Ok(Route::Status));
}

#[test]
fn the_value_is_the_rest_of_the_path_decoded_once() {
    assert_eq!(
        route(b"POST", b"/tokens/sub/a/b/c"),
        Ok(revoke("sub", b"a/b/c"))
    );
    assert_eq!(
        route(b"POST", b"/tokens/sub/a%2Fb"),
        Ok(revoke("sub", b"a/b"))
    );
    assert_eq!(
        route(b"POST", b"/tokens/sub/a%252F"),
        Ok(revoke("sub", b"a%2F"))
    );
    assert_eq!(
        route(b"POST", b"/tokens/sub/a+b%20c"),
        Ok(revoke("sub", b"a+b c"))
    );
    assert_eq!(route(b"POST", b"/tokens/s%75b/x"), Ok(revoke("sub", b"x")));
    assert_eq!(
        route(b"POST", b"/tokens/sub/%ff"),
        Ok(revoke("sub", &[0xff]))
    );
}

#[test]
fn bad_paths_and_methods() {
    for path in [
        &b"/"[..],
        b"/tokens",
        b"/tokens/",
        b"/tokens//x",
        b"/nope",
        b"/instances/",
    ] {
        assert_eq!(
            route(b"GET", path).map_err(|e| e.status()),
            Err(404),
            "{path:?}"
        );
    }
    for (method, path) in [
        (&b"PUT"[..], &b"/tokens/sub/x"[..]),
        (b"DELETE", b"/tokens/sub/x"),
        (b"GET", b"/tokens/sub"),
        (b"DELETE", b"/instances"),
        (b"GET", b"/instances/1.2.3.4:5"),
        (b"POST", b"/status"),
        (b"POST", b"/__health"),
    ] {
        assert_eq!(
            route(method, path).map_err(|e| e.status()),
            Err(405),
            "{path:?}"
        );
    }
    for path in [
        &b"/tokens/sub/%zz"[..],
        b"/tokens/sub/%4",
        b"/tokens/sub/",
        b"/tokens/%/x",
    ] {
        assert_eq!(
            route(b"POST", path).map_err(|e| e.status()),
            Err(400),
            "{path:?}"
        );
    }
    assert_eq!(
        route(b"DELETE", b"/instances/nothing").map_err(|e| e.status()),
        Err(400)
    );
}

#[test]
fn filter_keys_are_claim_dash_value() {
    assert_eq!(filter_key(b"jti", b"43b7"), b"jti-43b7");
}

#[test]
fn the_api_key_needs_the_bearer_scheme_in_any_case() {
    let check = ApiKeyCheck::new(b"s3cret");
    assert!(check.allows(Some(b"bearer s3cret")));
    assert!(check.allows(Some(b"Bearer s3cret")));
    assert!(check.allows(Some(b"BEARER   s3cret  ")));
    assert!(!check.allows(Some(b"bearer s3cre")));
    assert!(!check.allows(Some(b"bearer s3cret2")));
    assert!(!check.allows(Some(b"s3cret")));
    assert!(!check.allows(Some(b"bearers3cret")));
    assert!(!check.allows(Some(b"Basic s3cret")));
    assert!(!check.allows(Some(b"bearer ")));
    assert!(!check.allows(None));
    assert!(!format!("{check:?}").contains("s3cret"));
}

#[test]
fn errors_are_json_with_their_status() {
    let e = ApiError::Conflict("geometry \"x\"".into());
    assert_eq!(e.status(), 409);
    assert_eq!(e.body(), r#"{"error":"geometry \"x\""}"#);
    assert_eq!(ApiError::Unauthorized.status(), 401);
    assert_eq!(ApiError::PayloadTooLarge("big".into()).status(), 413);
    let reply = Reply::from(ApiError::MethodNotAllowed);
    assert_eq!(reply.status, 405);
    assert!(reply.json.is_some_and(|j| j.starts_with("{\"error\":")));
}
