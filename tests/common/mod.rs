//! Helpers shared by the binary's integration tests.
#![allow(dead_code)] // each test file uses a subset

use std::process::{Command, Output};

/// Run the real `textrnn` binary with `args`.
pub fn textrnn(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_textrnn"))
        .args(args)
        .output()
        .expect("binary runs")
}

/// Its stdout as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Its stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
