//! The `mneme-relationship-mapper` process.

/// glibc's allocator showed up in profiles of the request path; mimalloc costs a fraction of it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let (settings, _telemetry) = mneme_runtime::process::start::<mneme_relationship_mapper::Settings>(
        "mneme-relationship-mapper",
        "Mneme's relationship mapper agent.",
    )?;
    mneme_relationship_mapper::run(settings, mneme_runtime::shutdown_signal()).await?;
    Ok(())
}
