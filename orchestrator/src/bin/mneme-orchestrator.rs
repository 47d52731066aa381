//! The `mneme-orchestrator` process.

use clap::Parser;

/// glibc's allocator showed up in profiles of the request path; mimalloc costs a fraction of it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Mneme's orchestrator.
#[derive(Parser)]
#[command(version)]
struct Arguments {
    /// Settings file (TOML); `MNEME__...` environment variables override it.
    #[arg(long, env = "MNEME_CONFIG")]
    config: Option<std::path::PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let arguments = Arguments::parse();
    let settings: mneme_orchestrator::Settings = mneme_runtime::settings::load(arguments.config.as_deref())?;
    let _telemetry = mneme_runtime::telemetry::init("mneme-orchestrator", &settings.runtime.telemetry)?;
    mneme_orchestrator::service::run(settings, mneme_runtime::shutdown_signal()).await?;
    Ok(())
}
