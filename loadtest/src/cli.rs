//! The command line: `loadtest [OPTIONS] URL` and `loadtest plot ...`, parsed by hand into
//! typed, validated options.

use std::path::PathBuf;
use std::time::Duration;

use crate::http::{Header, TOKEN_PLACEHOLDER};
use crate::jwt::Alg;
use crate::mix::{Expect, Kind, Mix};
use crate::target::Target;

/// The usage text (`--help`).
pub const USAGE: &str = "\
loadtest — open/closed-loop HTTP load generator that mints JWTs and checks every answer

usage: loadtest [OPTIONS] URL
       loadtest plot [--raw] [--title TEXT] --svg OUT.svg REPORT.json...

load:
  -c, --connections N     keep-alive connections in total, split over the cores (16)
      --cores N           executors, each pinned to its own CPU (1)
      --cpus LIST         CPUs to pin them to: 0,1 or 2-5 (sets --cores)
  -d, --duration D        measured time: 10s, 500ms, 1m30s (10s; none with only --requests)
      --warmup D          unmeasured time before it (0s)
  -n, --requests N        stop after exactly N measured requests, over all cores
  -R, --rate R            open loop: R requests/s in total (default: closed loop)
      --pipeline N        requests in flight per connection (1)
      --timeout D         bound on every connect, write and read (5s)
request:
  -m, --method M          GET
  -H, --header 'N: V'     extra header (repeatable); the one holding {token} carries the token
                          (default 'Authorization: Bearer {token}')
      --body TEXT|@FILE   request body
tokens:
      --jwt-key KEY       HS*: the secret, @FILE (raw bytes) or jwk:FILE (first key of a set);
                          RS*/PS*/ES*/EdDSA: a PKCS#8 private key file, PEM or DER
      --jwt-alg ALG       HS256 HS384 HS512 RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384
                          EdDSA (HS256, or the JWK's alg)
      --jwt-kid KID       header kid (or the JWK's kid)
      --claims JSON       object merged into every token (exp defaults to now+3600, iat to now)
      --jti-prefix P      jti is P-CORE-COUNTER (lt + the start time in hex)
      --tokens N          tokens minted per kind per core before the run (1000)
      --mix SPEC          valid=90,revoked=5,expired=3,badsig=2,none=0
                          (valid=100 with --jwt-key, else none=100)
      --expect-valid CODE status a valid token must get (200)
      --expect KIND=CODE  status a kind must get (others 401; without --jwt-key and --mix,
                          plain load: none=200)
revocation (for --mix revoked=...):
      --revoke-url URL    Revoke Server base URL: POST URL/tokens/jti/{jti} per revoked token
      --api-key KEY       its revoke_server_api_key
      --revoke-batch      one POST URL/tokens/jti with a jti per line instead
      --revoke-parallel N concurrent keep-alive connections for the POSTs (8)
      --revoke-wait D     poll the target until revoked tokens get their status (10s; 0s: skip)
output:
      --json FILE         every figure as JSON
      --svg FILE          latency by percentile (corrected and raw)
      --label TEXT        the run's name in JSON and plots
  -h, --help              this text
  -V, --version

Exit status: 0 all answers as expected; 1 a wrong status (per kind, printed), no response at
all, or revocation never visible at the target; 2 bad usage or a setup error.
";

/// A bad command line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CliError(pub String);

fn error(message: impl Into<String>) -> CliError {
    CliError(message.into())
}

/// What to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Drive load.
    Run(Box<Options>),
    /// Plot saved reports.
    Plot(PlotOptions),
    /// Print the usage.
    Help,
    /// Print the version.
    Version,
}

/// `loadtest plot`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlotOptions {
    /// Reports written by `--json`.
    pub inputs: Vec<PathBuf>,
    /// The SVG to write.
    pub svg: PathBuf,
    /// Also draw each run's raw (uncorrected) curve, dashed.
    pub raw: bool,
    /// Plot title.
    pub title: Option<String>,
}

/// Token settings (`--jwt-*`, `--claims`, `--tokens`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtOptions {
    /// `--jwt-key` as given.
    pub key: String,
    /// `--jwt-alg` (else the JWK's, else HS256).
    pub alg: Option<Alg>,
    /// `--jwt-kid`.
    pub kid: Option<String>,
    /// `--claims`.
    pub claims: Option<String>,
}

/// The revocation step (`--revoke-*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokeOptions {
    /// The Revoke Server.
    pub url: Target,
    /// Its API key.
    pub api_key: String,
    /// One batch POST instead of one POST per jti.
    pub batch: bool,
    /// Concurrent connections for single POSTs.
    pub parallel: usize,
    /// How long to poll the target for the revocations to show.
    pub wait: Duration,
}

/// A validated `loadtest run`.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// The URL requested.
    pub target: Target,
    /// Connections in total.
    pub connections: usize,
    /// CPUs to pin executors to, one executor each.
    pub cpus: CpuChoice,
    /// Measured time (`None`: until `--requests`).
    pub duration: Option<Duration>,
    /// Warm-up.
    pub warmup: Duration,
    /// `--requests`.
    pub requests: Option<u64>,
    /// `--rate` (open loop).
    pub rate: Option<f64>,
    /// Requests in flight per connection.
    pub pipeline: usize,
    /// Bound on connects, writes and reads.
    pub timeout: Duration,
    /// Request method.
    pub method: String,
    /// Extra headers (not the token header).
    pub headers: Vec<Header>,
    /// The header carrying the token (its value holds `{token}`).
    pub token_header: Header,
    /// Request body.
    pub body: Option<Vec<u8>>,
    /// Token settings, when tokens are minted.
    pub jwt: Option<JwtOptions>,
    /// `jti` prefix.
    pub jti_prefix: String,
    /// Tokens per kind per core.
    pub tokens: usize,
    /// The mix.
    pub mix: Mix,
    /// Expected statuses.
    pub expect: Expect,
    /// The revocation step.
    pub revoke: Option<RevokeOptions>,
    /// `--json`.
    pub json: Option<PathBuf>,
    /// `--svg`.
    pub svg: Option<PathBuf>,
    /// `--label`.
    pub label: Option<String>,
}

/// Which CPUs the executors run on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CpuChoice {
    /// `--cores N`: the first N CPUs the process may use.
    Count(usize),
    /// `--cpus LIST`.
    List(Vec<usize>),
}

/// Parses a Go-style duration: `300ms`, `1.5s`, `1m30s`, `2h`; units `ns`, `us`/`µs`, `ms`,
/// `s`, `m`, `h`; a bare `0` is zero.
pub fn parse_duration(text: &str) -> Option<Duration> {
    if text == "0" {
        return Some(Duration::ZERO);
    }
    let mut rest = text;
    let mut total = 0f64;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, after) = rest.split_at(number_end);
        if number.is_empty() || number == "." {
            return None;
        }
        let value: f64 = number.parse().ok()?;
        let unit_end = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_end);
        let scale = match unit {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += value * scale;
        rest = next;
    }
    Duration::try_from_secs_f64(total).ok()
}

/// Parses `0,1` or `2-5` or `0,2-3`.
pub fn parse_cpus(text: &str) -> Option<Vec<usize>> {
    let mut out = Vec::new();
    for part in text.split(',').map(str::trim) {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (usize, usize) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
                if a > b || b - a > 4096 {
                    return None;
                }
                out.extend(a..=b);
            }
            None => out.push(part.parse().ok()?),
        }
    }
    let mut sorted = out.clone();
    sorted.sort_unstable();
    sorted.dedup();
    (!out.is_empty() && sorted.len() == out.len()).then_some(out)
}

/// Parses the arguments after the program name.
pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Command, CliError> {
    let mut args = Args::new(args);
    match args.peek() {
        Some("plot") => {
            args.next_raw();
            parse_plot(args)
        }
        Some("run") => {
            args.next_raw();
            parse_run(args)
        }
        _ => parse_run(args),
    }
}

/// Splits `--flag=value` and hands out values.
struct Args {
    items: std::collections::VecDeque<String>,
}

impl Args {
    fn new<I: IntoIterator<Item = String>>(args: I) -> Args {
        let mut items = std::collections::VecDeque::new();
        let mut rest_positional = false;
        for a in args {
            if !rest_positional
                && a.starts_with("--")
                && a.len() > 2
                && let Some((flag, value)) = a.split_once('=')
            {
                items.push_back(flag.to_owned());
                items.push_back(value.to_owned());
                continue;
            }
            if a == "--" {
                rest_positional = true;
            }
            items.push_back(a);
        }
        Args { items }
    }

    fn peek(&self) -> Option<&str> {
        self.items.front().map(String::as_str)
    }

    fn next_raw(&mut self) -> Option<String> {
        self.items.pop_front()
    }

    fn value(&mut self, flag: &str) -> Result<String, CliError> {
        self.items
            .pop_front()
            .ok_or_else(|| error(format!("{flag} needs a value")))
    }

    fn number<T: std::str::FromStr>(&mut self, flag: &str) -> Result<T, CliError> {
        let v = self.value(flag)?;
        v.parse()
            .map_err(|_| error(format!("{flag}: `{v}` is not a valid number")))
    }

    fn positive(&mut self, flag: &str) -> Result<usize, CliError> {
        let n: usize = self.number(flag)?;
        if n == 0 {
            return Err(error(format!("{flag} must be at least 1")));
        }
        Ok(n)
    }

    fn duration(&mut self, flag: &str) -> Result<Duration, CliError> {
        let v = self.value(flag)?;
        parse_duration(&v).ok_or_else(|| {
            error(format!(
                "{flag}: `{v}` is not a duration (like 10s, 500ms, 1m30s)"
            ))
        })
    }
}

fn parse_plot(mut args: Args) -> Result<Command, CliError> {
    let mut inputs = Vec::new();
    let mut svg = None;
    let mut raw = false;
    let mut title = None;
    while let Some(arg) = args.next_raw() {
        match arg.as_str() {
            "--svg" | "-o" => svg = Some(PathBuf::from(args.value("--svg")?)),
            "--raw" => raw = true,
            "--title" => title = Some(args.value("--title")?),
            "--json" => inputs.push(PathBuf::from(args.value("--json")?)),
            "-h" | "--help" => return Ok(Command::Help),
            flag if flag.starts_with('-') && flag != "-" => {
                return Err(error(format!("plot: unknown option {flag}")));
            }
            _ => inputs.push(PathBuf::from(arg)),
        }
    }
    let svg = svg.ok_or_else(|| error("plot: --svg OUT.svg is required"))?;
    if inputs.is_empty() {
        return Err(error("plot: give at least one report (written by --json)"));
    }
    Ok(Command::Plot(PlotOptions {
        inputs,
        svg,
        raw,
        title,
    }))
}

fn parse_run(mut args: Args) -> Result<Command, CliError> {
    let mut url = None;
    let mut connections = 16usize;
    let mut cores = None;
    let mut cpus = None;
    let mut duration = None;
    let mut warmup = Duration::ZERO;
    let mut requests = None;
    let mut rate = None;
    let mut pipeline = 1usize;
    let mut timeout = Duration::from_secs(5);
    let mut method = "GET".to_owned();
    let mut headers = Vec::new();
    let mut body = None;
    let mut jwt_key = None;
    let mut jwt_alg = None;
    let mut jwt_kid = None;
    let mut claims = None;
    let mut jti_prefix = None;
    let mut tokens = 1000usize;
    let mut mix = None;
    let mut expects: Vec<(Kind, u16)> = Vec::new();
    let mut revoke_url = None;
    let mut api_key = None;
    let mut revoke_batch = false;
    let mut revoke_parallel = 8usize;
    let mut revoke_wait = Duration::from_secs(10);
    let mut json = None;
    let mut svg = None;
    let mut label = None;
    let mut positional_only = false;

    while let Some(arg) = args.next_raw() {
        if positional_only || !arg.starts_with('-') || arg == "-" {
            if url.replace(arg).is_some() {
                return Err(error("more than one URL given"));
            }
            continue;
        }
        let arg = long_name(&arg).to_owned();
        match arg.as_str() {
            "--" => positional_only = true,
            "--help" => return Ok(Command::Help),
            "--version" => return Ok(Command::Version),
            "--connections" => connections = args.positive(&arg)?,
            "--cores" => cores = Some(args.positive(&arg)?),
            "--cpus" => {
                let v = args.value(&arg)?;
                cpus = Some(parse_cpus(&v).ok_or_else(|| {
                    error(format!("--cpus: `{v}` is not a CPU list like 0,1 or 2-5"))
                })?);
            }
            "--duration" => duration = Some(args.duration(&arg)?),
            "--warmup" => warmup = args.duration(&arg)?,
            "--requests" => {
                let n: u64 = args.number(&arg)?;
                if n == 0 {
                    return Err(error("--requests must be at least 1"));
                }
                requests = Some(n);
            }
            "--rate" => {
                let r: f64 = args.number(&arg)?;
                if !(r.is_finite() && r > 0.0) {
                    return Err(error("--rate must be above 0"));
                }
                rate = Some(r);
            }
            "--pipeline" => pipeline = args.positive(&arg)?,
            "--timeout" => {
                timeout = args.duration(&arg)?;
                if timeout.is_zero() {
                    return Err(error("--timeout must be above 0"));
                }
            }
            "--method" => {
                let m = args.value(&arg)?;
                if m.is_empty() || !m.bytes().all(|b| b.is_ascii_alphabetic()) {
                    return Err(error(format!("--method: `{m}` is not a method")));
                }
                method = m.to_ascii_uppercase();
            }
            "--header" => {
                let h = args.value(&arg)?;
                headers.push(
                    Header::parse(&h)
                        .ok_or_else(|| error(format!("--header: `{h}` is not `Name: value`")))?,
                );
            }
            "--body" => {
                let b = args.value(&arg)?;
                body = Some(match b.strip_prefix('@') {
                    Some(path) => {
                        std::fs::read(path).map_err(|e| error(format!("--body {path}: {e}")))?
                    }
                    None => b.into_bytes(),
                });
            }
            "--jwt-key" => jwt_key = Some(args.value(&arg)?),
            "--jwt-alg" => {
                let a = args.value(&arg)?;
                jwt_alg = Some(Alg::from_name(&a).ok_or_else(|| {
                    error(format!("--jwt-alg: `{a}` is not one of HS256 HS384 HS512 RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 EdDSA"))
                })?);
            }
            "--jwt-kid" => jwt_kid = Some(args.value(&arg)?),
            "--claims" => claims = Some(args.value(&arg)?),
            "--jti-prefix" => {
                let p = args.value(&arg)?;
                if p.is_empty()
                    || !p
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
                {
                    return Err(error(
                        "--jti-prefix: letters, digits, '-', '_' and '.' only",
                    ));
                }
                jti_prefix = Some(p);
            }
            "--tokens" => tokens = args.positive(&arg)?,
            "--mix" => {
                let m = args.value(&arg)?;
                mix = Some(Mix::parse(&m).map_err(|e| error(e.to_string()))?);
            }
            "--expect-valid" => expects.push((Kind::Valid, status(&mut args, &arg)?)),
            "--expect" => {
                let v = args.value(&arg)?;
                let bad = || error(format!("--expect: `{v}` is not KIND=CODE"));
                let (kind, code) = v.split_once('=').ok_or_else(bad)?;
                let kind = Kind::from_name(kind.trim()).ok_or_else(bad)?;
                let code: u16 = code.trim().parse().map_err(|_| bad())?;
                if !(100..=599).contains(&code) {
                    return Err(bad());
                }
                expects.push((kind, code));
            }
            "--revoke-url" => {
                let v = args.value(&arg)?;
                revoke_url =
                    Some(Target::parse(&v).map_err(|e| error(format!("--revoke-url: {e}")))?);
            }
            "--api-key" => api_key = Some(args.value(&arg)?),
            "--revoke-batch" => revoke_batch = true,
            "--revoke-parallel" => revoke_parallel = args.positive(&arg)?,
            "--revoke-wait" => revoke_wait = args.duration(&arg)?,
            "--json" => json = Some(PathBuf::from(args.value(&arg)?)),
            "--svg" => svg = Some(PathBuf::from(args.value(&arg)?)),
            "--label" => label = Some(args.value(&arg)?),
            other => return Err(error(format!("unknown option {other} (see --help)"))),
        }
    }

    let url = url.ok_or_else(|| error("no URL given (see --help)"))?;
    let target = Target::parse(&url).map_err(|e| error(e.to_string()))?;
    let cpus = match (cpus, cores) {
        (Some(list), Some(n)) if list.len() != n => {
            return Err(error(format!(
                "--cores {n} and --cpus with {} CPUs disagree",
                list.len()
            )));
        }
        (Some(list), _) => CpuChoice::List(list),
        (None, n) => CpuChoice::Count(n.unwrap_or(1)),
    };
    let executors = match &cpus {
        CpuChoice::Count(n) => *n,
        CpuChoice::List(l) => l.len(),
    };
    if connections < executors {
        return Err(error(format!(
            "--connections {connections} is fewer than the {executors} executors"
        )));
    }
    let duration = match (duration, requests) {
        (Some(d), _) if d.is_zero() => return Err(error("--duration must be above 0")),
        (Some(d), _) => Some(d),
        (None, Some(_)) => None,
        (None, None) => Some(Duration::from_secs(10)),
    };

    // Token header: the -H holding {token}, else Authorization: Bearer {token}.
    let mut token_headers: Vec<Header> = Vec::new();
    headers.retain(|h| {
        let holds = h.value.contains(TOKEN_PLACEHOLDER);
        if holds {
            token_headers.push(h.clone());
        }
        !holds
    });
    if token_headers.len() > 1 {
        return Err(error("only one --header may hold {token}"));
    }
    let token_header = token_headers.pop().unwrap_or_else(|| Header {
        name: "Authorization".to_owned(),
        value: format!("Bearer {TOKEN_PLACEHOLDER}"),
    });

    let mut expect = Expect::default();
    let mix = match (mix, &jwt_key) {
        (Some(m), _) => m,
        (None, Some(_)) => Mix::only(Kind::Valid),
        (None, None) => {
            expect.set(Kind::None, 200); // plain load: no token, success expected
            Mix::only(Kind::None)
        }
    };
    for (kind, code) in expects {
        expect.set(kind, code);
    }
    let jwt = match jwt_key {
        Some(key) => Some(JwtOptions {
            key,
            alg: jwt_alg,
            kid: jwt_kid,
            claims,
        }),
        None if mix.needs_tokens() => {
            return Err(error(format!("--mix {mix} needs tokens: give --jwt-key")));
        }
        None => {
            if jwt_alg.is_some() || jwt_kid.is_some() || claims.is_some() {
                return Err(error("--jwt-alg/--jwt-kid/--claims need --jwt-key"));
            }
            None
        }
    };
    let revoke = match (revoke_url, api_key) {
        (Some(url), Some(api_key)) => Some(RevokeOptions {
            url,
            api_key,
            batch: revoke_batch,
            parallel: revoke_parallel,
            wait: revoke_wait,
        }),
        (Some(_), None) => return Err(error("--revoke-url needs --api-key")),
        (None, Some(_)) => return Err(error("--api-key needs --revoke-url")),
        (None, None) => None,
    };
    if mix.weight(Kind::Revoked) > 0 && revoke.is_none() {
        return Err(error(
            "--mix revoked=... needs --revoke-url and --api-key to revoke those tokens first",
        ));
    }
    let jti_prefix = jti_prefix.unwrap_or_else(|| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        format!("lt{:x}", now.as_millis())
    });

    Ok(Command::Run(Box::new(Options {
        target,
        connections,
        cpus,
        duration,
        warmup,
        requests,
        rate,
        pipeline,
        timeout,
        method,
        headers,
        token_header,
        body,
        jwt,
        jti_prefix,
        tokens,
        mix,
        expect,
        revoke,
        json,
        svg,
        label,
    })))
}

/// The long form of a short flag, so messages name one spelling.
fn long_name(flag: &str) -> &str {
    match flag {
        "-h" => "--help",
        "-V" => "--version",
        "-c" => "--connections",
        "-d" => "--duration",
        "-n" => "--requests",
        "-R" => "--rate",
        "-m" => "--method",
        "-H" => "--header",
        other => other,
    }
}

fn status(args: &mut Args, flag: &str) -> Result<u16, CliError> {
    let code: u16 = args.number(flag)?;
    if !(100..=599).contains(&code) {
        return Err(error(format!("{flag}: {code} is not an HTTP status")));
    }
    Ok(code)
}

#[cfg(test)]
mod tests;
