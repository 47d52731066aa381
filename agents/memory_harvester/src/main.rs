//! The `mneme-memory-harvester` process.

/// glibc's allocator showed up in profiles of the request path; mimalloc costs a fraction of it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let (settings, _telemetry) = mneme_runtime::process::start::<mneme_memory_harvester::Settings>(
        "mneme-memory-harvester",
        "Mneme's memory harvester agent.",
    )?;
    mneme_memory_harvester::run(settings, mneme_runtime::shutdown_signal()).await?;
    Ok(())
}
