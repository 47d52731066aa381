//! Mneme's orchestrator: finds agents through `$SRV`, calls them by request-reply, broadcasts events to
//! them, reports on them and watches their health; works the durable ingest pipeline and runs declared pipelines;
//! serves that as a process of its own; and
//! runs a whole system on one machine for `mneme up`.

pub mod analytics;
pub mod autoscale;
pub mod balancing;
pub mod cli;
pub mod collaboration;
pub mod discovery;
pub mod health;
pub mod ingest;
pub mod local_nats;
pub mod orchestrator;
pub mod pipelines;
pub mod pull;
pub mod readings;
pub mod security;
pub mod service;
pub mod settings;
pub mod supervisor;

pub use orchestrator::Orchestrator;
pub use settings::Settings;
