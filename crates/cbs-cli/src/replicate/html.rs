//! `replicate restore --report FILE.html`: the run as one self-contained page for an
//! auditor or a manager: the recovery point and time to usable of every disk, the
//! groups, and the run's timeline drawn as an inline SVG chart. No script, no font, no
//! image, nothing fetched: it reads the same offline, printed, or attached to a ticket.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use cbs_dr::{RestoreItem, RestoreOutcome, RestoreReport, WaveOutcome};

/// Writes the page for `report` to `path`, replacing a regular file only (as the
/// metrics file is written).
pub fn write(path: &Path, report: &RestoreReport) -> std::io::Result<()> {
    crate::metrics::write_atomically(path, &page(report))
}

/// Text made safe inside HTML elements and attribute values.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

fn secs(d: Option<Duration>) -> String {
    d.map(|d| format!("{:.0} s", d.as_secs_f64()))
        .unwrap_or_else(|| "–".into())
}

fn age(d: Option<Duration>) -> String {
    let Some(d) = d else {
        return "–".into();
    };
    let s = d.as_secs();
    match s {
        0..=5399 => format!("{} min", s / 60),
        5400..=172_799 => format!("{:.1} h", s as f64 / 3600.0),
        _ => format!("{:.1} days", s as f64 / 86400.0),
    }
}

const STYLE: &str = "
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px;color:#1d2330;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
.sub{color:#5a6478;margin-bottom:18px}
.cards{display:flex;gap:12px;flex-wrap:wrap}
.card{border:1px solid #d9dee8;border-radius:8px;padding:10px 14px;min-width:150px}
.card b{display:block;font-size:22px}.card span{color:#5a6478;font-size:12px}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{border-bottom:1px solid #e6e9f0;padding:5px 8px;text-align:left;vertical-align:top}
th{background:#f4f6fa;font-weight:600}
.ok{color:#177245;font-weight:600}.bad{color:#b42318;font-weight:600}.warn{color:#9a6700;font-weight:600}
.legend span{display:inline-block;margin-right:16px}.sw{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:5px;vertical-align:-1px}
svg text{font:11px system-ui,sans-serif;fill:#3a4254}
";

/// The page.
fn page(report: &RestoreReport) -> String {
    let mut html = String::new();
    let title = format!("Restore {} into {}", report.run, report.region);
    let _ = write!(
        html,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head><body>",
        esc(&title)
    );
    let _ = write!(html, "<h1>{}</h1>", esc(&title));
    let kind = if report.dry_run {
        "Plan (dry run): nothing was made."
    } else {
        "What the run did."
    };
    let at = report
        .at
        .map(|t| {
            format!(
                " Recovery point asked for: at or before {}.",
                cbs_dr::format_time(t)
            )
        })
        .unwrap_or_default();
    let _ = write!(html, "<div class=\"sub\">{kind}{}</div>", esc(&at));

    // The headline numbers.
    let restored = report.succeeded();
    let total = report.items.len();
    let oldest = report.items.iter().filter_map(|i| i.data_age).max();
    let newest_point = report.items.iter().filter_map(|i| i.data_time).min();
    let attached = report.items.iter().filter(|i| i.attached).count();
    let to_attach = report.items.iter().filter(|i| i.standby.is_some()).count();
    html.push_str("<div class=\"cards\">");
    card(
        &mut html,
        &format!("{restored} / {total}"),
        "disks restored",
    );
    card(
        &mut html,
        &report
            .rto
            .map(|d| format!("{:.0} s", d.as_secs_f64()))
            .unwrap_or_else(|| "–".into()),
        "recovery time (start to last disk ready)",
    );
    card(
        &mut html,
        &age(oldest),
        "oldest data restored (age at start)",
    );
    card(
        &mut html,
        &newest_point
            .map(cbs_dr::format_time)
            .unwrap_or_else(|| "–".into()),
        "earliest recovery point",
    );
    if to_attach > 0 {
        card(
            &mut html,
            &format!("{attached} / {to_attach}"),
            "attached to standbys",
        );
    }
    html.push_str("</div>");

    if !report.dry_run {
        html.push_str("<h2>Timeline</h2>");
        timeline(&mut html, report);
    }

    if !report.waves.is_empty() {
        html.push_str("<h2>Groups</h2><table><tr><th>Group</th><th>Disks</th><th>Optional</th><th>Result</th><th>Started</th><th>Finished</th></tr>");
        for wave in &report.waves {
            let (class, word) = match wave.outcome {
                WaveOutcome::Done => ("ok", "done"),
                WaveOutcome::Planned => ("", "planned"),
                WaveOutcome::Failed => ("bad", "failed"),
                WaveOutcome::NotStarted => ("warn", "not started"),
                _ => ("", "?"),
            };
            let _ = write!(
                html,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"{class}\">{word}</td><td>{}</td><td>{}</td></tr>",
                esc(&wave.name),
                wave.disks,
                if wave.optional { "yes" } else { "no" },
                secs(wave.started),
                secs(wave.finished)
            );
        }
        html.push_str("</table>");
    }

    if !report.groups.is_empty() {
        html.push_str("<h2>Instances: one moment per instance</h2><table><tr><th>Source instance</th><th>Disks</th><th>Data from</th><th>Consistent</th><th>Spread</th></tr>");
        for group in &report.groups {
            let _ = write!(
                html,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"{}\">{}</td><td>{}</td></tr>",
                esc(&group.instance),
                esc(&group.disks.join(", ")),
                group
                    .data_time
                    .map(cbs_dr::format_time)
                    .unwrap_or_else(|| "–".into()),
                if group.consistent { "ok" } else { "bad" },
                if group.consistent { "yes" } else { "NO" },
                group
                    .spread
                    .map(|s| if s.as_secs() < 60 {
                        format!("{} s", s.as_secs())
                    } else {
                        age(Some(s))
                    })
                    .unwrap_or_else(|| "–".into())
            );
        }
        html.push_str("</table>");
    }

    html.push_str("<h2>Disks</h2><table><tr><th>Result</th><th>Source disk</th><th>Name</th><th>Instance</th><th>Group</th><th>Replica</th><th>Recovery point</th><th>Data age</th><th>Type / GB / zone</th><th>Restored disk</th><th>Usable after</th><th>Standby</th><th>Why not / notes</th></tr>");
    for item in &report.items {
        row(&mut html, item);
    }
    html.push_str("</table>");
    let _ = write!(
        html,
        "<p class=\"sub\">Written by tccbs {}. Times are UTC; durations count from the run's start.</p></body></html>",
        env!("CARGO_PKG_VERSION")
    );
    html
}

fn card(html: &mut String, value: &str, what: &str) {
    let _ = write!(
        html,
        "<div class=\"card\"><b>{}</b><span>{}</span></div>",
        esc(value),
        esc(what)
    );
}

fn row(html: &mut String, item: &RestoreItem) {
    let (class, word) = match item.outcome {
        RestoreOutcome::Created => ("ok", "created"),
        RestoreOutcome::Adopted => ("ok", "adopted"),
        RestoreOutcome::WouldCreate => ("", "would create"),
        RestoreOutcome::WouldAdopt => ("", "would adopt"),
        RestoreOutcome::NeedsImage => ("warn", "needs an image"),
        RestoreOutcome::Failed => ("bad", "failed"),
        _ => ("", "?"),
    };
    let opt = |v: &Option<String>| v.as_deref().map(esc).unwrap_or_else(|| "–".into());
    let mut why: Vec<String> = Vec::new();
    if let Some(f) = &item.failure {
        let id = f
            .request_id
            .as_deref()
            .map(|r| format!(" (request {r})"))
            .unwrap_or_default();
        why.push(format!(
            "<b>{}</b>: {}{}",
            esc(&f.code),
            esc(&f.message),
            esc(&id)
        ));
    }
    why.extend(item.notes.iter().map(|n| esc(n)));
    let standby = match (&item.standby, item.attached) {
        (Some(s), true) => format!("{} <span class=\"ok\">attached</span>", esc(s)),
        (Some(s), false) => esc(s),
        (None, _) => "–".into(),
    };
    let _ = write!(
        html,
        "<tr><td class=\"{class}\">{word}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} / {} / {}</td><td>{}</td><td>{}</td><td>{standby}</td><td>{}</td></tr>",
        esc(&item.disk_id),
        opt(&item.name),
        match (&item.instance, item.order) {
            (Some(i), Some(o)) => format!("{} #{o}", esc(i)),
            (Some(i), None) => esc(i),
            _ => "–".into(),
        },
        esc(&item.wave),
        opt(&item.replica_id),
        item.data_time
            .map(cbs_dr::format_time)
            .unwrap_or_else(|| "–".into()),
        age(item.data_age),
        opt(&item.disk_type),
        item.size_gb,
        opt(&item.zone),
        opt(&item.restored_disk_id),
        secs(item.time_to_usable),
        why.join("<br>")
    );
}

/// The run drawn over time: a bar per disk (waiting for its turn, being made, loading
/// until usable, attaching), the groups as bands, the recovery time as a line. Past a
/// few hundred disks the bars thin to a pixel; the table below holds the numbers.
fn timeline(html: &mut String, report: &RestoreReport) {
    const WIDTH: f64 = 960.0;
    const LEFT: f64 = 150.0;
    const TOP: f64 = 36.0;
    let items: Vec<&RestoreItem> = report.items.iter().collect();
    let end = report
        .rto
        .map(|d| d.as_secs_f64())
        .into_iter()
        .chain(
            items
                .iter()
                .filter_map(|i| i.time_to_attached.map(|d| d.as_secs_f64())),
        )
        .fold(1.0_f64, f64::max);
    let row = (560.0 / items.len().max(1) as f64).clamp(1.5, 18.0);
    let height = TOP + row * items.len() as f64 + 30.0;
    let x = |t: f64| LEFT + (WIDTH - LEFT - 20.0) * (t / end);
    let _ = write!(
        html,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height:.0}\" viewBox=\"0 0 {WIDTH} {height:.0}\" role=\"img\" aria-label=\"restore timeline\">"
    );
    // Group bands.
    let colours = ["#f3f6fc", "#fbf7ee"];
    for (n, wave) in report.waves.iter().enumerate() {
        if let (Some(s), Some(f)) = (wave.started, wave.finished) {
            let (a, b) = (x(s.as_secs_f64()), x(f.as_secs_f64()));
            let _ = write!(
                html,
                "<rect x=\"{a:.1}\" y=\"{:.0}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{}\"/><text x=\"{:.1}\" y=\"{}\">{}</text>",
                TOP - 4.0,
                (b - a).max(1.0),
                row * items.len() as f64 + 8.0,
                colours[n % 2],
                a + 3.0,
                // Groups that start together would print over each other: two lines.
                if n % 2 == 0 { 12 } else { 26 },
                esc(&wave.name)
            );
        }
    }
    // Axis ticks: about six.
    let step = nice_step(end / 6.0);
    let mut t = 0.0;
    while t <= end + 1e-9 {
        let px = x(t);
        let y = TOP + row * items.len() as f64 + 6.0;
        let _ = write!(
            html,
            "<line x1=\"{px:.1}\" y1=\"{TOP}\" x2=\"{px:.1}\" y2=\"{y:.0}\" stroke=\"#e1e5ee\"/><text x=\"{px:.1}\" y=\"{:.0}\" text-anchor=\"middle\">{}</text>",
            y + 14.0,
            tick(t)
        );
        t += step;
    }
    for (n, item) in items.iter().enumerate() {
        let y = TOP + row * n as f64;
        let h = (row - if row > 4.0 { 3.0 } else { 0.3 }).max(1.0);
        if row >= 10.0 {
            let label = item.name.as_deref().unwrap_or(&item.disk_id);
            let _ = write!(
                html,
                "<text x=\"{:.0}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
                LEFT - 6.0,
                y + h - 2.0,
                esc(label)
            );
        }
        let made = item.time_to_created.map(|d| d.as_secs_f64());
        let usable = item.time_to_usable.map(|d| d.as_secs_f64());
        let attached = item.time_to_attached.map(|d| d.as_secs_f64());
        let start_of_wave = report
            .waves
            .iter()
            .find(|w| w.name == item.wave)
            .and_then(|w| w.started)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        let mut bar = |from: f64, to: f64, colour: &str| {
            if to > from {
                let _ = write!(
                    html,
                    "<rect x=\"{:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"{colour}\"/>",
                    x(from),
                    (x(to) - x(from)).max(0.8)
                );
            }
        };
        if let Some(made) = made {
            bar(start_of_wave, made, "#c9d3e6");
        }
        if let Some(usable) = usable {
            bar(made.unwrap_or(start_of_wave), usable, "#3b6fd8");
        }
        if let (Some(usable), Some(attached)) = (usable, attached) {
            bar(usable, attached, "#1f9d55");
        }
        if item.outcome == RestoreOutcome::Failed {
            let at = attached.or(usable).or(made).unwrap_or(start_of_wave);
            let _ = write!(
                html,
                "<rect x=\"{:.1}\" y=\"{y:.1}\" width=\"4\" height=\"{h:.1}\" fill=\"#d92d20\"/>",
                x(at)
            );
        }
    }
    if let Some(rto) = report.rto {
        let px = x(rto.as_secs_f64());
        let _ = write!(
            html,
            "<line x1=\"{px:.1}\" y1=\"{:.0}\" x2=\"{px:.1}\" y2=\"{:.0}\" stroke=\"#b42318\" stroke-width=\"2\" stroke-dasharray=\"5 3\"/><text x=\"{:.1}\" y=\"{:.0}\" text-anchor=\"end\" fill=\"#b42318\">RTO {}</text>",
            TOP - 6.0,
            TOP + row * items.len() as f64 + 4.0,
            px - 4.0,
            TOP - 8.0,
            tick(rto.as_secs_f64())
        );
    }
    html.push_str("</svg>");
    html.push_str("<div class=\"legend\"><span><i class=\"sw\" style=\"background:#c9d3e6\"></i>waiting for its turn, being made</span><span><i class=\"sw\" style=\"background:#3b6fd8\"></i>loading from the replica</span><span><i class=\"sw\" style=\"background:#1f9d55\"></i>attaching to its standby</span><span><i class=\"sw\" style=\"background:#d92d20\"></i>failed</span></div>");
}

/// A round step (1, 2 or 5 times a power of ten, in seconds; minutes and hours when
/// larger) near `rough`.
fn nice_step(rough: f64) -> f64 {
    let candidates = [
        1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0,
        14400.0, 21600.0, 43200.0, 86400.0,
    ];
    candidates
        .into_iter()
        .find(|c| *c >= rough)
        .unwrap_or(86400.0)
}

fn tick(t: f64) -> String {
    if t < 120.0 {
        format!("{t:.0} s")
    } else if t < 7200.0 {
        format!("{:.0} min", t / 60.0)
    } else {
        format!("{:.1} h", t / 3600.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            esc("<b>\"x\" & 'y'</b>"),
            "&lt;b&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/b&gt;"
        );
        assert_eq!(esc("a\u{1b}[31m"), "a\u{fffd}[31m");
    }

    #[test]
    fn ticks_are_round() {
        assert_eq!(nice_step(7.0), 10.0);
        assert_eq!(nice_step(250.0), 300.0);
        assert_eq!(tick(300.0), "5 min");
    }
}
