//! What the end-to-end reports (`rpc-report`, `propagation-report`) share: processes on
//! 127.0.0.1 started from the release binaries and stopped on drop, a scratch directory, HS256
//! tokens, a kept-alive HTTP/1.1 client, per-thread CPU time, percentiles.
//!
//! It is not a library for anyone else: it panics with a message on anything unexpected, since a
//! measurement that went wrong must stop, not print a figure.

use std::fmt::Write as _;
use std::io::{self, BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// How long a process may take to print its ready line.
pub const START_LIMIT: Duration = Duration::from_secs(30);

/// Unix seconds now.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A directory under the system's temp dir, removed on drop.
#[derive(Debug)]
pub struct Scratch {
    path: PathBuf,
}

impl Scratch {
    /// `$TMPDIR/bloomgate-perf-NAME-PID`, created empty.
    pub fn new(name: &str) -> Scratch {
        let path =
            std::env::temp_dir().join(format!("bloomgate-perf-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        Scratch { path }
    }

    /// Writes `contents` to `NAME` in the directory; returns its path.
    pub fn file(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.path.join(name);
        std::fs::write(&path, contents).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        path
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// A port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port: {e}"))
}

/// Waits until `addr` accepts a connection (at most [`START_LIMIT`]).
pub fn wait_port(addr: SocketAddr) {
    let start = Instant::now();
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        assert!(
            start.elapsed() < START_LIMIT,
            "{addr} never accepted a connection"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The release binaries: `bloomgate`, `loadtest`, `examples/hello_server`, found beside this
/// executable (`target/release/`) unless `--bin-dir` says otherwise.
#[derive(Debug, Clone)]
pub struct Bins {
    /// The directory holding them.
    pub dir: PathBuf,
}

impl Bins {
    /// The directory of the running executable.
    pub fn beside_me() -> Bins {
        let exe = std::env::current_exe().unwrap_or_else(|e| panic!("current_exe: {e}"));
        Bins {
            dir: exe.parent().map(Path::to_path_buf).unwrap_or_default(),
        }
    }

    /// The path of `name` in the directory; panics (with the build command) if it is missing.
    pub fn get(&self, name: &str) -> PathBuf {
        let path = self.dir.join(name);
        assert!(
            path.exists(),
            "{} is missing: cargo build --release -p proxy --bin bloomgate && cargo build --release -p loadtest --bins --examples",
            path.display()
        );
        path
    }
}

/// A child process, its stderr collected into a file, stopped (SIGTERM, then SIGKILL after 3 s)
/// when dropped.
#[derive(Debug)]
pub struct Proc {
    /// What it is, for messages.
    pub name: String,
    child: Child,
    log: PathBuf,
}

impl Proc {
    /// Starts `program args...` with stderr into `log`, and, with `ready`, waits for a stderr
    /// line starting with it; returns the process and the rest of that line.
    pub fn start(
        name: &str,
        command: &mut Command,
        log: PathBuf,
        ready: Option<&'static str>,
    ) -> (Proc, String) {
        let mut child = command
            .env_remove("KRAKEND_PORT")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {name}: {e}"));
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, rx) = mpsc::channel();
        let log_path = log.clone();
        std::thread::spawn(move || {
            let mut file = std::fs::File::create(&log_path).ok();
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(f) = file.as_mut() {
                    let _ = writeln!(f, "{line}");
                }
                if let Some(rest) = ready.and_then(|r| line.strip_prefix(r)) {
                    let _ = tx.send(rest.to_owned());
                }
            }
        });
        let proc = Proc {
            name: name.to_owned(),
            child,
            log,
        };
        let rest = match ready {
            None => String::new(),
            Some(r) => match rx.recv_timeout(START_LIMIT) {
                Ok(rest) => rest,
                Err(_) => panic!(
                    "{name} did not print `{r}` within {START_LIMIT:?}; its stderr:\n{}",
                    proc.log_text()
                ),
            },
        };
        (proc, rest)
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything it printed on stderr so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits for it to exit on its own, at most `limit`; kills it after that. Returns whether
    /// it exited successfully.
    pub fn wait(&mut self, limit: Duration) -> bool {
        let start = Instant::now();
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return status.success(),
                Ok(None) if start.elapsed() < limit => std::thread::sleep(Duration::from_millis(5)),
                _ => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    return false;
                }
            }
        }
    }

    /// Whether it has exited.
    pub fn exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }

    /// Asks it to stop (SIGTERM, as at a deploy) and waits at most `limit` (then kills it):
    /// unlike the drop's 3 s, room for a shutdown that flushes persistence. Returns whether it
    /// exited successfully.
    pub fn stop(&mut self, limit: Duration) -> bool {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = Command::new("kill")
                .args(["-TERM", &self.child.id().to_string()])
                .status();
        }
        self.wait(limit)
    }
}

impl Drop for Proc {
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
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The address in a ready line's `… on 127.0.0.1:PORT …` after `marker`.
pub fn addr_after(line: &str, marker: &str) -> SocketAddr {
    line.split(marker)
        .nth(1)
        .and_then(|rest| rest.split([' ', ',', ')']).next())
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no address after `{marker}` in `{line}`"))
}

/// `loadtest/examples/hello_server` on a free port, pinned to `cpu`.
pub fn start_backend(bins: &Bins, scratch: &Scratch, cpu: usize) -> (Proc, SocketAddr) {
    let port = free_port();
    let (proc, _) = Proc::start(
        "hello_server",
        Command::new(bins.get("examples/hello_server"))
            .arg(port.to_string())
            .arg(cpu.to_string()),
        scratch.path().join("backend.log"),
        Some("hello_server: listening on "),
    );
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    wait_port(addr);
    (proc, addr)
}

/// The HS256 secret every report signs with, and its JWK set.
pub const SECRET: &[u8] = b"bloomgate-perf-hs256-secret-0123456789abcdef";
/// The `kid` of [`SECRET`].
pub const KID: &str = "perf";
/// The API key of the gateways' RPC and the revoker's REST API.
pub const API_KEY: &str = "perf-api-key-5b0e9c7a";

/// The JWK set file for [`SECRET`] (what the gateway and `loadtest --jwt-key jwk:` read).
pub fn jwk_set() -> String {
    format!(
        r#"{{"keys":[{{"kty":"oct","kid":"{KID}","alg":"HS256","k":"{}"}}]}}"#,
        URL_SAFE_NO_PAD.encode(SECRET)
    )
}

/// An HS256 token with `jti`, valid for an hour.
pub fn token(jti: &str) -> String {
    let header = URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"HS256","typ":"JWT","kid":"{KID}"}}"#));
    let now = unix_now();
    let claims = URL_SAFE_NO_PAD.encode(format!(
        r#"{{"sub":"perf","jti":"{jti}","iat":{now},"exp":{}}}"#,
        now + 3600
    ));
    let signing_input = format!("{header}.{claims}");
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, SECRET);
    let tag = ring::hmac::sign(&key, signing_input.as_bytes());
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
}

/// `GET path` with the token, keep-alive, as bytes ready to write.
pub fn get_request(path: &str, token: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: perf\r\nAuthorization: Bearer {token}\r\n\r\n")
        .into_bytes()
}

/// One kept-alive HTTP/1.1 connection, blocking, `TCP_NODELAY`, every read and write bounded.
#[derive(Debug)]
pub struct Http {
    stream: TcpStream,
    buf: Vec<u8>,
    filled: usize,
}

impl Http {
    /// Connects (bounded by `timeout`, as is every later read and write).
    pub fn connect(addr: SocketAddr, timeout: Duration) -> io::Result<Http> {
        let stream = TcpStream::connect_timeout(&addr, timeout)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        Ok(Http {
            stream,
            buf: vec![0; 64 * 1024],
            filled: 0,
        })
    }

    /// Writes a whole request.
    pub fn send(&mut self, request: &[u8]) -> io::Result<()> {
        self.stream.write_all(request)
    }

    /// Reads one response (Content-Length framed; none may be chunked); returns its status.
    pub fn receive(&mut self) -> io::Result<u16> {
        self.receive_with(|_| ())
    }

    /// [`Http::receive`], also returning the body.
    pub fn receive_body(&mut self) -> io::Result<(u16, Vec<u8>)> {
        let mut body = Vec::new();
        let status = self.receive_with(|b| body = b.to_vec())?;
        Ok((status, body))
    }

    fn receive_with(&mut self, body: impl FnOnce(&[u8])) -> io::Result<u16> {
        loop {
            if let Some((status, head, len)) = self.complete()? {
                body(&self.buf[head..len]);
                self.buf.copy_within(len..self.filled, 0);
                self.filled -= len;
                return Ok(status);
            }
            if self.filled == self.buf.len() {
                self.buf.resize(self.buf.len() * 2, 0);
            }
            let n = self.stream.read(&mut self.buf[self.filled..])?;
            if n == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            self.filled += n;
        }
    }

    /// `send` then `receive`.
    pub fn request(&mut self, request: &[u8]) -> io::Result<u16> {
        self.send(request)?;
        self.receive()
    }

    /// The status, head length and total length of the response at the front, if all of it is
    /// buffered.
    fn complete(&self) -> io::Result<Option<(u16, usize, usize)>> {
        parse_response(&self.buf[..self.filled])
    }
}

/// The status, head length and total length of the HTTP/1.1 response at the front of `data`,
/// if all of it is there (Content-Length framed; a chunked response is an error).
pub fn parse_response(data: &[u8]) -> io::Result<Option<(u16, usize, usize)>> {
    let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Ok(None);
    };
    let head = std::str::from_utf8(&data[..end])
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "non-UTF-8 head"))?;
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no status"))?;
    let mut body = 0usize;
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                body = value.trim().parse().map_err(|_| {
                    io::Error::new(io::ErrorKind::InvalidData, "bad Content-Length")
                })?;
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "chunked response",
                ));
            }
        }
    }
    let total = (end + 4)
        .checked_add(body)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "bad Content-Length"))?;
    Ok((total <= data.len()).then_some((status, end + 4, total)))
}

/// CPU time (ns, from `schedstat`) of the threads of `pid` whose name starts with `prefix`.
pub fn thread_cpu_ns(pid: u32, prefix: &str) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .flatten()
        .filter(|t| {
            std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.starts_with(prefix))
        })
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split(' ').next().and_then(|n| n.parse::<u64>().ok()))
        .sum()
}

/// CPU time (ns) of the calling thread.
pub fn own_thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split(' ').next().and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

/// Pins the calling thread to `cpu`.
pub fn pin(cpu: usize) {
    assert!(
        core_affinity::set_for_current(core_affinity::CoreId { id: cpu }),
        "cannot pin to CPU {cpu}"
    );
}

/// `n` keys of 40 bytes, `jti-` and 36 characters shaped like a UUID, from `seed`: the size
/// of real revocations, never repeated across seeds in practice.
pub fn uuid_keys(n: usize, seed: u64) -> Vec<Vec<u8>> {
    let mut state = seed;
    (0..n)
        .map(|_| {
            let (a, b) = (splitmix(&mut state), splitmix(&mut state));
            let mut k = String::with_capacity(40);
            let _ = write!(
                k,
                "jti-{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
                a >> 32,
                (a >> 16) & 0xffff,
                a & 0xfff,
                b >> 48,
                b & 0xffff_ffff_ffff
            );
            k.into_bytes()
        })
        .collect()
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Percentiles of a sample, in microseconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct Summary {
    /// Samples.
    pub count: usize,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile (nearest rank).
    pub p99: f64,
    /// Largest.
    pub max: f64,
}

impl Summary {
    /// Of `samples` (any order).
    pub fn of(samples: &[Duration]) -> Summary {
        let mut us: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e6).collect();
        us.sort_by(f64::total_cmp);
        let rank = |q: f64| {
            if us.is_empty() {
                return f64::NAN;
            }
            let i = ((q * us.len() as f64).ceil() as usize).clamp(1, us.len()) - 1;
            us[i]
        };
        Summary {
            count: us.len(),
            p50: rank(0.50),
            p90: rank(0.90),
            p99: rank(0.99),
            max: us.last().copied().unwrap_or(f64::NAN),
        }
    }

    /// `{"count":…,"p50_us":…,…}`.
    pub fn json(&self) -> String {
        format!(
            r#"{{"count":{},"p50_us":{:.1},"p90_us":{:.1},"p99_us":{:.1},"max_us":{:.1}}}"#,
            self.count, self.p50, self.p90, self.p99, self.max
        )
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "p50 {:.1} µs, p90 {:.1} µs, p99 {:.1} µs, max {:.1} µs (n={})",
            self.p50, self.p90, self.p99, self.max, self.count
        )
    }
}

/// The median of some numbers.
pub fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    v[(v.len() - 1) / 2]
}

/// The machine, for the report header: CPU model, CPUs, kernel.
pub fn machine() -> String {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default();
    format!("{cpus} CPUs ({model}), Linux {kernel}")
}

/// `auth/revoker` of every gateway and revoker here: N=1e7, P=1e-7 (as `docs/examples`),
/// TTL an hour, `jti` revoked, [`API_KEY`]; plus `extra` (e.g. the ping URL).
pub fn revoker_section(extra: &str) -> String {
    format!(
        r#""N": 10000000, "P": 0.0000001, "hash_name": "optimal", "TTL": 3600,
      "token_keys": ["jti"], "revoke_server_api_key": "{API_KEY}"{extra}"#
    )
}

/// A gateway: `bloomgate run --cores 1`, `GET /protected` (HS256, [`SECRET`]) in front of the
/// backend, the filter of [`revoker_section`], its RPC port.
#[derive(Debug)]
pub struct Gateway {
    /// The process.
    pub proc: Proc,
    /// Its HTTP address.
    pub http: SocketAddr,
    /// Its RPC address (127.0.0.1).
    pub rpc: SocketAddr,
}

/// Starts a gateway named `name` (its config and log in `scratch`); `extra` goes into its
/// `auth/revoker` (a ping URL). Returns once a valid token gets a 200 through it.
pub fn start_gateway(
    bins: &Bins,
    scratch: &Scratch,
    backend: SocketAddr,
    name: &str,
    extra: &str,
) -> Gateway {
    let jwk = scratch.file("jwk.json", &jwk_set());
    let config = format!(
        r#"{{"version": 3, "port": 0, "listen_ip": "127.0.0.1", "timeout": "5s",
  "host": ["http://{backend}"],
  "endpoints": [{{"endpoint": "/protected", "backend": [{{"url_pattern": "/"}}],
    "extra_config": {{"auth/validator": {{"alg": "HS256", "jwk_local_path": "{jwk}"}}}}}}],
  "extra_config": {{"router": {{"disable_access_log": true}},
    "auth/revoker": {{{section}}}}}}}"#,
        jwk = jwk.display(),
        section = revoker_section(extra)
    );
    let path = scratch.file(&format!("{name}.json"), &config);
    let (proc, line) = Proc::start(
        name,
        Command::new(bins.get("bloomgate"))
            .args(["run", "-c"])
            .arg(&path)
            .args(["--port", "0", "--rpc-port", "0", "--cores", "1"]),
        scratch.path().join(format!("{name}.log")),
        Some("bloomgate: listening on "),
    );
    let http: SocketAddr = line
        .split(' ')
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no address in `{line}`"));
    let rpc = SocketAddr::from(([127, 0, 0, 1], addr_after(&line, "rpc on ").port()));
    wait_port(http);
    let mut check = Http::connect(http, Duration::from_secs(5)).expect("connect to the gateway");
    let status = check
        .request(&get_request("/protected", &token("warm-up")))
        .expect("first request");
    assert_eq!(
        status,
        200,
        "a valid token must pass; gateway log:\n{}",
        proc.log_text()
    );
    Gateway { proc, http, rpc }
}

/// An authenticated RPC client of `rpc` (no retries: a failure must show).
pub fn rpc_client(rpc: SocketAddr) -> admin::rpc::client::Client {
    admin::rpc::client::Client::connect(admin::rpc::client::ClientConfig {
        addr: rpc,
        api_key: Some(API_KEY.as_bytes().to_vec()),
        timeout: Duration::from_secs(30),
        retries: 0,
    })
    .unwrap_or_else(|e| panic!("rpc connect {rpc}: {e}"))
}
