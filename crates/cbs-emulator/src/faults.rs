//! Misbehaviour on demand: errors, delays, dropped connections, broken bodies.

use std::time::Duration;

use serde::Deserialize;

/// What an injected fault does to a matching call.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum FaultKind {
    /// Answer with this API error instead of running the action.
    Error {
        /// The error code, e.g. `InternalError` or `RequestLimitExceeded`.
        code: String,
        /// The message; a default is used when empty.
        #[serde(default)]
        message: String,
    },
    /// Wait before handling the call normally, for a time drawn from a distribution.
    Delay(Latency),
    /// Close the connection before the request is handled: the action does not run.
    DropBeforeRead,
    /// Read the request and run the action, then close the connection without
    /// answering: the client cannot know whether it ran (it did).
    DropAfterRead,
    /// Run the action and answer with a truncated, unparseable JSON body.
    MalformedJson,
    /// Answer HTTP 502 with an HTML page, as a failing gateway would; the action does
    /// not run.
    BadGateway,
    /// Answer with exactly this body (and status) instead of running the action: an
    /// answer of any shape, for clients that must cope with whatever a server says.
    Answer {
        /// The HTTP status (200 by default).
        #[serde(default = "ok")]
        status: u16,
        /// The JSON body.
        body: serde_json::Value,
    },
}

fn ok() -> u16 {
    200
}

/// How long a [`Delay`](FaultKind::Delay) waits: `millis`, plus a random extra of up
/// to `jitter_millis` spread as `spread` says.
///
/// In a fault file: `{"kind": "delay", "millis": 200, "jitter_millis": 800, "spread":
/// "exponential"}`; `jitter_millis` and `spread` may be left out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct Latency {
    /// The least wait, in milliseconds.
    pub millis: u64,
    /// The scale of the random extra, in milliseconds.
    #[serde(default)]
    pub jitter_millis: u64,
    /// How the extra is spread.
    #[serde(default)]
    pub spread: Spread,
}

/// How the random part of a [`Latency`] is spread.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Spread {
    /// Evenly between zero and the jitter.
    #[default]
    Uniform,
    /// A long tail: exponential with the jitter as its mean, cut at ten times it, as
    /// a congested network's latencies are.
    Exponential,
}

impl Latency {
    /// Always exactly `duration`.
    pub fn fixed(duration: Duration) -> Self {
        Latency {
            millis: duration.as_millis() as u64,
            jitter_millis: 0,
            spread: Spread::Uniform,
        }
    }

    /// Evenly between `least` and `most`.
    pub fn uniform(least: Duration, most: Duration) -> Self {
        let millis = least.as_millis() as u64;
        Latency {
            millis,
            jitter_millis: (most.as_millis() as u64).saturating_sub(millis),
            spread: Spread::Uniform,
        }
    }

    /// `least` plus an exponential extra with mean `mean_extra`.
    pub fn long_tail(least: Duration, mean_extra: Duration) -> Self {
        Latency {
            millis: least.as_millis() as u64,
            jitter_millis: mean_extra.as_millis() as u64,
            spread: Spread::Exponential,
        }
    }

    /// One wait drawn from the distribution, given `unit` uniform in [0, 1).
    fn sample(&self, unit: f64) -> Duration {
        let jitter = self.jitter_millis as f64;
        let extra = match self.spread {
            Spread::Uniform => unit * jitter,
            Spread::Exponential => (-(1.0 - unit).ln() * jitter).min(10.0 * jitter),
        };
        Duration::from_millis(self.millis.saturating_add(extra as u64))
    }
}

/// An injected fault: which calls it hits and how often.
///
/// ```
/// use cbs_emulator::{Fault, FaultKind};
/// let throttle_twice = Fault::new(FaultKind::Error { code: "RequestLimitExceeded".into(), message: String::new() })
///     .action("DescribeSnapshots")
///     .times(2);
/// # let _ = throttle_twice;
/// ```
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Fault {
    /// The service it applies to (`cbs`, `tag`); every service when `None`.
    #[serde(default)]
    pub service: Option<String>,
    /// The action it applies to; every action when `None`.
    #[serde(default)]
    pub action: Option<String>,
    /// The region it applies to: a CBS request's `X-TC-Region`, or for a Tag request
    /// the region of any resource it names; every region when `None`.
    #[serde(default)]
    pub region: Option<String>,
    /// What it does.
    #[serde(flatten)]
    pub kind: FaultKind,
    /// How many matching calls it hits before it is used up; unlimited when `None`.
    #[serde(default)]
    pub times: Option<u32>,
    /// The fraction of matching calls it hits (0.0 to 1.0); 1.0 when absent.
    #[serde(default = "always")]
    pub probability: f64,
}

fn always() -> f64 {
    1.0
}

impl Fault {
    /// A fault that hits every call, every time, until limited.
    pub fn new(kind: FaultKind) -> Self {
        Fault {
            service: None,
            action: None,
            region: None,
            kind,
            times: None,
            probability: 1.0,
        }
    }

    /// Only calls to `service` (`cbs` or `tag`).
    pub fn service(mut self, service: impl Into<String>) -> Self {
        self.service = Some(service.into());
        self
    }

    /// Only calls of `action`.
    pub fn action(mut self, action: impl Into<String>) -> Self {
        self.action = Some(action.into());
        self
    }

    /// Only calls addressed to `region`: one destination slow or failing.
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// Only the next `n` matching calls.
    pub fn times(mut self, n: u32) -> Self {
        self.times = Some(n);
        self
    }

    /// Only a fraction of matching calls.
    pub fn probability(mut self, p: f64) -> Self {
        self.probability = p.clamp(0.0, 1.0);
        self
    }
}

/// The active faults, in the order they were added; the first that matches applies.
#[derive(Debug, Default)]
pub(crate) struct FaultList(Vec<Fault>);

impl FaultList {
    pub(crate) fn push(&mut self, fault: Fault) {
        self.0.push(fault);
    }

    pub(crate) fn clear(&mut self) {
        self.0.clear();
    }

    /// The fault for a call of `service`'s `action` concerning `regions`, consuming
    /// one use of it.
    pub(crate) fn take(
        &mut self,
        service: &str,
        action: &str,
        regions: &[&str],
    ) -> Option<FaultKind> {
        let index = self.0.iter().position(|f| {
            f.service.as_deref().is_none_or(|s| s == service)
                && f.action.as_deref().is_none_or(|a| a == action)
                && f.region.as_deref().is_none_or(|r| regions.contains(&r))
                && f.times != Some(0)
                && (f.probability >= 1.0 || unit() < f.probability)
        })?;
        let fault = &mut self.0[index];
        let kind = fault.kind.clone();
        if let Some(n) = fault.times.as_mut() {
            *n -= 1;
            if *n == 0 {
                self.0.remove(index);
            }
        }
        Some(kind)
    }
}

/// Parses a JSON list of faults, as given to the binary's `--faults FILE`.
pub fn parse_fault_file(text: &str) -> Result<Vec<Fault>, String> {
    serde_json::from_str(text).map_err(|e| format!("fault file: {e}"))
}

/// A random number in [0, 1).
fn unit() -> f64 {
    (crate::ids::next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

impl FaultKind {
    /// How long to wait before handling the call, drawn now.
    pub(crate) fn delay(&self) -> Option<Duration> {
        match self {
            FaultKind::Delay(latency) => Some(latency.sample(unit())),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_action_filters() {
        let mut list = FaultList::default();
        list.push(
            Fault::new(FaultKind::BadGateway)
                .action("DescribeSnapshots")
                .times(2),
        );
        assert_eq!(list.take("cbs", "CreateSnapshot", &[]), None);
        assert_eq!(
            list.take("cbs", "DescribeSnapshots", &[]),
            Some(FaultKind::BadGateway)
        );
        assert_eq!(
            list.take("cbs", "DescribeSnapshots", &[]),
            Some(FaultKind::BadGateway)
        );
        assert_eq!(list.take("cbs", "DescribeSnapshots", &[]), None);
    }

    #[test]
    fn region_filter() {
        let mut list = FaultList::default();
        list.push(Fault::new(FaultKind::BadGateway).region("ap-tokyo"));
        assert_eq!(list.take("cbs", "DescribeSnapshots", &["ap-seoul"]), None);
        assert_eq!(list.take("cbs", "DescribeSnapshots", &[]), None);
        assert_eq!(
            list.take("cbs", "DescribeSnapshots", &["ap-tokyo"]),
            Some(FaultKind::BadGateway)
        );
    }

    #[test]
    fn latency_distributions_stay_in_their_bounds() {
        let ms = Duration::from_millis;
        let uniform = Latency::uniform(ms(100), ms(300));
        assert_eq!(uniform.sample(0.0), ms(100));
        assert_eq!(uniform.sample(0.5), ms(200));
        assert!(uniform.sample(0.999_999) < ms(300));
        let tail = Latency::long_tail(ms(50), ms(100));
        assert_eq!(tail.sample(0.0), ms(50));
        // The median of an exponential is ln 2 times its mean.
        assert_eq!(tail.sample(0.5), ms(50 + 69));
        assert_eq!(tail.sample(1.0 - 1e-12), ms(50 + 1000), "cut at ten means");
        assert_eq!(Latency::fixed(ms(7)).sample(0.9), ms(7));
        for _ in 0..1000 {
            let drawn = FaultKind::Delay(uniform).delay().unwrap();
            assert!(drawn >= ms(100) && drawn < ms(300), "{drawn:?}");
        }
    }

    #[test]
    fn file_format() {
        let faults = parse_fault_file(
            r#"[{"action": "CopySnapshotCrossRegions", "kind": "drop_after_read", "times": 1},
                {"kind": "error", "code": "InternalError", "probability": 0.5},
                {"kind": "delay", "millis": 20},
                {"kind": "delay", "millis": 20, "jitter_millis": 80, "spread": "exponential",
                 "region": "ap-tokyo"}]"#,
        )
        .unwrap();
        assert_eq!(faults.len(), 4);
        assert_eq!(
            faults[2].kind,
            FaultKind::Delay(Latency::fixed(Duration::from_millis(20)))
        );
        assert_eq!(
            faults[3].kind,
            FaultKind::Delay(Latency::long_tail(
                Duration::from_millis(20),
                Duration::from_millis(80)
            ))
        );
        assert_eq!(faults[3].region.as_deref(), Some("ap-tokyo"));
        assert_eq!(faults[0].kind, FaultKind::DropAfterRead);
        assert_eq!(faults[1].probability, 0.5);
        assert!(parse_fault_file("[{\"kind\": \"explode\"}]").is_err());
    }
}
