//! The client a command uses: the real service, or the embedded emulator.

#[cfg(feature = "local")]
use cbs_emulator::EmulatorHandle;
#[cfg(feature = "local")]
use tencentcloud_cbs::ClientBuilder;
use tencentcloud_cbs::{Client, Language, ProfileProvider};

use crate::cli::{Global, LanguageArg, Output, Site};
use crate::failure::Failure;

/// The region `--local` uses unless told otherwise.
#[cfg(feature = "local")]
const LOCAL_REGION: &str = "ap-guangzhou";

pub struct Context {
    pub client: Client,
    pub output: Output,
    /// The options the clients were built from, for a second client (`--as-profile`).
    global: Global,
    /// Keeps the local emulator running for the command's lifetime.
    #[cfg(feature = "local")]
    _emulator: Option<EmulatorHandle>,
}

/// Where credentials come from: `--use-cvm-role`, `--profile`, or the default chain
/// (environment, profile file, CVM role, TKE OIDC); `--role-arn` assumes a role with
/// whichever it is.
fn credentials(
    builder: tencentcloud_cbs::ClientBuilder,
    global: &Global,
) -> Result<tencentcloud_cbs::ClientBuilder, Failure> {
    use tencentcloud_cbs::{AssumeRoleProvider, ChainProvider, CvmRoleProvider};
    let assume =
        |source: std::sync::Arc<dyn tencentcloud_cbs::ProvideCredentials>| -> Result<_, Failure> {
            match (&global.role_arn, &global.role_session_name) {
                (Some(_), None) | (None, Some(_)) => Err(Failure::Usage(
                    "--role-arn and --role-session-name go together".into(),
                )),
                (Some(arn), Some(session)) => {
                    let provider =
                        AssumeRoleProvider::builder(source, arn.clone(), session.clone())
                            .build()
                            .map_err(|e| Failure::Usage(e.to_string()))?;
                    Ok(std::sync::Arc::new(provider)
                        as std::sync::Arc<dyn tencentcloud_cbs::ProvideCredentials>)
                }
                (None, None) => Ok(source),
            }
        };
    let source: std::sync::Arc<dyn tencentcloud_cbs::ProvideCredentials> = if global.use_cvm_role {
        std::sync::Arc::new(CvmRoleProvider::new())
    } else if let Some(profile) = &global.profile {
        std::sync::Arc::new(ProfileProvider::from_env().profile(profile.clone()))
    } else if global.role_arn.is_some() {
        std::sync::Arc::new(ChainProvider::default_chain())
    } else {
        // The client's own default chain.
        return Ok(builder);
    };
    Ok(builder.credentials_provider(assume(source)?))
}

/// Options that cannot go together, wherever on the line they were given (before the
/// action or after it, as tccli takes them).
pub fn check_combination(global: &Global) -> Result<(), Failure> {
    let remote_only = [
        ("--endpoint", global.endpoint.is_some()),
        ("--site", global.site.is_some()),
        ("--ca-bundle", global.ca_bundle.is_some()),
        ("--use-cvm-role", global.use_cvm_role),
        ("--role-arn", global.role_arn.is_some()),
        ("--https-proxy", global.https_proxy.is_some()),
    ];
    if global.local {
        if let Some((name, _)) = remote_only.iter().find(|(_, given)| *given) {
            return Err(Failure::Usage(format!(
                "{name} does not apply with --local, which runs against its own emulator"
            )));
        }
    } else if global.local_state.is_some() || global.local_faults.is_some() {
        return Err(Failure::Usage(
            "--local-state and --local-faults need --local".into(),
        ));
    }
    if global.use_cvm_role && global.profile.is_some() {
        return Err(Failure::Usage(
            "--use-cvm-role and --profile name two different credential sources".into(),
        ));
    }
    Ok(())
}

impl Context {
    /// What tells one account's runs from another's on this host (profile, endpoint),
    /// for the apply lock; `None` with `--local`, whose emulator lives and dies with
    /// the process (two processes never share one).
    pub fn account_key(&self) -> Option<String> {
        let g = &self.global;
        (!g.local).then(|| format!("{:?}|{:?}|{:?}", g.profile, g.endpoint, g.site))
    }
}

impl Context {
    pub async fn build(global: &Global) -> Result<Context, Failure> {
        check_combination(global)?;
        #[cfg(feature = "local")]
        let mut emulator = None;
        let builder = if global.local {
            #[cfg(feature = "local")]
            {
                let handle = local(global).await?;
                let builder =
                    local_builder(global, &handle).credentials(tencentcloud_cbs::Credentials::new(
                        cbs_emulator::DEMO_SECRET_ID,
                        cbs_emulator::DEMO_SECRET_KEY,
                    ));
                emulator = Some(handle);
                builder
            }
            #[cfg(not(feature = "local"))]
            return Err(Failure::Usage(
                "this tccbs was built without the `local` feature, so --local is not available"
                    .into(),
            ));
        } else {
            credentials(remote_builder(global)?, global)?
        };
        let client = finish(builder, global)?;
        Ok(Context {
            client,
            output: global.output.unwrap_or(Output::Table),
            global: global.clone(),
            #[cfg(feature = "local")]
            _emulator: emulator,
        })
    }

    pub fn region(&self) -> Option<&str> {
        self.client.region()
    }

    /// A client of another account (the recovery account a policy shares with), with
    /// the credentials of `profile` and every other setting of the main client. With
    /// `--local`, the embedded emulator's recovery account, whatever the name.
    pub fn receiver(&self, profile: &str) -> Result<Client, Failure> {
        #[cfg(feature = "local")]
        if let Some(handle) = &self._emulator {
            let builder = local_builder(&self.global, handle).credentials(
                tencentcloud_cbs::Credentials::new(
                    cbs_emulator::DEMO_RECOVERY_SECRET_ID,
                    cbs_emulator::DEMO_RECOVERY_SECRET_KEY,
                ),
            );
            return finish(builder, &self.global);
        }
        let builder = remote_builder(&self.global)?
            .credentials_provider(ProfileProvider::from_env().profile(profile.to_owned()));
        finish(builder, &self.global)
    }
}

/// The settings every client of the command shares, before its credentials.
fn common_builder(global: &Global) -> tencentcloud_cbs::ClientBuilder {
    let mut builder = Client::builder().request_client("tccbs");
    if let Some(language) = global.language {
        builder = builder.language(match language {
            LanguageArg::ZhCn => Language::ZhCn,
            LanguageArg::EnUs => Language::EnUs,
        });
    }
    builder
}

/// The real service: region, endpoint, CA bundle and proxy from the options.
fn remote_builder(global: &Global) -> Result<tencentcloud_cbs::ClientBuilder, Failure> {
    let mut builder = common_builder(global);
    let region = global.region.clone().or_else(|| {
        std::env::var("TENCENTCLOUD_REGION")
            .ok()
            .filter(|r| !r.is_empty())
    });
    if let Some(region) = region {
        builder = builder.region(region);
    }
    if let Some(endpoint) = &global.endpoint {
        builder = builder.endpoint(endpoint.clone());
    }
    let site = match (
        global.site,
        std::env::var("TENCENTCLOUD_SITE").ok().as_deref(),
    ) {
        (Some(site), _) => site,
        (None, None | Some("" | "china")) => Site::China,
        (None, Some("intl")) => Site::Intl,
        (None, Some(other)) => {
            return Err(Failure::Usage(format!(
                "TENCENTCLOUD_SITE is `{}`: china or intl",
                crate::table::terminal_safe(other)
            )));
        }
    };
    if site == Site::Intl {
        builder = builder.root_domain(tencentcloud_cbs::INTERNATIONAL_ROOT_DOMAIN);
    }
    if let Some(path) = &global.ca_bundle {
        let pem = std::fs::read(path).map_err(|e| {
            Failure::Usage(format!("--ca-bundle: cannot read {}: {e}", path.display()))
        })?;
        builder = builder.add_root_certificate(pem);
    }
    if let Some(proxy) = &global.https_proxy {
        let environment =
            tencentcloud_cbs::ProxyConfig::from_lookup(|name| std::env::var(name).ok());
        builder = builder.proxy(environment.https(proxy.clone()));
    }
    Ok(builder)
}

fn finish(builder: tencentcloud_cbs::ClientBuilder, global: &Global) -> Result<Client, Failure> {
    let builder = match global.request_timeout {
        Some(timeout) => builder.request_timeout(timeout),
        None => builder,
    };
    builder.build().map_err(|e| Failure::Usage(e.to_string()))
}

/// Starts the embedded emulator: the demo data, and the recovery account
/// (`DEMO_RECOVERY_ACCOUNT`) beside the default one.
#[cfg(feature = "local")]
async fn local(global: &Global) -> Result<EmulatorHandle, Failure> {
    let mut emulator_builder = cbs_emulator::Emulator::builder()
        .seed_demo(true)
        .account_credential(
            cbs_emulator::DEMO_RECOVERY_ACCOUNT,
            cbs_emulator::DEMO_RECOVERY_SECRET_ID,
            cbs_emulator::DEMO_RECOVERY_SECRET_KEY,
        )
        .copy_duration(global.local_copy_duration)
        .restore_duration(global.local_restore_duration);
    if let Some(path) = &global.local_state {
        emulator_builder = emulator_builder.state_file(path);
    }
    if let Some(path) = &global.local_faults {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Failure::Usage(format!("{}: {e}", path.display())))?;
        for fault in cbs_emulator::parse_fault_file(&text).map_err(Failure::Usage)? {
            emulator_builder = emulator_builder.fault(fault);
        }
    }
    let handle = emulator_builder
        .start()
        .await
        .map_err(|e| Failure::Other(format!("cannot start the local emulator: {e}")))?;
    if global.output.unwrap_or(Output::Table) != Output::Json {
        eprintln!(
            "using a local emulator at {} (demo data, no account)",
            handle.endpoint()
        );
    }
    Ok(handle)
}

/// A client builder pointed at the embedded emulator, before its credentials.
#[cfg(feature = "local")]
fn local_builder(global: &Global, handle: &EmulatorHandle) -> ClientBuilder {
    common_builder(global).endpoint(handle.endpoint()).region(
        global
            .region
            .clone()
            .unwrap_or_else(|| LOCAL_REGION.to_owned()),
    )
}
