//! `--waiter`: calls a read-only action until a JMESPath expression over its answer
//! gives the wanted value (or a failure value, or the time runs out).

use std::time::Duration;

use cbs_model::{ActionInfo, ObjectSchema};
use serde::Deserialize;
use serde_json::Value;
use tokio::time::Instant;

use super::output::{self, Node};
use crate::context::Context;
use crate::failure::Failure;

/// `{"expr": "...", "to": ..., "timeout": 180, "interval": 5, "failure": ...}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    expr: String,
    to: Value,
    #[serde(default = "default_timeout")]
    timeout: f64,
    #[serde(default = "default_interval")]
    interval: f64,
    #[serde(default)]
    failure: Option<Value>,
}

fn default_timeout() -> f64 {
    180.0
}

fn default_interval() -> f64 {
    5.0
}

pub struct Waiter {
    spec: Spec,
    expression: jmespath::Expression<'static>,
}

impl Waiter {
    pub fn parse(text: &str) -> Result<Waiter, Failure> {
        let spec: Spec = serde_json::from_str(text).map_err(|e| {
            Failure::Usage(format!(
                "--waiter: {e}; expected {{\"expr\": \"JMESPath\", \"to\": value, \"timeout\": seconds, \"interval\": seconds, \"failure\": value}}"
            ))
        })?;
        if !(spec.timeout.is_finite() && spec.timeout > 0.0 && spec.timeout <= 86_400.0) {
            return Err(Failure::Usage(
                "--waiter: timeout must be between 0 and 86400 seconds".into(),
            ));
        }
        if !(spec.interval.is_finite() && spec.interval > 0.0) {
            return Err(Failure::Usage(
                "--waiter: interval must be above 0 seconds".into(),
            ));
        }
        let expression = jmespath::compile(&spec.expr)
            .map_err(|e| Failure::Usage(format!("--waiter: expr: {e}")))?;
        Ok(Waiter { spec, expression })
    }

    /// Calls until the expression gives `to`; returns that answer.
    pub async fn run(
        self,
        ctx: &Context,
        action: &ActionInfo,
        body: Value,
        response: &ObjectSchema,
    ) -> Result<Node, Failure> {
        let started = Instant::now();
        let timeout = Duration::from_secs_f64(self.spec.timeout);
        let interval = Duration::from_secs_f64(self.spec.interval.min(self.spec.timeout));
        loop {
            let answer = super::call(ctx, action, body.clone()).await?;
            let node = output::project(&answer, response);
            let found = self
                .expression
                .search(node.to_value())
                .map_err(|e| Failure::Usage(format!("--waiter: expr: {e}")))?;
            let value = serde_json::to_value(&*found).unwrap_or(Value::Null);
            if value == self.spec.to {
                return Ok(node);
            }
            if self.spec.failure.as_ref() == Some(&value) {
                return Err(Failure::Other(format!(
                    "`{}` reached the failure value {value}",
                    self.spec.expr
                )));
            }
            if started.elapsed() + interval > timeout {
                return Err(Failure::Other(format!(
                    "timed out after {} s waiting for `{}` to be {}; it was {value}",
                    self.spec.timeout, self.spec.expr, self.spec.to
                )));
            }
            eprintln!("waiting: `{}` is {value}", self.spec.expr);
            tokio::time::sleep(interval).await;
        }
    }
}
