//! The one progress display: a bar per key (a region, a destination) on a terminal,
//! sparse plain lines otherwise, nothing for JSON. `snapshot copy`/`wait` show a copy's
//! percent per region on standard output; `replicate apply` shows replicas done per
//! destination on standard error. Both go through [`Progress::show`].

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use tencentcloud_cbs::SnapshotProgress;

/// Where a display writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    fn is_terminal(self) -> bool {
        match self {
            Stream::Stdout => std::io::stdout().is_terminal(),
            Stream::Stderr => std::io::stderr().is_terminal(),
        }
    }

    fn println(self, line: &str) {
        match self {
            Stream::Stdout => println!("{line}"),
            Stream::Stderr => eprintln!("{line}"),
        }
    }
}

/// How plain lines are thinned out, and how bars look.
#[derive(Clone, Copy, Debug)]
pub struct Style {
    /// The bars' template.
    pub template: &'static str,
    /// A line is printed when the position moved by this much…
    pub step: u64,
    /// …or this long after the key's last line (if anything changed).
    pub interval: Duration,
}

/// One key's state, as the caller sees it now.
pub struct Update<'a> {
    pub key: &'a str,
    pub position: u64,
    pub length: u64,
    /// The bar's message.
    pub message: String,
    /// What a plain line says.
    pub line: String,
    /// A change of this prints a line at once (a copy's state, say).
    pub milestone: Option<&'a str>,
}

/// The last line printed for a key.
struct Last {
    position: u64,
    line: String,
    milestone: Option<String>,
    at: Instant,
}

enum Out {
    Bars {
        multi: MultiProgress,
        bars: Mutex<HashMap<String, ProgressBar>>,
    },
    Lines(Mutex<HashMap<String, Last>>),
    Quiet,
}

pub struct Progress {
    out: Out,
    stream: Stream,
    style: Style,
}

impl Progress {
    /// Bars when `stream` is a terminal, lines when it is not, nothing when `quiet`.
    pub fn new(stream: Stream, style: Style, quiet: bool) -> Progress {
        let out = if quiet {
            Out::Quiet
        } else if stream.is_terminal() {
            let target = match stream {
                Stream::Stdout => ProgressDrawTarget::stdout(),
                Stream::Stderr => ProgressDrawTarget::stderr(),
            };
            Out::Bars {
                multi: MultiProgress::with_draw_target(target),
                bars: Mutex::new(HashMap::new()),
            }
        } else {
            Out::Lines(Mutex::new(HashMap::new()))
        };
        Progress { out, stream, style }
    }

    /// A line above the bars (or among the lines).
    pub fn note(&self, line: &str) {
        match &self.out {
            Out::Quiet => {}
            Out::Bars { multi, .. } => {
                let _ = multi.println(line);
            }
            Out::Lines(_) => self.stream.println(line),
        }
    }

    /// Makes `key`'s bar now, so bars stand in the order keys were added.
    pub fn add(&self, key: &str, length: u64, message: &str) {
        if let Out::Bars { multi, bars } = &self.out {
            let bar = self.bar(multi, key, length);
            bar.set_message(message.to_owned());
            lock(bars).insert(key.to_owned(), bar);
        }
    }

    pub fn show(&self, update: Update<'_>) {
        match &self.out {
            Out::Quiet => {}
            Out::Bars { multi, bars } => {
                let mut bars = lock(bars);
                let bar = bars
                    .entry(update.key.to_owned())
                    .or_insert_with(|| self.bar(multi, update.key, update.length));
                bar.set_length(update.length);
                bar.set_position(update.position);
                bar.set_message(update.message);
                if update.position >= update.length {
                    bar.finish();
                }
            }
            Out::Lines(last) => {
                let mut last = lock(last);
                let now = Instant::now();
                let finished = update.position >= update.length;
                let print = match last.get(update.key) {
                    None => true,
                    Some(before) => {
                        before.line != update.line
                            && (finished
                                || before.milestone.as_deref() != update.milestone
                                || update.position
                                    >= before.position.saturating_add(self.style.step)
                                || now.duration_since(before.at) >= self.style.interval)
                    }
                };
                if print {
                    self.stream.println(&update.line);
                    last.insert(
                        update.key.to_owned(),
                        Last {
                            position: update.position,
                            line: update.line,
                            milestone: update.milestone.map(str::to_owned),
                            at: now,
                        },
                    );
                }
            }
        }
    }

    /// Leaves unfinished bars where they stand.
    pub fn finish(&self) {
        if let Out::Bars { bars, .. } = &self.out {
            for bar in lock(bars).values() {
                if !bar.is_finished() {
                    bar.abandon();
                }
            }
        }
    }

    fn bar(&self, multi: &MultiProgress, key: &str, length: u64) -> ProgressBar {
        let bar = multi.add(ProgressBar::new(length));
        let style = ProgressStyle::with_template(self.style.template)
            .map(|s| s.progress_chars("=> "))
            .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.set_prefix(key.to_owned());
        bar
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// How a copy's percent per region is shown.
const COPY_STYLE: Style = Style {
    template: "{prefix:<16} [{bar:30}] {pos:>3}% {msg}",
    step: 20,
    interval: Duration::from_secs(15),
};

/// A copy's progress in each of `regions`, on standard output.
pub fn copies(regions: &[String], json: bool) -> Progress {
    let progress = Progress::new(Stream::Stdout, COPY_STYLE, json);
    for region in regions {
        progress.add(region, 100, "starting");
    }
    progress
}

impl Progress {
    /// Shows where one region's copy stands.
    pub fn copy(&self, p: &SnapshotProgress) {
        let state = p
            .state
            .as_ref()
            .map(|s| s.as_str())
            .unwrap_or("not visible yet");
        let normal = state == "NORMAL";
        self.show(Update {
            key: &p.region,
            // A copy is done when NORMAL, whatever its percent said.
            position: if normal { 100 } else { p.percent.min(99) },
            length: 100,
            message: format!("{} {state}", p.snapshot_id),
            line: format!(
                "{:<16} {} {:>3}% {state}",
                p.region, p.snapshot_id, p.percent
            ),
            milestone: Some(state),
        });
    }
}
