//! The Revoke Server's state and calls, on one `event` runtime: its own filter (through the
//! filter's one `Writer`), the instance registry, one push worker per instance, and the REST
//! calls' logic. The socket glue (HTTP) lives in the `proxy` crate and calls
//! [`Service::authorize`], [`Service::handle`] and [`Service::batch`].
//!
//! Fan-out: a revocation is applied here, encoded once as RPC `Add` frames ([`AddFrames`]),
//! queued (shared, `Rc`) on every instance's [`PushQueue`](super::queue::PushQueue) and its
//! worker woken. A worker keeps one authenticated connection to its instance and writes
//! whatever is queued, pipelined; at most `revoke_server_max_workers` pushes run at once (a
//! semaphore). A failed push is retried `revoke_server_max_retries` times on a new connection;
//! then the instance is parked (nothing queued for it) until its next ping, which starts a full
//! sync. A queue over its byte budget is dropped for a full sync too. So a slow or dead
//! instance costs the others at most one worker slot for one bounded push.

use std::cell::{Cell, RefCell};
use std::net::{IpAddr, SocketAddr};
use std::rc::{Rc, Weak};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bloom::{SnapshotBytes, Writer};
use event::sync::Semaphore;

use super::api::{ApiError, ApiKeyCheck, Reply, Route, filter_key};
use super::batch::BatchRevoke;
use super::json::{self, Registration, StatusView};
use super::registry::{Registered, Registry};
use crate::persist::{Store, Ticket};
use crate::rpc::async_client::{AddFrames, AsyncClient};
use crate::rpc::client::ClientError;
use crate::settings::RevokerSettings;

/// Bound on a whole `GET /tokens/{key}/{value}` question to one instance; an instance that
/// does not answer in time counts as a miss.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(2);
/// Bound on connecting to an instance, and on each read or write of a push or sync.
pub const PUSH_TIMEOUT: Duration = Duration::from_secs(5);
/// Bytes of encoded frames one instance may have waiting before it is switched to a full sync.
pub const QUEUE_BYTES: usize = 16 << 20;
/// Bytes of frames written in one push (pipelined).
pub const PUSH_BYTES: usize = 4 << 20;
/// How often an idle worker looks at the shutdown flag.
const WORKER_TICK: Duration = Duration::from_millis(500);

/// Where revocations from this server's own filter are reported in `GET /tokens`.
pub const SELF_NAME: &str = "revoker";

/// A snapshot kept while syncs use it, with the filter state it was taken at.
#[derive(Debug)]
struct CachedSnapshot {
    state: (u64, u64, u64),
    bytes: Weak<SnapshotBytes>,
}

/// The Revoke Server. Lives on one executor (`Rc`).
#[derive(Debug)]
pub struct Service {
    writer: Rc<RefCell<Writer>>,
    settings: RevokerSettings,
    key_check: Option<ApiKeyCheck>,
    rpc_key: Option<Vec<u8>>,
    registry: RefCell<Registry<AddFrames>>,
    workers: Semaphore,
    snapshot: RefCell<Option<CachedSnapshot>>,
    next_frame_id: Cell<u64>,
    clock: fn() -> u64,
    shutdown: Arc<AtomicBool>,
    /// `bloomgate/persistence`: a revocation is acknowledged once it is in the synced journal.
    store: Option<Rc<Store>>,
}

impl Service {
    /// A server writing through `writer` (its own filter, or a gateway's in one-node mode).
    /// `clock` gives unix seconds. With a `store`, revocations are journaled and acknowledged
    /// only once durable.
    pub fn new(
        writer: Rc<RefCell<Writer>>,
        settings: RevokerSettings,
        clock: fn() -> u64,
        shutdown: Arc<AtomicBool>,
        store: Option<Rc<Store>>,
    ) -> Rc<Service> {
        let key = settings.api_key.as_ref().map(|k| k.expose().as_bytes());
        Rc::new(Service {
            key_check: key.map(ApiKeyCheck::new),
            rpc_key: key.map(<[u8]>::to_vec),
            writer,
            registry: RefCell::new(Registry::new(QUEUE_BYTES)),
            workers: Semaphore::new(
                usize::try_from(settings.max_workers.max(1)).unwrap_or(usize::MAX),
            ),
            settings,
            snapshot: RefCell::new(None),
            next_frame_id: Cell::new(1),
            clock,
            shutdown,
            store,
        })
    }

    /// The `auth/revoker` settings it runs with.
    pub fn settings(&self) -> &RevokerSettings {
        &self.settings
    }

    /// Whether a request's `Authorization` value carries the API key (never, without a key).
    pub fn authorize(&self, authorization: Option<&[u8]>) -> bool {
        self.key_check
            .as_ref()
            .is_some_and(|check| check.allows(authorization))
    }

    /// Answers every call but the batch. `body` is the request body (read whole by the glue,
    /// within its limit); `peer` the client's address.
    pub async fn handle(self: &Rc<Self>, route: Route, body: &[u8], peer: Option<IpAddr>) -> Reply {
        let result = match route {
            Route::Health => Ok(Reply::json(200, "{\"status\":\"ok\"}".into())),
            Route::Revoke { key, value } => match self.revoke(&[filter_key(&key, &value)]) {
                Ok(ticket) => self.durable(ticket).await.map(|()| Reply::empty(201)),
                Err(e) => Err(e),
            },
            Route::Check { key, value } => Ok(self.check(filter_key(&key, &value)).await),
            Route::RevokeBatch { .. } => Err(ApiError::BadRequest(
                "a batch is read by Service::batch".into(),
            )),
            Route::Instances => Ok(Reply::json(200, json::instances(&self.instances()))),
            Route::Register => self.register(body, peer),
            Route::Unregister(addr) => {
                if self.registry.borrow_mut().remove(&addr) {
                    eprintln!("bloomgate: revoker: instance {addr} unregistered");
                    Ok(Reply::empty(200))
                } else {
                    Err(ApiError::NotFound(format!("no instance {addr}")))
                }
            }
            Route::Status => Ok(Reply::json(200, self.status())),
        };
        result.unwrap_or_else(Reply::from)
    }

    /// Starts a batch revocation of claim `key`: feed it the body, then finish it.
    pub fn batch(self: &Rc<Self>, key: Vec<u8>) -> BatchRevoke {
        BatchRevoke::new(Rc::clone(self), key)
    }

    /// Revokes `keys` here, journals them (with persistence) and queues them for every
    /// instance. Acknowledge only after [`Service::durable`] of the ticket. A journal that has
    /// failed refuses before anything is applied.
    pub fn revoke<K: AsRef<[u8]>>(&self, keys: &[K]) -> Result<Option<Ticket>, ApiError> {
        if let Some(store) = &self.store {
            store
                .check()
                .map_err(|e| ApiError::Unavailable(e.to_string()))?;
        }
        if keys.is_empty() {
            return Ok(None);
        }
        let now = (self.clock)();
        self.writer
            .borrow_mut()
            .insert_batch(keys.iter().map(AsRef::as_ref), now);
        let ticket = match &self.store {
            Some(store) => Some(
                store
                    .append(keys, now)
                    .map_err(|e| ApiError::Unavailable(e.to_string()))?,
            ),
            None => None,
        };
        if !self.registry.borrow().is_empty() {
            self.fan_out(keys);
        }
        Ok(ticket)
    }

    /// Waits until a revocation's journal records are synced (at once without persistence).
    pub async fn durable(&self, ticket: Option<Ticket>) -> Result<(), ApiError> {
        match (&self.store, ticket) {
            (Some(store), Some(ticket)) => store
                .durable(ticket)
                .await
                .map_err(|e| ApiError::Unavailable(e.to_string())),
            _ => Ok(()),
        }
    }

    fn fan_out<K: AsRef<[u8]>>(&self, keys: &[K]) {
        let id = self.next_frame_id.get();
        let frames = AddFrames::encode(keys, id);
        self.next_frame_id.set(id + frames.frames() as u64);
        let bytes = frames.bytes().len();
        let overflowed = self
            .registry
            .borrow_mut()
            .enqueue_all(&Rc::new(frames), bytes);
        for addr in overflowed {
            eprintln!(
                "bloomgate: revoker: instance {addr} fell {QUEUE_BYTES} bytes behind; it gets a full sync instead"
            );
        }
    }

    /// What `GET /instances` lists: registered and fully synced instances.
    pub fn instances(&self) -> Vec<SocketAddr> {
        self.registry.borrow().listed()
    }

    /// The most bytes waiting for any instance that is being pushed to (for the batch's
    /// back-pressure).
    pub fn max_queued_bytes(&self) -> usize {
        self.registry.borrow().max_queued_bytes()
    }

    /// Drops the instances that missed three pings, every `tick`, until shutdown.
    pub async fn expire_until_shutdown(self: Rc<Self>) {
        let interval = self.settings.ping_interval;
        let tick = (interval / 4).clamp(Duration::from_millis(100), Duration::from_secs(5));
        while !self.shutdown.load(Ordering::Relaxed) {
            event::sleep(tick).await;
            let gone = self.registry.borrow_mut().expire(Instant::now(), interval);
            for addr in gone {
                eprintln!(
                    "bloomgate: revoker: instance {addr} dropped: no ping for {} intervals of {interval:?}",
                    super::registry::MISSED_PINGS
                );
            }
        }
    }

    fn status(&self) -> String {
        let s = &self.settings;
        json::status(&StatusView {
            n: s.n(),
            p: s.p(),
            hash_name: s.hash_name.as_str(),
            ttl: s.ttl_secs(),
            workers: s.max_workers,
            ping_interval_ns: s.ping_interval.as_nanos(),
            max_retries: s.max_retries,
            percentage_consumed: self.writer.borrow().shared().percentage_consumed(),
        })
    }

    fn register(self: &Rc<Self>, body: &[u8], peer: Option<IpAddr>) -> Result<Reply, ApiError> {
        let mut registration = Registration::parse(body)?;
        if registration.ip.is_unspecified() {
            registration.ip = peer.ok_or_else(|| {
                ApiError::BadRequest("ip: unspecified and the peer address is unknown".into())
            })?;
        }
        let s = &self.settings;
        let same_p = (registration.p - s.p()).abs() <= s.p() * 1e-9;
        if registration.n != s.n() || !same_p || registration.ttl != s.ttl_secs() {
            return Err(ApiError::Conflict(format!(
                "filter geometry mismatch: the instance has N={} P={} TTL={}s, this revoke server has N={} P={} TTL={}s",
                registration.n,
                registration.p,
                registration.ttl,
                s.n(),
                s.p(),
                s.ttl_secs()
            )));
        }
        let addr = registration.addr();
        let outcome = self.registry.borrow_mut().register(
            addr,
            registration.instance_id,
            registration.cluster_id,
            registration.cn,
            Instant::now(),
        );
        match outcome {
            Registered::New(generation) => {
                eprintln!("bloomgate: revoker: instance {addr} registered; syncing it");
                let service = Rc::clone(self);
                drop(event::spawn(
                    async move { service.work(addr, generation).await },
                ));
            }
            Registered::Known => {
                if let Some(entry) = self.registry.borrow().get(&addr) {
                    entry.wake.notify();
                }
            }
        }
        Ok(Reply::empty(201))
    }

    /// `GET /tokens/{key}/{value}`: this server's filter and every instance, asked in parallel.
    async fn check(self: &Rc<Self>, key: Vec<u8>) -> Reply {
        let here = self.writer.borrow().shared().contains(&key);
        let key = Rc::new(key);
        let tasks: Vec<_> = self
            .registry
            .borrow()
            .addrs()
            .into_iter()
            .map(|addr| {
                let (key, rpc_key) = (Rc::clone(&key), self.rpc_key.clone());
                let task = event::spawn(async move {
                    let ask = async {
                        let mut client =
                            AsyncClient::connect(addr, rpc_key.as_deref(), CHECK_TIMEOUT).await?;
                        client.check(&[key.as_slice()]).await
                    };
                    let timeout = async {
                        event::sleep(CHECK_TIMEOUT).await;
                        Ok(Vec::new())
                    };
                    let answer: Result<Vec<bool>, ClientError> =
                        futures_lite::future::or(ask, timeout).await;
                    matches!(answer.as_deref(), Ok([true]))
                });
                (addr, task)
            })
            .collect();
        let (mut hits, mut misses) = (Vec::new(), Vec::new());
        if here {
            hits.push(SELF_NAME.to_string());
        } else {
            misses.push(SELF_NAME.to_string());
        }
        for (addr, task) in tasks {
            if task.await {
                hits.push(addr.to_string());
            } else {
                misses.push(addr.to_string());
            }
        }
        Reply::json(200, json::hits(&hits, &misses))
    }

    /// A snapshot of the filter, shared with any sync still sending one of the same state.
    fn snapshot(&self) -> Rc<SnapshotBytes> {
        let writer = self.writer.borrow();
        let [newest, older] = writer.shared().stats();
        let state = (newest.epoch, newest.inserted, older.inserted);
        let mut cache = self.snapshot.borrow_mut();
        if let Some(cached) = cache.as_ref().filter(|c| c.state == state)
            && let Some(bytes) = cached.bytes.upgrade()
        {
            return bytes;
        }
        let bytes = Rc::new(writer.snapshot());
        *cache = Some(CachedSnapshot {
            state,
            bytes: Rc::downgrade(&bytes),
        });
        bytes
    }

    /// One instance's worker: full syncs when due, pushes of its queue otherwise, until the
    /// instance is dropped (or registered anew) or shutdown.
    async fn work(self: Rc<Self>, addr: SocketAddr, generation: u64) {
        let mut conn: Option<AsyncClient> = None;
        let mut failing = false;
        loop {
            if self.shutdown.load(Ordering::Relaxed) {
                return;
            }
            let job = {
                let mut registry = self.registry.borrow_mut();
                let Some(entry) = registry.get_mut(&addr, generation) else {
                    return;
                };
                if entry.parked {
                    Job::Idle(Rc::clone(&entry.wake))
                } else if entry.needs_sync {
                    entry.needs_sync = false;
                    entry.syncing = true;
                    entry.queue.clear();
                    Job::Sync
                } else if !entry.queue.is_empty() {
                    Job::Push(entry.queue.take(PUSH_BYTES))
                } else {
                    Job::Idle(Rc::clone(&entry.wake))
                }
            };
            match job {
                Job::Idle(wake) => {
                    futures_lite::future::or(wake.wait(), event::sleep(WORKER_TICK)).await;
                }
                Job::Sync => {
                    let snapshot = self.snapshot();
                    let began = Instant::now();
                    let result = self.attempt(&mut conn, addr, Op::Sync(&snapshot)).await;
                    drop(snapshot);
                    let mut registry = self.registry.borrow_mut();
                    let Some(entry) = registry.get_mut(&addr, generation) else {
                        return;
                    };
                    entry.syncing = false;
                    match result {
                        Ok(()) => {
                            entry.synced = true;
                            failing = false;
                            eprintln!(
                                "bloomgate: revoker: instance {addr} synced in {} ms",
                                began.elapsed().as_millis()
                            );
                        }
                        Err(e) => {
                            entry.synced = false;
                            entry.park();
                            if !failing {
                                eprintln!(
                                    "bloomgate: revoker: warning: cannot sync instance {addr}: {e}; retrying at its next ping"
                                );
                            }
                            failing = true;
                        }
                    }
                }
                Job::Push(batches) => {
                    let result = self.attempt(&mut conn, addr, Op::Push(&batches)).await;
                    if let Err(e) = result {
                        if let Some(entry) = self.registry.borrow_mut().get_mut(&addr, generation) {
                            entry.park();
                        }
                        if !failing {
                            eprintln!(
                                "bloomgate: revoker: warning: cannot push to instance {addr}: {e}; it gets a full sync at its next ping"
                            );
                        }
                        failing = true;
                    }
                }
            }
        }
    }

    /// Runs `op` on a connection to `addr` (made if needed), holding a worker slot while it
    /// sends (at most `revoke_server_max_workers` at once). A kept
    /// connection that fails (the instance closed it while idle) is replaced at once; a failure
    /// on a new connection is retried `max_retries` times, backing off in between.
    async fn attempt(
        &self,
        conn: &mut Option<AsyncClient>,
        addr: SocketAddr,
        op: Op<'_>,
    ) -> Result<(), ClientError> {
        let mut tries = 0;
        loop {
            // Connecting (and the handshake) takes no worker slot: an instance that accepts
            // and never answers costs only its own worker's time.
            let reused = conn.is_some();
            let client = match conn.take() {
                Some(client) => Ok(client),
                None => AsyncClient::connect(addr, self.rpc_key.as_deref(), PUSH_TIMEOUT).await,
            };
            let result = match client {
                Ok(mut client) => {
                    let _permit = self.workers.acquire().await;
                    let result = op.run(&mut client).await;
                    if result.is_ok() {
                        *conn = Some(client);
                    }
                    result
                }
                Err(e) => Err(e),
            };
            match result {
                Ok(()) => return Ok(()),
                Err(ClientError::Io { .. } | ClientError::Protocol { .. }) if reused => {}
                Err(ClientError::Io { .. } | ClientError::Protocol { .. })
                    if tries < self.settings.max_retries =>
                {
                    tries += 1;
                    event::sleep(Duration::from_millis(50 << tries.min(6))).await;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// What a worker does next.
enum Job {
    /// Nothing: wait for a wake-up.
    Idle(Rc<super::signal::Signal>),
    /// Send a full snapshot.
    Sync,
    /// Push these batches.
    Push(Vec<Rc<AddFrames>>),
}

/// One exchange with an instance.
#[derive(Clone, Copy)]
enum Op<'a> {
    /// Merge this snapshot.
    Sync(&'a SnapshotBytes),
    /// Add these batches.
    Push(&'a [Rc<AddFrames>]),
}

impl Op<'_> {
    async fn run(self, client: &mut AsyncClient) -> Result<(), ClientError> {
        match self {
            Op::Sync(snapshot) => client.sync(snapshot).await.map(|_| ()),
            Op::Push(batches) => {
                let refs: Vec<&AddFrames> = batches.iter().map(Rc::as_ref).collect();
                client.add_frames(&refs).await.map(|_| ())
            }
        }
    }
}
