//! The Revoke Server end to end: `bloomgate revoker` and `bloomgate run` processes on
//! 127.0.0.1, the REST API driven over HTTP, the gateways' filters read back through their RPC
//! port (`admin::rpc::client`) and through protected endpoints with real tokens (minted with
//! `jsonwebtoken`). Every wait is bounded; the tests that start processes run one at a time.

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use admin::rpc::client::{Client as RpcClient, ClientConfig};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

use crate::backend::Backend;
use crate::client::{Client, Response};
use crate::support::{Scratch, free_port};

/// Tests that start clusters run one at a time (2 cores).
static SERIAL: Mutex<()> = Mutex::new(());

const KEY: &str = "it-api-key-6c1d5a0e";
const SECRET: &[u8] = b"bloomgate-it-hs256-secret-0123456789abcdef";
/// How long a process may take to start.
const START_LIMIT: Duration = Duration::from_secs(20);
/// The bound this suite holds propagation to (a revocation on every gateway).
const PROPAGATION_LIMIT: Duration = Duration::from_secs(2);

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `auth/revoker` shared by the revoker and the gateways.
fn revoker_section(extra: &str) -> String {
    format!(
        r#""N": 1000000, "P": 0.0000001, "hash_name": "optimal", "TTL": 3600,
           "token_keys": ["jti", "sub"], "revoke_server_ping_interval": "1s",
           "revoke_server_api_key": "{KEY}", "revoke_server_max_workers": 2,
           "revoke_server_max_retries": 1{extra}"#
    )
}

/// A running `bloomgate` process, killed when dropped.
struct Node {
    child: Child,
    /// The port its ready line names.
    port: u16,
    stderr: Arc<Mutex<String>>,
    _scratch: Scratch,
}

impl Node {
    /// Starts `bloomgate args...` and waits for a stderr line starting with `ready`, whose
    /// first word after it is the listening address.
    fn start(scratch: Scratch, args: &[&str], ready: &'static str) -> Node {
        let mut child = Command::new(env!("CARGO_BIN_EXE_bloomgate"))
            .args(args)
            .env_remove("KRAKEND_PORT")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn bloomgate");
        let stderr = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        let lines = BufReader::new(child.stderr.take().expect("stderr"));
        let collected = Arc::clone(&stderr);
        std::thread::spawn(move || {
            for line in lines.lines() {
                let Ok(line) = line else { break };
                {
                    let mut all = collected.lock().unwrap_or_else(|e| e.into_inner());
                    all.push_str(&line);
                    all.push('\n');
                }
                if let Some(rest) = line.strip_prefix(ready) {
                    let port = rest
                        .split(' ')
                        .next()
                        .and_then(|a| a.rsplit(':').next())
                        .and_then(|p| p.parse::<u16>().ok());
                    if let Some(port) = port {
                        let _ = tx.send(port);
                    }
                }
            }
        });
        let mut node = Node {
            child,
            port: 0,
            stderr,
            _scratch: scratch,
        };
        match rx.recv_timeout(START_LIMIT) {
            Ok(port) => node.port = port,
            Err(_) => panic!(
                "bloomgate {args:?} did not get ready within {START_LIMIT:?}; stderr:\n{}",
                node.stderr()
            ),
        }
        node
    }

    fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    fn stderr(&self) -> String {
        self.stderr
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// SIGKILL, as a crash.
    fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = Command::new("kill")
                .args(["-TERM", &self.child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(3);
            while Instant::now() < deadline {
                if matches!(self.child.try_wait(), Ok(Some(_))) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            self.kill9();
        }
    }
}

fn start_revoker(name: &str) -> Node {
    let scratch = Scratch::new(&format!("revoker-{name}"));
    let config = format!(
        r#"{{"version": 3, "port": 0, "extra_config": {{"auth/revoker": {{{}}}}}}}"#,
        revoker_section("")
    );
    let path = scratch.file("revoker.json", &config);
    Node::start(
        scratch,
        &["revoker", "-c", &path, "--port", "0"],
        "bloomgate: revoke server listening on ",
    )
}

/// A gateway with `/private` (HS256, the suite's secret) in front of `backend`, registering
/// with `revoker`. Returns it and its RPC address.
struct Gateway {
    node: Node,
    rpc: SocketAddr,
}

fn start_gateway(name: &str, api: SocketAddr, backend: &Backend) -> Gateway {
    let scratch = Scratch::new(&format!("gateway-{name}"));
    let mut k = String::new();
    base64url(SECRET, &mut k);
    let jwk = scratch.file(
        "jwk.json",
        &format!(r#"{{"keys":[{{"kty":"oct","kid":"it","alg":"HS256","k":"{k}"}}]}}"#),
    );
    let rpc_port = free_port();
    let config = format!(
        r#"{{"version": 3, "port": 0, "host": ["{host}"],
  "endpoints": [{{"endpoint": "/private", "backend": [{{"url_pattern": "/echo"}}],
    "extra_config": {{"auth/validator": {{"alg": "HS256", "jwk_local_path": "{jwk}"}}}}}}],
  "extra_config": {{"auth/revoker": {{{section}}}}}}}"#,
        host = backend.url(),
        section = revoker_section(&format!(
            r#", "revoke_server_ping_url": "http://{api}/instances""#
        )),
    );
    let path = scratch.file("gateway.json", &config);
    let rpc = rpc_port.to_string();
    let node = Node::start(
        scratch,
        &[
            "run",
            "-c",
            &path,
            "--port",
            "0",
            "--rpc-port",
            &rpc,
            "--cores",
            "1",
        ],
        "bloomgate: listening on ",
    );
    Gateway {
        node,
        rpc: SocketAddr::from(([127, 0, 0, 1], rpc_port)),
    }
}

fn base64url(input: &[u8], out: &mut String) {
    use base64::Engine as _;
    out.push_str(&base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(input));
}

fn token(jti: &str, sub: &str) -> String {
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("it".into());
    let claims = json!({"jti": jti, "sub": sub, "iat": now(), "exp": now() + 3600});
    encode(&header, &claims, &EncodingKey::from_secret(SECRET)).expect("mint")
}

/// One REST call on a new connection.
fn rest(addr: SocketAddr, method: &str, path: &str, key: Option<&str>, body: &[u8]) -> Response {
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: revoker\r\nConnection: close\r\n");
    if let Some(key) = key {
        request.push_str(&format!("Authorization: bearer {key}\r\n"));
    }
    if !body.is_empty() || method == "POST" {
        request.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    request.push_str("\r\n");
    let mut bytes = request.into_bytes();
    bytes.extend_from_slice(body);
    Client::connect(addr).request(&bytes)
}

fn json_body(response: &Response) -> Value {
    serde_json::from_slice(&response.body)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", response.text()))
}

fn instances(api: SocketAddr) -> Vec<String> {
    let response = rest(api, "GET", "/instances", Some(KEY), b"");
    assert_eq!(response.status, 200, "{}", response.text());
    json_body(&response)["instances"]
        .as_array()
        .expect("instances array")
        .iter()
        .map(|v| v.as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Polls `done` every 20 ms until it holds or `limit` passes; returns the time it took.
fn wait_until(limit: Duration, what: &str, mut done: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    loop {
        if done() {
            return start.elapsed();
        }
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn rpc_check(rpc: SocketAddr, keys: &[&[u8]]) -> Vec<bool> {
    let mut client = RpcClient::connect(ClientConfig {
        addr: rpc,
        api_key: Some(KEY.as_bytes().to_vec()),
        timeout: Duration::from_secs(5),
        retries: 1,
    })
    .unwrap_or_else(|e| panic!("rpc connect {rpc}: {e}"));
    client
        .check(keys)
        .unwrap_or_else(|e| panic!("rpc check {rpc}: {e}"))
}

fn revoked_everywhere(gateways: &[&Gateway], key: &[u8]) -> bool {
    gateways.iter().all(|g| rpc_check(g.rpc, &[key]) == [true])
}

fn private(gateway: &Gateway, token: &str) -> u16 {
    let mut client = Client::connect(gateway.node.addr());
    client
        .request(
            format!(
                "GET /private HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
            )
            .as_bytes(),
        )
        .status
}

#[test]
fn a_revoker_and_three_gateways() {
    let _serial = serial();
    let backend = Backend::start();
    let revoker = start_revoker("cluster");
    let gateways: Vec<Gateway> = (0..3)
        .map(|i| start_gateway(&format!("g{i}"), revoker.addr(), &backend))
        .collect();
    let all: Vec<&Gateway> = gateways.iter().collect();
    let names: Vec<String> = gateways.iter().map(|g| g.rpc.to_string()).collect();

    // All three register, are synced and listed.
    wait_until(Duration::from_secs(15), "three instances listed", || {
        let listed = instances(revoker.addr());
        names.iter().all(|n| listed.contains(n))
    });

    // A token works, is revoked by jti, and is refused everywhere within the bound.
    let jti = "43b7a832-5a3c-4b1c-9d3e-1f2a3b4c5d6e";
    let alice = token(jti, "alice");
    for g in &gateways {
        assert_eq!(private(g, &alice), 200, "{}", g.node.stderr());
    }
    let revoked_at = Instant::now();
    let response = rest(
        revoker.addr(),
        "POST",
        &format!("/tokens/jti/{jti}"),
        Some(KEY),
        b"",
    );
    assert_eq!(response.status, 201, "{}", response.text());
    assert!(response.body.is_empty());
    let key = format!("jti-{jti}");
    wait_until(PROPAGATION_LIMIT, "jti revoked on every gateway", || {
        revoked_everywhere(&all, key.as_bytes())
    });
    let propagation = revoked_at.elapsed();
    eprintln!("propagation of one revocation to 3 gateways (incl. RPC checks): {propagation:?}");
    for g in &gateways {
        assert_eq!(private(g, &alice), 401);
    }
    // Idempotent.
    let again = rest(
        revoker.addr(),
        "POST",
        &format!("/tokens/jti/{jti}"),
        Some(KEY),
        b"",
    );
    assert_eq!(again.status, 201);

    // By sub.
    let bob = token("b0b-jti", "bob");
    assert_eq!(private(&gateways[0], &bob), 200);
    assert_eq!(
        rest(revoker.addr(), "POST", "/tokens/sub/bob", Some(KEY), b"").status,
        201
    );
    wait_until(PROPAGATION_LIMIT, "sub revoked on every gateway", || {
        revoked_everywhere(&all, b"sub-bob")
    });
    for g in &gateways {
        assert_eq!(private(g, &bob), 401);
    }

    // GET /tokens: the revoker and every instance.
    let response = rest(
        revoker.addr(),
        "GET",
        &format!("/tokens/jti/{jti}"),
        Some(KEY),
        b"",
    );
    assert_eq!(response.status, 200);
    assert_eq!(
        response.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    let doc = json_body(&response);
    let hits: Vec<&str> = doc["hits"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(hits.contains(&"revoker"), "{doc}");
    for n in &names {
        assert!(hits.contains(&n.as_str()), "{doc}");
    }
    assert_eq!(doc["misses"], json!([]));
    let response = rest(
        revoker.addr(),
        "GET",
        "/tokens/jti/never-revoked",
        Some(KEY),
        b"",
    );
    let doc = json_body(&response);
    assert_eq!(doc["hits"], json!([]));
    assert_eq!(doc["misses"].as_array().unwrap().len(), 4, "{doc}");

    // A batch of 100,000 values (LF, CRLF, blank lines) reaches every gateway.
    let mut body = Vec::with_capacity(5 << 20);
    for i in 0..100_000 {
        body.extend_from_slice(format!("batch-{i:06}").as_bytes());
        body.extend_from_slice(if i % 2 == 0 { b"\n" } else { b"\r\n" });
        if i % 1000 == 0 {
            body.extend_from_slice(b"\r\n");
        }
    }
    let batch_at = Instant::now();
    let response = rest(revoker.addr(), "POST", "/tokens/jti", Some(KEY), &body);
    assert_eq!(response.status, 201, "{}", response.text());
    let sample: Vec<Vec<u8>> = (0..100_000)
        .step_by(997)
        .chain([99_999])
        .map(|i| format!("jti-batch-{i:06}").into_bytes())
        .collect();
    let refs: Vec<&[u8]> = sample.iter().map(Vec::as_slice).collect();
    let took = wait_until(
        Duration::from_secs(20),
        "the batch on every gateway",
        || {
            gateways
                .iter()
                .all(|g| rpc_check(g.rpc, &refs).iter().all(|hit| *hit))
        },
    );
    eprintln!(
        "batch of 100000: 201 after {:?}, on every gateway {took:?} after the 201",
        batch_at.elapsed() - took
    );
    let sampled = token("batch-050000", "carol");
    assert_eq!(private(&gateways[1], &sampled), 401);
    assert_eq!(private(&gateways[1], &token("batch-x", "carol")), 200);

    // DELETE: gone from the list, back at its next ping.
    let victim = &names[0];
    let response = rest(
        revoker.addr(),
        "DELETE",
        &format!("/instances/{victim}"),
        Some(KEY),
        b"",
    );
    assert_eq!(response.status, 200, "{}", response.text());
    assert!(!instances(revoker.addr()).contains(victim));
    let back = wait_until(Duration::from_secs(5), "re-registration", || {
        instances(revoker.addr()).contains(victim)
    });
    eprintln!("unregistered instance listed again after {back:?}");
    assert_eq!(
        rest(
            revoker.addr(),
            "DELETE",
            "/instances/127.0.0.1:1",
            Some(KEY),
            b""
        )
        .status,
        404
    );

    // kill -9 a gateway: a check counts it as a miss within the bound; dropped after three
    // missed pings.
    let mut gateways = gateways;
    let mut dead = gateways.pop().expect("three gateways");
    dead.node.kill9();
    let asked = Instant::now();
    let response = rest(
        revoker.addr(),
        "GET",
        &format!("/tokens/jti/{jti}"),
        Some(KEY),
        b"",
    );
    assert!(
        asked.elapsed() < Duration::from_secs(4),
        "{:?}",
        asked.elapsed()
    );
    let doc = json_body(&response);
    let dead_name = dead.rpc.to_string();
    assert!(
        doc["misses"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v == dead_name.as_str()),
        "{doc}"
    );
    let dropped = wait_until(Duration::from_secs(10), "the dead gateway dropped", || {
        !instances(revoker.addr()).contains(&dead_name)
    });
    eprintln!("killed instance dropped after {dropped:?} (ping interval 1s)");
    let listed = instances(revoker.addr());
    assert!(
        listed.contains(&names[0]) && listed.contains(&names[1]),
        "{listed:?}"
    );

    // A gateway started after 100 revocations has all of them once listed.
    for i in 0..100 {
        let status = rest(
            revoker.addr(),
            "POST",
            &format!("/tokens/jti/late-{i}"),
            Some(KEY),
            b"",
        )
        .status;
        assert_eq!(status, 201);
    }
    let late = start_gateway("late", revoker.addr(), &backend);
    let late_name = late.rpc.to_string();
    wait_until(Duration::from_secs(15), "the new gateway listed", || {
        instances(revoker.addr()).contains(&late_name)
    });
    let keys: Vec<Vec<u8>> = (0..100)
        .map(|i| format!("jti-late-{i}").into_bytes())
        .collect();
    let refs: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
    let hits = rpc_check(late.rpc, &refs);
    assert!(
        hits.iter().all(|h| *h),
        "{} of 100 revoked",
        hits.iter().filter(|h| **h).count()
    );
    assert_eq!(rpc_check(late.rpc, &[key.as_bytes()]), [true]);
    assert_eq!(private(&late, &alice), 401);
    drop(dead);
}

#[test]
fn a_one_node_gateway_serves_the_api_and_accepts_instances() {
    let _serial = serial();
    let backend = Backend::start();
    // The seed: a gateway with `bloomgate/admin`, its own filter being "the revoker".
    let scratch = Scratch::new("one-node");
    let (rest_port, rpc_port) = (free_port(), free_port());
    let mut k = String::new();
    base64url(SECRET, &mut k);
    let jwk = scratch.file(
        "jwk.json",
        &format!(r#"{{"keys":[{{"kty":"oct","kid":"it","alg":"HS256","k":"{k}"}}]}}"#),
    );
    let config = format!(
        r#"{{"version": 3, "port": 0, "host": ["{host}"],
  "endpoints": [{{"endpoint": "/private", "backend": [{{"url_pattern": "/echo"}}],
    "extra_config": {{"auth/validator": {{"alg": "HS256", "jwk_local_path": "{jwk}"}}}}}}],
  "extra_config": {{"auth/revoker": {{{section}, "port": {rpc_port}}},
                    "bloomgate/admin": {{"port": {rest_port}}}}}}}"#,
        host = backend.url(),
        section = revoker_section(""),
    );
    let path = scratch.file("seed.json", &config);
    let seed = Node::start(
        scratch,
        &["run", "-c", &path, "--port", "0", "--cores", "1"],
        "bloomgate: listening on ",
    );
    assert!(
        seed.stderr()
            .contains(&format!("revoke API on 0.0.0.0:{rest_port}")),
        "{}",
        seed.stderr()
    );
    let api = SocketAddr::from(([127, 0, 0, 1], rest_port));
    let seed_gateway = Gateway {
        node: seed,
        rpc: SocketAddr::from(([127, 0, 0, 1], rpc_port)),
    };
    // Revoked before anyone registers; another gateway joins and receives it.
    assert_eq!(
        rest(api, "POST", "/tokens/jti/early", Some(KEY), b"").status,
        201
    );
    assert_eq!(private(&seed_gateway, &token("early", "dan")), 401);
    let other = start_gateway("joins-seed", api, &backend);
    let other_name = other.rpc.to_string();
    wait_until(Duration::from_secs(15), "the other gateway listed", || {
        instances(api).contains(&other_name)
    });
    assert_eq!(rpc_check(other.rpc, &[b"jti-early"]), [true]);
    // A revocation through the seed reaches both.
    assert_eq!(
        rest(api, "POST", "/tokens/sub/erin", Some(KEY), b"").status,
        201
    );
    wait_until(PROPAGATION_LIMIT, "sub revoked on both", || {
        revoked_everywhere(&[&seed_gateway, &other], b"sub-erin")
    });
    let doc = json_body(&rest(api, "GET", "/tokens/sub/erin", Some(KEY), b""));
    assert_eq!(doc["hits"], json!(["revoker", other_name]), "{doc}");
    assert_eq!(private(&other, &token("x", "erin")), 401);
}

#[test]
fn bad_requests_get_contract_statuses_and_change_nothing() {
    let _serial = serial();
    let revoker = start_revoker("errors");
    let addr = revoker.addr();

    assert_eq!(rest(addr, "GET", "/__health", None, b"").status, 200);
    // Auth before routing.
    for key in [None, Some("wrong"), Some("")] {
        for (method, path) in [
            ("GET", "/status"),
            ("GET", "/nope"),
            ("POST", "/tokens/jti/x"),
        ] {
            let response = rest(addr, method, path, key, b"");
            assert_eq!(response.status, 401, "{method} {path} {key:?}");
            assert!(json_body(&response)["error"].is_string());
        }
    }
    let raw = |bytes: &[u8]| Client::connect(addr).request(bytes);
    let scheme = raw(format!("GET /status HTTP/1.1\r\nHost: r\r\nAuthorization: BEARER {KEY}\r\nConnection: close\r\n\r\n").as_bytes());
    assert_eq!(scheme.status, 200);
    let no_scheme = raw(format!(
        "GET /status HTTP/1.1\r\nHost: r\r\nAuthorization: {KEY}\r\nConnection: close\r\n\r\n"
    )
    .as_bytes());
    assert_eq!(no_scheme.status, 401);

    assert_eq!(rest(addr, "GET", "/nope", Some(KEY), b"").status, 404);
    assert_eq!(
        rest(addr, "PUT", "/tokens/jti/x", Some(KEY), b"").status,
        405
    );
    assert_eq!(rest(addr, "GET", "/tokens/jti", Some(KEY), b"").status, 405);
    assert_eq!(rest(addr, "POST", "/status", Some(KEY), b"").status, 405);
    assert_eq!(
        rest(addr, "POST", "/tokens/jti/%zz", Some(KEY), b"").status,
        400
    );

    let registration = |body: &str| rest(addr, "POST", "/instances", Some(KEY), body.as_bytes());
    assert_eq!(registration("{not json").status, 400);
    let missing = registration(r#"{"ip":"127.0.0.1","port":9,"n":1000000,"p":1e-7,"ttl":3600}"#);
    assert_eq!(missing.status, 400);
    assert!(missing.text().contains("hash_name"), "{}", missing.text());
    let conflict = registration(
        r#"{"ip":"127.0.0.1","port":"9","n":"5","p":"1e-7","ttl":"3600","hash_name":"optimal"}"#,
    );
    assert_eq!(conflict.status, 409);
    let message = json_body(&conflict)["error"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        message.contains("N=5") && message.contains("N=1000000"),
        "{message}"
    );

    // Too large: a known length is refused before its body is read.
    let started = Instant::now();
    let huge = raw(format!("POST /tokens/jti HTTP/1.1\r\nHost: r\r\nAuthorization: bearer {KEY}\r\nContent-Length: {}\r\n\r\n", (64u64 << 20) + 1).as_bytes());
    assert_eq!(huge.status, 413);
    assert!(started.elapsed() < Duration::from_secs(2));
    let big = vec![b' '; 70 * 1024];
    assert_eq!(
        rest(addr, "POST", "/instances", Some(KEY), &big).status,
        413
    );
    let mut long_line = vec![b'x'; 70 * 1024];
    long_line.push(b'\n');
    assert_eq!(
        rest(addr, "POST", "/tokens/jti", Some(KEY), &long_line).status,
        400
    );

    // Nothing changed.
    assert!(instances(revoker.addr()).is_empty());
    let status = json_body(&rest(addr, "GET", "/status", Some(KEY), b""));
    assert_eq!(status["percentage_consumed"], json!(0.0), "{status}");
    let config = &status["config"];
    assert_eq!(
        (
            config["Seed"].clone(),
            config["N"].clone(),
            config["P"].clone()
        ),
        (json!(""), json!(1_000_000), json!(1e-7))
    );
    assert_eq!(
        (
            config["HashName"].clone(),
            config["TTL"].clone(),
            config["Workers"].clone()
        ),
        (json!("optimal"), json!(3600), json!(2))
    );
    assert_eq!(config["PingInterval"], json!(1_000_000_000u64));
    assert_eq!(config["MaxRetries"], json!(1));
    let doc = json_body(&rest(addr, "GET", "/tokens/jti/x", Some(KEY), b""));
    assert_eq!(doc, json!({"hits": [], "misses": ["revoker"]}));

    // The value is the rest of the path, decoded once.
    assert_eq!(
        rest(addr, "POST", "/tokens/sub/a%2Fb%2520c", Some(KEY), b"").status,
        201
    );
    let doc = json_body(&rest(addr, "GET", "/tokens/sub/a/b%2520c", Some(KEY), b""));
    assert_eq!(doc["hits"], json!(["revoker"]));
    let doc = json_body(&rest(addr, "GET", "/tokens/sub/a/b%20c", Some(KEY), b""));
    assert_eq!(doc["hits"], json!([]));

    // A chunked batch with lines cut across chunks, after `100 Continue`.
    let mut client = Client::connect(addr);
    client.send(format!("POST /tokens/jti HTTP/1.1\r\nHost: r\r\nAuthorization: bearer {KEY}\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n").as_bytes());
    // "one\r\ntwo\r\n\r\nthree\n" in chunks of 6, 8 and 4 bytes.
    client.send(b"6\r\none\r\nt\r\n8\r\nwo\r\n\r\nth\r\n4\r\nree\n\r\n0\r\n\r\n");
    let response = client.response();
    assert_eq!(response.status, 201, "{}", response.text());
    for value in ["one", "two", "three"] {
        let doc = json_body(&rest(
            addr,
            "GET",
            &format!("/tokens/jti/{value}"),
            Some(KEY),
            b"",
        ));
        assert_eq!(doc["hits"], json!(["revoker"]), "{value}");
    }
    // Keep-alive: two calls on one connection.
    let mut client = Client::connect(addr);
    let call = format!("GET /instances HTTP/1.1\r\nHost: r\r\nAuthorization: bearer {KEY}\r\n\r\n");
    assert_eq!(client.request(call.as_bytes()).status, 200);
    assert_eq!(client.request(call.as_bytes()).status, 200);
}

#[test]
fn the_demo_runs_what_it_prints() {
    let _serial = serial();
    let mut child = Command::new(env!("CARGO_BIN_EXE_bloomgate"))
        .args(["demo", "--port", "0"])
        .env_remove("KRAKEND_PORT")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn bloomgate demo");
    let (tx, rx) = mpsc::channel();
    let out = BufReader::new(child.stdout.take().expect("stdout"));
    std::thread::spawn(move || {
        for line in out.lines() {
            let Ok(line) = line else { break };
            let _ = tx.send(line);
        }
    });
    let mut lines = Vec::new();
    let deadline = Instant::now() + START_LIMIT;
    while lines
        .iter()
        .filter(|l: &&String| l.contains("curl "))
        .count()
        < 4
    {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => lines.push(line),
            Err(_) => {
                let _ = child.kill();
                panic!("the demo printed no instructions: {lines:?}");
            }
        }
    }
    let text = lines.join("\n");
    let token = text
        .split("TOKEN=")
        .nth(1)
        .and_then(|t| t.split_whitespace().next())
        .expect("a token")
        .to_owned();
    let curls: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.split("curl ").nth(1))
        .collect();
    let url_of = |curl: &str| -> (SocketAddr, String) {
        let url = curl.split_whitespace().last().expect("url");
        let rest = url.strip_prefix("http://").expect("http url");
        let (host, path) = rest.split_at(rest.find('/').expect("path"));
        (host.parse().expect("address"), path.to_owned())
    };
    let call = |curl: &str| -> u16 {
        let (addr, path) = url_of(curl);
        let mut client = Client::connect(addr);
        let request = if curl.contains("-X POST") {
            let key = curl
                .split("bearer ")
                .nth(1)
                .and_then(|k| k.split('\'').next())
                .expect("api key");
            format!(
                "POST {path} HTTP/1.1\r\nHost: demo\r\nAuthorization: bearer {key}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )
        } else {
            format!(
                "GET {path} HTTP/1.1\r\nHost: demo\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
            )
        };
        client.request(request.as_bytes()).status
    };
    let statuses: Vec<u16> = curls.iter().take(3).map(|c| call(c)).collect();
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let stopped = Instant::now();
    while stopped.elapsed() < Duration::from_secs(5) && matches!(child.try_wait(), Ok(None)) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(statuses, [200, 201, 401], "{text}");
}

/// A tiny seeded generator (xorshift64*), so a failing run can be replayed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

/// `POST /tokens/jti/{value}` on a new connection; `None` when the server is gone.
fn try_revoke(addr: SocketAddr, value: &str) -> Option<u16> {
    use std::io::{Read as _, Write as _};
    let mut stream =
        std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(500)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let request = format!(
        "POST /tokens/jti/{value} HTTP/1.1\r\nHost: r\r\nAuthorization: bearer {KEY}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).ok()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).ok()?;
    let status = response.get(9..12)?;
    std::str::from_utf8(status).ok()?.parse().ok()
}

/// A revoker config keeping its state in `state`, written into `scratch`; returns its path.
fn persistent_revoker_config(scratch: &Scratch, state: &str) -> String {
    let config = format!(
        r#"{{"version": 3, "port": 0, "extra_config": {{"auth/revoker": {{{}}},
            "bloomgate/persistence": {{"dir": "{state}"}}}}}}"#,
        revoker_section("")
    );
    scratch.file("revoker.json", &config)
}

fn persistent_revoker(round: usize, state: &str) -> Node {
    let scratch = Scratch::new(&format!("persist-revoker-{round}"));
    let path = persistent_revoker_config(&scratch, state);
    Node::start(
        scratch,
        &["revoker", "-c", &path, "--port", "0"],
        "bloomgate: revoke server listening on ",
    )
}

#[test]
fn every_acknowledged_revocation_survives_kill_9_of_the_revoker() {
    let _serial = serial();
    let state = Scratch::new("persist-revoker-state");
    let dir = state.subdir("state");
    let mut rng = Rng(0x5eed_0007);
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let began = Instant::now();
    for round in 0..10 {
        if began.elapsed() > Duration::from_secs(20) {
            break;
        }
        let mut node = persistent_revoker(round, &dir);
        let api = node.addr();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let clients: Vec<_> = (0..4)
            .map(|c| {
                let (acked, stop) = (Arc::clone(&acked), Arc::clone(&stop));
                std::thread::spawn(move || {
                    let mut i = 0;
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        let value = format!("r{round}-c{c}-{i}");
                        i += 1;
                        if try_revoke(api, &value) == Some(201) {
                            acked.lock().unwrap_or_else(|e| e.into_inner()).push(value);
                        }
                    }
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(100 + rng.below(900)));
        node.kill9();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for client in clients {
            client.join().expect("client");
        }
    }
    let node = persistent_revoker(99, &dir);
    let acked = acked.lock().unwrap_or_else(|e| e.into_inner()).clone();
    assert!(
        acked.len() > 100,
        "only {} revocations acknowledged",
        acked.len()
    );
    for value in &acked {
        let response = rest(
            node.addr(),
            "GET",
            &format!("/tokens/jti/{value}"),
            Some(KEY),
            b"",
        );
        assert_eq!(response.status, 200, "{}", response.text());
        let hits = json_body(&response)["hits"].clone();
        assert!(
            hits.as_array()
                .is_some_and(|h| h.iter().any(|v| v == "revoker")),
            "{value} was acknowledged but is not revoked after restart; stderr:\n{}",
            node.stderr()
        );
    }
    assert!(
        node.stderr().contains("persistence: recovered"),
        "{}",
        node.stderr()
    );
}

fn persistent_gateway(round: usize, state: &str, rpc_port: u16) -> Node {
    let scratch = Scratch::new(&format!("persist-gateway-{round}"));
    let config = format!(
        r#"{{"version": 3, "port": 0, "endpoints": [],
  "extra_config": {{"auth/revoker": {{{section}}}, "bloomgate/persistence": {{"dir": "{state}"}}}}}}"#,
        section = revoker_section(""),
    );
    let path = scratch.file("gateway.json", &config);
    let rpc = rpc_port.to_string();
    Node::start(
        scratch,
        &[
            "run",
            "-c",
            &path,
            "--port",
            "0",
            "--rpc-port",
            &rpc,
            "--cores",
            "1",
        ],
        "bloomgate: listening on ",
    )
}

#[test]
fn every_acknowledged_rpc_add_survives_kill_9_of_the_gateway() {
    let _serial = serial();
    let state = Scratch::new("persist-gateway-state");
    let dir = state.subdir("state");
    let mut rng = Rng(0x5eed_0011);
    let acked = Arc::new(Mutex::new(Vec::<Vec<u8>>::new()));
    let began = Instant::now();
    for round in 0..6 {
        if began.elapsed() > Duration::from_secs(20) {
            break;
        }
        let rpc_port = free_port();
        let mut node = persistent_gateway(round, &dir, rpc_port);
        let rpc = SocketAddr::from(([127, 0, 0, 1], rpc_port));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (acked2, stop2) = (Arc::clone(&acked), Arc::clone(&stop));
        let client = std::thread::spawn(move || {
            let Ok(mut client) = RpcClient::connect(ClientConfig {
                addr: rpc,
                api_key: Some(KEY.as_bytes().to_vec()),
                timeout: Duration::from_secs(2),
                retries: 0,
            }) else {
                return;
            };
            let mut i = 0;
            while !stop2.load(std::sync::atomic::Ordering::Relaxed) {
                let keys: Vec<Vec<u8>> = (0..8)
                    .map(|k| format!("jti-g{round}-{i}-{k}").into_bytes())
                    .collect();
                i += 1;
                let refs: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
                match client.add(&refs) {
                    Ok(_) => acked2
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .extend(keys),
                    Err(_) => return,
                }
            }
        });
        std::thread::sleep(Duration::from_millis(200 + rng.below(800)));
        node.kill9();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        client.join().expect("client");
    }
    let rpc_port = free_port();
    let _node = persistent_gateway(99, &dir, rpc_port);
    let rpc = SocketAddr::from(([127, 0, 0, 1], rpc_port));
    let acked = acked.lock().unwrap_or_else(|e| e.into_inner()).clone();
    assert!(acked.len() > 100, "only {} keys acknowledged", acked.len());
    for chunk in acked.chunks(1000) {
        let refs: Vec<&[u8]> = chunk.iter().map(Vec::as_slice).collect();
        let hits = rpc_check(rpc, &refs);
        for (key, hit) in chunk.iter().zip(hits) {
            assert!(
                hit,
                "{} acknowledged but not revoked after restart",
                String::from_utf8_lossy(key)
            );
        }
    }
}

#[test]
fn a_second_process_on_the_same_persistence_dir_exits_with_the_reason() {
    let _serial = serial();
    let state = Scratch::new("persist-shared-state");
    let dir = state.subdir("data");
    let _first = persistent_revoker(0, &dir);
    let scratch = Scratch::new("persist-second");
    let path = persistent_revoker_config(&scratch, &dir);
    let mut second = Command::new(env!("CARGO_BIN_EXE_bloomgate"))
        .args(["revoker", "-c", &path, "--port", "0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn bloomgate");
    let deadline = Instant::now() + START_LIMIT;
    let status = loop {
        if let Some(status) = second.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = second.kill();
            panic!("a second revoker on the same persistence dir did not exit");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    let _ = std::io::Read::read_to_string(&mut second.stderr.take().expect("stderr"), &mut stderr);
    assert!(!status.success(), "it must fail: {stderr}");
    assert!(
        stderr.contains("is in use by another bloomgate process (pid"),
        "the reason names the holder: {stderr}"
    );
}
