//! `propagation-report`: the Revoke Server's fan-out, end to end (issue 6).
//!
//! Questions:
//! 1. From sending `POST /tokens/jti/{v}` to the revoker until every registered gateway answers
//!    401 to a token carrying `v`: how long (p50/p99 over `--revocations`), with `--gateways`
//!    gateways on this host?
//! 2. A batch of `--batch` values through `POST /tokens/jti`: from the first byte sent until
//!    every gateway reports the batch's values revoked (over RPC `Check`), in values/s.
//!
//! Method (1): before each revocation every gateway answers 200 to the token; then the POST is
//! written, its 201 read, and each gateway is polled with the token on its own kept-alive
//! connection — one request in flight per gateway not yet refusing, all sent before any is
//! read — until each answers 401. The figure is the time from writing the POST to reading the
//! last gateway's first 401: it includes the 201 and up to one poll round trip.
//! Method (2): one RPC connection per gateway, made before the POST; after the 201, each
//! gateway is asked every millisecond for the batch's last 16 values (an instance applies its
//! pushes in order, so the last ones arriving means all did); once all have them, a sample of
//! 1000 values spread over the batch is checked on every gateway (outside the timing).
//!
//! All processes are on 127.0.0.1, started here and stopped on drop: `hello_server` (CPU 1),
//! `bloomgate revoker`, `--gateways` × `bloomgate run --cores 1` (each: data core on the first
//! CPU of its mask, admin core on the next).
//!
//! ```sh
//! cargo build --release -p proxy --bin bloomgate && cargo build --release -p loadtest --bins --examples && cargo build --release -p perf
//! target/release/propagation-report --gateways 3 --revocations 100 --batch 1000000
//! ```
//! (`perf/propagation.sh` does both.) Progress and a summary on stderr, JSON lines on stdout.

use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use perf::harness::{
    self, API_KEY, Bins, Gateway, Http, Proc, Scratch, Summary, median, rpc_client, start_backend,
    thread_cpu_ns, token,
};

#[derive(Debug, Clone)]
struct Args {
    gateways: usize,
    revocations: usize,
    batch: usize,
    batch_reps: usize,
    workers: usize,
    bins: Bins,
}

const USAGE: &str = "usage: propagation-report [--gateways 3] [--revocations 100] \
[--batch 1000000] [--batch-reps 3] [--workers 5] [--bin-dir DIR]   (--batch 0: no batch)";

fn usage() -> ! {
    eprintln!("{USAGE}");
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut a = Args {
        gateways: 3,
        revocations: 100,
        batch: 1_000_000,
        batch_reps: 3,
        workers: 5,
        bins: Bins::beside_me(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| usage());
        fn num(s: String) -> usize {
            s.parse::<f64>()
                .ok()
                .filter(|v| *v >= 0.0)
                .map(|v| v as usize)
                .unwrap_or_else(|| usage())
        }
        match flag.as_str() {
            "--gateways" => a.gateways = num(value()),
            "--revocations" => a.revocations = num(value()),
            "--batch" => a.batch = num(value()),
            "--batch-reps" => a.batch_reps = num(value()),
            "--workers" => a.workers = num(value()),
            "--bin-dir" => a.bins.dir = value().into(),
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0)
            }
            _ => usage(),
        }
    }
    if a.gateways == 0 || a.workers == 0 {
        usage();
    }
    a
}

/// `bloomgate revoker` on a free port.
fn start_revoker(args: &Args, scratch: &Scratch) -> (Proc, SocketAddr) {
    let config = format!(
        r#"{{"version": 3, "port": 0, "listen_ip": "127.0.0.1",
  "extra_config": {{"auth/revoker": {{{}}}}}}}"#,
        harness::revoker_section(&format!(
            r#", "revoke_server_ping_interval": "2s", "revoke_server_max_workers": {},
      "revoke_server_max_retries": 2"#,
            args.workers
        ))
    );
    let path = scratch.file("revoker.json", &config);
    let (proc, line) = Proc::start(
        "revoker",
        Command::new(args.bins.get("bloomgate"))
            .args(["revoker", "-c"])
            .arg(&path)
            .args(["--port", "0"]),
        scratch.path().join("revoker.log"),
        Some("bloomgate: revoke server listening on "),
    );
    let addr: SocketAddr = line
        .split(' ')
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no address in `{line}`"));
    (proc, addr)
}

fn rest_head(method: &str, path: &str, body_len: usize) -> Vec<u8> {
    format!(
        "{method} {path} HTTP/1.1\r\nHost: revoker\r\nAuthorization: bearer {API_KEY}\r\nContent-Length: {body_len}\r\n\r\n"
    )
    .into_bytes()
}

/// The instances `GET /instances` lists.
fn instances(revoker: SocketAddr) -> Vec<String> {
    let Ok(mut http) = Http::connect(revoker, Duration::from_secs(5)) else {
        return Vec::new();
    };
    let Ok((200, body)) = http
        .send(&rest_head("GET", "/instances", 0))
        .and_then(|()| http.receive_body())
    else {
        return Vec::new();
    };
    let doc: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    doc["instances"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// One revocation: (POST → 201, POST → first gateway's 401, POST → last gateway's 401).
fn one_revocation(
    revoker: &mut Http,
    polls: &mut [Http],
    jti: &str,
    request: &[u8],
) -> (Duration, Duration, Duration) {
    for (g, poll) in polls.iter_mut().enumerate() {
        let status = poll.request(request).expect("poll before");
        assert_eq!(
            status, 200,
            "gateway {g} refused {jti} before its revocation"
        );
    }
    let post = rest_head("POST", &format!("/tokens/jti/{jti}"), 0);
    let start = Instant::now();
    revoker.send(&post).expect("POST");
    let status = revoker.receive().expect("POST answer");
    let created = start.elapsed();
    assert_eq!(status, 201, "POST /tokens/jti/{jti}");
    let mut first: Vec<Option<Duration>> = vec![None; polls.len()];
    let limit = Duration::from_secs(5);
    while first.iter().any(Option::is_none) {
        assert!(
            start.elapsed() < limit,
            "{jti} not refused everywhere within {limit:?}"
        );
        for (poll, _) in polls.iter_mut().zip(&first).filter(|(_, f)| f.is_none()) {
            poll.send(request).expect("poll send");
        }
        for (poll, f) in polls
            .iter_mut()
            .zip(first.iter_mut())
            .filter(|(_, f)| f.is_none())
        {
            match poll.receive().expect("poll answer") {
                401 => *f = Some(start.elapsed()),
                200 => {}
                other => panic!("poll answered {other}"),
            }
        }
    }
    let times: Vec<Duration> = first.into_iter().flatten().collect();
    let earliest = times.iter().min().copied().unwrap_or_default();
    let last = times.iter().max().copied().unwrap_or_default();
    (created, earliest, last)
}

fn propagation(args: &Args, revoker_addr: SocketAddr, gateways: &[Gateway]) {
    let run = std::process::id();
    let jtis: Vec<String> = (0..args.revocations)
        .map(|i| format!("prop-{run}-{i}"))
        .collect();
    let requests: Vec<Vec<u8>> = jtis
        .iter()
        .map(|j| harness::get_request("/protected", &token(j)))
        .collect();
    let mut revoker = Http::connect(revoker_addr, Duration::from_secs(10)).expect("revoker");
    let mut polls: Vec<Http> = gateways
        .iter()
        .map(|g| Http::connect(g.http, Duration::from_secs(10)).expect("gateway"))
        .collect();
    let (mut created, mut first, mut last) = (Vec::new(), Vec::new(), Vec::new());
    for (jti, request) in jtis.iter().zip(&requests) {
        let (c, f, l) = one_revocation(&mut revoker, &mut polls, jti, request);
        created.push(c);
        first.push(f);
        last.push(l);
        std::thread::sleep(Duration::from_millis(5));
    }
    let (c, f, l) = (
        Summary::of(&created),
        Summary::of(&first),
        Summary::of(&last),
    );
    let n = gateways.len();
    eprintln!("propagation, {n} gateways: POST → 201:                 {c}");
    eprintln!("propagation, {n} gateways: POST → first gateway's 401: {f}");
    eprintln!("propagation, {n} gateways: POST → last gateway's 401:  {l}");
    println!(
        r#"{{"phase":"propagation","gateways":{n},"workers":{},"revocations":{},"post_to_201":{},"post_to_first_401":{},"post_to_last_401":{}}}"#,
        args.workers,
        args.revocations,
        c.json(),
        f.json(),
        l.json()
    );
}

fn batch(
    args: &Args,
    revoker_addr: SocketAddr,
    revoker_pid: u32,
    gateways: &[Gateway],
    rep: usize,
) -> f64 {
    // Values shaped like UUIDs (36 bytes); the filter keys are `jti-VALUE`.
    let keys = harness::uuid_keys(
        args.batch,
        0xba7c_0000 + rep as u64 + u64::from(std::process::id()) * 64,
    );
    let mut body = Vec::with_capacity(keys.len() * 37);
    for k in &keys {
        body.extend_from_slice(&k[4..]);
        body.push(b'\n');
    }
    let last16: Vec<&[u8]> = keys[keys.len().saturating_sub(16)..]
        .iter()
        .map(Vec::as_slice)
        .collect();
    let step = (keys.len() / 1000).max(1);
    let sample: Vec<&[u8]> = keys.iter().step_by(step).map(Vec::as_slice).collect();
    let mut clients: Vec<_> = gateways.iter().map(|g| rpc_client(g.rpc)).collect();
    for (g, c) in clients.iter_mut().enumerate() {
        let hits = c.check(&last16).expect("rpc check");
        assert!(hits.iter().all(|h| !h), "gateway {g} already has the batch");
    }
    let mut revoker = Http::connect(revoker_addr, Duration::from_secs(60)).expect("revoker");
    let cpu_revoker = thread_cpu_ns(revoker_pid, "bloomgate-revok");
    let cpu_admins: u64 = gateways
        .iter()
        .map(|g| thread_cpu_ns(g.proc.pid(), "bloomgate-admin"))
        .sum();
    let start = Instant::now();
    revoker
        .send(&rest_head("POST", "/tokens/jti", body.len()))
        .expect("POST head");
    revoker.send(&body).expect("POST body");
    let status = revoker.receive().expect("POST answer");
    let created = start.elapsed();
    assert_eq!(status, 201, "POST /tokens/jti with {} values", keys.len());
    let mut done: Vec<Option<Duration>> = vec![None; gateways.len()];
    let limit = Duration::from_secs(120);
    while done.iter().any(Option::is_none) {
        assert!(
            start.elapsed() < limit,
            "batch not everywhere within {limit:?}"
        );
        for (c, d) in clients
            .iter_mut()
            .zip(done.iter_mut())
            .filter(|(_, d)| d.is_none())
        {
            if c.check(&last16).expect("rpc check").iter().all(|h| *h) {
                *d = Some(start.elapsed());
            }
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let everywhere = done.iter().flatten().max().copied().unwrap_or_default();
    let cpu_revoker = thread_cpu_ns(revoker_pid, "bloomgate-revok") - cpu_revoker;
    let cpu_admins = gateways
        .iter()
        .map(|g| thread_cpu_ns(g.proc.pid(), "bloomgate-admin"))
        .sum::<u64>()
        - cpu_admins;
    for (g, c) in clients.iter_mut().enumerate() {
        let hits = c.check(&sample).expect("rpc check");
        let missing = hits.iter().filter(|h| !**h).count();
        assert_eq!(
            missing,
            0,
            "gateway {g} lacks {missing} of {} sampled values",
            sample.len()
        );
    }
    let per_s = keys.len() as f64 / everywhere.as_secs_f64();
    let each: Vec<String> = done
        .iter()
        .flatten()
        .map(|d| format!("{:.3}", d.as_secs_f64()))
        .collect();
    eprintln!(
        "batch rep {rep}: {} values, 201 after {:.3} s, on all {} gateways after {:.3} s (each: {} s) = {:.2} M values/s; CPU: revoker {:.2} s, gateways' admin cores {:.2} s",
        keys.len(),
        created.as_secs_f64(),
        gateways.len(),
        everywhere.as_secs_f64(),
        each.join(", "),
        per_s / 1e6,
        cpu_revoker as f64 / 1e9,
        cpu_admins as f64 / 1e9
    );
    println!(
        r#"{{"phase":"batch","rep":{rep},"gateways":{},"values":{},"body_bytes":{},"post_to_201_s":{:.4},"post_to_everywhere_s":{:.4},"per_gateway_s":[{}],"values_per_s":{:.0},"revoker_cpu_s":{:.3},"gateways_admin_cpu_s":{:.3}}}"#,
        gateways.len(),
        keys.len(),
        body.len(),
        created.as_secs_f64(),
        everywhere.as_secs_f64(),
        each.join(","),
        per_s,
        cpu_revoker as f64 / 1e9,
        cpu_admins as f64 / 1e9
    );
    per_s
}

fn main() {
    let args = parse_args();
    eprintln!("propagation-report: {}", harness::machine());
    let scratch = Scratch::new("propagation");
    let (_backend, backend) = start_backend(&args.bins, &scratch, 1);
    let (revoker, revoker_addr) = start_revoker(&args, &scratch);
    let ping = format!(
        r#", "revoke_server_ping_url": "http://{revoker_addr}/instances", "revoke_server_ping_interval": "2s""#
    );
    let started = Instant::now();
    let gateways: Vec<Gateway> = (0..args.gateways)
        .map(|i| {
            harness::start_gateway(
                &args.bins,
                &scratch,
                backend,
                &format!("gateway-{i}"),
                &ping,
            )
        })
        .collect();
    let names: Vec<String> = gateways.iter().map(|g| g.rpc.to_string()).collect();
    let limit = Duration::from_secs(60 + 10 * args.gateways as u64);
    loop {
        let listed = instances(revoker_addr);
        if names.iter().all(|n| listed.contains(n)) {
            break;
        }
        assert!(
            started.elapsed() < limit,
            "not every gateway registered and synced within {limit:?}; listed {listed:?}; revoker log:\n{}",
            revoker.log_text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    eprintln!(
        "propagation-report: {} gateways registered and synced after {:.1} s",
        gateways.len(),
        started.elapsed().as_secs_f64()
    );
    if args.revocations > 0 {
        propagation(&args, revoker_addr, &gateways);
    }
    let mut rates = Vec::new();
    if args.batch > 0 {
        for rep in 0..args.batch_reps {
            rates.push(batch(&args, revoker_addr, revoker.pid(), &gateways, rep));
        }
        eprintln!(
            "batch: median {:.2} M values/s to {} gateways",
            median(&rates) / 1e6,
            gateways.len()
        );
    }
    let notes: Vec<String> = revoker
        .log_text()
        .lines()
        .filter(|l| {
            !l.contains("registered; syncing")
                && !l.contains(" synced in ")
                && !l.contains("listening on")
        })
        .map(String::from)
        .collect();
    if !notes.is_empty() {
        eprintln!("revoker said:\n{}", notes.join("\n"));
    }
    drop(gateways);
}
