//! The RPC server on the admin core: the only writer of the shared filter.
//!
//! Each connection: the server sends a challenge, the client must authenticate within
//! [`HANDSHAKE_TIMEOUT`]; then frames are read, validated and applied in order, responses
//! written in the same order. A connection that fails authentication, sends an oversized or
//! invalid frame, or stalls past [`IDLE_TIMEOUT`] is closed; the others are unaffected.

use std::cell::{Cell, RefCell};
use std::io;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bloom::Writer;
use event::net::{Listener, Stream};
use rkyv::util::AlignedVec;

use super::auth;
use super::frame::{self, Decoded, HEADER_LEN, MAX_PAYLOAD};
use super::message::{self, ArchivedRequest, Response, Status};
use crate::persist::{Store, Ticket};

/// Time a client has to answer the challenge.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// A connection with no complete frame for this long is closed.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(300);
/// A frame started must complete within this (a stalled sender is cut off).
pub const FRAME_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections served at once; more are closed on accept.
pub const MAX_CONNECTIONS: usize = 1024;
/// How often a waiting accept looks at the shutdown flag.
const SHUTDOWN_POLL: Duration = Duration::from_millis(100);

/// What the RPC server applies requests to. Lives on the admin core (`Rc`, single thread).
#[derive(Debug)]
pub struct RpcState {
    /// The filter's one writer.
    pub writer: Rc<RefCell<Writer>>,
    /// `revoke_server_api_key`; `None` accepts every client (a gateway with no key configured,
    /// bound to a private address — the config loader warns).
    pub api_key: Option<Vec<u8>>,
    /// Unix seconds now (a parameter so tests can move time).
    pub clock: fn() -> u64,
    /// `bloomgate/persistence`: an `Add` is answered once its keys are in the synced journal;
    /// a merged `Sync` once a snapshot holding it is written.
    pub store: Option<Rc<Store>>,
    connections: Cell<usize>,
}

impl RpcState {
    /// State for a server writing through `writer`.
    pub fn new(
        writer: Rc<RefCell<Writer>>,
        api_key: Option<Vec<u8>>,
        clock: fn() -> u64,
    ) -> RpcState {
        RpcState {
            writer,
            api_key,
            clock,
            store: None,
            connections: Cell::new(0),
        }
    }

    /// Journals what this server applies (persistence).
    pub fn with_store(mut self, store: Option<Rc<Store>>) -> RpcState {
        self.store = store;
        self
    }
}

/// Accepts and serves RPC connections until `shutdown`.
pub async fn serve(listener: Listener, state: Rc<RpcState>, shutdown: Arc<AtomicBool>) {
    loop {
        let accepted = futures_lite::future::or(async { Some(listener.accept().await) }, async {
            while !shutdown.load(Ordering::Relaxed) {
                event::sleep(SHUTDOWN_POLL).await;
            }
            None
        })
        .await;
        let Some(accepted) = accepted else { return };
        let Ok(stream) = accepted else {
            event::sleep(Duration::from_millis(50)).await;
            continue;
        };
        if state.connections.get() >= MAX_CONNECTIONS {
            continue; // dropped: closed
        }
        state.connections.set(state.connections.get() + 1);
        let state = Rc::clone(&state);
        drop(event::spawn(async move {
            let _ = Connection::new(stream).run(&state).await;
            state.connections.set(state.connections.get() - 1);
        }));
    }
}

/// Why a connection ended (for tests and logs; the peer only sees the close).
#[derive(Debug, thiserror::Error)]
pub enum ConnectionEnd {
    /// The peer closed.
    #[error("closed by the peer")]
    Closed,
    /// A deadline passed.
    #[error("timed out")]
    TimedOut,
    /// Socket error.
    #[error("i/o: {0}")]
    Io(#[from] io::Error),
    /// Bad frame header.
    #[error(transparent)]
    Frame(#[from] frame::FrameError),
    /// A payload that is not a valid message.
    #[error(transparent)]
    Message(#[from] message::InvalidMessage),
    /// The hello was missing or wrong.
    #[error("authentication failed")]
    Unauthenticated,
    /// What was applied could not be made durable: the connection is closed unanswered, so
    /// nothing is acknowledged.
    #[error("persistence: {0}")]
    Persist(String),
}

/// A snapshot being received in pieces.
#[derive(Debug)]
struct PendingSync {
    id: u64,
    total: u64,
    bytes: Vec<u8>,
}

struct Connection {
    stream: Stream,
    /// Bytes read: `rbuf[..filled]`; frames are consumed from the front.
    rbuf: AlignedVec<16>,
    filled: usize,
    /// A payload that did not start 8-aligned is copied here before validation.
    scratch: AlignedVec<16>,
    wbuf: AlignedVec<16>,
    sync: Option<PendingSync>,
    /// The newest journal ticket of the answers in `wbuf`.
    ticket: Option<Ticket>,
    /// A sync was merged: snapshot before answering.
    merged: bool,
}

impl Connection {
    fn new(stream: Stream) -> Connection {
        let mut rbuf = AlignedVec::with_capacity(64 * 1024);
        rbuf.resize(64 * 1024, 0);
        Connection {
            stream,
            rbuf,
            filled: 0,
            scratch: AlignedVec::new(),
            wbuf: AlignedVec::new(),
            sync: None,
            ticket: None,
            merged: false,
        }
    }

    async fn run(&mut self, state: &RpcState) -> Result<(), ConnectionEnd> {
        let nonce = auth::nonce();
        self.send(&Response::Challenge { nonce }).await?;
        self.authenticate(state, &nonce).await?;
        self.send(&Response::Welcome).await?;
        loop {
            let len = self.read_frame(Instant::now() + IDLE_TIMEOUT).await?;
            // Apply every complete frame that is buffered, then write all their answers at once.
            let mut start = 0;
            let mut next = Some(len);
            while let Some(len) = next {
                let response = self.apply(state, start, len)?;
                message::encode(&response, &mut self.wbuf);
                start += HEADER_LEN + len;
                next = match frame::decode_header(&self.rbuf[start..self.filled])? {
                    Decoded::Frame { len } => Some(len),
                    Decoded::Incomplete => None,
                };
            }
            self.consume(start);
            self.make_durable(state).await?;
            self.flush().await?;
        }
    }

    /// With persistence: waits until what the buffered answers acknowledge is on disk.
    async fn make_durable(&mut self, state: &RpcState) -> Result<(), ConnectionEnd> {
        let Some(store) = &state.store else {
            return Ok(());
        };
        if std::mem::take(&mut self.merged) {
            store
                .snapshot(&state.writer)
                .await
                .map_err(|e| ConnectionEnd::Persist(e.to_string()))?;
        }
        if let Some(ticket) = self.ticket.take() {
            store
                .durable(ticket)
                .await
                .map_err(|e| ConnectionEnd::Persist(e.to_string()))?;
        }
        Ok(())
    }

    async fn authenticate(
        &mut self,
        state: &RpcState,
        nonce: &[u8; 32],
    ) -> Result<(), ConnectionEnd> {
        let len = self.read_frame(Instant::now() + HANDSHAKE_TIMEOUT).await?;
        let payload = payload(&self.rbuf, &mut self.scratch, 0, len);
        let request = message::read_request(payload)?;
        let ok = match (request, &state.api_key) {
            (ArchivedRequest::Hello { mac }, Some(key)) => auth::verify(key, nonce, mac),
            (ArchivedRequest::Hello { .. }, None) => true,
            _ => false,
        };
        self.consume(HEADER_LEN + len);
        if ok {
            Ok(())
        } else {
            Err(ConnectionEnd::Unauthenticated)
        }
    }

    /// Applies the frame at `rbuf[start..]` with payload `len`.
    fn apply(
        &mut self,
        state: &RpcState,
        start: usize,
        len: usize,
    ) -> Result<Response, ConnectionEnd> {
        let now = (state.clock)();
        let payload = payload(&self.rbuf, &mut self.scratch, start, len);
        let request = message::read_request(payload)?;
        Ok(match request {
            ArchivedRequest::Hello { .. } => Response::Error {
                id: 0,
                message: "already authenticated".into(),
            },
            ArchivedRequest::Add { id, keys } => {
                if let Some(Err(e)) = state.store.as_ref().map(|s| s.check()) {
                    return Ok(Response::Error {
                        id: id.to_native(),
                        message: e.to_string(),
                    });
                }
                let count = keys.len() as u64;
                let new = state
                    .writer
                    .borrow_mut()
                    .insert_batch(keys.iter().map(|k| k.as_slice()), now);
                if let Some(store) = &state.store {
                    let keys: Vec<&[u8]> = keys.iter().map(|k| k.as_slice()).collect();
                    match store.append(&keys, now) {
                        Ok(ticket) => self.ticket = Some(ticket),
                        Err(e) => {
                            return Ok(Response::Error {
                                id: id.to_native(),
                                message: e.to_string(),
                            });
                        }
                    }
                }
                Response::Added {
                    id: id.to_native(),
                    count,
                    new,
                }
            }
            ArchivedRequest::Check { id, keys } => {
                let writer = state.writer.borrow();
                let hits = keys
                    .iter()
                    .map(|k| writer.shared().contains(k.as_slice()))
                    .collect();
                Response::Checked {
                    id: id.to_native(),
                    hits,
                }
            }
            ArchivedRequest::Status { id } => {
                Response::Status(status(id.to_native(), &state.writer.borrow()))
            }
            ArchivedRequest::Sync {
                id,
                total,
                offset,
                bytes,
            } => {
                let (id, total, offset) = (id.to_native(), total.to_native(), offset.to_native());
                let bytes = bytes.as_slice();
                let response = receive_sync(&mut self.sync, state, id, total, offset, bytes, now);
                self.merged |= matches!(response, Response::Synced { .. });
                return Ok(response);
            }
        })
    }

    /// Reads until a whole frame is at the front of the buffer; returns its payload length.
    async fn read_frame(&mut self, idle_deadline: Instant) -> Result<usize, ConnectionEnd> {
        let mut deadline = idle_deadline;
        loop {
            match frame::decode_header(&self.rbuf[..self.filled])? {
                Decoded::Frame { len } => return Ok(len),
                Decoded::Incomplete if self.filled > 0 => {
                    // A frame has started: it must finish soon.
                    deadline = deadline.min(Instant::now() + FRAME_TIMEOUT);
                }
                Decoded::Incomplete => {}
            }
            let needed = HEADER_LEN + MAX_PAYLOAD;
            if self.filled == self.rbuf.len() && self.rbuf.len() < needed {
                let grown = (self.rbuf.len() * 2).min(needed);
                self.rbuf.resize(grown, 0);
            }
            match self
                .stream
                .read_by(&mut self.rbuf[self.filled..], Some(deadline))
                .await
            {
                Ok(0) => return Err(ConnectionEnd::Closed),
                Ok(n) => self.filled += n,
                Err(e) if e.kind() == io::ErrorKind::TimedOut => {
                    return Err(ConnectionEnd::TimedOut);
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Drops the first `n` bytes of the read buffer.
    fn consume(&mut self, n: usize) {
        self.rbuf.copy_within(n..self.filled, 0);
        self.filled -= n;
    }

    async fn send(&mut self, response: &Response) -> Result<(), ConnectionEnd> {
        message::encode(response, &mut self.wbuf);
        self.flush().await
    }

    async fn flush(&mut self) -> Result<(), ConnectionEnd> {
        let deadline = Instant::now() + FRAME_TIMEOUT;
        let result = self.stream.write_all_by(&self.wbuf, Some(deadline)).await;
        self.wbuf.clear();
        Ok(result?)
    }
}

/// Stores a piece of a snapshot; merges it when complete. Pieces must arrive in order and the
/// total must fit this filter's snapshot size.
fn receive_sync(
    pending: &mut Option<PendingSync>,
    state: &RpcState,
    id: u64,
    total: u64,
    offset: u64,
    bytes: &[u8],
    now: u64,
) -> Response {
    let error = |message: String| Response::Error { id, message };
    let limit = {
        let writer = state.writer.borrow();
        // Two generations plus header and archive overhead.
        2 * writer.shared().geometry().bytes() + 64 * 1024
    };
    if total > limit {
        *pending = None;
        return error(format!(
            "snapshot of {total} bytes exceeds this filter's {limit}"
        ));
    }
    if offset == 0 {
        *pending = Some(PendingSync {
            id,
            total,
            bytes: Vec::with_capacity(total as usize),
        });
    }
    let Some(sync) = pending
        .as_mut()
        .filter(|s| s.id == id && s.total == total && s.bytes.len() as u64 == offset)
    else {
        *pending = None;
        return error("sync pieces out of order".into());
    };
    if offset + bytes.len() as u64 > total {
        *pending = None;
        return error("sync piece past the announced total".into());
    }
    sync.bytes.extend_from_slice(bytes);
    if (sync.bytes.len() as u64) < total {
        return Response::SyncPending {
            id,
            received: sync.bytes.len() as u64,
        };
    }
    let Some(done) = pending.take() else {
        return error("sync state lost".into());
    };
    match state.writer.borrow_mut().merge_snapshot(&done.bytes, now) {
        Ok(report) => Response::Synced {
            id,
            kept: report.generations_kept,
            dropped: report.generations_dropped,
        },
        Err(e) => error(e.to_string()),
    }
}

fn status(id: u64, writer: &Writer) -> Status {
    let shared = writer.shared();
    let g = shared.geometry();
    let [newest, older] = shared.stats();
    Status {
        id,
        n: g.n(),
        p: g.p(),
        ttl: shared.ttl(),
        seed: g.seed(),
        placement: g.placement().code(),
        block_bits: g.block_bits(),
        k: g.k(),
        epochs: [newest.epoch, older.epoch],
        inserted: [newest.inserted, older.inserted],
        fill: [newest.fill_ratio, older.fill_ratio],
        percentage_consumed: newest.percentage_consumed,
    }
}

/// The payload of the frame at `rbuf[start..]`, 8-aligned for the archive (copied into
/// `scratch` when a preceding frame left it misaligned).
fn payload<'a>(
    rbuf: &'a AlignedVec<16>,
    scratch: &'a mut AlignedVec<16>,
    start: usize,
    len: usize,
) -> &'a [u8] {
    let at = start + HEADER_LEN;
    if at.is_multiple_of(8) {
        return &rbuf[at..at + len];
    }
    scratch.clear();
    scratch.extend_from_slice(&rbuf[at..at + len]);
    scratch
}
