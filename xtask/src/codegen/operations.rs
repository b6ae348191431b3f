//! The client's fluent builders: each wraps the model's request builder, forwards its
//! setters, and adds the call's options and `send()`.

use std::fmt::Write as _;

use super::{Context, DEPRECATED_ATTR, HEADER, safety, write_doc};
use crate::names::{field_ident, snake};

impl Context<'_> {
    /// One fluent builder per action, and the `Client` method that starts it.
    pub(super) fn gen_operations(&self) -> String {
        let mut out = format!(
            "{HEADER}//! A fluent builder per action: set members, then `send()`.\n\n// Generated code refers to the items the service has deprecated.\n#![allow(deprecated)]\n\n#[allow(unused_imports)]\nuse cbs_model::*;\n\nuse crate::{{CallOptions, Client, Error}};\n\n"
        );
        let mut methods = String::new();
        for action in &self.api.actions {
            let input = action.input.as_str();
            let object = self.objects[input];
            let builder = format!("{}FluentBuilder", action.name);
            let method = snake(&action.name);
            let deprecated = if action.deprecated {
                DEPRECATED_ATTR
            } else {
                ""
            };
            let kind = match safety(action, object) {
                "ReadOnly" => "read-only",
                "Idempotent" => "idempotent",
                _ => "mutating",
            };
            let _ = writeln!(
                methods,
                "    /// Starts a `{name}` call ({kind}; offered on {sites}): set its members, then `.send().await`.\n    {deprecated}pub fn {method}(&self) -> {builder} {{\n        {builder}::new(self.clone())\n    }}",
                name = action.name,
                sites = action.sites.describe(),
            );
            write_doc(
                &mut out,
                "",
                &format!(
                    "Builds and sends a `{}` call; start one with [`Client::{method}`].",
                    action.name
                ),
            );
            let _ = writeln!(
                out,
                "#[derive(Clone, Debug)]\n{deprecated}pub struct {builder} {{\n    client: Client,\n    options: CallOptions,\n    input: {input}Builder,\n}}\n"
            );
            let _ = writeln!(
                out,
                "impl {builder} {{\n    pub(crate) fn new(client: Client) -> Self {{\n        Self {{\n            client,\n            options: CallOptions::default(),\n            input: {input}::builder(),\n        }}\n    }}\n"
            );
            for m in &object.members {
                let ident = field_ident(&m.name);
                let bare = ident.trim_start_matches("r#");
                let (param, _) = self.param(input, m);
                let ty = self.full_type(input, m);
                let required = if self.is_required(input, m) {
                    " Required."
                } else {
                    ""
                };
                let _ = writeln!(
                    out,
                    "    /// Sets `{wire}`.{required}\n    pub fn {ident}(mut self, value: {param}) -> Self {{\n        self.input = self.input.{ident}(value);\n        self\n    }}\n    /// Sets `{wire}`, or clears it with `None`.\n    pub fn set_{bare}(mut self, value: Option<{ty}>) -> Self {{\n        self.input = self.input.set_{bare}(value);\n        self\n    }}",
                    wire = m.name,
                );
            }
            let name = &action.name;
            let _ = writeln!(
                out,
                "    /// Sends this call to `region` instead of the client's region.\n    pub fn region(mut self, region: impl Into<String>) -> Self {{\n        self.options = self.options.region(region);\n        self\n    }}\n\n    /// Uses `trace_id` as this call's `X-TC-TraceId`.\n    pub fn trace_id(mut self, trace_id: impl Into<String>) -> Self {{\n        self.options = self.options.trace_id(trace_id);\n        self\n    }}\n\n    /// Retries this call by `config` instead of the client's retry config.\n    pub fn retry_config(mut self, config: crate::RetryConfig) -> Self {{\n        self.options = self.options.retry_config(config);\n        self\n    }}\n\n    /// The members set so far.\n    pub fn as_input(&self) -> &{input}Builder {{\n        &self.input\n    }}\n\n    /// The request as set so far; fails naming the first required member not set.\n    pub fn build(self) -> Result<{input}, Error> {{\n        self.input.build().map_err(|e| Error::from_validation(\"{name}\", e))\n    }}\n"
            );
            if self.pagination(action).is_some() {
                let _ = writeln!(
                    out,
                    "    /// Pages through every result: each page starts at the `Offset` after the last\n    /// one, until `TotalCount` is reached or a page adds nothing new.\n    pub fn into_paginator(self) -> crate::Paginator<{input}> {{\n        let request = self.input.build().map_err(|e| Error::from_validation(\"{name}\", e));\n        crate::Paginator::new(self.client, request, self.options)\n    }}\n"
                );
            }
            let output = &action.output;
            let _ = writeln!(
                out,
                "    /// Validates, signs and sends the call, retrying as the client's policy allows.\n    pub async fn send(self) -> Result<{output}, Error> {{\n        let request = self.input.build().map_err(|e| Error::from_validation(\"{name}\", e))?;\n        self.client.send_with(request, self.options).await\n    }}\n}}\n"
            );
        }
        let _ = writeln!(out, "impl Client {{\n{methods}}}");
        out
    }
}
