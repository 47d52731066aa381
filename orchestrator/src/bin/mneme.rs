//! The `mneme` command.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    mneme_orchestrator::cli::main(mneme_orchestrator::cli::Cli::parse()).await
}
