//! How every Mneme process starts: its command line, its settings, its telemetry.

use std::path::PathBuf;

use clap::{CommandFactory, FromArgMatches, Parser};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::settings::{RuntimeSettings, SettingsError, Validate};
use crate::telemetry::{self, Telemetry, TelemetryError};

/// The command line every agent and the orchestrator take.
#[derive(Debug, Parser)]
#[command(version)]
pub struct ProcessArguments {
    /// Settings file (TOML); `MNEME__...` environment variables override it.
    #[arg(long, env = "MNEME_CONFIG")]
    pub config: Option<PathBuf>,
}

/// A binary's settings: its own sections around the runtime's.
pub trait ProcessSettings: Default + Serialize + DeserializeOwned + Validate {
    fn runtime(&self) -> &RuntimeSettings;
}

impl ProcessSettings for RuntimeSettings {
    fn runtime(&self) -> &RuntimeSettings {
        self
    }
}

/// Declares a process's settings: the runtime's sections (flattened, so `[nats]`, `[service]`, ... stay at the
/// top level) plus the process's own, each a `[section]` of the file and `MNEME__<SECTION>__...` of the
/// environment. The process still implements [`Validate`](crate::settings::Validate) for its own checks.
///
/// ```ignore
/// mneme_runtime::process_settings!(Settings { harvester: HarvesterSettings });
/// ```
#[macro_export]
macro_rules! process_settings {
    ($name:ident { $($section:ident : $kind:ty),+ $(,)? }) => {
        /// This process's settings: the runtime's sections, and its own.
        #[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
        #[serde(default)]
        pub struct $name {
            #[serde(flatten)]
            pub runtime: $crate::RuntimeSettings,
            $(pub $section: $kind,)+
        }

        impl $crate::process::ProcessSettings for $name {
            fn runtime(&self) -> &$crate::RuntimeSettings {
                &self.runtime
            }
        }
    };
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error(transparent)]
    Telemetry(#[from] TelemetryError),
}

/// Reads the command line of `binary` (exiting on `--help` or a bad argument, as command lines do), loads the
/// settings and installs telemetry. Keep the returned [`Telemetry`] alive for the life of the process.
pub fn start<S: ProcessSettings>(binary: &'static str, about: &'static str) -> Result<(S, Telemetry), StartError> {
    without_transparent_huge_pages();
    let matches = ProcessArguments::command().name(binary).about(about).get_matches();
    let arguments = ProcessArguments::from_arg_matches(&matches).unwrap_or_else(|error| error.exit());
    let settings: S = crate::settings::load(arguments.config.as_deref())?;
    let telemetry = telemetry::init(binary, &settings.runtime().telemetry)?;
    Ok((settings, telemetry))
}

/// Turns transparent huge pages off for this process. Mneme's heaps are small and spread over threads, and
/// the allocator asks for huge pages for its arena: each thread's first touch of a fresh region of it then
/// took 2 MiB. Without them an agent idles in 10 to 15 MiB less (BENCHMARKS.md, footprint). Where the kernel
/// has no such switch, nothing changes.
fn without_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    let _ = nix::sys::prctl::set_thp_disable(true);
}
