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
    /// Wait this long before handling the call normally.
    Delay {
        /// Milliseconds to wait.
        millis: u64,
    },
    /// Close the connection before reading the request body: the action does not run.
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
    /// The action it applies to; every action when `None`.
    #[serde(default)]
    pub action: Option<String>,
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
            action: None,
            kind,
            times: None,
            probability: 1.0,
        }
    }

    /// Only calls of `action`.
    pub fn action(mut self, action: impl Into<String>) -> Self {
        self.action = Some(action.into());
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

    /// The fault for a call of `action`, consuming one use of it.
    pub(crate) fn take(&mut self, action: &str) -> Option<FaultKind> {
        let index = self.0.iter().position(|f| {
            f.action.as_deref().is_none_or(|a| a == action)
                && f.times != Some(0)
                && (f.probability >= 1.0
                    || (crate::ids::next_u64() as f64 / u64::MAX as f64) < f.probability)
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

impl FaultKind {
    pub(crate) fn delay(&self) -> Option<Duration> {
        match self {
            FaultKind::Delay { millis } => Some(Duration::from_millis(*millis)),
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
        assert_eq!(list.take("CreateSnapshot"), None);
        assert_eq!(list.take("DescribeSnapshots"), Some(FaultKind::BadGateway));
        assert_eq!(list.take("DescribeSnapshots"), Some(FaultKind::BadGateway));
        assert_eq!(list.take("DescribeSnapshots"), None);
    }

    #[test]
    fn file_format() {
        let faults = parse_fault_file(
            r#"[{"action": "CopySnapshotCrossRegions", "kind": "drop_after_read", "times": 1},
                {"kind": "error", "code": "InternalError", "probability": 0.5},
                {"kind": "delay", "millis": 20}]"#,
        )
        .unwrap();
        assert_eq!(faults.len(), 3);
        assert_eq!(faults[0].kind, FaultKind::DropAfterRead);
        assert_eq!(faults[1].probability, 0.5);
        assert!(parse_fault_file("[{\"kind\": \"explode\"}]").is_err());
    }
}
