//! A whole run: key and tokens, the revocation step, then one pinned `event::Runtime` per CPU
//! driving its share of the connections, the progress line, and the merged summary.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::cli::{CpuChoice, Options};
use crate::client::{self, CoreCtx};
use crate::http::RequestTemplate;
use crate::jwt::{Alg, JwtError, Minter};
use crate::keys::{self, KeyError};
use crate::mix::Kind;
use crate::progress::{Live, Printer};
use crate::report::{CoreStats, Mode, RunInfo, Summary, new_histogram};
use crate::revoke::{self, RevokeError};
use crate::schedule::{Budget, Window};
use crate::target::TargetError;
use crate::tokens::{self, CorePool};
use event::memlock::{self, Memlock};

/// Revoked tokens the target is polled with before the run.
const REVOKE_SAMPLE: usize = 16;

/// Why a run could not be made or completed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// `--jwt-key` is unusable.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The key does not fit the algorithm, or `--claims` is bad.
    #[error(transparent)]
    Jwt(#[from] JwtError),
    /// The target URL does not resolve.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// The target does not accept connections.
    #[error("cannot connect to the target {addr}: {source}")]
    Connect {
        /// Its address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// Revoking failed, or the target never showed the revocations.
    #[error(transparent)]
    Revoke(#[from] RevokeError),
    /// An executor (an io_uring) could not be created.
    #[error(
        "cannot start an io_uring executor on CPU {cpu}: {reason} ({memlock}); raise the locked-memory limit (`ulimit -l`, LimitMEMLOCK= in systemd) or use fewer --cores"
    )]
    Executor {
        /// The CPU it was for.
        cpu: usize,
        /// The kernel's answer.
        reason: String,
        /// The limits in force.
        memlock: Memlock,
    },
    /// `--cores`/`--cpus` do not fit this machine.
    #[error("{0}")]
    Cpus(String),
    /// A core's thread died.
    #[error("core {0} failed: {1}")]
    Thread(usize, String),
}

impl RunError {
    /// The process exit status for this error: 1 when the target failed a check (revocations
    /// never visible), 2 for usage and setup problems.
    pub fn exit_code(&self) -> i32 {
        match self {
            RunError::Revoke(RevokeError::NotVisible { .. }) => 1,
            _ => 2,
        }
    }
}

/// How the run talks to the person running it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ui {
    /// Print the live progress line on stderr.
    pub progress: bool,
    /// Print notes about the steps before the run on stderr.
    pub notes: bool,
}

impl Ui {
    fn note(&self, text: std::fmt::Arguments<'_>) {
        if self.notes {
            eprintln!("loadtest: {text}");
        }
    }
}

/// The CPUs to run on: `--cpus`, or the first `--cores` of this process's affinity mask.
pub fn choose_cpus(choice: &CpuChoice) -> Result<Vec<usize>, RunError> {
    let mut available: Vec<usize> = core_affinity::get_core_ids()
        .unwrap_or_default()
        .into_iter()
        .map(|c| c.id)
        .collect();
    available.sort_unstable();
    match choice {
        CpuChoice::List(list) => {
            if let Some(missing) = list.iter().find(|c| !available.contains(c)) {
                return Err(RunError::Cpus(format!(
                    "--cpus: CPU {missing} is not available to this process (available: {available:?})"
                )));
            }
            Ok(list.clone())
        }
        CpuChoice::Count(n) => {
            if *n > available.len() {
                return Err(RunError::Cpus(format!(
                    "--cores {n}: only {} CPUs are available to this process",
                    available.len()
                )));
            }
            Ok(available[..*n].to_vec())
        }
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Builds the minter from `--jwt-*`; `None` without `--jwt-key`.
pub fn minter(options: &Options, ui: Ui) -> Result<Option<Minter>, RunError> {
    let Some(jwt) = &options.jwt else {
        return Ok(None);
    };
    // The algorithm decides how the key is read: a JWK set may name it.
    let (alg, key) = match jwt.alg {
        Some(alg) if alg.is_hmac() => (alg, keys::load_secret(&jwt.key)?),
        Some(alg) => (alg, keys::load_private(&jwt.key)?),
        None => {
            let key = keys::load_secret(&jwt.key)?;
            let alg = key
                .alg
                .as_deref()
                .and_then(Alg::from_name)
                .unwrap_or(Alg::HS256);
            if !alg.is_hmac() {
                return Err(RunError::Jwt(JwtError::Key {
                    alg: alg.name(),
                    message: "a JWK oct key names a non-HMAC alg".to_owned(),
                }));
            }
            (alg, key)
        }
    };
    if alg.is_hmac()
        && !jwt.key.starts_with('@')
        && !jwt.key.starts_with("jwk:")
        && std::path::Path::new(&jwt.key).is_file()
    {
        ui.note(format_args!(
            "--jwt-key `{}` names a file but is used as the secret text itself; write @{} for the file's bytes",
            jwt.key, jwt.key
        ));
    }
    let kid = jwt.kid.as_deref().or(key.kid.as_deref());
    Ok(Some(Minter::new(
        alg,
        &key.material,
        kid,
        jwt.claims.as_deref(),
    )?))
}

/// The request of each kind, indexed by [`Kind::index`].
pub fn templates(options: &Options) -> [RequestTemplate; 5] {
    Kind::ALL.map(|kind| {
        RequestTemplate::new(
            &options.method,
            &options.target,
            &options.headers,
            kind.has_token().then_some(&options.token_header),
            options.body.as_deref(),
        )
    })
}

/// What one core needs to start.
struct CorePlan {
    core: usize,
    cpu: usize,
    first_global: usize,
    connections: usize,
    pool: CorePool,
    shared: Arc<Shared>,
}

/// Settings every core reads.
struct Shared {
    addr: SocketAddr,
    options: Options,
    templates: [RequestTemplate; 5],
    cycle: Vec<Kind>,
    budget: Arc<Budget>,
    live: Arc<Live>,
    progress: bool,
}

/// Runs the load described by `options` and returns its summary.
pub fn run(options: &Options, ui: Ui) -> Result<Summary, RunError> {
    let addr = options.target.resolve()?;
    let cpus = choose_cpus(&options.cpus)?;
    let cores = cpus.len();

    // Tokens, minted before anything is timed.
    let minter = minter(options, ui)?;
    let pools = match &minter {
        Some(minter) if options.mix.needs_tokens() => {
            let started = Instant::now();
            let pools = tokens::mint_all(
                minter,
                &options.mix,
                &options.jti_prefix,
                cores,
                options.tokens,
                unix_now(),
            )?;
            ui.note(format_args!(
                "minted {} {} token(s) per kind per core in {:.2?}",
                options.tokens,
                minter.alg().name(),
                started.elapsed()
            ));
            pools
        }
        _ => vec![CorePool::default(); cores],
    };
    let templates = templates(options);

    // The target must answer before anything else happens.
    std::net::TcpStream::connect_timeout(&addr, options.timeout)
        .map_err(|source| RunError::Connect { addr, source })?;

    if let Some(revoke_options) = &options.revoke {
        let jtis: Vec<&str> = pools
            .iter()
            .flat_map(|p| p.revoked_jtis().iter().map(String::as_str))
            .collect();
        if !jtis.is_empty() {
            let took = revoke::revoke_all(revoke_options, &jtis, options.timeout)?;
            ui.note(format_args!(
                "revoked {} jti(s) through {} in {took:.2?}",
                jtis.len(),
                revoke_options.url.url()
            ));
            if !revoke_options.wait.is_zero() {
                let sample = sample_revoked(&pools);
                let took = revoke::wait_visible(
                    addr,
                    &templates[Kind::Revoked.index()],
                    &sample,
                    options.expect.status(Kind::Revoked),
                    revoke_options.wait,
                    options.timeout,
                )?;
                ui.note(format_args!(
                    "the target answers {} sampled revoked token(s) with {} after {took:.2?}",
                    sample.len(),
                    options.expect.status(Kind::Revoked)
                ));
            }
        }
    }

    let memlock = memlock::raise(u64::MAX);
    let live = Arc::new(Live::new(cores));
    let shared = Arc::new(Shared {
        addr,
        options: options.clone(),
        templates,
        cycle: options.mix.cycle(),
        budget: Arc::new(Budget::new(options.requests)),
        live: Arc::clone(&live),
        progress: ui.progress,
    });

    // One thread per CPU, each making its executor, opening its connections, then waiting
    // for the common start instant.
    let mut handles = Vec::with_capacity(cores);
    let mut gos = Vec::with_capacity(cores);
    let (ready_tx, ready_rx) = mpsc::channel::<Result<(), (usize, String)>>();
    let mut first_global = 0;
    for (core, (cpu, pool)) in cpus.iter().copied().zip(pools).enumerate() {
        let connections =
            options.connections / cores + usize::from(core < options.connections % cores);
        let plan = CorePlan {
            core,
            cpu,
            first_global,
            connections,
            pool,
            shared: Arc::clone(&shared),
        };
        first_global += connections;
        let (go_tx, go_rx) = mpsc::channel::<Instant>();
        gos.push(go_tx);
        let ready = ready_tx.clone();
        let handle = std::thread::Builder::new()
            .name(format!("loadtest-{core}"))
            .spawn(move || core_thread(plan, ready, go_rx))
            .map_err(|e| RunError::Thread(core, e.to_string()))?;
        handles.push(handle);
    }
    drop(ready_tx);
    let mut failure = None;
    for _ in 0..cores {
        match ready_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err((core, reason))) => {
                failure.get_or_insert(RunError::Executor {
                    cpu: cpus.get(core).copied().unwrap_or(core),
                    reason,
                    memlock,
                });
            }
            Err(_) => break,
        }
    }
    if let Some(error) = failure {
        drop(gos); // the cores that did start see the channel close and stop
        for handle in handles {
            let _ = handle.join();
        }
        return Err(error);
    }

    // A common start a little ahead, so every core begins on the same schedule.
    let start = Instant::now() + Duration::from_millis(5);
    for go in &gos {
        let _ = go.send(start);
    }
    let window = Window::new(start, options.warmup, options.duration);

    // Progress: a little after each core's once-a-second p99, so the line shows this second's.
    let mut printer = ui.progress.then(Printer::default);
    let mut last_tick = start;
    let mut next_tick = start + Duration::from_millis(1100);
    while !handles.iter().all(|h| h.is_finished()) {
        std::thread::sleep(Duration::from_millis(20));
        let now = Instant::now();
        if let Some(printer) = &mut printer
            && now >= next_tick
        {
            printer.tick(&live, now.saturating_duration_since(last_tick));
            last_tick = now;
            next_tick += Duration::from_secs(1);
        }
    }
    if let Some(printer) = &printer {
        printer.finish();
    }
    let mut merged = CoreStats::new();
    for (core, handle) in handles.into_iter().enumerate() {
        let stats = handle
            .join()
            .map_err(|_| RunError::Thread(core, "panicked".to_owned()))?;
        merged.merge(&stats);
    }
    let info = RunInfo {
        label: options.label.clone().unwrap_or_else(|| match options.rate {
            Some(rate) => format!("{rate} req/s"),
            None => "closed loop".to_owned(),
        }),
        target: options.target.url(),
        mode: options
            .rate
            .map_or(Mode::Closed, |rate| Mode::Open { rate }),
        cpus,
        connections: options.connections,
        pipeline: options.pipeline,
        duration: options.duration,
        warmup: options.warmup,
        requests_cap: options.requests,
        mix: options.mix,
        expect: options.expect,
    };
    Ok(Summary::new(info, &merged, window.measure_from))
}

/// Up to [`REVOKE_SAMPLE`] revoked tokens, spread over the cores' pools.
fn sample_revoked(pools: &[CorePool]) -> Vec<&str> {
    let per_pool = REVOKE_SAMPLE.div_ceil(pools.len().max(1));
    pools
        .iter()
        .flat_map(|p| {
            let tokens = p.tokens(Kind::Revoked);
            let step = (tokens.len() / per_pool).max(1);
            tokens.iter().step_by(step).take(per_pool).map(|t| &**t)
        })
        .take(REVOKE_SAMPLE)
        .collect()
}

/// One core: pin, make the executor, connect, wait for the start, drive, return the stats.
fn core_thread(
    plan: CorePlan,
    ready: mpsc::Sender<Result<(), (usize, String)>>,
    go: mpsc::Receiver<Instant>,
) -> CoreStats {
    // Pinning is best effort: a refused pin still runs, only less predictably.
    core_affinity::set_for_current(core_affinity::CoreId { id: plan.cpu });
    let runtime = match event::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            let _ = ready.send(Err((plan.core, e.to_string())));
            return CoreStats::new();
        }
    };
    runtime.block_on(async move {
        let shared = Arc::clone(&plan.shared);
        let options = &shared.options;
        let mut first = Vec::with_capacity(plan.connections);
        for _ in 0..plan.connections {
            first.push(client::connect(shared.addr, options.timeout).await.ok());
        }
        let _ = ready.send(Ok(()));
        drop(ready);
        // Blocking here is fine: nothing else runs on this executor yet.
        let Ok(start) = go.recv() else {
            return CoreStats::new();
        };
        let ctx = Rc::new(CoreCtx {
            addr: shared.addr,
            timeout: options.timeout,
            pipeline: options.pipeline,
            method: options.method.clone(),
            templates: shared.templates.clone(),
            pool: plan.pool,
            cycle: Rc::from(shared.cycle.as_slice()),
            expect: options.expect,
            rate: options.rate,
            start,
            window: Window::new(start, options.warmup, options.duration),
            connections: options.connections,
            budget: Arc::clone(&shared.budget),
            stats: RefCell::new(CoreStats::new()),
            live: Arc::clone(&shared.live),
            core: plan.core,
            interval: shared.progress.then(|| RefCell::new(new_histogram())),
        });
        if start > Instant::now() {
            event::sleep_until(start).await;
        }
        let tasks: Vec<_> = first
            .into_iter()
            .enumerate()
            .map(|(local, stream)| {
                event::spawn(client::drive(
                    Rc::clone(&ctx),
                    plan.first_global + local,
                    local,
                    stream,
                ))
            })
            .collect();
        let ticker = ctx
            .interval
            .is_some()
            .then(|| event::spawn(tick(Rc::clone(&ctx))));
        for task in tasks {
            task.await;
        }
        drop(ticker); // detached: dropped with the runtime
        ctx.stats.take()
    })
}

/// Publishes the last second's p99 for the progress line, every second.
async fn tick(ctx: Rc<CoreCtx>) {
    loop {
        event::sleep(Duration::from_secs(1)).await;
        if let (Some(interval), Some(live)) = (&ctx.interval, ctx.live.cores.get(ctx.core)) {
            let mut h = interval.borrow_mut();
            let p99 = if h.is_empty() {
                0
            } else {
                h.value_at_quantile(0.99)
            };
            live.p99_us.store(p99, std::sync::atomic::Ordering::Relaxed);
            h.reset();
        }
    }
}
