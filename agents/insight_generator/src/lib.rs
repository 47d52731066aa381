//! Mneme's insight generator: recall over a person's memories ([`recall`]), served over NATS by [`run`].

pub mod recall;
