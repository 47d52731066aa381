//! The `mneme` command.

use clap::Parser;

/// glibc's allocator showed up in profiles of the request path; mimalloc costs a fraction of it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    mneme_orchestrator::cli::main(mneme_orchestrator::cli::Cli::parse()).await
}
