//! A blocking RPC client for tools and tests (`bloomgate rpc …`, the revoker's pushes): connect,
//! authenticate, add, add a batch, check, sync, status — with timeouts, a bounded pipeline, and
//! retries on a new connection for transport errors (every request is idempotent: adding twice
//! or merging a snapshot twice changes nothing).

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use rkyv::rancor;
use rkyv::util::AlignedVec;

use super::auth;
use super::message::{self, ArchivedResponse, Request, Status};
use super::reader::{FrameReader, SYNC_PIECE, key_runs, response_name};

/// Frames in flight before the client waits for answers.
const WINDOW: usize = 8;

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Connect, read or write failed (retried on a new connection first).
    #[error("rpc i/o with {addr}: {source}")]
    Io {
        /// The server.
        addr: SocketAddr,
        /// Why.
        source: io::Error,
    },
    /// The server refused the API key (it closed after the hello).
    #[error("rpc server {0} refused the API key")]
    Unauthenticated(SocketAddr),
    /// The server answered an error; nothing was changed.
    #[error("rpc server {addr} refused: {message}")]
    Refused {
        /// The server.
        addr: SocketAddr,
        /// Its message.
        message: String,
    },
    /// The server sent something that is not the protocol.
    #[error("rpc server {addr} broke the protocol: {message}")]
    Protocol {
        /// The server.
        addr: SocketAddr,
        /// What was wrong.
        message: String,
    },
}

/// How a client connects.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The server.
    pub addr: SocketAddr,
    /// The API key (`None` for a server without one).
    pub api_key: Option<Vec<u8>>,
    /// Bound on connect and on each read and write.
    pub timeout: Duration,
    /// New connections tried after a transport error.
    pub retries: u32,
}

/// What an `add` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Added {
    /// Keys sent.
    pub count: u64,
    /// Keys that set a new bit.
    pub new: u64,
}

/// A connection to one RPC server.
#[derive(Debug)]
pub struct Client {
    config: ClientConfig,
    stream: Option<TcpStream>,
    next_id: u64,
    reader: FrameReader,
    wbuf: AlignedVec<16>,
}

impl Client {
    /// Connects and authenticates (with retries).
    pub fn connect(config: ClientConfig) -> Result<Client, ClientError> {
        let mut client = Client {
            config,
            stream: None,
            next_id: 1,
            reader: FrameReader::new(),
            wbuf: AlignedVec::new(),
        };
        client.retrying(|_| Ok(()))?;
        Ok(client)
    }

    /// Revokes `keys`, in frames of bounded size.
    pub fn add(&mut self, keys: &[&[u8]]) -> Result<Added, ClientError> {
        self.retrying(|c| {
            let mut total = Added::default();
            c.pipeline(
                keys,
                |id, keys| Request::Add { id, keys },
                |addr, response| match response {
                    ArchivedResponse::Added { count, new, .. } => {
                        total.count += count.to_native();
                        total.new += new.to_native();
                        Ok(())
                    }
                    other => Err(unexpected(addr, other)),
                },
            )?;
            Ok(total)
        })
    }

    /// Whether each key is revoked.
    pub fn check(&mut self, keys: &[&[u8]]) -> Result<Vec<bool>, ClientError> {
        self.retrying(|c| {
            let mut hits = Vec::with_capacity(keys.len());
            c.pipeline(
                keys,
                |id, keys| Request::Check { id, keys },
                |addr, response| match response {
                    ArchivedResponse::Checked { hits: h, .. } => {
                        hits.extend(h.iter().copied());
                        Ok(())
                    }
                    other => Err(unexpected(addr, other)),
                },
            )?;
            Ok(hits)
        })
    }

    /// Merges a snapshot (from [`bloom::Writer::snapshot`]) into the server's filter. Returns
    /// the generations kept and dropped.
    pub fn sync(&mut self, snapshot: &[u8]) -> Result<(u32, u32), ClientError> {
        self.retrying(|c| {
            let id = c.id();
            let total = snapshot.len() as u64;
            let mut result = None;
            let pieces: Vec<&[u8]> = if snapshot.is_empty() {
                vec![&[][..]]
            } else {
                snapshot.chunks(SYNC_PIECE).collect()
            };
            let mut offset = 0u64;
            for piece in pieces {
                c.send(&Request::Sync {
                    id,
                    total,
                    offset,
                    bytes: piece.to_vec(),
                })?;
                offset += piece.len() as u64;
                let addr = c.config.addr;
                c.receive(|response| match response {
                    ArchivedResponse::SyncPending { .. } => Ok(()),
                    ArchivedResponse::Synced { kept, dropped, .. } => {
                        result = Some((kept.to_native(), dropped.to_native()));
                        Ok(())
                    }
                    other => Err(unexpected(addr, other)),
                })?;
            }
            result.ok_or_else(|| ClientError::Protocol {
                addr: c.config.addr,
                message: "sync not acknowledged".into(),
            })
        })
    }

    /// The server's filter status.
    pub fn status(&mut self) -> Result<Status, ClientError> {
        self.retrying(|c| {
            let id = c.id();
            c.send(&Request::Status { id })?;
            let addr = c.config.addr;
            let mut status = None;
            c.receive(|response| match response {
                ArchivedResponse::Status(s) => {
                    status = Some(rkyv::deserialize::<Status, rancor::Error>(s).map_err(|e| {
                        ClientError::Protocol {
                            addr,
                            message: e.to_string(),
                        }
                    })?);
                    Ok(())
                }
                other => Err(unexpected(addr, other)),
            })?;
            status.ok_or_else(|| ClientError::Protocol {
                addr,
                message: "no status".into(),
            })
        })
    }

    /// Runs `op` on a live connection; on a transport error, reconnects and tries again up to
    /// `retries` times.
    fn retrying<T>(
        &mut self,
        mut op: impl FnMut(&mut Client) -> Result<T, ClientError>,
    ) -> Result<T, ClientError> {
        let mut attempt = 0;
        loop {
            let result = self.ensure_connected().and_then(|()| op(self));
            match result {
                Err(ClientError::Io { .. }) if attempt < self.config.retries => {
                    attempt += 1;
                    self.stream = None;
                    std::thread::sleep(Duration::from_millis(20 << attempt.min(6)));
                }
                Err(e) => {
                    if matches!(e, ClientError::Io { .. } | ClientError::Protocol { .. }) {
                        self.stream = None;
                    }
                    return Err(e);
                }
                Ok(value) => return Ok(value),
            }
        }
    }

    fn ensure_connected(&mut self) -> Result<(), ClientError> {
        if self.stream.is_some() {
            return Ok(());
        }
        let addr = self.config.addr;
        let io = |source| ClientError::Io { addr, source };
        let stream = TcpStream::connect_timeout(&addr, self.config.timeout).map_err(io)?;
        stream
            .set_read_timeout(Some(self.config.timeout))
            .map_err(io)?;
        stream
            .set_write_timeout(Some(self.config.timeout))
            .map_err(io)?;
        let _ = stream.set_nodelay(true);
        self.stream = Some(stream);
        self.reader.clear();
        let mut nonce = None;
        self.receive(|response| match response {
            ArchivedResponse::Challenge { nonce: n } => {
                nonce = Some(*n);
                Ok(())
            }
            other => Err(unexpected(addr, other)),
        })?;
        let nonce = nonce.unwrap_or([0; 32]);
        let mac = self
            .config
            .api_key
            .as_deref()
            .map_or([0; 32], |key| auth::answer(key, &nonce));
        self.send(&Request::Hello { mac })?;
        match self.receive(|response| match response {
            ArchivedResponse::Welcome => Ok(()),
            other => Err(unexpected(addr, other)),
        }) {
            Ok(()) => Ok(()),
            Err(ClientError::Io { .. }) => {
                self.stream = None;
                Err(ClientError::Unauthenticated(addr))
            }
            Err(e) => Err(e),
        }
    }

    /// Sends `keys` in frames built by `request`, at most [`WINDOW`] unanswered at a time;
    /// hands each answer to `on_response` in order.
    fn pipeline(
        &mut self,
        keys: &[&[u8]],
        request: impl Fn(u64, Vec<Vec<u8>>) -> Request,
        mut on_response: impl FnMut(SocketAddr, &ArchivedResponse) -> Result<(), ClientError>,
    ) -> Result<(), ClientError> {
        let addr = self.config.addr;
        let mut in_flight = 0;
        let mut runs = key_runs(keys).peekable();
        loop {
            if runs.peek().is_none() && in_flight == 0 {
                return Ok(());
            }
            if in_flight < WINDOW
                && let Some(run) = runs.next()
            {
                let id = self.id();
                self.send(&request(id, run.iter().map(|k| k.to_vec()).collect()))?;
                in_flight += 1;
                continue;
            }
            self.receive(|r| on_response(addr, r))?;
            in_flight -= 1;
        }
    }

    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    fn send(&mut self, request: &Request) -> Result<(), ClientError> {
        let addr = self.config.addr;
        self.wbuf.clear();
        message::encode(request, &mut self.wbuf);
        let stream = self.stream.as_mut().ok_or_else(|| ClientError::Io {
            addr,
            source: io::ErrorKind::NotConnected.into(),
        })?;
        stream
            .write_all(&self.wbuf)
            .map_err(|source| ClientError::Io { addr, source })
    }

    /// Reads one response frame and hands it to `handle`; a server `Error` becomes `Refused`.
    fn receive(
        &mut self,
        handle: impl FnOnce(&ArchivedResponse) -> Result<(), ClientError>,
    ) -> Result<(), ClientError> {
        let addr = self.config.addr;
        let protocol = |message: String| ClientError::Protocol { addr, message };
        let len = loop {
            if let Some(len) = self.reader.ready().map_err(|e| protocol(e.to_string()))? {
                break len;
            }
            let stream = self.stream.as_mut().ok_or_else(|| ClientError::Io {
                addr,
                source: io::ErrorKind::NotConnected.into(),
            })?;
            let read = stream.read(self.reader.space());
            count_read(&mut self.reader, addr, read)?;
        };
        take_response(&mut self.reader, addr, len, handle)
    }
}

/// Counts a read into `reader`'s space; the end of the stream or a failed read is an error.
/// (The blocking and the `event` client share their response handling from here.)
pub(crate) fn count_read(
    reader: &mut FrameReader,
    addr: SocketAddr,
    read: io::Result<usize>,
) -> Result<(), ClientError> {
    match read {
        Ok(0) => Err(ClientError::Io {
            addr,
            source: io::ErrorKind::UnexpectedEof.into(),
        }),
        Ok(n) => {
            reader.filled(n);
            Ok(())
        }
        Err(source) => Err(ClientError::Io { addr, source }),
    }
}

/// Hands the response frame of `len` bytes that `reader` holds to `handle`; a server `Error`
/// becomes `Refused`, a frame that does not decode a `Protocol` error.
pub(crate) fn take_response<T>(
    reader: &mut FrameReader,
    addr: SocketAddr,
    len: usize,
    handle: impl FnOnce(&ArchivedResponse) -> Result<T, ClientError>,
) -> Result<T, ClientError> {
    reader
        .take(len, |response| match response {
            ArchivedResponse::Error { message, .. } => Err(ClientError::Refused {
                addr,
                message: message.to_string(),
            }),
            other => handle(other),
        })
        .map_err(|e| ClientError::Protocol {
            addr,
            message: e.to_string(),
        })?
}

/// A response that does not answer the request sent.
pub(crate) fn unexpected(addr: SocketAddr, response: &ArchivedResponse) -> ClientError {
    ClientError::Protocol {
        addr,
        message: format!("unexpected {} response", response_name(response)),
    }
}
