//! The `textrnn` command: a thin layer of verbs over the `textrnn` library.
//!
//! `main` parses flags, runs one verb and turns its error, if any, into one
//! message with its cause chain and exit code 2. A closed stdout (`| head`)
//! ends the program quietly.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if cli::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("textrnn: error: {e:#}");
            if let Some(hint) = cli::hint(&e) {
                eprintln!("hint: {hint}");
            }
            ExitCode::from(2)
        }
    }
}
