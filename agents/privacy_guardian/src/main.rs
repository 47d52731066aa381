//! The `mneme-privacy-guardian` process.

/// glibc's allocator showed up in profiles of the request path; mimalloc costs a fraction of it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let (settings, _telemetry) = mneme_runtime::process::start::<mneme_privacy_guardian::Settings>(
        "mneme-privacy-guardian",
        "Mneme's privacy guardian agent.",
    )?;
    mneme_privacy_guardian::run(settings, mneme_runtime::shutdown_signal()).await?;
    Ok(())
}
