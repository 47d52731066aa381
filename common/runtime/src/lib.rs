//! What every Mneme process does the same way: settings, telemetry, connecting, serving as a NATS service,
//! calling other components, publishing events, and stopping in order.

pub mod access;
pub mod adaptation;
pub mod admission;
pub mod agent;
pub mod batch;
pub mod call;
pub mod connection;
pub(crate) mod contention;
pub mod copies;
pub mod events;
pub mod http;
pub mod kv;
pub mod ledger;
pub mod metrics;
pub mod pool;
pub mod process;
pub mod requester;
pub mod sealing;
pub mod sentiment;
pub mod service;
pub mod settings;
pub mod shutdown;
pub mod telemetry;
pub mod trace_context;

pub use agent::{Agent, Context, Event, EventDelivery, EventSubscription, HandlerError, Reply, Request};
pub use call::{CallError, CallOptions, Caller, Target};
pub use service::{ServeError, run, serve};
pub use settings::RuntimeSettings;
pub use shutdown::shutdown_signal;

/// Re-exported so that agents use the same client version as the runtime.
pub use async_nats;
