//! The Revoke Server's fan-out on a real executor: registration syncs an instance before it is
//! listed, a revocation reaches every instance at once, and an instance that accepts
//! connections but never answers delays no one — even with a single push worker.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use admin::revoke::{Route, Service};
use admin::rpc::server::{self, RpcState};
use admin::settings::{ApiKey, HashName, RevokerSettings};
use bloom::{Geometry, Revocations};

const KEY: &str = "fanout-test-key";
const TTL: u64 = 3600;

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn settings() -> RevokerSettings {
    RevokerSettings {
        geometry: Geometry::new(100_000, 1e-6).unwrap(),
        ttl: Duration::from_secs(TTL),
        hash_name: HashName::Optimal,
        rpc_port: None,
        token_keys: vec!["jti".into()],
        ping_url: None,
        ping_interval: Duration::from_secs(30),
        api_key: Some(ApiKey::new(KEY.into())),
        max_workers: 1,
        max_retries: 0,
    }
}

fn registration(addr: SocketAddr) -> String {
    format!(
        r#"{{"ip":"{}","port":{},"n":100000,"p":"1e-6","ttl":{TTL},"hash_name":"optimal"}}"#,
        addr.ip(),
        addr.port()
    )
}

async fn wait_for(limit: Duration, mut done: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if done() {
            return Some(start.elapsed());
        }
        event::sleep(Duration::from_millis(5)).await;
    }
    None
}

#[test]
fn a_dead_instance_delays_no_one() {
    let _serial = crate::rpc::SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // Accepts (the kernel completes the handshake) and never answers.
    let black_hole = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = black_hole.local_addr().unwrap();
    let handle = crate::on_runtime(async move || {
        let shutdown = Arc::new(AtomicBool::new(false));
        // Two live instances.
        let mut live = Vec::new();
        for _ in 0..2 {
            let (shared, writer) =
                Revocations::new(Geometry::new(100_000, 1e-6).unwrap(), TTL, now()).unwrap();
            let listener =
                event::net::Listener::bind_exclusive("127.0.0.1:0".parse().unwrap()).unwrap();
            let addr = listener.local_addr().unwrap();
            let state = Rc::new(RpcState::new(
                Rc::new(RefCell::new(writer)),
                Some(KEY.as_bytes().to_vec()),
                now,
            ));
            drop(event::spawn(server::serve(
                listener,
                state,
                Arc::clone(&shutdown),
            )));
            live.push((addr, shared));
        }
        // The server, with one revocation made before anyone registered.
        let (_, writer) =
            Revocations::new(Geometry::new(100_000, 1e-6).unwrap(), TTL, now()).unwrap();
        let service = Service::new(
            Rc::new(RefCell::new(writer)),
            settings(),
            now,
            Arc::clone(&shutdown),
            None,
        );
        service.revoke(&[b"jti-before"]).expect("revoke");
        for addr in [dead, live[0].0, live[1].0] {
            let reply = service
                .handle(Route::Register, registration(addr).as_bytes(), None)
                .await;
            assert_eq!(reply.status, 201, "{reply:?}");
        }
        // Listed once synced, with what was revoked before.
        let listed = wait_for(Duration::from_secs(3), || {
            let listed = service.instances();
            live.iter().all(|(a, _)| listed.contains(a))
        })
        .await;
        assert!(listed.is_some(), "live instances not listed");
        assert!(!service.instances().contains(&dead));
        for (_, shared) in &live {
            assert!(shared.contains(b"jti-before"));
        }
        // Pushed at once to both, whatever the dead one does.
        service.revoke(&[b"jti-after"]).expect("revoke");
        let took = wait_for(Duration::from_secs(1), || {
            live.iter().all(|(_, s)| s.contains(b"jti-after"))
        })
        .await;
        assert!(took.is_some(), "a dead instance delayed the others");
        // A check counts the dead one as a miss, within its bound.
        let asked = Instant::now();
        let reply = service
            .handle(
                Route::Check {
                    key: b"jti".to_vec(),
                    value: b"after".to_vec(),
                },
                b"",
                None,
            )
            .await;
        assert!(asked.elapsed() < Duration::from_secs(3));
        let json = reply.json.unwrap_or_default();
        let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(
            doc["misses"],
            serde_json::json!([dead.to_string()]),
            "{json}"
        );
        assert_eq!(doc["hits"].as_array().map(Vec::len), Some(3), "{json}");
        shutdown.store(true, std::sync::atomic::Ordering::Relaxed);
    });
    handle.join().unwrap();
    drop(black_hole);
}
