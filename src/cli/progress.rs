//! What the user sees while a verb runs: progress bars on stderr (indicatif)
//! and, with `-v`, structured logs (tracing). Bars are hidden with `--quiet`,
//! when stderr is not a terminal, and under `-v` (the logs replace them).

use std::io::{BufRead, IsTerminal, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use textrnn::learn::{Progress, Stage};

static SHOW: AtomicBool = AtomicBool::new(false);

/// Set up bars and logs from the global flags.
pub fn init(quiet: bool, verbose: u8) {
    let level = match verbose {
        0 => tracing::Level::WARN,
        1 => tracing::Level::INFO,
        2 => tracing::Level::DEBUG,
        _ => tracing::Level::TRACE,
    };
    let terminal = std::io::stderr().is_terminal();
    tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .with_ansi(terminal)
        .with_target(false)
        .try_init()
        .ok();
    SHOW.store(!quiet && verbose == 0 && terminal, Ordering::Relaxed);
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .expect("valid template")
        .progress_chars("=> ")
}

/// A spinner with a message, ticking on its own.
pub fn spinner(msg: impl Into<String>) -> ProgressBar {
    if !SHOW.load(Ordering::Relaxed) {
        return ProgressBar::hidden();
    }
    let b = ProgressBar::new_spinner();
    b.set_style(style("{spinner} {msg} [{elapsed}]"));
    b.set_message(msg.into());
    b.enable_steady_tick(Duration::from_millis(120));
    b
}

/// A counter of texts with their rate.
pub fn texts(what: &str) -> ProgressBar {
    if !SHOW.load(Ordering::Relaxed) {
        return ProgressBar::hidden();
    }
    let b = ProgressBar::new_spinner();
    b.set_style(style(&format!(
        "{{spinner}} {what} {{human_pos}} texts ({{per_sec}}) [{{elapsed}}]"
    )));
    b.enable_steady_tick(Duration::from_millis(120));
    b
}

/// A bar over the batches of an epoch, with a message (loss, rate, ETA).
pub fn steps() -> ProgressBar {
    if !SHOW.load(Ordering::Relaxed) {
        return ProgressBar::hidden();
    }
    let b = ProgressBar::new(1);
    b.set_style(style("{spinner} [{bar:30}] {pos}/{len} batches {msg}"));
    b
}

/// Seconds as `1h02m`, `3m05s` or `42s`.
pub fn duration(secs: f64) -> String {
    if !secs.is_finite() {
        return "?".into();
    }
    let s = secs.round() as u64;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
    }
}

/// A bar over the bytes of an input file.
pub fn bytes(len: u64, what: &str) -> ProgressBar {
    if !SHOW.load(Ordering::Relaxed) {
        return ProgressBar::hidden();
    }
    let b = ProgressBar::new(len);
    b.set_style(style(&format!(
        "{{spinner}} {what} [{{bar:30}}] {{bytes}}/{{total_bytes}} ({{bytes_per_sec}}) ETA {{eta}}"
    )));
    b
}

/// Counts what is consumed from a reader on a bar.
pub struct Counted<R> {
    inner: R,
    bar: ProgressBar,
}

impl<R> Counted<R> {
    pub fn new(inner: R, bar: ProgressBar) -> Self {
        Counted { inner, bar }
    }
}

impl<R: BufRead> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bar.inc(n as u64);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Counted<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }
    fn consume(&mut self, amt: usize) {
        self.bar.inc(amt as u64);
        self.inner.consume(amt)
    }
}

/// The bar of `Model::fit`: a spinner per stage, a step bar with epoch, loss,
/// learning rate and ETA while the encoder trains.
pub struct Training {
    bar: ProgressBar,
    stage: Option<Stage>,
}

impl Training {
    pub fn new() -> Training {
        let bar = if SHOW.load(Ordering::Relaxed) {
            ProgressBar::new(1)
        } else {
            ProgressBar::hidden()
        };
        Training { bar, stage: None }
    }

    /// Show one progress report.
    pub fn update(&mut self, p: Progress) {
        if self.stage != Some(p.stage) {
            self.stage = Some(p.stage);
            if p.stage == Stage::Train {
                self.bar.disable_steady_tick();
                self.bar.set_style(style(
                    "{spinner} train [{bar:30}] {pos}/{len} steps {msg} ETA {eta}",
                ));
                self.bar.reset();
            } else {
                self.bar.set_style(style("{spinner} {msg} [{elapsed}]"));
                self.bar.set_message(format!("{}...", p.stage.name()));
                self.bar.enable_steady_tick(Duration::from_millis(120));
            }
        }
        if p.stage == Stage::SeedRound {
            self.bar.set_message(format!(
                "{}: round {} of {}",
                p.stage.name(),
                p.epoch,
                p.total_steps
            ));
        }
        if p.stage == Stage::Train && p.total_steps > 0 {
            self.bar.set_length(p.total_steps);
            self.bar.set_position(p.step);
            self.bar.set_message(format!(
                "epoch {} loss {:.3} lr {:.1e}",
                p.epoch, p.loss, p.lr
            ));
        }
    }

    pub fn finish(self) {
        self.bar.finish_and_clear();
    }
}
