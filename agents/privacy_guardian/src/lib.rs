//! Mneme's privacy guardian: finds personal information in text and redacts it. The logic is plain Rust
//! ([`pii`], [`redact`]); [`run`] serves it over NATS.

pub mod pii;
