//! The RPC server applies authenticated requests to the shared filter and survives hostile
//! clients.

use std::cell::RefCell;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use admin::rpc::client::{Client, ClientConfig, ClientError};
use admin::rpc::frame;
use admin::rpc::server::{self, RpcState};
use bloom::{Geometry, Revocations};

const KEY: &[u8] = b"639ee23f-f4c5-40c4-855c-912bf01fae87";
const TTL: u64 = 3600;

/// Tests that start executors run one at a time (locked memory, 2 cores).
pub static SERIAL: Mutex<()> = Mutex::new(());

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A running RPC server; stops on drop.
struct Server {
    addr: SocketAddr,
    shared: Arc<Revocations>,
    shutdown: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    fn start() -> Server {
        let (shared, writer) =
            Revocations::new(Geometry::new(200_000, 1e-6).unwrap(), TTL, now()).unwrap();
        let shutdown = Arc::new(AtomicBool::new(false));
        let (tx, rx) = std::sync::mpsc::channel();
        let stop = Arc::clone(&shutdown);
        let thread = crate::on_runtime(async move || {
            let listener =
                event::net::Listener::bind_exclusive("127.0.0.1:0".parse().unwrap()).unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            let state = Rc::new(RpcState::new(
                Rc::new(RefCell::new(writer)),
                Some(KEY.to_vec()),
                now,
            ));
            server::serve(listener, state, stop).await;
        });
        let addr = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        Server {
            addr,
            shared,
            shutdown,
            thread: Some(thread),
        }
    }

    fn client(&self, key: &[u8]) -> Result<Client, ClientError> {
        Client::connect(ClientConfig {
            addr: self.addr,
            api_key: Some(key.to_vec()),
            timeout: Duration::from_secs(5),
            retries: 1,
        })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[test]
fn add_is_seen_by_readers_and_check_agrees() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let server = Server::start();
    let mut client = server.client(KEY).unwrap();
    assert!(!server.shared.contains(b"jti-X"));
    let added = client.add(&[b"jti-X", b"sub-alice"]).unwrap();
    assert_eq!(added.count, 2);
    // The data plane's view: the same words, no copy.
    assert!(server.shared.contains(b"jti-X") && server.shared.contains(b"sub-alice"));
    assert_eq!(
        client.check(&[b"jti-X", b"jti-Y"]).unwrap(),
        vec![true, false]
    );
    let status = client.status().unwrap();
    assert_eq!((status.n, status.ttl), (200_000, TTL));
    assert_eq!(status.inserted[0], 2);
    let g = server.shared.geometry();
    assert_eq!(
        (status.placement, status.block_bits, status.k),
        (g.placement().code(), g.block_bits(), g.k())
    );
}

#[test]
fn a_large_batch_streams_in_bounded_frames() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let server = Server::start();
    let mut client = server.client(KEY).unwrap();
    let keys: Vec<Vec<u8>> = (0..100_000)
        .map(|i| format!("jti-{i:08}").into_bytes())
        .collect();
    let refs: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
    assert_eq!(client.add(&refs).unwrap().count, 100_000);
    assert!(keys.iter().all(|k| server.shared.contains(k)));
    assert!(client.check(&refs).unwrap().iter().all(|&hit| hit));
}

#[test]
fn a_wrong_key_is_refused_and_changes_nothing() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let server = Server::start();
    match server.client(b"not-the-key") {
        Err(ClientError::Unauthenticated(_)) => {}
        other => panic!("expected Unauthenticated, got {other:?}"),
    }
    // A raw client that skips the hello and sends an Add: closed, nothing inserted.
    let mut raw = TcpStream::connect(server.addr).unwrap();
    raw.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut add = rkyv::util::AlignedVec::<16>::new();
    admin::rpc::message::encode(
        &admin::rpc::message::Request::Add {
            id: 1,
            keys: vec![b"jti-evil".to_vec()],
        },
        &mut add,
    );
    raw.write_all(&add).unwrap();
    assert!(drains_to_close(&mut raw));
    assert!(!server.shared.contains(b"jti-evil"));
    // The server still serves good clients.
    assert!(server.client(KEY).unwrap().add(&[b"jti-good"]).is_ok());
}

#[test]
fn hostile_frames_close_only_their_connection() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let server = Server::start();
    let mut good = server.client(KEY).unwrap();
    let hostile: Vec<Vec<u8>> = vec![
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        vec![0xff; 64],                                     // huge length prefix
        frame::header(frame::MAX_PAYLOAD + 1).to_vec(),     // over the limit
        [&frame::header(12)[..], &[0xAB; 12][..]].concat(), // garbage payload
        frame::header(100)[..6].to_vec(),                   // truncated header
        [&frame::header(1000)[..], &[0; 10][..]].concat(),  // truncated payload
    ];
    for bytes in &hostile {
        let mut raw = TcpStream::connect(server.addr).unwrap();
        raw.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
        let _ = raw.write_all(bytes);
        let _ = raw.shutdown(std::net::Shutdown::Write);
        assert!(
            drains_to_close(&mut raw),
            "server kept a hostile connection open: {bytes:?}"
        );
    }
    // Garbage after a valid hello.
    let mut authed = server.client(KEY).unwrap();
    drop(authed.add(&[b"jti-before"]));
    // 1000 connections opened and dropped.
    for _ in 0..1000 {
        drop(TcpStream::connect(server.addr).unwrap());
    }
    assert_eq!(good.check(&[b"jti-before"]).unwrap(), vec![true]);
    assert!(good.add(&[b"jti-after"]).is_ok());
}

#[test]
fn sync_merges_a_snapshot_by_epoch() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let server = Server::start();
    let (_, mut other) =
        Revocations::new(Geometry::new(200_000, 1e-6).unwrap(), TTL, now()).unwrap();
    for i in 0..5_000 {
        other.insert(format!("sub-{i}").as_bytes(), now());
    }
    let snapshot = other.snapshot();
    let mut client = server.client(KEY).unwrap();
    let (kept, _) = client.sync(&snapshot).unwrap();
    assert_eq!(kept, 2);
    assert!((0..5_000).all(|i| server.shared.contains(format!("sub-{i}").as_bytes())));
    // A snapshot of another geometry is refused and changes nothing.
    let (_, wrong) = Revocations::new(Geometry::new(1_000, 1e-3).unwrap(), TTL, now()).unwrap();
    assert!(matches!(
        client.sync(&wrong.snapshot()),
        Err(ClientError::Refused { .. })
    ));
}

/// Reads until the server closes (true) or 15 s pass (false).
fn drains_to_close(stream: &mut TcpStream) -> bool {
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                return false;
            }
            Err(_) => return true,
        }
    }
    false
}
