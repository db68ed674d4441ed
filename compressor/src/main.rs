//! `wolfpack`: a thin command line over the wolfpack libraries. Each subcommand lives in `cli/`.

use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::Parser;

fn main() -> ExitCode {
    sigpipe::reset();
    let cli = match wolfpack::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            // Bad arguments are bad input like any other: one line and exit code 1.
            let text = e.render().to_string();
            let first: Vec<&str> = text
                .lines()
                .map(str::trim)
                .take_while(|l| !l.is_empty())
                .collect();
            let first = first.join(" ");
            eprintln!(
                "error: {} (see `wolfpack --help`)",
                first.trim_start_matches("error: ")
            );
            return ExitCode::from(1);
        }
    };
    match wolfpack::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line, naming the file and the problem; never a panic or a backtrace.
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}
