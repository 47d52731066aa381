//! The `mneme-avatar-trainer` process.

/// glibc's allocator showed up in profiles of the request path; mimalloc costs a fraction of it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let (settings, _telemetry) = mneme_runtime::process::start::<mneme_avatar_trainer::Settings>(
        "mneme-avatar-trainer",
        "Mneme's avatar trainer agent.",
    )?;
    mneme_avatar_trainer::run(settings, mneme_runtime::shutdown_signal()).await?;
    Ok(())
}
