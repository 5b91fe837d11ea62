use super::*;
use crate::config::Scheme;
use crate::jwt::testing::{JwksServer, Signer};

fn jwks(kids: &[&str]) -> String {
    let keys: Vec<String> = kids
        .iter()
        .map(|k| Signer::hmac(b"secret").jwk(k))
        .collect();
    format!(r#"{{"keys":[{}]}}"#, keys.join(","))
}

fn wait_for(what: impl Fn() -> bool) -> bool {
    let until = Instant::now() + Duration::from_secs(10);
    while Instant::now() < until {
        if what() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

#[test]
fn fixed_stores_swap_only_by_hand() {
    let store = KeyStore::fixed(KeySet::default());
    assert!(store.current().is_empty());
    store.unknown_kid(100);
    let mut notes = Vec::new();
    let doc = jwks(&["a"]);
    store.replace(KeySet::parse(doc.as_bytes(), &mut notes).expect("set"));
    assert_eq!(store.current().len(), 1);
}

#[test]
fn remote_fetches_at_start_and_on_an_unknown_kid_throttled() {
    let server = JwksServer::start(JwksServer::ok(&jwks(&["a"])), false);
    let (store, problem) =
        KeyStore::remote(server.url(Scheme::Http, true), Duration::from_secs(3600));
    assert_eq!(problem, None);
    assert_eq!(store.current().len(), 1);
    assert_eq!(server.hits(), 1);

    // The issuer rotates: a token with kid "b" arrives.
    server.set(JwksServer::ok(&jwks(&["a", "b"])));
    store.unknown_kid(1_000);
    assert!(wait_for(|| store.current().len() == 2), "refetched");
    assert_eq!(server.hits(), 2);

    // More unknown kids within the throttle window do not refetch.
    for now in 1_001..1_000 + UNKNOWN_KID_REFETCH_SECS {
        store.unknown_kid(now);
    }
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(server.hits(), 2);
    // After it, one more.
    store.unknown_kid(1_000 + UNKNOWN_KID_REFETCH_SECS);
    assert!(wait_for(|| server.hits() == 3));
}

#[test]
fn a_failed_first_fetch_starts_empty_and_retries() {
    let server = JwksServer::start(
        "HTTP/1.1 503 Unavailable\r\nContent-Length: 0\r\n\r\n".to_owned(),
        false,
    );
    let (store, problem) =
        KeyStore::remote(server.url(Scheme::Http, true), Duration::from_secs(3600));
    assert!(problem.is_some_and(|p| p.contains("status 503")));
    assert!(store.current().is_empty());
    server.set(JwksServer::ok(&jwks(&["a"])));
    assert!(
        wait_for(|| store.current().len() == 1),
        "retried after RETRY_MIN"
    );
}

#[test]
fn a_bad_refresh_keeps_the_keys() {
    let server = JwksServer::start(JwksServer::ok(&jwks(&["a"])), false);
    let (store, _) = KeyStore::remote(server.url(Scheme::Http, true), Duration::from_secs(1));
    server.set(JwksServer::ok("not json"));
    assert!(wait_for(|| server.hits() >= 2));
    assert_eq!(store.current().len(), 1);
}
