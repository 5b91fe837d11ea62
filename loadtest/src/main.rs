//! `loadtest`: parses the command line, runs, prints the report, exits 0 (every answer as
//! expected), 1 (a wrong answer, no answer at all, revocations not visible) or 2 (usage or
//! setup error).
#![forbid(unsafe_code)]

use std::io::IsTerminal;
use std::process::ExitCode;

use loadtest::cli::{self, Command};
use loadtest::run::{self, Ui};

fn main() -> ExitCode {
    let command = match cli::parse(std::env::args().skip(1)) {
        Ok(command) => command,
        Err(e) => {
            eprintln!("loadtest: {e}");
            return ExitCode::from(2);
        }
    };
    match command {
        Command::Help => {
            print!("{}", cli::USAGE);
            ExitCode::SUCCESS
        }
        Command::Version => {
            println!("loadtest {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Command::Plot(options) => match loadtest::plot(&options) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("loadtest: {e}");
                ExitCode::from(2)
            }
        },
        Command::Run(options) => {
            let ui = Ui {
                progress: std::io::stderr().is_terminal(),
                notes: true,
            };
            let summary = match run::run(&options, ui) {
                Ok(summary) => summary,
                Err(e) => {
                    eprintln!("loadtest: {e}");
                    return ExitCode::from(e.exit_code() as u8);
                }
            };
            let mut out = std::io::stdout().lock();
            if let Err(e) = summary.write_text(&mut out) {
                eprintln!("loadtest: stdout: {e}");
            }
            let mut status = if summary.failed() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            };
            if let Some(path) = &options.json
                && let Err(e) =
                    loadtest::write_file(path, loadtest::json::summary(&summary).as_bytes())
            {
                eprintln!("loadtest: --json {e}");
                status = ExitCode::from(2);
            }
            if let Some(path) = &options.svg
                && let Err(e) = loadtest::write_file(path, loadtest::run_svg(&summary).as_bytes())
            {
                eprintln!("loadtest: --svg {e}");
                status = ExitCode::from(2);
            }
            status
        }
    }
}
