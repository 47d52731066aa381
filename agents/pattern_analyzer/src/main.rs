//! The `mneme-pattern-analyzer` process.

/// glibc's allocator showed up in profiles of the request path; mimalloc costs a fraction of it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let (settings, _telemetry) = mneme_runtime::process::start::<mneme_pattern_analyzer::Settings>(
        "mneme-pattern-analyzer",
        "Mneme's pattern analyzer agent.",
    )?;
    mneme_pattern_analyzer::run(settings, mneme_runtime::shutdown_signal()).await?;
    Ok(())
}
