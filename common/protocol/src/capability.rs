//! What an agent advertises it can do: the seed's `AgentCapability`.

use serde::{Deserialize, Serialize};

/// One message type an agent handles. `name` is the message type a client sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentCapability {
    pub name: String,
    pub description: String,
    pub input_types: Vec<String>,
    pub output_types: Vec<String>,
    /// Agent types whose work this capability builds on, as the seed declares them.
    #[serde(default)]
    pub dependencies: Vec<String>,
}

impl AgentCapability {
    pub fn new(name: &str, description: &str, input_types: &[&str], output_types: &[&str]) -> Self {
        AgentCapability {
            name: name.to_owned(),
            description: description.to_owned(),
            input_types: input_types.iter().map(|kind| (*kind).to_owned()).collect(),
            output_types: output_types.iter().map(|kind| (*kind).to_owned()).collect(),
            dependencies: Vec::new(),
        }
    }

    pub fn with_dependencies(mut self, dependencies: &[&str]) -> Self {
        self.dependencies = dependencies.iter().map(|kind| (*kind).to_owned()).collect();
        self
    }
}
