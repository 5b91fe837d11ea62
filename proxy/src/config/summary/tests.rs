use crate::config::testing::{examples_dir, load_as};
use crate::config::{Config, MapEnv, Overrides, Role};

#[test]
fn the_example_gateway_summary() {
    let config = Config::from_file(
        &examples_dir().join("gateway.json"),
        &MapEnv::default(),
        &Overrides::new(Role::Check),
    )
    .unwrap();
    let text = config.summary().to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("config: ") && lines[0].ends_with("gateway.json: OK"),
        "{}",
        lines[0]
    );
    assert_eq!(lines[1], "version: 3");
    assert_eq!(lines[2], "listen: 0.0.0.0:8080");
    assert!(text.contains("\nendpoints: 2 (0 skipped)\n"), "{text}");
    assert!(
        text.contains("\n  GET /public/{id} -> http://127.0.0.1:9000/items/{id}  [public]\n"),
        "{text}"
    );
    assert!(text.contains("\n  GET /private/custom -> http://127.0.0.1:9000/user/1.json  [jwt HS256, jwk_local_path="), "{text}");
    assert!(
        text.contains("\n  N: 10000000, P: 0.0000001, TTL: 1500s, hash_name: optimal\n"),
        "{text}"
    );
    assert!(
        text.contains("\n  token_keys: jti\n  RPC port: 1234\n"),
        "{text}"
    );
    let g = config.revoker.as_ref().unwrap().geometry;
    assert!(
        text.contains(&format!(
            "geometry: {} bits = {} split blocks of {} bits, k={}",
            g.bits(),
            g.blocks(),
            g.block_bits(),
            g.k()
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "classic (KrakenD): {} bits, k={}",
            g.classic().bits,
            g.classic().k
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("memory: {} bytes (", g.bytes())),
        "{text}"
    );
    assert!(text.contains("MiB for both generations"), "{text}");
}

#[test]
fn skipped_warnings_and_no_revoker() {
    let json = r#"{"version": 3, "host": ["h"], "endpoints": [
        {"endpoint": "/a", "method": "POST", "output_encoding": "json", "backend": [{"url_pattern": "/b", "method": "PUT", "host": ["h1", "h2:81"]}]},
        {"endpoint": "/c", "backend": [{"url_pattern": "/d"}, {"url_pattern": "/e"}]}]}"#;
    let config = load_as(
        json,
        Overrides {
            skip_unsupported: true,
            ..Overrides::new(Role::Check)
        },
    )
    .unwrap();
    let text = config.summary().to_string();
    assert!(text.starts_with("config: <config>: OK\n"), "{text}");
    assert!(
        text.contains("\n  POST /a -> PUT [http://h1:80, http://h2:81]/b  [public]\n"),
        "{text}"
    );
    assert!(
        text.contains("\nwarnings: 1\n  warning: endpoints[0].output_encoding: "),
        "{text}"
    );
    assert!(text.contains("\nskipped: 1\n  warning: endpoints[1] GET /c: skipped: aggregation (2 backends) is not supported\n"), "{text}");
    assert!(text.contains("\nrevoker: none"), "{text}");
}
