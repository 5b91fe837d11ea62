//! The command line: a small hand-written parser for `bloomgate <command> [options]`.
//!
//! Sans-io: [`parse`] takes the arguments (without the program name) and returns a
//! [`Command`] or a [`UsageError`]; `main` prints and exits.

use std::ffi::{OsStr, OsString};
use std::num::NonZeroUsize;
use std::path::PathBuf;

#[cfg(test)]
mod tests;

/// The usage text, printed by `--help` and after a usage error.
pub const USAGE: &str = "\
usage:
  bloomgate run     -c CONFIG [--port N] [--rpc-port N] [--cores N] [--skip-unsupported]
  bloomgate revoker -c CONFIG [--port N] [--skip-unsupported]
  bloomgate check   -c CONFIG [--skip-unsupported]
  bloomgate demo    [--port N]
  bloomgate rpc     --to HOST:PORT [--api-key KEY] (add KEY... | check KEY... | add-batch FILE | status)
  bloomgate --help | --version

commands:
  run       the gateway: data cores and the admin core
  revoker   the Revoke Server
  check     validate CONFIG, print a summary, bind nothing
  demo      a gateway, an echo backend and the revoke API on one machine, nothing to prepare
  rpc       talk to a gateway's RPC port: revoke filter keys (`jti-1234`), check them, revoke
            every line of FILE, or show the filter's status. The API key may also come from
            the environment variable BLOOMGATE_API_KEY

options:
  -c, --config CONFIG   the krakend.json file (version 3)
  --port N              listening port (beats env KRAKEND_PORT and the file's \"port\")
  --rpc-port N          RPC port (beats extra_config.auth/revoker.port)
  --cores N             data-plane cores (default: every core but one, at least 1)
  --skip-unsupported    leave out endpoints using unsupported features (aggregation, https
                        backends, {JWT.x} parameters) with a warning, instead of failing
  -h, --help            this text
  -V, --version         the version
";

/// A parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `bloomgate run`.
    Run(RunArgs),
    /// `bloomgate revoker`.
    Revoker(RevokerArgs),
    /// `bloomgate check`.
    Check(CheckArgs),
    /// `bloomgate demo`.
    Demo(DemoArgs),
    /// `bloomgate rpc`.
    Rpc(RpcArgs),
    /// `--help` (anywhere).
    Help,
    /// `--version`.
    Version,
}

/// `bloomgate run` options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunArgs {
    /// `-c`/`--config`.
    pub config: PathBuf,
    /// `--port`.
    pub port: Option<u16>,
    /// `--rpc-port`.
    pub rpc_port: Option<u16>,
    /// `--cores`.
    pub cores: Option<NonZeroUsize>,
    /// `--skip-unsupported`.
    pub skip_unsupported: bool,
}

/// `bloomgate revoker` options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokerArgs {
    /// `-c`/`--config`.
    pub config: PathBuf,
    /// `--port`.
    pub port: Option<u16>,
    /// `--skip-unsupported`.
    pub skip_unsupported: bool,
}

/// `bloomgate check` options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckArgs {
    /// `-c`/`--config`.
    pub config: PathBuf,
    /// `--skip-unsupported`.
    pub skip_unsupported: bool,
}

/// `bloomgate demo` options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoArgs {
    /// `--port`.
    pub port: Option<u16>,
}

/// `bloomgate rpc` options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcArgs {
    /// `--to`: the gateway's RPC address, `host:port`.
    pub to: String,
    /// `--api-key` (else the environment's `BLOOMGATE_API_KEY`, read by `main`).
    pub api_key: Option<String>,
    /// What to do.
    pub action: RpcAction,
}

/// What `bloomgate rpc` does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RpcAction {
    /// Revoke these filter keys.
    Add(Vec<String>),
    /// Check these filter keys.
    Check(Vec<String>),
    /// Revoke every non-blank line of a file.
    AddBatch(PathBuf),
    /// Show the filter's status.
    Status,
}

/// A command line that cannot be understood: `main` prints it with [`USAGE`] and exits 2.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// The options a command accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Opt {
    Config,
    Port,
    RpcPort,
    Cores,
    SkipUnsupported,
}

impl Opt {
    fn from_flag(flag: &str) -> Option<Opt> {
        Some(match flag {
            "-c" | "--config" => Opt::Config,
            "--port" => Opt::Port,
            "--rpc-port" => Opt::RpcPort,
            "--cores" => Opt::Cores,
            "--skip-unsupported" => Opt::SkipUnsupported,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Opt::Config => "-c/--config",
            Opt::Port => "--port",
            Opt::RpcPort => "--rpc-port",
            Opt::Cores => "--cores",
            Opt::SkipUnsupported => "--skip-unsupported",
        }
    }

    fn takes_value(self) -> bool {
        self != Opt::SkipUnsupported
    }
}

/// The options seen so far.
#[derive(Debug, Default)]
struct Seen {
    config: Option<PathBuf>,
    port: Option<u16>,
    rpc_port: Option<u16>,
    cores: Option<NonZeroUsize>,
    skip_unsupported: bool,
}

impl Seen {
    fn config(&mut self, command: &str) -> Result<PathBuf, UsageError> {
        self.config
            .take()
            .ok_or_else(|| usage(format!("`{command}` needs -c CONFIG")))
    }
}

fn usage(message: impl Into<String>) -> UsageError {
    UsageError(message.into())
}

/// Parses the arguments after the program name.
pub fn parse<I, S>(args: I) -> Result<Command, UsageError>
where
    I: IntoIterator<Item = S>,
    S: Into<OsString>,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        return Ok(Command::Help);
    }
    let Some((command, rest)) = args.split_first() else {
        return Err(usage("missing command"));
    };
    let command = command
        .to_str()
        .ok_or_else(|| usage("the command is not valid UTF-8"))?;
    let allowed: &[Opt] = match command {
        "help" if rest.is_empty() => return Ok(Command::Help),
        "rpc" => return parse_rpc(rest),
        "-V" | "--version" | "version" if rest.is_empty() => return Ok(Command::Version),
        "run" => &[
            Opt::Config,
            Opt::Port,
            Opt::RpcPort,
            Opt::Cores,
            Opt::SkipUnsupported,
        ],
        "revoker" => &[Opt::Config, Opt::Port, Opt::SkipUnsupported],
        "check" => &[Opt::Config, Opt::SkipUnsupported],
        "demo" => &[Opt::Port],
        "help" | "-V" | "--version" | "version" => {
            return Err(usage(format!("`{command}` takes no arguments")));
        }
        other => return Err(usage(format!("unknown command {other:?}"))),
    };
    let mut seen = Seen::default();
    let mut rest = rest.iter();
    while let Some(arg) = rest.next() {
        let (flag, inline) = split_flag(arg)?;
        let opt = Opt::from_flag(flag)
            .filter(|o| allowed.contains(o))
            .ok_or_else(|| usage(format!("`{command}` does not take {flag:?}")))?;
        let value = match (opt.takes_value(), inline) {
            (true, Some(v)) => Some(v.to_owned()),
            (true, None) => Some(
                rest.next()
                    .cloned()
                    .ok_or_else(|| usage(format!("{} needs a value", opt.name())))?,
            ),
            (false, Some(_)) => return Err(usage(format!("{} takes no value", opt.name()))),
            (false, None) => None,
        };
        set(&mut seen, opt, value)?;
    }
    Ok(match command {
        "run" => Command::Run(RunArgs {
            config: seen.config("run")?,
            port: seen.port,
            rpc_port: seen.rpc_port,
            cores: seen.cores,
            skip_unsupported: seen.skip_unsupported,
        }),
        "revoker" => Command::Revoker(RevokerArgs {
            config: seen.config("revoker")?,
            port: seen.port,
            skip_unsupported: seen.skip_unsupported,
        }),
        "check" => Command::Check(CheckArgs {
            config: seen.config("check")?,
            skip_unsupported: seen.skip_unsupported,
        }),
        _ => Command::Demo(DemoArgs { port: seen.port }),
    })
}

/// `rpc --to ADDR [--api-key KEY] ACTION ARGS...`.
fn parse_rpc(args: &[OsString]) -> Result<Command, UsageError> {
    let mut to = None;
    let mut api_key = None;
    let mut words: Vec<String> = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let text = arg
            .to_str()
            .ok_or_else(|| usage(format!("unexpected argument {arg:?}")))?;
        let (flag, inline) = match text.split_once('=') {
            Some((flag, value)) if text.starts_with("--") => (flag, Some(value.to_owned())),
            _ => (text, None),
        };
        let slot = match flag {
            "--to" => &mut to,
            "--api-key" => &mut api_key,
            _ if words.is_empty() && flag.starts_with('-') => {
                return Err(usage(format!("`rpc` does not take {flag:?}")));
            }
            _ => {
                words.push(text.to_owned());
                continue;
            }
        };
        let value = match inline {
            Some(v) => v,
            None => args
                .next()
                .and_then(|v| v.to_str())
                .map(str::to_owned)
                .ok_or_else(|| usage(format!("{flag} needs a value")))?,
        };
        if slot.replace(value).is_some() {
            return Err(usage(format!("{flag} given twice")));
        }
    }
    let to = to.ok_or_else(|| usage("`rpc` needs --to HOST:PORT"))?;
    let Some((action, values)) = words.split_first() else {
        return Err(usage(
            "`rpc` needs an action: add, check, add-batch or status",
        ));
    };
    let action = match (action.as_str(), values) {
        ("add", [_, ..]) => RpcAction::Add(values.to_vec()),
        ("check", [_, ..]) => RpcAction::Check(values.to_vec()),
        ("add-batch", [file]) => RpcAction::AddBatch(PathBuf::from(file)),
        ("status", []) => RpcAction::Status,
        ("add" | "check", []) => {
            return Err(usage(format!("`rpc {action}` needs at least one key")));
        }
        ("add-batch", _) => return Err(usage("`rpc add-batch` takes one FILE")),
        ("status", _) => return Err(usage("`rpc status` takes no arguments")),
        (other, _) => return Err(usage(format!("unknown rpc action {other:?}"))),
    };
    Ok(Command::Rpc(RpcArgs {
        to,
        api_key,
        action,
    }))
}

/// `--flag=value` into the flag and the inline value; other arguments whole. Options must be
/// UTF-8; a separate value (`-c PATH`) may be any OS string.
fn split_flag(arg: &OsStr) -> Result<(&str, Option<&OsStr>), UsageError> {
    let text = arg
        .to_str()
        .ok_or_else(|| usage(format!("unexpected argument {arg:?}")))?;
    if !text.starts_with('-') {
        return Err(usage(format!("unexpected argument {text:?}")));
    }
    match text.split_once('=') {
        Some((flag, value)) if text.starts_with("--") => Ok((flag, Some(OsStr::new(value)))),
        _ => Ok((text, None)),
    }
}

/// Stores one option, refusing repeats and bad numbers.
fn set(seen: &mut Seen, opt: Opt, value: Option<OsString>) -> Result<(), UsageError> {
    let repeated = || usage(format!("{} given twice", opt.name()));
    let text = |v: &OsString| -> Result<String, UsageError> {
        v.to_str()
            .map(str::to_owned)
            .ok_or_else(|| usage(format!("the value of {} is not valid UTF-8", opt.name())))
    };
    match (opt, value) {
        (Opt::SkipUnsupported, _) => {
            if seen.skip_unsupported {
                return Err(repeated());
            }
            seen.skip_unsupported = true;
        }
        (_, None) => return Err(usage(format!("{} needs a value", opt.name()))),
        (Opt::Config, Some(v)) => {
            if v.is_empty() {
                return Err(usage("-c/--config needs a file name"));
            }
            if seen.config.replace(PathBuf::from(v)).is_some() {
                return Err(repeated());
            }
        }
        (Opt::Port, Some(v)) => {
            if seen.port.replace(port(opt, &text(&v)?)?).is_some() {
                return Err(repeated());
            }
        }
        (Opt::RpcPort, Some(v)) => {
            if seen.rpc_port.replace(port(opt, &text(&v)?)?).is_some() {
                return Err(repeated());
            }
        }
        (Opt::Cores, Some(v)) => {
            let v = text(&v)?;
            let cores = v
                .parse::<NonZeroUsize>()
                .ok()
                .filter(|_| v.bytes().all(|b| b.is_ascii_digit()))
                .ok_or_else(|| usage(format!("--cores must be a whole number >= 1, got {v:?}")))?;
            if seen.cores.replace(cores).is_some() {
                return Err(repeated());
            }
        }
    }
    Ok(())
}

/// A port number, `0`-`65535` (0: the system picks one).
fn port(opt: Opt, value: &str) -> Result<u16, UsageError> {
    value
        .parse::<u16>()
        .ok()
        .filter(|_| value.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| {
            usage(format!(
                "{} must be a port number (0-65535), got {value:?}",
                opt.name()
            ))
        })
}
