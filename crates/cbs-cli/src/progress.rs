//! Copy progress: one bar per region on a terminal, sparse plain lines otherwise.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use tencentcloud_cbs::SnapshotProgress;

/// Plain lines are printed when progress moved by this many points…
const LINE_STEP: u64 = 20;
/// …or this long after the region's last line.
const LINE_INTERVAL: Duration = Duration::from_secs(15);

/// Per region: the percent and state last printed, and when.
type LastLines = Mutex<HashMap<String, (u64, Option<String>, Instant)>>;

pub enum Display {
    Bars {
        bars: HashMap<String, ProgressBar>,
        _multi: MultiProgress,
    },
    Lines(LastLines),
    Quiet,
}

impl Display {
    /// Bars when stdout is a terminal, lines when it is not, nothing for JSON output.
    pub fn new(regions: &[String], json: bool) -> Display {
        if json {
            return Display::Quiet;
        }
        if !std::io::stdout().is_terminal() {
            return Display::Lines(Mutex::new(HashMap::new()));
        }
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stdout());
        let style = ProgressStyle::with_template("{prefix:<16} [{bar:30}] {pos:>3}% {msg}")
            .map(|s| s.progress_chars("=> "))
            .unwrap_or_else(|_| ProgressStyle::default_bar());
        let bars = regions
            .iter()
            .map(|region| {
                let bar = multi.add(ProgressBar::new(100));
                bar.set_style(style.clone());
                bar.set_prefix(region.clone());
                bar.set_message("starting");
                (region.clone(), bar)
            })
            .collect();
        Display::Bars {
            bars,
            _multi: multi,
        }
    }

    pub fn update(&self, p: &SnapshotProgress) {
        let state = p.state.as_ref().map(|s| s.as_str().to_owned());
        match self {
            Display::Quiet => {}
            Display::Bars { bars, .. } => {
                if let Some(bar) = bars.get(&p.region) {
                    bar.set_position(p.percent);
                    bar.set_message(format!(
                        "{} {}",
                        p.snapshot_id,
                        state.as_deref().unwrap_or("not visible yet")
                    ));
                    if state.as_deref() == Some("NORMAL") {
                        bar.finish();
                    }
                }
            }
            Display::Lines(last) => {
                let mut last = last.lock().unwrap_or_else(|e| e.into_inner());
                let now = Instant::now();
                let print = match last.get(&p.region) {
                    None => true,
                    Some((percent, previous_state, at)) => {
                        p.percent >= percent + LINE_STEP
                            || *previous_state != state
                            || now.duration_since(*at) >= LINE_INTERVAL
                    }
                };
                if print {
                    println!(
                        "{:<16} {} {:>3}% {}",
                        p.region,
                        p.snapshot_id,
                        p.percent,
                        state.as_deref().unwrap_or("not visible yet")
                    );
                    last.insert(p.region.clone(), (p.percent, state, now));
                }
            }
        }
    }

    pub fn finish(&self) {
        if let Display::Bars { bars, .. } = self {
            for bar in bars.values() {
                if !bar.is_finished() {
                    bar.abandon();
                }
            }
        }
    }
}
