use super::*;

#[test]
fn a_bloomgate_gateway_registration() {
    let body = br#"{"ip":"10.0.0.7","port":1234,"n":10000000,"p":1e-7,"ttl":1500,"hash_name":"optimal","instance_id":"bloomgate-42-1234"}"#;
    let r = Registration::parse(body).unwrap();
    assert_eq!(r.addr(), "10.0.0.7:1234".parse::<SocketAddr>().unwrap());
    assert_eq!((r.n, r.p, r.ttl), (10_000_000, 1e-7, 1500));
    assert_eq!(r.hash_name, "optimal");
    assert_eq!(r.instance_id.as_deref(), Some("bloomgate-42-1234"));
    assert_eq!(r.cluster_id, None);
}

#[test]
fn numbers_may_be_strings() {
    let body = br#"{"ip":"::1","port":"1234","n":"1000","p":"0.0001","ttl":"60","hash_name":"default","cluster_id":"c","cn":null}"#;
    let r = Registration::parse(body).unwrap();
    assert_eq!((r.port, r.n, r.p, r.ttl), (1234, 1000, 0.0001, 60));
    assert_eq!(r.cluster_id.as_deref(), Some("c"));
    assert_eq!(r.cn, None);
    let floats = br#"{"ip":"1.2.3.4","port":1234.0,"n":1e3,"p":0.5,"ttl":"60.0","hash_name":"x"}"#;
    assert_eq!(Registration::parse(floats).unwrap().n, 1000);
}

#[test]
fn bad_bodies_are_400_naming_the_field() {
    let cases: &[(&[u8], &str)] = &[
        (b"{", "malformed JSON"),
        (b"[]", "object"),
        (
            br#"{"port":1,"n":1,"p":0.1,"ttl":1,"hash_name":"x"}"#,
            "ip: required",
        ),
        (
            br#"{"ip":"host","port":1,"n":1,"p":0.1,"ttl":1,"hash_name":"x"}"#,
            "ip:",
        ),
        (
            br#"{"ip":"1.2.3.4","n":1,"p":0.1,"ttl":1,"hash_name":"x"}"#,
            "port: required",
        ),
        (
            br#"{"ip":"1.2.3.4","port":70000,"n":1,"p":0.1,"ttl":1,"hash_name":"x"}"#,
            "port:",
        ),
        (
            br#"{"ip":"1.2.3.4","port":0,"n":1,"p":0.1,"ttl":1,"hash_name":"x"}"#,
            "port:",
        ),
        (
            br#"{"ip":"1.2.3.4","port":1,"n":-1,"p":0.1,"ttl":1,"hash_name":"x"}"#,
            "n:",
        ),
        (
            br#"{"ip":"1.2.3.4","port":1,"n":"ten","p":0.1,"ttl":1,"hash_name":"x"}"#,
            "n:",
        ),
        (
            br#"{"ip":"1.2.3.4","port":1,"n":1,"p":"x","ttl":1,"hash_name":"x"}"#,
            "p:",
        ),
        (
            br#"{"ip":"1.2.3.4","port":1,"n":1,"p":0.1,"hash_name":"x"}"#,
            "ttl: required",
        ),
        (
            br#"{"ip":"1.2.3.4","port":1,"n":1,"p":0.1,"ttl":1}"#,
            "hash_name: required",
        ),
        (
            br#"{"ip":"1.2.3.4","port":1,"n":1,"p":0.1,"ttl":1,"hash_name":3}"#,
            "hash_name:",
        ),
    ];
    for (body, needle) in cases {
        match Registration::parse(body) {
            Err(ApiError::BadRequest(m)) => assert!(m.contains(needle), "{m} / {needle}"),
            other => panic!("{:?}: {other:?}", String::from_utf8_lossy(body)),
        }
    }
}

#[test]
fn response_documents() {
    let addrs = [
        "10.0.0.1:1234".parse().unwrap(),
        "[::1]:99".parse().unwrap(),
    ];
    assert_eq!(
        instances(&addrs),
        r#"{"instances":["10.0.0.1:1234","[::1]:99"]}"#
    );
    assert_eq!(instances(&[]), r#"{"instances":[]}"#);
    assert_eq!(
        hits(
            &["revoker".into()],
            &["1.2.3.4:5".into(), "6.7.8.9:1".into()]
        ),
        r#"{"hits":["revoker"],"misses":["1.2.3.4:5","6.7.8.9:1"]}"#
    );
    assert_eq!(error("a \"b\"\n"), r#"{"error":"a \"b\"\n"}"#);
}

#[test]
fn status_has_the_contract_shape() {
    let text = status(&StatusView {
        n: 10_000_000,
        p: 1e-7,
        hash_name: "optimal",
        ttl: 1500,
        workers: 5,
        ping_interval_ns: 30_000_000_000,
        max_retries: 2,
        percentage_consumed: 12.5,
    });
    assert_eq!(
        text,
        r#"{"config":{"Seed":"","N":10000000,"P":1e-7,"HashName":"optimal","TTL":1500,"Workers":5,"PingInterval":30000000000,"MaxRetries":2},"percentage_consumed":12.5}"#
    );
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["config"]["P"].as_f64(), Some(1e-7));
}
