//! The client a command uses: the real service, or the embedded emulator.

#[cfg(feature = "local")]
use cbs_emulator::EmulatorHandle;
#[cfg(feature = "local")]
use tencentcloud_cbs::ClientBuilder;
use tencentcloud_cbs::{Client, Language, ProfileProvider};

use crate::cli::{Global, LanguageArg, Output};
use crate::failure::Failure;

/// The region `--local` uses unless told otherwise.
#[cfg(feature = "local")]
const LOCAL_REGION: &str = "ap-guangzhou";

pub struct Context {
    pub client: Client,
    pub output: Output,
    /// Keeps the local emulator running for the command's lifetime.
    #[cfg(feature = "local")]
    _emulator: Option<EmulatorHandle>,
}

impl Context {
    pub async fn build(global: &Global) -> Result<Context, Failure> {
        let mut builder = Client::builder().request_client("tccbs");
        if let Some(language) = global.language {
            builder = builder.language(match language {
                LanguageArg::ZhCn => Language::ZhCn,
                LanguageArg::EnUs => Language::EnUs,
            });
        }
        #[cfg(feature = "local")]
        let mut emulator = None;
        if global.local {
            #[cfg(feature = "local")]
            {
                let (local, handle) = local(builder, global).await?;
                builder = local;
                emulator = Some(handle);
            }
            #[cfg(not(feature = "local"))]
            return Err(Failure::Usage(
                "this tccbs was built without the `local` feature, so --local is not available"
                    .into(),
            ));
        } else {
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
            // Without --profile, the default chain: environment, profile file, CVM role, TKE OIDC.
            if let Some(profile) = &global.profile {
                builder = builder
                    .credentials_provider(ProfileProvider::from_env().profile(profile.clone()));
            }
        }
        let client = builder.build().map_err(|e| Failure::Usage(e.to_string()))?;
        Ok(Context {
            client,
            output: global.output,
            #[cfg(feature = "local")]
            _emulator: emulator,
        })
    }

    pub fn region(&self) -> Option<&str> {
        self.client.region()
    }
}

/// Starts the embedded emulator and points `builder` at it.
#[cfg(feature = "local")]
async fn local(
    mut builder: ClientBuilder,
    global: &Global,
) -> Result<(ClientBuilder, EmulatorHandle), Failure> {
    let mut emulator_builder = cbs_emulator::Emulator::builder()
        .seed_demo(true)
        .copy_duration(global.local_copy_duration);
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
    if global.output == Output::Table {
        eprintln!(
            "using a local emulator at {} (demo data, no account)",
            handle.endpoint()
        );
    }
    builder = builder
        .endpoint(handle.endpoint())
        .credentials(tencentcloud_cbs::Credentials::new(
            cbs_emulator::DEMO_SECRET_ID,
            cbs_emulator::DEMO_SECRET_KEY,
        ))
        .region(
            global
                .region
                .clone()
                .unwrap_or_else(|| LOCAL_REGION.to_owned()),
        );
    Ok((builder, handle))
}
