//! `persist-report`: what `bloomgate/persistence` costs (issue 7).
//!
//! Questions:
//! 1. How many revocations per second does `bloomgate revoker` acknowledge (`POST
//!    /tokens/jti/{v}` → 201) with persistence on — each 201 only after the journal holding it
//!    was fdatasynced, the requests arriving during a sync sharing the next one (group commit)
//!    — against persistence off, with `--clients` concurrent clients; and what are the p50/p99
//!    of a POST → 201? Goal: on >= 50% of off.
//! 2. How long does a gateway (`bloomgate run --cores 1`) whose persistence directory holds a
//!    snapshot of `--startup-keys` revocations (N=1e7, P=1e-7) take from being spawned to
//!    answering its first HTTP request, against one with an empty persistence directory?
//!
//! Method (1): per run a fresh revoker with the config of `docs/examples/revoker.json` (N=1e7,
//! P=1e-7, TTL 1500; no gateway registered) and, with persistence, a fresh directory in the
//! scratch directory; runs alternate off, on, off, on… (`--reps` of each). The clients are
//! tasks of one `event` loop on one thread pinned to `--client-cpu` (the last CPU by default;
//! a thread per client cost more CPU than the revoker and set the pace of the "off" runs: 115k/s
//! with the revoker's executor 90% busy, against 172k/s and 99% busy with the event loop). The
//! revoker runs where the kernel puts it, as in production, or on `--revoker-cpu`. Each client
//! has one kept-alive HTTP/1.1 connection, in closed loop: it writes a POST for a value never
//! sent before (`RUN-CLIENT-COUNTER`), reads the answer, sends the next. After
//! `--warmup` s, the requests both written and answered within the next `--seconds` s are
//! counted (201s only) and timed (write → answer read). Any other status or a connection error
//! is an error: printed (the first 20 of a run) and counted over the whole run, warm-up
//! included. CPU is the revoker process's (every thread, io_uring workers included) and its
//! executor thread's over the measured window: an executor near 100% busy means the revoker,
//! not the clients, set the pace. The revoker is then stopped with SIGTERM (with persistence
//! it writes its snapshot then, outside the timing).
//!
//! Method (2): a gateway with persistence gets `--startup-keys` keys over RPC `Add` (100k a
//! call; it snapshots on its own every 1M records) and is stopped with SIGTERM, which syncs the
//! journal and writes a last snapshot, so that a start replays nothing; the newest
//! `snapshot-*.bin` must then be there with both generations (~104 MB at this geometry,
//! whatever the key count). Then per rep, three starts of the same config: with an empty
//! directory (the baseline), with the snapshot's directory (its files in the page cache: a
//! restart), and again after evicting that directory's files from the page cache (`dd
//! iflag=nocache`, checked with `fincore`; the VM's host may still cache them). Each is timed
//! from spawning the process until `GET /__health` on a new connection gets its 200 (tried
//! every 1 ms); the gateway's own recovery line says how much of it was recovery. After each
//! start (outside the timing) a sample of the inserted keys must be reported revoked over RPC
//! `Check` (not revoked with the empty directory), and 1000 keys never inserted not.
//!
//! Every process is on 127.0.0.1, started here and stopped at the end of its run. The scratch
//! directory is under `$TMPDIR` (default /tmp) and must be on a disk: the report refuses tmpfs
//! (set `TMPDIR` to a directory on the disk to measure).
//!
//! ```sh
//! cargo build --release -p proxy --bin bloomgate && cargo build --release -p perf --bin persist-report
//! target/release/persist-report --clients 64 --seconds 5 --warmup 1 --reps 3 --startup-keys 1e7
//! ```
//! (`perf/persist.sh` does both.) Progress and a summary on stderr, JSON lines on stdout.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use perf::harness::{
    self, API_KEY, Bins, Http, Proc, Scratch, Summary, addr_after, free_port, median,
    parse_response, pin, rpc_client, thread_cpu_ns, wait_port,
};

#[derive(Debug, Clone)]
struct Args {
    clients: usize,
    seconds: f64,
    warmup: f64,
    reps: usize,
    startup_keys: usize,
    bins: Bins,
    /// The clients' CPU (the last one on a machine with two or more).
    client_cpu: Option<usize>,
    /// The revoker's (none: wherever the kernel runs it, as in production).
    revoker_cpu: Option<usize>,
}

const USAGE: &str = "usage: persist-report [--clients 64] [--seconds 5] [--warmup 1] [--reps 3] \
[--startup-keys 1e7] [--bin-dir DIR] [--client-cpu N] [--revoker-cpu N]   (--seconds 0: no revocations/s runs; --startup-keys 0: no \
start-up runs)";

fn usage() -> ! {
    eprintln!("{USAGE}");
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut a = Args {
        clients: 64,
        seconds: 5.0,
        warmup: 1.0,
        reps: 3,
        startup_keys: 10_000_000,
        bins: Bins::beside_me(),
        client_cpu: std::thread::available_parallelism()
            .map_or(None, |n| (n.get() >= 2).then(|| n.get() - 1)),
        revoker_cpu: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| usage());
        fn real(s: String) -> f64 {
            s.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v >= 0.0)
                .unwrap_or_else(|| usage())
        }
        fn num(s: String) -> usize {
            real(s) as usize
        }
        match flag.as_str() {
            "--clients" => a.clients = num(value()),
            "--seconds" => a.seconds = real(value()),
            "--warmup" => a.warmup = real(value()),
            "--reps" => a.reps = num(value()),
            "--startup-keys" => a.startup_keys = num(value()),
            "--bin-dir" => a.bins.dir = value().into(),
            "--client-cpu" => a.client_cpu = Some(num(value())),
            "--revoker-cpu" => a.revoker_cpu = Some(num(value())),
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0)
            }
            _ => usage(),
        }
    }
    if a.clients == 0 || a.reps == 0 {
        usage();
    }
    a
}

/// Bound on every client read and write, and on a connect.
const IO_TIMEOUT: Duration = Duration::from_secs(5);
/// Errors printed per run; the rest are only counted.
const PRINTED_ERRORS: u64 = 20;
/// How long a process may take to stop after SIGTERM (a snapshot of ~104 MB is written then).
const STOP_LIMIT: Duration = Duration::from_secs(120);
/// How long a gateway may take to answer its first request.
const ANSWER_LIMIT: Duration = Duration::from_secs(60);
/// Keys per RPC `Add` call when filling the gateway.
const FILL_BATCH: usize = 100_000;
/// The geometry of every filter here (`docs/examples`).
const N: u64 = 10_000_000;
const P: f64 = 1e-7;

/// `path` as a JSON string.
fn json_string(path: &Path) -> String {
    serde_json::Value::from(path.to_string_lossy()).to_string()
}

/// The file system type of `path` (`findmnt`, else `stat -f`), e.g. `ext4` or `tmpfs`.
fn filesystem(path: &Path) -> String {
    let run = |command: &mut Command| {
        command
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .filter(|t| !t.is_empty())
    };
    run(Command::new("findmnt")
        .args(["--noheadings", "--output", "FSTYPE", "--target"])
        .arg(path))
    .or_else(|| run(Command::new("stat").args(["-f", "-c", "%T"]).arg(path)))
    .unwrap_or_else(|| panic!("cannot tell the file system of {}", path.display()))
}

/// `v` with `decimals` decimals, or `null` (JSON has no NaN).
fn jnum(v: f64, decimals: usize) -> String {
    if v.is_finite() {
        format!("{v:.decimals$}")
    } else {
        "null".into()
    }
}

fn sleep_until(t: Instant) {
    let now = Instant::now();
    if t > now {
        std::thread::sleep(t - now);
    }
}

/// Clock ticks per second of `/proc/PID/stat` (`getconf CLK_TCK`, 100 if that fails).
fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .trim()
                .parse::<f64>()
                .ok()
        })
        .filter(|t| *t > 0.0)
        .unwrap_or(100.0)
}

/// User + system CPU of process `pid` in clock ticks, exited threads included (io_uring's
/// workers come and go).
fn process_cpu_ticks(pid: u32) -> u64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0;
    };
    // After the `(comm)`, fields start at the 3rd (state); utime and stime are the 14th and 15th.
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return 0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| {
        fields
            .get(n - 3)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    field(14) + field(15)
}

// ---------------------------------------------------------------------------------------------
// Question 1: acknowledged revocations per second.

/// The revoker's config: `docs/examples/revoker.json`'s (N=1e7, P=1e-7, TTL 1500, 5 workers) on
/// 127.0.0.1, with persistence in `dir` if given.
fn revoker_config(dir: Option<&Path>) -> String {
    let persistence = dir.map_or_else(String::new, |d| {
        format!(
            r#",
    "bloomgate/persistence": {{"dir": {}}}"#,
            json_string(d)
        )
    });
    format!(
        r#"{{"version": 3, "port": 0, "listen_ip": "127.0.0.1",
  "extra_config": {{
    "auth/revoker": {{"N": {N}, "P": {P}, "hash_name": "optimal", "TTL": 1500,
      "token_keys": ["jti"], "revoke_server_ping_interval": "30s",
      "revoke_server_api_key": "{API_KEY}", "revoke_server_max_workers": 5,
      "revoke_server_max_retries": 2}}{persistence}}}}}"#
    )
}

/// `bloomgate revoker` named `name` on a free port, persisting into `dir` if given.
fn start_revoker(
    args: &Args,
    scratch: &Scratch,
    name: &str,
    dir: Option<&Path>,
) -> (Proc, SocketAddr) {
    let path = scratch.file(&format!("{name}.json"), &revoker_config(dir));
    // `taskset` execs it: the pid is the revoker's.
    let mut command = match args.revoker_cpu {
        Some(revoker) => {
            let mut taskset = Command::new("taskset");
            taskset
                .args(["-c", &revoker.to_string()])
                .arg(args.bins.get("bloomgate"));
            taskset
        }
        None => Command::new(args.bins.get("bloomgate")),
    };
    let (proc, line) = Proc::start(
        name,
        command
            .args(["revoker", "-c"])
            .arg(&path)
            .args(["--port", "0"]),
        scratch.path().join(format!("{name}.log")),
        Some("bloomgate: revoke server listening on "),
    );
    let addr: SocketAddr = line
        .split(' ')
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no address in `{line}`"));
    (proc, addr)
}

/// The measured part of a run.
#[derive(Debug, Clone, Copy)]
struct Window {
    from: Instant,
    end: Instant,
}

/// What one client did.
#[derive(Debug, Default)]
struct ClientResult {
    /// 201s within the window.
    acked: u64,
    /// Other statuses and connection errors, over the whole run.
    errors: u64,
    /// Write → answer of each 201 within the window.
    latencies: Vec<Duration>,
}

fn print_error(printed: &AtomicU64, message: &str) {
    let n = printed.fetch_add(1, Ordering::Relaxed);
    if n < PRINTED_ERRORS {
        eprintln!("persist-report: error: {message}");
    } else if n == PRINTED_ERRORS {
        eprintln!("persist-report: more errors: only counted from here");
    }
}

/// The clients, as tasks of one `event` loop on one thread (pinned to `cpu` if given): a
/// thread per client would cost the machine more than the revoker does.
fn run_clients(
    addr: SocketAddr,
    tag: &str,
    clients: usize,
    window: Window,
    cpu: Option<usize>,
) -> Vec<ClientResult> {
    let tag = tag.to_owned();
    let work = move || {
        let tag: Rc<str> = Rc::from(tag);
        if let Some(cpu) = cpu {
            pin(cpu);
        }
        let runtime = event::Runtime::new().unwrap_or_else(|e| panic!("clients' event loop: {e}"));
        runtime.block_on(async {
            let printed = Rc::new(AtomicU64::new(0));
            let tasks: Vec<_> = (0..clients)
                .map(|id| {
                    event::spawn(client(
                        addr,
                        Rc::clone(&tag),
                        id,
                        window,
                        Rc::clone(&printed),
                    ))
                })
                .collect();
            let mut results = Vec::with_capacity(clients);
            for task in tasks {
                results.push(task.await);
            }
            results
        })
    };
    std::thread::scope(|s| {
        std::thread::Builder::new()
            .name("clients".into())
            .spawn_scoped(s, work)
            .unwrap_or_else(|e| panic!("cannot start the clients' thread: {e}"))
            .join()
            .unwrap_or_else(|_| panic!("the clients' thread panicked"))
    })
}

/// One closed-loop client: POST, wait for the answer, POST the next value, until the window ends.
async fn client(
    addr: SocketAddr,
    tag: Rc<str>,
    id: usize,
    window: Window,
    printed: Rc<AtomicU64>,
) -> ClientResult {
    let mut result = ClientResult::default();
    let mut conn: Option<Connection> = None;
    let mut request = Vec::with_capacity(256);
    let mut counter = 0u64;
    while Instant::now() < window.end {
        let connection = match conn.as_mut() {
            Some(connection) => connection,
            None => match Connection::open(addr).await {
                Ok(connection) => conn.insert(connection),
                Err(e) => {
                    result.errors += 1;
                    print_error(&printed, &format!("client {id}: connect to {addr}: {e}"));
                    event::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        request.clear();
        let _ = write!(
            request,
            "POST /tokens/jti/{tag}-{id}-{counter} HTTP/1.1\r\nHost: revoker\r\nAuthorization: Bearer {API_KEY}\r\nContent-Length: 0\r\n\r\n"
        );
        counter += 1;
        let sent = Instant::now();
        let answer = connection.request(&request).await;
        let answered = Instant::now();
        match answer {
            Ok(201) => {
                if sent >= window.from && answered <= window.end {
                    result.acked += 1;
                    result.latencies.push(answered - sent);
                }
            }
            Ok(status) => {
                result.errors += 1;
                print_error(
                    &printed,
                    &format!(
                        "client {id}: POST /tokens/jti/{tag}-{id}-{}: status {status}",
                        counter - 1
                    ),
                );
            }
            Err(e) => {
                result.errors += 1;
                print_error(
                    &printed,
                    &format!(
                        "client {id}: POST /tokens/jti/{tag}-{id}-{}: {e}",
                        counter - 1
                    ),
                );
                conn = None;
            }
        }
    }
    result
}

/// A kept-alive connection of an `event` client.
struct Connection {
    stream: event::net::Stream,
    buf: Vec<u8>,
    filled: usize,
}

impl Connection {
    async fn open(addr: SocketAddr) -> std::io::Result<Connection> {
        let stream = event::net::Stream::connect(addr, IO_TIMEOUT).await?;
        stream.set_nodelay(true)?;
        Ok(Connection {
            stream,
            buf: vec![0; 16 * 1024],
            filled: 0,
        })
    }

    /// Writes `request` and reads its response (within [`IO_TIMEOUT`]); returns the status.
    async fn request(&mut self, request: &[u8]) -> std::io::Result<u16> {
        let deadline = Some(Instant::now() + IO_TIMEOUT);
        self.stream.write_all_by(request, deadline).await?;
        loop {
            if let Some((status, _, total)) = parse_response(&self.buf[..self.filled])? {
                self.buf.copy_within(total..self.filled, 0);
                self.filled -= total;
                return Ok(status);
            }
            if self.filled == self.buf.len() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "a response over 16 KiB",
                ));
            }
            let n = self
                .stream
                .read_by(&mut self.buf[self.filled..], deadline)
                .await?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            self.filled += n;
        }
    }
}

/// The names of the `snapshot-*.bin` files in `dir`.
fn snapshots_in(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| e.file_name().to_str().map(String::from))
                .filter(|n| n.starts_with("snapshot-") && n.ends_with(".bin"))
                .collect()
        })
        .unwrap_or_default()
}

/// One run's figures.
#[derive(Debug, Clone, Copy)]
struct Run {
    on: bool,
    per_s: f64,
    latency: Summary,
}

/// One run: a fresh revoker (with persistence in a fresh directory if `on`), `--clients`
/// clients for `--warmup` + `--seconds` s.
fn throughput_run(args: &Args, scratch: &Scratch, rep: usize, on: bool) -> Run {
    let mode = if on { "on" } else { "off" };
    let name = format!("revoker-{mode}-{rep}");
    let dir = scratch.path().join(format!("{name}-data"));
    if on {
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    }
    let (mut revoker, addr) = start_revoker(args, scratch, &name, on.then_some(dir.as_path()));
    let log = revoker.log_text();
    assert_eq!(
        log.contains("bloomgate: persistence: recovered"),
        on,
        "{name}: persistence should be {mode}; its stderr:\n{log}"
    );
    let pid = revoker.pid();
    let tag = format!("p{}{mode}{rep}", std::process::id());
    let start = Instant::now();
    let from = start + Duration::from_secs_f64(args.warmup);
    let window = Window {
        from,
        end: from + Duration::from_secs_f64(args.seconds),
    };
    let (results, cpu_ticks, executor_ns) = std::thread::scope(|s| {
        let clients = s.spawn(|| run_clients(addr, &tag, args.clients, window, args.client_cpu));
        sleep_until(window.from);
        let (ticks, executor) = (
            process_cpu_ticks(pid),
            thread_cpu_ns(pid, "bloomgate-revok"),
        );
        sleep_until(window.end);
        let (ticks, executor) = (
            process_cpu_ticks(pid).saturating_sub(ticks),
            thread_cpu_ns(pid, "bloomgate-revok").saturating_sub(executor),
        );
        let results = clients
            .join()
            .unwrap_or_else(|_| panic!("the clients panicked"));
        (results, ticks, executor)
    });
    // Snapshots taken while measuring (an epoch change, 1M records) would weigh on the run.
    let snapshots_during = if on { snapshots_in(&dir).len() } else { 0 };
    let stopped = revoker.stop(STOP_LIMIT);
    let log = revoker.log_text();
    assert!(stopped, "{name} did not stop cleanly; its stderr:\n{log}");
    let notes: Vec<&str> = log
        .lines()
        .filter(|l| {
            !l.contains("revoke server listening on")
                && !l.contains("persistence: recovered")
                && *l != "bloomgate: stopped"
        })
        .collect();
    if !notes.is_empty() {
        eprintln!("persist-report: {name} said:\n{}", notes.join("\n"));
    }
    if on {
        let _ = std::fs::remove_dir_all(&dir);
    }

    let acked: u64 = results.iter().map(|r| r.acked).sum();
    let errors: u64 = results.iter().map(|r| r.errors).sum();
    let latencies: Vec<Duration> = results.into_iter().flat_map(|r| r.latencies).collect();
    let latency = Summary::of(&latencies);
    let per_s = acked as f64 / args.seconds;
    let cpu_s = cpu_ticks as f64 / clock_ticks();
    let busy = executor_ns as f64 / 1e9 / args.seconds;
    let cpu_us = if acked > 0 {
        cpu_s * 1e6 / acked as f64
    } else {
        f64::NAN
    };
    eprintln!(
        "revocations, persistence {mode:>3}, rep {rep}: {per_s:>8.0}/s ({acked} acknowledged, {errors} errors), POST → 201 {latency}; revoker CPU {cpu_s:.2} s ({cpu_us:.1} µs/revocation), executor thread {:.0}% busy{}",
        busy * 100.0,
        if snapshots_during > 0 {
            format!("; {snapshots_during} snapshot(s) taken during the run")
        } else {
            String::new()
        }
    );
    println!(
        r#"{{"phase":"revoke","rep":{rep},"persistence":{on},"clients":{},"warmup_s":{},"seconds":{},"acked":{acked},"errors":{errors},"per_s":{per_s:.0},"latency":{},"revoker_cpu_s":{cpu_s:.3},"cpu_us_per_revocation":{},"executor_busy":{busy:.3},"snapshots_during_run":{snapshots_during}}}"#,
        args.clients,
        args.warmup,
        args.seconds,
        latency.json(),
        jnum(cpu_us, 2)
    );
    assert!(
        acked > 0,
        "{name}: no revocation acknowledged within the window; its stderr:\n{log}"
    );
    Run { on, per_s, latency }
}

fn throughput(args: &Args, scratch: &Scratch) {
    let mut runs = Vec::new();
    for rep in 0..args.reps {
        for on in [false, true] {
            runs.push(throughput_run(args, scratch, rep, on));
        }
    }
    let of = |on: bool, f: fn(&Run) -> f64| -> (f64, Vec<f64>) {
        let v: Vec<f64> = runs.iter().filter(|r| r.on == on).map(f).collect();
        (median(&v), v)
    };
    let (off, off_all) = of(false, |r| r.per_s);
    let (on, on_all) = of(true, |r| r.per_s);
    let (off_p50, _) = of(false, |r| r.latency.p50);
    let (off_p99, _) = of(false, |r| r.latency.p99);
    let (on_p50, _) = of(true, |r| r.latency.p50);
    let (on_p99, _) = of(true, |r| r.latency.p99);
    let ratio = on / off;
    let list = |v: &[f64]| {
        v.iter()
            .map(|x| format!("{x:.0}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    eprintln!(
        "revocations/s, {} clients, median of {}: persistence off {off:.0} ({}), on {on:.0} ({}); on/off {ratio:.2} (goal >= 0.50: {})",
        args.clients,
        args.reps,
        list(&off_all),
        list(&on_all),
        if ratio >= 0.5 { "met" } else { "not met" }
    );
    eprintln!(
        "POST → 201, medians of the runs' percentiles: off p50 {off_p50:.0} µs, p99 {off_p99:.0} µs; on p50 {on_p50:.0} µs, p99 {on_p99:.0} µs"
    );
    println!(
        r#"{{"phase":"revoke_summary","clients":{},"reps":{},"off_per_s":{off:.0},"on_per_s":{on:.0},"ratio_on_off":{ratio:.3},"goal_ratio":0.5,"met":{},"off_p50_us":{off_p50:.1},"off_p99_us":{off_p99:.1},"on_p50_us":{on_p50:.1},"on_p99_us":{on_p99:.1}}}"#,
        args.clients,
        args.reps,
        ratio >= 0.5
    );
}

// ---------------------------------------------------------------------------------------------
// Question 2: a gateway's start-up with a snapshot.

/// A gateway's config: harness's shape (`GET /protected`, HS256, the `auth/revoker` of
/// [`harness::revoker_section`]: N=1e7, P=1e-7) with persistence in `dir`. Its backend is never
/// called.
fn gateway_config(scratch: &Scratch, dir: &Path) -> String {
    let jwk = scratch.file("jwk.json", &harness::jwk_set());
    format!(
        r#"{{"version": 3, "port": 0, "listen_ip": "127.0.0.1", "timeout": "5s",
  "host": ["http://127.0.0.1:1"],
  "endpoints": [{{"endpoint": "/protected", "backend": [{{"url_pattern": "/"}}],
    "extra_config": {{"auth/validator": {{"alg": "HS256", "jwk_local_path": {jwk}}}}}}}],
  "extra_config": {{"router": {{"disable_access_log": true}},
    "auth/revoker": {{{section}}},
    "bloomgate/persistence": {{"dir": {dir}}}}}}}"#,
        jwk = json_string(&jwk),
        section = harness::revoker_section(""),
        dir = json_string(dir)
    )
}

/// `(seq, epoch, name, bytes)` of the newest `snapshot-EPOCH-SEQ.bin` in `dir`.
fn newest_snapshot(dir: &Path) -> Option<(u64, u64, String, u64)> {
    snapshots_in(dir)
        .into_iter()
        .filter_map(|name| {
            let (epoch, seq) = name
                .strip_prefix("snapshot-")?
                .strip_suffix(".bin")?
                .split_once('-')?;
            let bytes = std::fs::metadata(dir.join(&name)).ok()?.len();
            Some((seq.parse().ok()?, epoch.parse().ok()?, name, bytes))
        })
        .max()
}

/// Bytes in the `journal-SEQ.log` segments from `from_seq` on.
fn journal_bytes_from(dir: &Path, from_seq: u64) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| {
                    e.file_name()
                        .to_str()
                        .and_then(|n| n.strip_prefix("journal-"))
                        .and_then(|n| n.strip_suffix(".log"))
                        .and_then(|s| s.parse::<u64>().ok())
                        .is_some_and(|s| s >= from_seq)
                })
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// The persistence directory of a gateway that was given the keys, and what to check after.
#[derive(Debug)]
struct Filled {
    dir: PathBuf,
    config: PathBuf,
    /// Inserted keys, spread over the fill.
    sample: Vec<Vec<u8>>,
    /// Keys never inserted.
    absent: Vec<Vec<u8>>,
    snapshot_bytes: u64,
}

/// Fills a gateway with `--startup-keys` keys over RPC, stops it (SIGTERM: last snapshot) and
/// checks the snapshot on disk.
fn fill(args: &Args, scratch: &Scratch) -> Filled {
    let dir = scratch.path().join("gateway-snapshot-data");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let config = scratch.file("gateway-snapshot.json", &gateway_config(scratch, &dir));
    let (mut gateway, line) = Proc::start(
        "fill gateway",
        Command::new(args.bins.get("bloomgate"))
            .args(["run", "-c"])
            .arg(&config)
            .args(["--port", "0", "--rpc-port", "0", "--cores", "1"]),
        scratch.path().join("gateway-fill.log"),
        Some("bloomgate: listening on "),
    );
    let rpc = SocketAddr::from(([127, 0, 0, 1], addr_after(&line, "rpc on ").port()));
    let mut client = rpc_client(rpc);
    let seed = 0x9e51_0000_0000 ^ (u64::from(std::process::id()) << 24);
    let mut sample = Vec::new();
    let (mut done, mut batch_no, mut next_report) = (0usize, 0u64, 1_000_000usize);
    let start = Instant::now();
    while done < args.startup_keys {
        let n = FILL_BATCH.min(args.startup_keys - done);
        let keys = harness::uuid_keys(n, seed + batch_no);
        let refs: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
        let added = client.add(&refs).unwrap_or_else(|e| {
            panic!(
                "rpc add after {done} keys: {e}; gateway stderr:\n{}",
                gateway.log_text()
            )
        });
        assert_eq!(added.count, n as u64, "rpc add: count");
        sample.extend(keys.iter().step_by((n / 10).max(1)).cloned());
        sample.extend(keys.last().cloned());
        done += n;
        batch_no += 1;
        if done >= next_report && done < args.startup_keys {
            eprintln!(
                "persist-report: fill: {done} keys in {:.1} s",
                start.elapsed().as_secs_f64()
            );
            next_report += 1_000_000;
        }
    }
    let fill_s = start.elapsed().as_secs_f64();
    drop(client);
    let stopping = Instant::now();
    let stopped = gateway.stop(STOP_LIMIT);
    let stop_s = stopping.elapsed().as_secs_f64();
    let log = gateway.log_text();
    assert!(
        stopped,
        "the fill gateway did not stop cleanly within {STOP_LIMIT:?} (it writes its last snapshot at SIGTERM); its stderr:\n{log}"
    );
    assert!(
        !log.contains("persistence: error") && !log.contains("persistence: warning"),
        "the fill gateway's persistence complained; its stderr:\n{log}"
    );
    let Some((seq, _, snapshot, snapshot_bytes)) = newest_snapshot(&dir) else {
        panic!(
            "no snapshot-*.bin in {} after SIGTERM; its stderr:\n{log}",
            dir.display()
        )
    };
    let generation = bloom::Geometry::new(N, P)
        .unwrap_or_else(|e| panic!("geometry: {e}"))
        .bytes();
    assert!(
        snapshot_bytes >= 2 * generation,
        "{snapshot} holds {snapshot_bytes} bytes, less than two generations of {generation}"
    );
    let replay = journal_bytes_from(&dir, seq);
    eprintln!(
        "persist-report: fill: {done} keys in {fill_s:.1} s ({:.0} keys/s over RPC with persistence); stopped in {stop_s:.1} s; {snapshot}: {snapshot_bytes} bytes; {replay} journal bytes after it",
        done as f64 / fill_s
    );
    println!(
        r#"{{"phase":"fill","keys":{done},"batch":{FILL_BATCH},"seconds":{fill_s:.2},"keys_per_s":{:.0},"stop_s":{stop_s:.2},"snapshot":"{snapshot}","snapshot_bytes":{snapshot_bytes},"journal_bytes_after_snapshot":{replay}}}"#,
        done as f64 / fill_s
    );
    Filled {
        dir,
        config,
        sample,
        absent: harness::uuid_keys(1000, !seed),
        snapshot_bytes,
    }
}

/// What a gateway's start cost.
#[derive(Debug, Clone, Copy)]
struct Started {
    /// Spawn → first 200 from `/__health`.
    ms: f64,
    /// The gateway's own `recovered … in N ms`.
    recovery_ms: Option<f64>,
    /// Journal records it replayed.
    replayed: Option<u64>,
}

/// `(ms, records replayed)` from the gateway's `bloomgate: persistence: recovered … N
/// record(s) replayed, … in MS ms from DIR` line.
fn recovery_line(log: &str) -> Option<(f64, u64)> {
    let line = log
        .lines()
        .find(|l| l.starts_with("bloomgate: persistence: recovered "))?;
    let ms = line
        .rsplit_once(" ms from ")?
        .0
        .rsplit(' ')
        .next()?
        .parse()
        .ok()?;
    let replayed = line
        .split(", ")
        .find_map(|p| p.strip_suffix(" record(s) replayed"))?
        .parse()
        .ok()?;
    Some((ms, replayed))
}

/// Spawns a gateway on `config` and times it until `GET /__health` answers 200; returns it
/// (running) with its RPC address.
fn timed_start(
    args: &Args,
    scratch: &Scratch,
    name: &str,
    config: &Path,
) -> (Proc, SocketAddr, Started) {
    let port = free_port();
    let rpc_port = loop {
        let p = free_port();
        if p != port {
            break p;
        }
    };
    let http = SocketAddr::from(([127, 0, 0, 1], port));
    let rpc = SocketAddr::from(([127, 0, 0, 1], rpc_port));
    let health = b"GET /__health HTTP/1.1\r\nHost: perf\r\n\r\n";
    let mut command = Command::new(args.bins.get("bloomgate"));
    command
        .args(["run", "-c"])
        .arg(config)
        .args(["--port", &port.to_string()])
        .args(["--rpc-port", &rpc_port.to_string()])
        .args(["--cores", "1"]);
    let log = scratch.path().join(format!("{name}.log"));
    let start = Instant::now();
    let (mut proc, _) = Proc::start(name, &mut command, log, None);
    let elapsed = loop {
        if let Ok(mut conn) = Http::connect(http, IO_TIMEOUT) {
            match conn.request(health) {
                Ok(200) => break start.elapsed(),
                Ok(status) => panic!("{name}: GET /__health answered {status}"),
                Err(_) => {}
            }
        }
        assert!(
            !proc.exited(),
            "{name} exited before answering; its stderr:\n{}",
            proc.log_text()
        );
        assert!(
            start.elapsed() < ANSWER_LIMIT,
            "{name} did not answer within {ANSWER_LIMIT:?}; its stderr:\n{}",
            proc.log_text()
        );
        std::thread::sleep(Duration::from_millis(1));
    };
    // The recovery line was printed before the port was bound; its copy into the log file may lag.
    let mut recovery = None;
    let asked = Instant::now();
    while recovery.is_none() && asked.elapsed() < Duration::from_secs(2) {
        recovery = recovery_line(&proc.log_text());
        if recovery.is_none() {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    if recovery.is_none() {
        eprintln!(
            "persist-report: warning: no recovery line from {name}; its stderr:\n{}",
            proc.log_text()
        );
    }
    wait_port(rpc);
    (
        proc,
        rpc,
        Started {
            ms: elapsed.as_secs_f64() * 1e3,
            recovery_ms: recovery.map(|r| r.0),
            replayed: recovery.map(|r| r.1),
        },
    )
}

/// Evicts the files of `dir` from the page cache (`dd iflag=nocache count=0`); returns the
/// bytes of them still resident (`fincore`), `None` if that cannot be told.
fn evict(dir: &Path) -> Option<u64> {
    let files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    for file in &files {
        let ok = Command::new("dd")
            .arg(format!("if={}", file.display()))
            .args(["iflag=nocache", "count=0", "status=none"])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "dd iflag=nocache on {} failed", file.display());
    }
    let out = Command::new("fincore")
        .args(["--bytes", "--noheadings", "--output", "RES"])
        .args(&files)
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().parse::<u64>().ok())
        .sum()
}

/// The three starts compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Case {
    Empty,
    Snapshot,
    SnapshotCold,
}

impl Case {
    const ALL: [Case; 3] = [Case::Empty, Case::Snapshot, Case::SnapshotCold];

    fn name(self) -> &'static str {
        match self {
            Case::Empty => "empty",
            Case::Snapshot => "snapshot",
            Case::SnapshotCold => "snapshot_cold",
        }
    }
}

fn startup(args: &Args, scratch: &Scratch) {
    let filled = fill(args, scratch);
    let sample: Vec<&[u8]> = filled.sample.iter().map(Vec::as_slice).collect();
    let absent: Vec<&[u8]> = filled.absent.iter().map(Vec::as_slice).collect();
    let mut times: Vec<(Case, Started)> = Vec::new();
    for rep in 0..args.reps {
        for case in Case::ALL {
            let name = format!("gateway-{}-{rep}", case.name());
            let (config, empty_dir) = match case {
                Case::Empty => {
                    let dir = scratch.path().join(format!("{name}-data"));
                    std::fs::create_dir_all(&dir)
                        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
                    let config =
                        scratch.file(&format!("{name}.json"), &gateway_config(scratch, &dir));
                    (config, Some(dir))
                }
                Case::Snapshot | Case::SnapshotCold => (filled.config.clone(), None),
            };
            let resident = match case {
                Case::SnapshotCold => Some(evict(&filled.dir)),
                _ => None,
            };
            let (mut gateway, rpc, started) = timed_start(args, scratch, &name, &config);
            // Outside the timing: the keys are there (or, from an empty directory, not).
            let mut client = rpc_client(rpc);
            let hits = client
                .check(&sample)
                .unwrap_or_else(|e| panic!("{name}: rpc check: {e}"));
            let found = hits.iter().filter(|h| **h).count();
            let false_hits = client
                .check(&absent)
                .unwrap_or_else(|e| panic!("{name}: rpc check: {e}"))
                .iter()
                .filter(|h| **h)
                .count();
            drop(client);
            let stopped = gateway.stop(STOP_LIMIT);
            let log = gateway.log_text();
            assert!(stopped, "{name} did not stop cleanly; its stderr:\n{log}");
            match case {
                Case::Empty => assert!(
                    found <= 2,
                    "{name}: {found} of {} sampled keys revoked in an empty filter",
                    sample.len()
                ),
                _ => assert_eq!(
                    found,
                    sample.len(),
                    "{name}: only {found} of {} sampled keys revoked after the restart; its stderr:\n{log}",
                    sample.len()
                ),
            }
            assert!(
                false_hits <= 2,
                "{name}: {false_hits} of {} keys never inserted reported revoked",
                absent.len()
            );
            if let Some(dir) = empty_dir {
                let _ = std::fs::remove_dir_all(dir);
            }
            let resident_text = match resident {
                Some(Some(bytes)) => format!(", {bytes} bytes of its files in the page cache"),
                Some(None) => ", page cache residency unknown (no fincore)".into(),
                None => String::new(),
            };
            let opt = |v: Option<f64>| v.map_or_else(|| "null".into(), |v| format!("{v:.0}"));
            eprintln!(
                "start-up, {:<13} rep {rep}: first answer after {:.1} ms (recovery {} ms, {} record(s) replayed){resident_text}; {found}/{} sampled keys revoked",
                case.name(),
                started.ms,
                opt(started.recovery_ms),
                started
                    .replayed
                    .map_or_else(|| "?".into(), |r| r.to_string()),
                sample.len()
            );
            println!(
                r#"{{"phase":"startup","rep":{rep},"case":"{}","spawn_to_first_answer_ms":{:.2},"recovery_ms":{},"replayed":{},"resident_bytes":{},"sampled":{},"sampled_revoked":{found},"absent_revoked":{false_hits}}}"#,
                case.name(),
                started.ms,
                opt(started.recovery_ms),
                started
                    .replayed
                    .map_or_else(|| "null".into(), |r| r.to_string()),
                resident
                    .flatten()
                    .map_or_else(|| "null".into(), |r| r.to_string()),
                sample.len()
            );
            times.push((case, started));
        }
    }
    let med = |case: Case, f: fn(&Started) -> Option<f64>| {
        median(
            &times
                .iter()
                .filter(|(c, _)| *c == case)
                .filter_map(|(_, s)| f(s))
                .collect::<Vec<_>>(),
        )
    };
    let ms = |case| med(case, |s| Some(s.ms));
    let rec = |case| med(case, |s| s.recovery_ms);
    let (empty, warm, cold) = (ms(Case::Empty), ms(Case::Snapshot), ms(Case::SnapshotCold));
    eprintln!(
        "start-up to first answer, median of {}: empty dir {empty:.1} ms (recovery {:.0} ms); snapshot of {} keys ({} bytes) {warm:.1} ms (recovery {:.0} ms), page cache evicted {cold:.1} ms (recovery {:.0} ms)",
        args.reps,
        rec(Case::Empty),
        args.startup_keys,
        filled.snapshot_bytes,
        rec(Case::Snapshot),
        rec(Case::SnapshotCold)
    );
    println!(
        r#"{{"phase":"startup_summary","keys":{},"snapshot_bytes":{},"reps":{},"empty_ms":{empty:.2},"snapshot_ms":{warm:.2},"snapshot_cold_ms":{cold:.2},"empty_recovery_ms":{},"snapshot_recovery_ms":{},"snapshot_cold_recovery_ms":{}}}"#,
        args.startup_keys,
        filled.snapshot_bytes,
        args.reps,
        jnum(rec(Case::Empty), 0),
        jnum(rec(Case::Snapshot), 0),
        jnum(rec(Case::SnapshotCold), 0)
    );
}

fn main() {
    let args = parse_args();
    eprintln!("persist-report: {}", harness::machine());
    let scratch = Scratch::new("persist");
    let fs = filesystem(scratch.path());
    assert!(
        fs != "tmpfs" && fs != "ramfs",
        "{} is on {fs}: persistence must be measured on a disk; set TMPDIR to a directory on one",
        scratch.path().display()
    );
    eprintln!(
        "persist-report: scratch directory {} on {fs}",
        scratch.path().display()
    );
    println!(
        r#"{{"phase":"setup","scratch":{},"filesystem":"{fs}","clients":{},"seconds":{},"warmup_s":{},"reps":{},"startup_keys":{}}}"#,
        json_string(scratch.path()),
        args.clients,
        args.seconds,
        args.warmup,
        args.reps,
        args.startup_keys
    );
    if args.seconds > 0.0 {
        throughput(&args, &scratch);
    }
    if args.startup_keys > 0 {
        startup(&args, &scratch);
    }
}
