//! The system tests, in one test binary so that the workspace is linked once for all of them: real Mneme
//! processes over a real nats-server, each module a capability.

mod analytics;
mod architecture;
mod avatar;
mod broadcast;
mod collaboration;
mod demo;
mod deploy;
mod guardian;
mod harvester;
mod health;
mod ingest;
mod kubernetes;
mod malformed;
mod mneme_up;
mod pattern_analyzer;
mod pipelines;
mod python_client;
mod recall;
mod reliability;
mod runtime;
mod scaling_and_shutdown;
mod security;
mod soak;
mod tracing_export;
