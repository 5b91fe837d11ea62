//! The `bloomgate` binary: parse the command line, load the config, dispatch.
//!
//! Exit codes: 0 success; 1 a config or start-up error (one line on stderr); 2 a usage error.

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

#[path = "main/rpc_tool.rs"]
mod rpc_tool;

use proxy::cli::{self, Command, USAGE};
use proxy::config::{Config, Overrides, ProcessEnv, Role};

fn main() -> ExitCode {
    let command = match cli::parse(std::env::args_os().skip(1)) {
        Ok(command) => command,
        Err(e) => {
            eprint_lossy(&format!("bloomgate: {e}\n\n{USAGE}"));
            return ExitCode::from(2);
        }
    };
    match command {
        Command::Help => print_lossy(USAGE),
        Command::Version => print_lossy(&format!("bloomgate {}\n", env!("CARGO_PKG_VERSION"))),
        Command::Check(args) => {
            let overrides = Overrides {
                skip_unsupported: args.skip_unsupported,
                ..Overrides::new(Role::Check)
            };
            match load(&args.config, &overrides) {
                Ok(config) => check(&config),
                Err(code) => code,
            }
        }
        // The commands below are built elsewhere; until then they validate and stop.
        Command::Run(args) => {
            let overrides = Overrides {
                port: args.port,
                rpc_port: args.rpc_port,
                skip_unsupported: args.skip_unsupported,
                role: Role::Gateway,
            };
            run(
                &args.config,
                &overrides,
                args.cores.map(std::num::NonZeroUsize::get),
            )
        }
        Command::Revoker(args) => {
            let overrides = Overrides {
                port: args.port,
                skip_unsupported: args.skip_unsupported,
                ..Overrides::new(Role::Revoker)
            };
            revoker(&args.config, &overrides)
        }
        Command::Demo(args) => match proxy::demo::run(args.port) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprint_lossy(&format!("bloomgate: {e}\n"));
                ExitCode::FAILURE
            }
        },
        Command::Rpc(args) => rpc_tool::run(args),
    }
}

/// `bloomgate check` past the config itself: the local JWK Sets parse and hold a key for their
/// endpoints' `alg` (exit 1 with the same one line as `run` otherwise; their warnings go to
/// stderr), then the summary.
fn check(config: &Config) -> ExitCode {
    match proxy::jwt::Validators::check_local_keys(config) {
        Ok(notes) => {
            let mut lines = String::new();
            for warning in &notes.warnings {
                lines.push_str(&format!("bloomgate: {warning}\n"));
            }
            eprint_lossy(&lines);
            print_lossy(&config.summary().to_string())
        }
        Err(e) => {
            eprint_lossy(&format!("{e}\n"));
            ExitCode::FAILURE
        }
    }
}

/// Loads and validates the config, or prints the one-line error and gives exit code 1.
fn load(path: &Path, overrides: &Overrides) -> Result<Config, ExitCode> {
    Config::from_file(path, &ProcessEnv, overrides).map_err(|e| {
        eprint_lossy(&format!("{e}\n"));
        ExitCode::FAILURE
    })
}

/// `bloomgate run`: load, print warnings, serve until a signal. Exit 1 on a config or
/// start-up error (one line on stderr).
fn run(path: &Path, overrides: &Overrides, cores: Option<usize>) -> ExitCode {
    let config = match load(path, overrides) {
        Ok(config) => config,
        Err(code) => return code,
    };
    print_warnings(&config);
    let options = proxy::runtime::RunOptions { cores, ready: None };
    match proxy::runtime::run(config, &options) {
        Ok(()) => ExitCode::SUCCESS,
        // A config problem found at start (a JWK file without a usable key): the same one line
        // as any config error.
        Err(proxy::runtime::RuntimeError::Config(e)) => {
            eprint_lossy(&format!("{e}\n"));
            ExitCode::FAILURE
        }
        Err(e) => {
            eprint_lossy(&format!("bloomgate: {e}\n"));
            ExitCode::FAILURE
        }
    }
}

/// Warnings and skipped endpoints, one line each, on stderr.
fn print_warnings(config: &Config) {
    let mut lines = String::new();
    for warning in &config.warnings {
        lines.push_str(&format!("{warning}\n"));
    }
    for skipped in &config.skipped {
        lines.push_str(&format!("{skipped}\n"));
    }
    eprint_lossy(&lines);
}

/// `bloomgate revoker`: load, print warnings, serve the Revoke Server REST API until a
/// signal. Exit 1 on a config or start-up error (one line on stderr).
fn revoker(path: &Path, overrides: &Overrides) -> ExitCode {
    let config = match load(path, overrides) {
        Ok(config) => config,
        Err(code) => return code,
    };
    print_warnings(&config);
    match proxy::revoker::run(config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprint_lossy(&format!("bloomgate: {e}\n"));
            ExitCode::FAILURE
        }
    }
}

/// Writes to stdout; a closed pipe (`bloomgate check | head`) is not a panic.
fn print_lossy(text: &str) -> ExitCode {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(_) => ExitCode::FAILURE,
    }
}

/// Writes to stderr, ignoring failures (there is nowhere left to report them).
fn eprint_lossy(text: &str) {
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}
