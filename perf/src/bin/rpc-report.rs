//! `rpc-report`: RPC inserts into a live gateway (issue 5).
//!
//! Questions:
//! 1. How many keys per second does `admin::rpc::client::Client::add` (pipelined frames) put into
//!    a gateway's filter (N=1e7, P=1e-7), alone and while the gateway serves an open-loop load of
//!    valid HS256 tokens; and what do the data plane's requests/s and p99 do meanwhile?
//! 2. How long from an `Added` acknowledgement to the first 401 for a token carrying that key,
//!    on a kept-alive connection (one HTTP round trip included; the round trips of a 200 and of
//!    an already-revoked 401 are measured beside it to subtract)?
//!
//! Every process is on 127.0.0.1, started here and stopped on drop (`harness::Proc`): the
//! trivial backend `loadtest/examples/hello_server` (pinned to CPU 1), `bloomgate run --cores 1`
//! (data core on CPU 0, admin core on CPU 1 on a 2-CPU machine) and `loadtest --cpus 1`.
//!
//! ```sh
//! cargo build --release -p proxy --bin bloomgate && cargo build --release -p loadtest --bins --examples && cargo build --release -p perf
//! target/release/rpc-report --keys 5000000 --rate 20000 --reps 3 --acks 1000
//! ```
//! (`perf/rpc-bench.sh` does both.) Progress and a summary go to stderr, one JSON line per
//! phase to stdout.

use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use admin::rpc::client::Client;
use perf::harness::{
    self, Bins, Gateway, Http, Proc, Scratch, Summary, median, pin, rpc_client, start_backend,
    thread_cpu_ns, token,
};

#[derive(Debug, Clone)]
struct Args {
    keys: usize,
    batch: usize,
    rate: u64,
    connections: u32,
    seconds: u64,
    warmup: u64,
    reps: usize,
    acks: usize,
    phases: Vec<String>,
    client_cpu: usize,
    perf_record: Option<String>,
    bins: Bins,
}

const USAGE: &str = "usage: rpc-report [--keys 5000000] [--batch 1000000] [--rate 20000] \
[--connections 16] [--seconds 10] [--warmup 2] [--reps 3] [--acks 1000] \
[--phases isolated,load,closed,control,control-closed,ack] [--client-cpu 1] [--perf-record FILE] [--bin-dir DIR]";

fn usage() -> ! {
    eprintln!("{USAGE}");
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut a = Args {
        keys: 5_000_000,
        batch: 1_000_000,
        rate: 20_000,
        connections: 16,
        seconds: 10,
        warmup: 2,
        reps: 3,
        acks: 1000,
        phases: ["isolated", "load", "ack"].map(String::from).to_vec(),
        client_cpu: 1,
        perf_record: None,
        bins: Bins::beside_me(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| usage());
        fn num<T: std::str::FromStr>(s: String) -> T {
            s.parse::<f64>()
                .ok()
                .and_then(|v| format!("{}", v as u128).parse().ok())
                .unwrap_or_else(|| usage())
        }
        match flag.as_str() {
            "--keys" => a.keys = num(value()),
            "--batch" => a.batch = num(value()),
            "--rate" => a.rate = num(value()),
            "--connections" => a.connections = num(value()),
            "--seconds" => a.seconds = num(value()),
            "--warmup" => a.warmup = num(value()),
            "--reps" => a.reps = num(value()),
            "--acks" => a.acks = num(value()),
            "--phases" => a.phases = value().split(',').map(String::from).collect(),
            "--client-cpu" => a.client_cpu = num(value()),
            "--perf-record" => a.perf_record = Some(value()),
            "--bin-dir" => a.bins.dir = value().into(),
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0)
            }
            _ => usage(),
        }
    }
    if a.keys == 0 || a.batch == 0 || a.reps == 0 || a.seconds == 0 {
        usage();
    }
    a
}

/// CPU time of the gateway's threads and of this thread.
#[derive(Debug, Clone, Copy, Default)]
struct Cpu {
    admin: u64,
    data: u64,
    client: u64,
}

impl Cpu {
    fn now(pid: u32) -> Cpu {
        Cpu {
            admin: thread_cpu_ns(pid, "bloomgate-admin"),
            data: thread_cpu_ns(pid, "bloomgate-data"),
            client: harness::own_thread_cpu_ns(),
        }
    }

    fn since(self, before: Cpu) -> Cpu {
        Cpu {
            admin: self.admin - before.admin,
            data: self.data - before.data,
            client: self.client - before.client,
        }
    }
}

/// One timed insert of `keys` in calls of `batch` keys.
#[derive(Debug, Clone, Copy)]
struct Insert {
    keys: u64,
    new: u64,
    elapsed: Duration,
    cpu: Cpu,
}

impl Insert {
    fn keys_per_s(&self) -> f64 {
        self.keys as f64 / self.elapsed.as_secs_f64()
    }

    fn ns_per_key(cpu_ns: u64, keys: u64) -> f64 {
        cpu_ns as f64 / keys as f64
    }

    fn json(&self) -> String {
        format!(
            r#"{{"keys":{},"new":{},"seconds":{:.4},"keys_per_s":{:.0},"admin_cpu_ns_per_key":{:.1},"client_cpu_ns_per_key":{:.1},"data_core_cpu_s":{:.3}}}"#,
            self.keys,
            self.new,
            self.elapsed.as_secs_f64(),
            self.keys_per_s(),
            Insert::ns_per_key(self.cpu.admin, self.keys),
            Insert::ns_per_key(self.cpu.client, self.keys),
            self.cpu.data as f64 / 1e9
        )
    }
}

impl std::fmt::Display for Insert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} keys ({} new) in {:.3} s = {:.2} M keys/s; CPU per key: admin core {:.0} ns, client {:.0} ns",
            self.keys,
            self.new,
            self.elapsed.as_secs_f64(),
            self.keys_per_s() / 1e6,
            Insert::ns_per_key(self.cpu.admin, self.keys),
            Insert::ns_per_key(self.cpu.client, self.keys)
        )
    }
}

fn insert(client: &mut Client, pid: u32, keys: &[&[u8]], batch: usize) -> Insert {
    let before = Cpu::now(pid);
    let start = Instant::now();
    let mut new = 0;
    for chunk in keys.chunks(batch) {
        new += client
            .add(chunk)
            .unwrap_or_else(|e| panic!("rpc add: {e}"))
            .new;
    }
    let elapsed = start.elapsed();
    Insert {
        keys: keys.len() as u64,
        new,
        elapsed,
        cpu: Cpu::now(pid).since(before),
    }
}

/// `perf record -e cpu-clock -a -g` until dropped (SIGINT, so it writes its file).
struct PerfRecord(Option<std::process::Child>);

impl PerfRecord {
    fn start(file: Option<&str>) -> PerfRecord {
        PerfRecord(file.map(|f| {
            let child = Command::new("perf")
                .args([
                    "record",
                    "-e",
                    "cpu-clock",
                    "-F",
                    "2000",
                    "-a",
                    "-g",
                    "-o",
                    f,
                ])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("perf record: {e}"));
            std::thread::sleep(Duration::from_millis(500));
            child
        }))
    }
}

impl Drop for PerfRecord {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = Command::new("kill")
                .args(["-INT", &child.id().to_string()])
                .status();
            let _ = child.wait();
        }
    }
}

/// Keys inserted alone: the gateway idle, the client on CPU 0 (the idle data core's), the
/// admin core on CPU 1. First into an empty filter, then the same keys again.
fn isolated(args: &Args, backend: SocketAddr) {
    let mut fresh = Vec::new();
    let mut again = Vec::new();
    for rep in 0..args.reps {
        let scratch = Scratch::new("rpc-isolated");
        let gw = harness::start_gateway(&args.bins, &scratch, backend, "gateway", "");
        let keys = harness::uuid_keys(args.keys, 0x15_01a7ed + rep as u64);
        let refs: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
        let handle = std::thread::scope(|s| {
            s.spawn(|| {
                pin(0);
                let mut client = rpc_client(gw.rpc);
                let record = PerfRecord::start(if rep == 0 {
                    args.perf_record.as_deref()
                } else {
                    None
                });
                let first = insert(&mut client, gw.proc.pid(), &refs, args.batch);
                drop(record);
                let second = insert(&mut client, gw.proc.pid(), &refs, args.batch);
                (first, second)
            })
            .join()
            .expect("insert thread")
        });
        let (first, second) = handle;
        eprintln!("isolated rep {rep}: empty filter: {first}");
        eprintln!("isolated rep {rep}: same keys again: {second}");
        println!(
            r#"{{"phase":"isolated","rep":{rep},"batch":{},"first":{},"again":{}}}"#,
            args.batch,
            first.json(),
            second.json()
        );
        fresh.push(first.keys_per_s());
        again.push(second.keys_per_s());
        drop(gw);
    }
    eprintln!(
        "isolated: median {:.2} M keys/s into an empty filter, {:.2} M keys/s again",
        median(&fresh) / 1e6,
        median(&again) / 1e6
    );
}

/// What `loadtest --json` said.
#[derive(Debug, Clone, Copy, Default)]
struct Load {
    /// Data core CPU per answered request in the measured window, µs.
    data_cpu_us: f64,
    /// The data core's CPU time over the measured window's length (1.0: never idle).
    data_busy: f64,
    rps: f64,
    p50: f64,
    p99: f64,
    p999: f64,
    raw_p99: f64,
    errors: u64,
    wrong: u64,
}

impl Load {
    fn read(path: &std::path::Path) -> Load {
        let text =
            std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let doc: serde_json::Value = serde_json::from_str(&text).expect("loadtest JSON");
        let f = |v: &serde_json::Value| v.as_f64().unwrap_or(f64::NAN);
        let errors = doc["errors"]
            .as_object()
            .map(|o| {
                o.iter()
                    .filter(|(k, _)| *k != "wrong_status")
                    .map(|(_, v)| v.as_u64().unwrap_or(0))
                    .sum()
            })
            .unwrap_or(0);
        Load {
            data_cpu_us: f64::NAN,
            data_busy: f64::NAN,
            rps: f(&doc["requests_per_s"]),
            p50: f(&doc["latency_us"]["corrected"]["p50"]),
            p99: f(&doc["latency_us"]["corrected"]["p99"]),
            p999: f(&doc["latency_us"]["corrected"]["p99_9"]),
            raw_p99: f(&doc["latency_us"]["raw"]["p99"]),
            errors,
            wrong: doc["errors"]["wrong_status"].as_u64().unwrap_or(0),
        }
    }

    fn json(&self) -> String {
        format!(
            r#"{{"rps":{:.0},"p50_us":{},"p99_us":{},"p99_9_us":{},"raw_p99_us":{},"errors":{},"wrong_status":{},"data_core_cpu_us_per_request":{:.2},"data_core_busy":{:.3}}}"#,
            self.rps,
            self.p50,
            self.p99,
            self.p999,
            self.raw_p99,
            self.errors,
            self.wrong,
            self.data_cpu_us,
            self.data_busy
        )
    }
}

impl std::fmt::Display for Load {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:.0} req/s, p50 {} µs, p99 {} µs, p99.9 {} µs (raw p99 {} µs), {} errors, {} wrong; data core {:.1} µs CPU/request, {:.0}% busy",
            self.rps,
            self.p50,
            self.p99,
            self.p999,
            self.raw_p99,
            self.errors,
            self.wrong,
            self.data_cpu_us,
            self.data_busy * 100.0
        )
    }
}

fn spawn_loadtest(
    args: &Args,
    scratch: &Scratch,
    gw: &Gateway,
    closed: bool,
    name: &str,
) -> (Proc, std::path::PathBuf) {
    let json = scratch.path().join(format!("{name}.json"));
    let jwk = scratch.path().join("jwk.json");
    let mut command = Command::new(args.bins.get("loadtest"));
    command
        .args(["--cpus", "1", "-c", &args.connections.to_string()])
        .args([
            "-d",
            &format!("{}s", args.seconds),
            "--warmup",
            &format!("{}s", args.warmup),
        ])
        .arg("--jwt-key")
        .arg(format!("jwk:{}", jwk.display()))
        .arg("--json")
        .arg(&json);
    if !closed {
        command.args(["-R", &args.rate.to_string()]);
    }
    command.arg(format!("http://{}/protected", gw.http));
    let (proc, _) = Proc::start(
        "loadtest",
        &mut command,
        scratch.path().join(format!("{name}.log")),
        None,
    );
    (proc, json)
}

fn run_load(args: &Args, scratch: &Scratch, gw: &Gateway, closed: bool, name: &str) -> Load {
    let (mut proc, json) = spawn_loadtest(args, scratch, gw, closed, name);
    let window = DataCpu::start(args, gw.proc.pid());
    let limit = Duration::from_secs(args.seconds + args.warmup + 30);
    if !proc.wait(limit) {
        eprintln!("loadtest {name} failed or timed out:\n{}", proc.log_text());
    }
    let mut load = Load::read(&json);
    window.finish(&mut load, args);
    load
}

/// The data core's CPU time over loadtest's measured window (sampled by the clock: from the
/// end of the warm-up to the end of the duration, counted from loadtest's start).
struct DataCpu(std::thread::JoinHandle<u64>);

impl DataCpu {
    fn start(args: &Args, pid: u32) -> DataCpu {
        let (warmup, seconds) = (args.warmup, args.seconds);
        DataCpu(std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs(warmup));
            let before = thread_cpu_ns(pid, "bloomgate-data");
            std::thread::sleep(Duration::from_secs(seconds));
            thread_cpu_ns(pid, "bloomgate-data") - before
        }))
    }

    /// Fills in `load.data_cpu_us` and `load.data_busy`.
    fn finish(self, load: &mut Load, args: &Args) {
        let ns = self.0.join().unwrap_or(0) as f64;
        load.data_cpu_us = ns / 1e3 / (load.rps * args.seconds as f64);
        load.data_busy = ns / 1e9 / args.seconds as f64;
    }
}

/// Inserts while `loadtest` runs: first `keys` new keys, then the same keys again and again
/// until loadtest exits, so the whole measured window sees inserts.
fn run_load_with_inserts(
    args: &Args,
    scratch: &Scratch,
    gw: &Gateway,
    closed: bool,
    keys: &[&[u8]],
) -> (Load, Insert, Insert) {
    let mut client = rpc_client(gw.rpc);
    let (mut proc, json) = spawn_loadtest(args, scratch, gw, closed, "with-inserts");
    let window = DataCpu::start(args, gw.proc.pid());
    let first = insert(&mut client, gw.proc.pid(), keys, args.batch);
    let before = Cpu::now(gw.proc.pid());
    let start = Instant::now();
    let (mut total, mut new) = (0u64, 0u64);
    let limit = Duration::from_secs(args.seconds + args.warmup + 30);
    'outer: while !proc.exited() && start.elapsed() < limit {
        for chunk in keys.chunks(args.batch) {
            if proc.exited() {
                break 'outer;
            }
            new += client
                .add(chunk)
                .unwrap_or_else(|e| panic!("rpc add: {e}"))
                .new;
            total += chunk.len() as u64;
        }
    }
    let sustained = Insert {
        keys: total.max(1),
        new,
        elapsed: start.elapsed(),
        cpu: Cpu::now(gw.proc.pid()).since(before),
    };
    if !proc.wait(limit) {
        eprintln!(
            "loadtest with inserts failed or timed out:\n{}",
            proc.log_text()
        );
    }
    let mut load = Load::read(&json);
    window.finish(&mut load, args);
    (load, first, sustained)
}

/// Per rep, a fresh gateway: load alone, load while inserting, load alone again (filter full).
fn under_load(args: &Args, backend: SocketAddr, closed: bool) {
    let phase = if closed { "closed" } else { "load" };
    let (mut base, mut during, mut after, mut first_kps, mut sustained_kps) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for rep in 0..args.reps {
        let scratch = Scratch::new(&format!("rpc-{phase}"));
        let gw = harness::start_gateway(&args.bins, &scratch, backend, "gateway", "");
        let keys = harness::uuid_keys(args.keys, 0x10ad_0000 + rep as u64);
        let refs: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
        let (b, (d, first, sustained), a) = std::thread::scope(|s| {
            s.spawn(|| {
                pin(args.client_cpu);
                let b = run_load(args, &scratch, &gw, closed, "baseline");
                let d = run_load_with_inserts(args, &scratch, &gw, closed, &refs);
                let a = run_load(args, &scratch, &gw, closed, "after");
                (b, d, a)
            })
            .join()
            .expect("load thread")
        });
        eprintln!("{phase} rep {rep}: without inserts: {b}");
        eprintln!("{phase} rep {rep}: while inserting: {d}");
        eprintln!("{phase} rep {rep}: after (filter holds the keys): {a}");
        eprintln!("{phase} rep {rep}: inserts, first pass: {first}");
        eprintln!("{phase} rep {rep}: inserts, sustained: {sustained}");
        println!(
            r#"{{"phase":"{phase}","rep":{rep},"rate":{},"connections":{},"seconds":{},"batch":{},"baseline":{},"with_inserts":{},"after":{},"insert_first":{},"insert_sustained":{}}}"#,
            if closed {
                "null".to_owned()
            } else {
                args.rate.to_string()
            },
            args.connections,
            args.seconds,
            args.batch,
            b.json(),
            d.json(),
            a.json(),
            first.json(),
            sustained.json()
        );
        base.push(b);
        during.push(d);
        after.push(a);
        first_kps.push(first.keys_per_s());
        sustained_kps.push(sustained.keys_per_s());
        drop(gw);
    }
    let med = |v: &[Load], f: fn(&Load) -> f64| median(&v.iter().map(f).collect::<Vec<_>>());
    for (name, v) in [
        ("without inserts", &base),
        ("while inserting", &during),
        ("after", &after),
    ] {
        eprintln!(
            "{phase}: {name}: median {:.0} req/s, p50 {:.0} µs, p99 {:.0} µs, p99.9 {:.0} µs, data core {:.2} µs CPU/request, {:.0}% busy",
            med(v, |l| l.rps),
            med(v, |l| l.p50),
            med(v, |l| l.p99),
            med(v, |l| l.p999),
            med(v, |l| l.data_cpu_us),
            med(v, |l| l.data_busy) * 100.0
        );
    }
    eprintln!(
        "{phase}: inserts: median {:.2} M keys/s first pass, {:.2} M keys/s sustained; rps while inserting / without: {:.3}",
        median(&first_kps) / 1e6,
        median(&sustained_kps) / 1e6,
        med(&during, |l| l.rps) / med(&base, |l| l.rps)
    );
}

/// The control for `load` (`closed`: for `closed`): the same load, once alone and once with a thread spinning
/// on the client's CPU (CPU 1, where loadtest, the backend and the admin core run) and no
/// inserts at all — what taking CPU 1 away from the load generator and the backend costs by
/// itself.
fn control(args: &Args, backend: SocketAddr, closed: bool) {
    let (mut base, mut spun) = (Vec::new(), Vec::new());
    for rep in 0..args.reps {
        let scratch = Scratch::new("rpc-control");
        let gw = harness::start_gateway(&args.bins, &scratch, backend, "gateway", "");
        let b = run_load(args, &scratch, &gw, closed, "baseline");
        let stop = std::sync::atomic::AtomicBool::new(false);
        let s = std::thread::scope(|scope| {
            scope.spawn(|| {
                pin(args.client_cpu);
                let mut x = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    x = std::hint::black_box(x.wrapping_add(1));
                }
            });
            let s = run_load(args, &scratch, &gw, closed, "spinning");
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
            s
        });
        eprintln!("control rep {rep}: without inserts: {b}");
        eprintln!(
            "control rep {rep}: a thread spinning on CPU {}: {s}",
            args.client_cpu
        );
        println!(
            r#"{{"phase":"control","rep":{rep},"rate":{},"connections":{},"seconds":{},"baseline":{},"spinning":{}}}"#,
            if closed {
                "null".to_owned()
            } else {
                args.rate.to_string()
            },
            args.connections,
            args.seconds,
            b.json(),
            s.json()
        );
        base.push(b);
        spun.push(s);
        drop(gw);
    }
    let med = |v: &[Load], f: fn(&Load) -> f64| median(&v.iter().map(f).collect::<Vec<_>>());
    for (name, v) in [("without inserts", &base), ("spinning thread", &spun)] {
        eprintln!(
            "control: {name}: median {:.0} req/s, p50 {:.0} µs, p99 {:.0} µs, p99.9 {:.0} µs, data core {:.0}% busy",
            med(v, |l| l.rps),
            med(v, |l| l.p50),
            med(v, |l| l.p99),
            med(v, |l| l.p999),
            med(v, |l| l.data_busy) * 100.0
        );
    }
}

/// Ack → 401: add `jti-<i>`, and as soon as `Added` is in, ask with a token carrying it.
fn ack(args: &Args, backend: SocketAddr) {
    let scratch = Scratch::new("rpc-ack");
    let gw = harness::start_gateway(&args.bins, &scratch, backend, "gateway", "");
    let run = std::process::id();
    let jtis: Vec<String> = (0..args.acks).map(|i| format!("ack-{run}-{i}")).collect();
    let revoked: Vec<Vec<u8>> = jtis
        .iter()
        .map(|j| harness::get_request("/protected", &token(j)))
        .collect();
    let valid: Vec<Vec<u8>> = (0..args.acks)
        .map(|i| harness::get_request("/protected", &token(&format!("ok-{run}-{i}"))))
        .collect();
    let keys: Vec<Vec<u8>> = jtis
        .iter()
        .map(|j| format!("jti-{j}").into_bytes())
        .collect();
    let pre = format!("pre-{run}");
    let pre_request = harness::get_request("/protected", &token(&pre));

    let result = std::thread::scope(|s| {
        s.spawn(|| {
            pin(args.client_cpu);
            let mut client = rpc_client(gw.rpc);
            client
                .add(&[format!("jti-{pre}").as_bytes()])
                .expect("rpc add");
            let mut http = Http::connect(gw.http, Duration::from_secs(5)).expect("connect");
            let (mut rtt200, mut rtt401, mut add_rtt, mut ack401) =
                (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            let mut late = 0u32;
            for i in 0..args.acks {
                let t = Instant::now();
                assert_eq!(http.request(&valid[i]).expect("GET valid"), 200);
                rtt200.push(t.elapsed());
                let known = if i == 0 {
                    &pre_request
                } else {
                    &revoked[i - 1]
                };
                let t = Instant::now();
                assert_eq!(http.request(known).expect("GET revoked"), 401);
                rtt401.push(t.elapsed());
                let t = Instant::now();
                client.add(&[&keys[i]]).expect("rpc add");
                let acked = Instant::now();
                add_rtt.push(acked - t);
                let mut tries = 0;
                loop {
                    let status = http.request(&revoked[i]).expect("GET just revoked");
                    if status == 401 {
                        break;
                    }
                    assert_eq!(status, 200);
                    tries += 1;
                    late += 1;
                    assert!(tries < 10_000, "jti {} never refused", jtis[i]);
                }
                ack401.push(acked.elapsed());
            }
            (rtt200, rtt401, add_rtt, ack401, late)
        })
        .join()
        .expect("ack thread")
    });
    let (rtt200, rtt401, add_rtt, ack401, late) = result;
    let (s200, s401, sadd, sack) = (
        Summary::of(&rtt200),
        Summary::of(&rtt401),
        Summary::of(&add_rtt),
        Summary::of(&ack401),
    );
    eprintln!("ack: HTTP round trip, 200 (through the backend): {s200}");
    eprintln!("ack: HTTP round trip, 401 (already revoked):     {s401}");
    eprintln!("ack: RPC add of one key, round trip:              {sadd}");
    eprintln!("ack: Added → first 401:                           {sack}");
    eprintln!("ack: requests answered 200 after the Added: {late}");
    println!(
        r#"{{"phase":"ack","iterations":{},"rtt_200":{},"rtt_401":{},"add_rtt":{},"ack_to_401":{},"late_200s":{late}}}"#,
        args.acks,
        s200.json(),
        s401.json(),
        sadd.json(),
        sack.json()
    );
    drop(gw);
}

fn main() {
    let args = parse_args();
    eprintln!("rpc-report: {}", harness::machine());
    let scratch = Scratch::new("rpc-backend");
    let (_backend, backend) = start_backend(&args.bins, &scratch, 1);
    for phase in args.phases.clone() {
        match phase.as_str() {
            "isolated" => isolated(&args, backend),
            "load" => under_load(&args, backend, false),
            "closed" => under_load(&args, backend, true),
            "control" => control(&args, backend, false),
            "control-closed" => control(&args, backend, true),
            "ack" => ack(&args, backend),
            _ => usage(),
        }
    }
}
