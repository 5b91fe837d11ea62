//! The RPC client on the `event` loop: what the Revoke Server uses to push revocations, sync new
//! instances and ask them about a key, without blocking its executor.
//!
//! Frames are read through the same sans-io [`FrameReader`] as the blocking
//! [`client`](super::client), and errors are the same [`ClientError`]. Every wait is bounded:
//! connect, and each read and write, by the client's timeout. No retries here: the caller
//! decides (the fan-out retries a failed push on a new connection, `revoke_server_max_retries`
//! times). Every request is idempotent, so retrying is always safe.
//!
//! Revocations fanned out to many instances are encoded once ([`AddFrames`]) and the same bytes
//! are written to every connection.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use event::net::Stream;
use rkyv::util::AlignedVec;

use super::auth;
use super::client::{ClientError, count_read, take_response, unexpected};
use super::message::{self, ArchivedResponse, Request};
use super::reader::{FrameReader, SYNC_PIECE, key_runs};

/// `Add` requests for some keys, encoded once, to be written to any number of connections.
#[derive(Debug)]
pub struct AddFrames {
    bytes: AlignedVec<16>,
    frames: usize,
    keys: usize,
}

impl AddFrames {
    /// Encodes `keys` as `Add` frames of bounded size (ids from `first_id` on).
    pub fn encode<K: AsRef<[u8]>>(keys: &[K], first_id: u64) -> AddFrames {
        let mut bytes = AlignedVec::new();
        let mut frames = 0;
        for (i, run) in key_runs(keys).enumerate() {
            let keys = run.iter().map(|k| k.as_ref().to_vec()).collect();
            message::encode(
                &Request::Add {
                    id: first_id + i as u64,
                    keys,
                },
                &mut bytes,
            );
            frames += 1;
        }
        AddFrames {
            bytes,
            frames,
            keys: keys.len(),
        }
    }

    /// The encoded frames.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// How many frames (each answered by one response).
    pub fn frames(&self) -> usize {
        self.frames
    }

    /// How many keys they carry.
    pub fn keys(&self) -> usize {
        self.keys
    }
}

/// An authenticated connection to one RPC server.
#[derive(Debug)]
pub struct AsyncClient {
    addr: SocketAddr,
    stream: Stream,
    /// The bound on each read and write.
    timeout: Duration,
    reader: FrameReader,
    wbuf: AlignedVec<16>,
    next_id: u64,
}

impl AsyncClient {
    /// Connects and authenticates, each step within `timeout`.
    pub async fn connect(
        addr: SocketAddr,
        api_key: Option<&[u8]>,
        timeout: Duration,
    ) -> Result<AsyncClient, ClientError> {
        let io = |source| ClientError::Io { addr, source };
        let stream = Stream::connect(addr, timeout).await.map_err(io)?;
        let _ = stream.set_nodelay(true);
        let mut client = AsyncClient {
            addr,
            stream,
            timeout,
            reader: FrameReader::new(),
            wbuf: AlignedVec::new(),
            next_id: 1,
        };
        let nonce = client
            .receive(|r| match r {
                ArchivedResponse::Challenge { nonce } => Ok(*nonce),
                other => Err(unexpected(addr, other)),
            })
            .await?;
        let mac = api_key.map_or([0; 32], |key| auth::answer(key, &nonce));
        client.send(&Request::Hello { mac }).await?;
        match client
            .receive(|r| match r {
                ArchivedResponse::Welcome => Ok(()),
                other => Err(unexpected(addr, other)),
            })
            .await
        {
            Err(ClientError::Io { .. }) => Err(ClientError::Unauthenticated(addr)),
            other => other.map(|()| client),
        }
    }

    /// The server's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Writes pre-encoded `Add` frames and waits for every answer. Returns the keys the server
    /// counted.
    pub async fn add_frames(&mut self, frames: &[&AddFrames]) -> Result<u64, ClientError> {
        for f in frames {
            self.write(f.bytes()).await?;
        }
        let mut count = 0;
        let addr = self.addr;
        for _ in 0..frames.iter().map(|f| f.frames()).sum::<usize>() {
            count += self
                .receive(|r| match r {
                    ArchivedResponse::Added { count, .. } => Ok(count.to_native()),
                    other => Err(unexpected(addr, other)),
                })
                .await?;
        }
        Ok(count)
    }

    /// Whether each key is revoked on the server.
    pub async fn check(&mut self, keys: &[&[u8]]) -> Result<Vec<bool>, ClientError> {
        self.wbuf.clear();
        let mut frames = 0;
        for run in key_runs(keys) {
            self.next_id += 1;
            let request = Request::Check {
                id: self.next_id,
                keys: run.iter().map(|k| k.to_vec()).collect(),
            };
            message::encode(&request, &mut self.wbuf);
            frames += 1;
        }
        let bytes = std::mem::take(&mut self.wbuf);
        let written = self.write(&bytes).await;
        self.wbuf = bytes;
        written?;
        let addr = self.addr;
        let mut hits = Vec::with_capacity(keys.len());
        for _ in 0..frames {
            self.receive(|r| match r {
                ArchivedResponse::Checked { hits: h, .. } => {
                    hits.extend(h.iter().copied());
                    Ok(())
                }
                other => Err(unexpected(addr, other)),
            })
            .await?;
        }
        Ok(hits)
    }

    /// Merges a snapshot (from [`bloom::Writer::snapshot`]) into the server's filter, in
    /// pieces. Returns the generations kept and dropped.
    pub async fn sync(&mut self, snapshot: &[u8]) -> Result<(u32, u32), ClientError> {
        self.next_id += 1;
        let id = self.next_id;
        let total = snapshot.len() as u64;
        let pieces: Vec<&[u8]> = if snapshot.is_empty() {
            vec![&[][..]]
        } else {
            snapshot.chunks(SYNC_PIECE).collect()
        };
        let addr = self.addr;
        let mut offset = 0u64;
        let mut result = None;
        for piece in pieces {
            self.send(&Request::Sync {
                id,
                total,
                offset,
                bytes: piece.to_vec(),
            })
            .await?;
            offset += piece.len() as u64;
            result = self
                .receive(|r| match r {
                    ArchivedResponse::SyncPending { .. } => Ok(None),
                    ArchivedResponse::Synced { kept, dropped, .. } => {
                        Ok(Some((kept.to_native(), dropped.to_native())))
                    }
                    other => Err(unexpected(addr, other)),
                })
                .await?;
        }
        result.ok_or_else(|| ClientError::Protocol {
            addr,
            message: "sync not acknowledged".into(),
        })
    }

    async fn send(&mut self, request: &Request) -> Result<(), ClientError> {
        self.wbuf.clear();
        message::encode(request, &mut self.wbuf);
        let bytes = std::mem::take(&mut self.wbuf);
        let written = self.write(&bytes).await;
        self.wbuf = bytes;
        written
    }

    async fn write(&mut self, bytes: &[u8]) -> Result<(), ClientError> {
        let addr = self.addr;
        let deadline = Instant::now() + self.timeout;
        self.stream
            .write_all_by(bytes, Some(deadline))
            .await
            .map_err(|source| ClientError::Io { addr, source })
    }

    /// Reads one response and hands it to `handle`; a server `Error` becomes `Refused`.
    async fn receive<T>(
        &mut self,
        handle: impl FnOnce(&ArchivedResponse) -> Result<T, ClientError>,
    ) -> Result<T, ClientError> {
        let addr = self.addr;
        let protocol = |message: String| ClientError::Protocol { addr, message };
        let len = loop {
            if let Some(len) = self.reader.ready().map_err(|e| protocol(e.to_string()))? {
                break len;
            }
            let deadline = Instant::now() + self.timeout;
            let read = self
                .stream
                .read_by(self.reader.space(), Some(deadline))
                .await;
            count_read(&mut self.reader, addr, read)?;
        };
        take_response(&mut self.reader, addr, len, handle)
    }
}
