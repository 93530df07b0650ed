//! The `textrnn` command: a thin layer of verbs over the `textrnn` library.
//!
//! `main` parses flags, runs one verb and turns its error, if any, into one
//! message with its cause chain and exit code 2. A closed stdout (`| head`)
//! ends the program quietly.

mod cli;

use std::process::ExitCode;

use clap::Parser;

/// Keep large buffers in the heap between training steps (glibc).
///
/// A training step allocates and frees buffers of tens of MB (the gates of
/// every step, their gradients). Above glibc's mmap threshold each one is a
/// fresh mapping whose pages fault in on first touch, and the faults of two
/// worker threads serialize in the kernel: 11% of a GRU H=512 B=128 T=64
/// training step at 2 threads was page-fault handling. Raising the mmap
/// threshold to its maximum (32 MiB) and the trim threshold to 1 GiB lets
/// freed buffers be reused: train tokens/s there 22.8k -> 25.9k, LSTM H=256
/// 60.5k -> 63.6k, peak RSS +8%. Memory is still returned once more than
/// 1 GiB is free at the top of the heap. This is a process-wide setting, so
/// it belongs to the binary, not the library.
fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; it is called before
    // any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
    }
}

fn main() -> ExitCode {
    tune_allocator();
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
