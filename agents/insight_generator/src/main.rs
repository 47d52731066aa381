//! The `mneme-insight-generator` process.

/// glibc's allocator showed up in profiles of the request path; mimalloc costs a fraction of it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let (settings, _telemetry) = mneme_runtime::process::start::<mneme_insight_generator::Settings>(
        "mneme-insight-generator",
        "Mneme's insight generator agent.",
    )?;
    mneme_insight_generator::run(settings, mneme_runtime::shutdown_signal()).await?;
    Ok(())
}
