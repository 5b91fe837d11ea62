//! The revocation step before the run: every `revoked` token's `jti` is revoked through the
//! Revoke Server REST API (`POST /tokens/jti/{jti}`, several keep-alive connections in
//! parallel, or one batch `POST /tokens/jti`), then the target is polled with a sample of those
//! tokens until it answers them with the expected status.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::blocking::{BlockingConn, BlockingError};
use crate::cli::RevokeOptions;
use crate::http::RequestTemplate;

/// The revocation step failed.
#[derive(Debug, thiserror::Error)]
pub enum RevokeError {
    /// The Revoke Server's address does not resolve.
    #[error("--revoke-url: {0}")]
    Target(#[from] crate::target::TargetError),
    /// A POST got no response.
    #[error("revoking through {url}: {source}")]
    Request {
        /// The URL posted to.
        url: String,
        /// Why.
        source: BlockingError,
    },
    /// A POST got a status other than 201.
    #[error("revoking through {url}: expected 201, got {status} (is --api-key right?)")]
    Status {
        /// The URL posted to.
        url: String,
        /// What came back.
        status: u16,
    },
    /// The target kept answering revoked tokens with another status.
    #[error(
        "revocations not visible at the target after {waited:?} (--revoke-wait): {pending} of {sampled} sampled revoked tokens still get {last_status} instead of {expected}"
    )]
    NotVisible {
        /// How long it was polled.
        waited: Duration,
        /// Sampled tokens not yet answered as expected.
        pending: usize,
        /// Tokens sampled.
        sampled: usize,
        /// The last status seen for a pending token (0: no response).
        last_status: u16,
        /// The status a revoked token must get.
        expected: u16,
    },
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The Revoke Server's base path, without a trailing slash (`""` for the root).
fn base_path(options: &RevokeOptions) -> &str {
    options.url.path.trim_end_matches('/')
}

/// The `POST {base}/tokens/jti/{jti}` request.
pub fn single_request(options: &RevokeOptions, jti: &str) -> Vec<u8> {
    format!(
        "POST {}/tokens/jti/{} HTTP/1.1\r\nHost: {}\r\nAuthorization: bearer {}\r\nContent-Length: 0\r\n\r\n",
        base_path(options),
        percent_encode(jti),
        options.url.authority,
        options.api_key
    )
    .into_bytes()
}

/// The `POST {base}/tokens/jti` request with one `jti` per line.
pub fn batch_request(options: &RevokeOptions, jtis: &[&str]) -> Vec<u8> {
    let body_len: usize = jtis.iter().map(|j| j.len() + 1).sum();
    let mut out = format!(
        "POST {}/tokens/jti HTTP/1.1\r\nHost: {}\r\nAuthorization: bearer {}\r\nContent-Type: text/plain\r\nContent-Length: {body_len}\r\n\r\n",
        base_path(options),
        options.url.authority,
        options.api_key
    )
    .into_bytes();
    for jti in jtis {
        out.extend_from_slice(jti.as_bytes());
        out.push(b'\n');
    }
    out
}

/// Lines per batch POST (well under the server's 64 MiB limit).
const BATCH_LINES: usize = 100_000;

/// Revokes every jti in `jtis`; returns how long it took.
pub fn revoke_all(
    options: &RevokeOptions,
    jtis: &[&str],
    timeout: Duration,
) -> Result<Duration, RevokeError> {
    let started = Instant::now();
    if jtis.is_empty() {
        return Ok(Duration::ZERO);
    }
    let addr = options.url.resolve()?;
    let url_of = |path: String| format!("http://{}{path}", options.url.authority);
    if options.batch {
        let mut conn = BlockingConn::new(addr, timeout);
        for chunk in jtis.chunks(BATCH_LINES) {
            let url = url_of(format!("{}/tokens/jti", base_path(options)));
            check(&url, conn.send(&batch_request(options, chunk)))?;
        }
        return Ok(started.elapsed());
    }
    let per_thread = jtis.len().div_ceil(options.parallel.max(1));
    std::thread::scope(|scope| {
        let workers: Vec<_> = jtis
            .chunks(per_thread)
            .map(|chunk| {
                scope.spawn(move || {
                    let mut conn = BlockingConn::new(addr, timeout);
                    for jti in chunk {
                        let url = url_of(format!(
                            "{}/tokens/jti/{}",
                            base_path(options),
                            percent_encode(jti)
                        ));
                        check(&url, conn.send(&single_request(options, jti)))?;
                    }
                    Ok(())
                })
            })
            .collect();
        for worker in workers {
            worker.join().unwrap_or_else(|_| {
                Err(RevokeError::Request {
                    url: url_of(String::new()),
                    source: BlockingError::Io(std::io::Error::other("revoking thread panicked")),
                })
            })?;
        }
        Ok::<(), RevokeError>(())
    })?;
    Ok(started.elapsed())
}

fn check(url: &str, result: Result<u16, BlockingError>) -> Result<(), RevokeError> {
    match result {
        Ok(201) => Ok(()),
        Ok(status) => Err(RevokeError::Status {
            url: url.to_owned(),
            status,
        }),
        Err(source) => Err(RevokeError::Request {
            url: url.to_owned(),
            source,
        }),
    }
}

/// Polls the target at `addr` with each sampled revoked token (rendered by `template`) until
/// every one gets `expected`, for at most `wait`; returns how long it took.
pub fn wait_visible(
    addr: SocketAddr,
    template: &RequestTemplate,
    tokens: &[&str],
    expected: u16,
    wait: Duration,
    timeout: Duration,
) -> Result<Duration, RevokeError> {
    let started = Instant::now();
    let mut pending: Vec<&str> = tokens.to_vec();
    let mut conn = BlockingConn::new(addr, timeout);
    let mut last_status = 0;
    let mut request = Vec::new();
    loop {
        let mut still = Vec::new();
        for token in pending {
            request.clear();
            template.render(token, &mut request);
            match conn.send(&request) {
                Ok(status) if status == expected => {}
                Ok(status) => {
                    last_status = status;
                    still.push(token);
                }
                Err(_) => {
                    last_status = 0;
                    still.push(token);
                }
            }
        }
        pending = still;
        if pending.is_empty() {
            return Ok(started.elapsed());
        }
        if started.elapsed() >= wait {
            return Err(RevokeError::NotVisible {
                waited: started.elapsed(),
                pending: pending.len(),
                sampled: tokens.len(),
                last_status,
                expected,
            });
        }
        std::thread::sleep(Duration::from_millis(50).min(wait));
    }
}

#[cfg(test)]
mod tests;
