//! Settings of the orchestrator process and of the `mneme` command: the runtime's sections plus
//! `[orchestrator]`, `[supervisor]`, `[ingest]`, `[health]`, `[analytics]`, `[autoscale]`, `[pipelines.<name>]` and `[pipeline_runs]`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use mneme_protocol::AgentType;
use mneme_protocol::pipelines::PipelineDefinition;
use mneme_runtime::settings::Validate;

use crate::discovery::DiscoveryWindow;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OrchestratorSettings {
    /// Longest wait for `$SRV.INFO` answers.
    pub discovery_max_wait_ms: u64,
    /// Discovery ends this long after the last answer.
    pub discovery_quiet_ms: u64,
}

impl Default for OrchestratorSettings {
    fn default() -> Self {
        OrchestratorSettings { discovery_max_wait_ms: 1_000, discovery_quiet_ms: 150 }
    }
}

impl OrchestratorSettings {
    pub fn discovery_window(&self) -> DiscoveryWindow {
        DiscoveryWindow {
            max_wait: Duration::from_millis(self.discovery_max_wait_ms),
            quiet: Duration::from_millis(self.discovery_quiet_ms),
        }
    }
}

/// How `mneme up` runs the system on one machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SupervisorSettings {
    /// Where the local NATS server keeps its JetStream store; `$XDG_DATA_HOME/mneme` (or
    /// `~/.local/share/mneme`) when empty.
    pub data_dir: Option<PathBuf>,
    /// The `nats-server` executable started when no NATS server is configured or running.
    pub nats_server_binary: PathBuf,
    /// Client port of that local server.
    pub local_nats_port: u16,
    /// Agent types to start; every agent whose executable is installed when empty.
    pub agents: Vec<AgentType>,
    /// Instances of each agent type.
    pub replicas: usize,
    /// First pause before restarting a process that died; doubles with each quick death.
    pub restart_initial_backoff_ms: u64,
    pub restart_max_backoff_ms: u64,
    /// A process that ran this long before dying is restarted after the first pause again.
    pub restart_stable_after_secs: u64,
    /// On stop, how long each process may take to finish its work before it is killed.
    pub stop_grace_ms: u64,
    /// A process that dies more than `max_restarts` times within `restart_window_secs` is not restarted
    /// again, and `restarts_exhausted` is announced.
    pub max_restarts: usize,
    pub restart_window_secs: u64,
    /// The most replicas of one agent type `mneme scale` starts.
    pub max_replicas: usize,
    /// The privacy guardian's master key, in hex; `<data_dir>/master.key` when empty. It is made (readable
    /// by its owner only) when missing, and handed to the agents, unless `MNEME__GUARDIAN__MASTER_KEY_FILE`
    /// or `MNEME__GUARDIAN__MASTER_KEY` is set.
    pub master_key_file: Option<PathBuf>,
}

impl Default for SupervisorSettings {
    fn default() -> Self {
        SupervisorSettings {
            data_dir: None,
            nats_server_binary: PathBuf::from("nats-server"),
            local_nats_port: 4222,
            agents: Vec::new(),
            replicas: 1,
            restart_initial_backoff_ms: 250,
            restart_max_backoff_ms: 10_000,
            restart_stable_after_secs: 10,
            stop_grace_ms: 25_000,
            max_restarts: 5,
            restart_window_secs: 60,
            max_replicas: 16,
            master_key_file: None,
        }
    }
}

impl SupervisorSettings {
    pub fn data_dir(&self) -> PathBuf {
        if let Some(dir) = &self.data_dir {
            return dir.clone();
        }
        let base = std::env::var_os("XDG_DATA_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".local/share")))
            .unwrap_or_else(|| PathBuf::from("."));
        base.join("mneme")
    }

    pub fn master_key_file(&self) -> PathBuf {
        self.master_key_file.clone().unwrap_or_else(|| self.data_dir().join("master.key"))
    }
}

mneme_runtime::process_settings!(Settings {
    orchestrator: OrchestratorSettings,
    supervisor: SupervisorSettings,
    ingest: crate::ingest::IngestSettings,
    health: crate::health::HealthSettings,
    pipelines: DeclaredPipelines,
    pipeline_runs: crate::pipelines::PipelineRunSettings,
    analytics: crate::analytics::AnalyticsSettings,
    autoscale: crate::autoscale::AutoscaleSettings,
});

/// The pipelines `run_pipeline` can start, by name: the defaults (`remember`) and those declared under
/// `[pipelines.<name>]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DeclaredPipelines(pub BTreeMap<String, PipelineDefinition>);

impl Default for DeclaredPipelines {
    fn default() -> Self {
        DeclaredPipelines(crate::pipelines::default_pipelines())
    }
}

impl Validate for Settings {
    fn problems(&self) -> Vec<String> {
        let mut problems = self.runtime.problems();
        if self.supervisor.replicas == 0 {
            problems.push("supervisor.replicas must be at least 1".to_owned());
        }
        if self.supervisor.replicas > self.supervisor.max_replicas {
            problems.push("supervisor.replicas exceeds supervisor.max_replicas".to_owned());
        }
        if self.supervisor.restart_initial_backoff_ms > self.supervisor.restart_max_backoff_ms {
            problems.push("supervisor.restart_initial_backoff_ms exceeds supervisor.restart_max_backoff_ms".to_owned());
        }
        if self.orchestrator.discovery_quiet_ms > self.orchestrator.discovery_max_wait_ms {
            problems.push("orchestrator.discovery_quiet_ms exceeds orchestrator.discovery_max_wait_ms".to_owned());
        }
        problems.extend(self.ingest.problems());
        problems.extend(self.health.problems());
        problems.extend(self.pipeline_runs.problems());
        problems.extend(self.analytics.problems());
        problems.extend(self.autoscale.problems(self.supervisor.max_replicas));
        for (name, definition) in &self.pipelines.0 {
            problems.extend(definition.problems(name));
        }
        problems
    }

    fn list_keys() -> &'static [&'static str] {
        &["ingest.retry_backoff_ms", "supervisor.agents"]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_come_from_the_environment_split_by_commas() {
        let environment = [
            ("MNEME__INGEST__RETRY_BACKOFF_MS".to_owned(), "200,500,1000".to_owned()),
            ("MNEME__SUPERVISOR__AGENTS".to_owned(), "memory_harvester,privacy_guardian".to_owned()),
            ("MNEME__TELEMETRY__LOG_FILTER".to_owned(), "info,async_nats=warn".to_owned()),
        ];
        let settings: Settings = mneme_runtime::settings::load_from(None, environment).unwrap();
        assert_eq!(settings.ingest.retry_backoff_ms, [200, 500, 1000]);
        assert_eq!(settings.supervisor.agents, [AgentType::MemoryHarvester, AgentType::PrivacyGuardian]);
        assert_eq!(settings.runtime.telemetry.log_filter, "info,async_nats=warn");
        let one = [("MNEME__INGEST__RETRY_BACKOFF_MS".to_owned(), "500".to_owned())];
        let settings: Settings = mneme_runtime::settings::load_from(None, one).unwrap();
        assert_eq!(settings.ingest.retry_backoff_ms, [500]);
    }

    #[test]
    fn pipelines_declared_in_a_file_join_the_defaults_and_are_checked() {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(
            file.path(),
            r#"
[pipelines.check_note]
description = "Quality, then personal information"
deadline_ms = 5000

[[pipelines.check_note.stages]]
agent = "memory_harvester"
message = "validate_quality"
strategy = "least_loaded"
retry = { maximum_attempts = 5, initial_interval_ms = 100, non_retryable = ["forbidden"] }

[[pipelines.check_note.stages]]
agent = "privacy_guardian"
message = "detect_pii"
input = { text = "/input/text" }
timeout_ms = 2000
"#,
        )
        .unwrap();
        let settings: Settings = mneme_runtime::settings::load_from(Some(file.path()), []).unwrap();
        assert!(settings.pipelines.0.contains_key("remember"));
        let declared = &settings.pipelines.0["check_note"];
        assert_eq!(declared.stages.len(), 2);
        assert_eq!(declared.stages[0].strategy, crate::balancing::Strategy::LeastLoaded);
        assert_eq!(declared.stages[0].retry.maximum_attempts, 5);
        assert_eq!(declared.stages[0].retry.backoff_coefficient, 2.0);
        assert_eq!(declared.stages[1].input["text"], "/input/text");
        assert_eq!(declared.stages[1].timeout_ms, 2000);

        std::fs::write(
            file.path(),
            "[[pipelines.broken.stages]]\nagent = \"memory_harvester\"\nmessage = \"x\"\ninput = { a = \"/steps/later\" }\n",
        )
        .unwrap();
        let error = mneme_runtime::settings::load_from::<Settings>(Some(file.path()), []).unwrap_err();
        assert!(error.to_string().contains("no earlier stage is named `later`"), "{error}");
    }

    #[test]
    fn a_pipeline_step_may_choose_its_instances_by_a_strategy() {
        let environment = [("MNEME__INGEST__BALANCING__MEMORY_HARVESTER".to_owned(), "least_loaded".to_owned())];
        let settings: Settings = mneme_runtime::settings::load_from(None, environment).unwrap();
        assert_eq!(
            settings.ingest.balancing.get(&AgentType::MemoryHarvester),
            Some(&crate::balancing::Strategy::LeastLoaded)
        );
        let wrong = [("MNEME__INGEST__BALANCING__MEMORY_HARVESTER".to_owned(), "fastest".to_owned())];
        assert!(mneme_runtime::settings::load_from::<Settings>(None, wrong).is_err());
    }
}
