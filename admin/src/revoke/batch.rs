//! `POST /tokens/{key}`: a streamed batch. The glue feeds the body piece by piece as it reads
//! it; lines become filter keys (`key-line`) collected into bounded runs that are applied here
//! and queued for every instance (large `Add` frames). Memory stays bounded whatever the body's
//! size: one carried-over partial line, one run of keys, and the instances' queue budgets.
//!
//! Back-pressure: after each run, while some instance being pushed to has more than half its
//! queue budget waiting, the batch waits (at most [`MAX_STALL`] per run) so a healthy instance
//! keeps up instead of overflowing into a full sync; a slower one overflows and is synced.
//!
//! A batch that fails midway (a line too long, a body over its limit or cut short) keeps the
//! lines before the failure revoked: revocations are idempotent, so the client re-sends it.

use std::rc::Rc;
use std::time::{Duration, Instant};

use super::api::{ApiError, filter_key};
use super::lines::LineSplitter;
use super::service::{QUEUE_BYTES, Service};

/// The longest line accepted.
pub const MAX_LINE: usize = 64 * 1024;
/// Keys applied and queued together.
const RUN_KEYS: usize = 8192;
/// Key bytes applied and queued together.
const RUN_BYTES: usize = 256 * 1024;
/// The longest a run waits for slow instances.
pub const MAX_STALL: Duration = Duration::from_secs(2);

/// One batch in progress.
#[derive(Debug)]
pub struct BatchRevoke {
    service: Rc<Service>,
    key: Vec<u8>,
    splitter: LineSplitter,
    run: Vec<Vec<u8>>,
    run_bytes: usize,
    count: u64,
    /// The newest journal ticket (persistence): waited on before the batch is acknowledged.
    ticket: Option<crate::persist::Ticket>,
}

impl BatchRevoke {
    /// A batch revoking values of claim `key`.
    pub fn new(service: Rc<Service>, key: Vec<u8>) -> BatchRevoke {
        BatchRevoke {
            service,
            key,
            splitter: LineSplitter::new(MAX_LINE),
            run: Vec::with_capacity(RUN_KEYS),
            run_bytes: 0,
            count: 0,
            ticket: None,
        }
    }

    /// Takes the next piece of the body.
    pub async fn feed(&mut self, piece: &[u8]) -> Result<(), ApiError> {
        let (key, run, run_bytes) = (&self.key, &mut self.run, &mut self.run_bytes);
        self.splitter
            .feed(piece, |line| {
                let k = filter_key(key, line);
                *run_bytes += k.len();
                run.push(k);
            })
            .map_err(|e| ApiError::BadRequest(e.to_string()))?;
        if self.run.len() >= RUN_KEYS || self.run_bytes >= RUN_BYTES {
            self.flush().await?;
        }
        Ok(())
    }

    /// The body ended: applies the rest. Returns how many values were revoked.
    pub async fn finish(mut self) -> Result<u64, ApiError> {
        let (key, run, run_bytes) = (&self.key, &mut self.run, &mut self.run_bytes);
        self.splitter
            .finish(|line| {
                let k = filter_key(key, line);
                *run_bytes += k.len();
                run.push(k);
            })
            .map_err(|e| ApiError::BadRequest(e.to_string()))?;
        self.flush().await?;
        // Acknowledged only once every line is in the synced journal.
        self.service.durable(self.ticket).await?;
        Ok(self.count)
    }

    async fn flush(&mut self) -> Result<(), ApiError> {
        if self.run.is_empty() {
            return Ok(());
        }
        if let Some(ticket) = self.service.revoke(&self.run)? {
            self.ticket = Some(ticket);
        }
        self.count += self.run.len() as u64;
        self.run.clear();
        self.run_bytes = 0;
        let began = Instant::now();
        while self.service.max_queued_bytes() > QUEUE_BYTES / 2 && began.elapsed() < MAX_STALL {
            event::sleep(Duration::from_millis(2)).await;
        }
        Ok(())
    }
}
