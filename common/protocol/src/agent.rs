//! The closed list of agent types and the identities of running instances.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The six agents of Mneme. Adding one means adding a variant here and deciding at every `match` that stops
/// compiling (ARCHITECTURE.md lists the steps).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentType {
    MemoryHarvester,
    PatternAnalyzer,
    RelationshipMapper,
    AvatarTrainer,
    PrivacyGuardian,
    InsightGenerator,
}

impl AgentType {
    pub const ALL: [AgentType; 6] = [
        AgentType::MemoryHarvester,
        AgentType::PatternAnalyzer,
        AgentType::RelationshipMapper,
        AgentType::AvatarTrainer,
        AgentType::PrivacyGuardian,
        AgentType::InsightGenerator,
    ];

    /// The seed's id, used in subjects, queue groups and service names.
    pub const fn as_str(self) -> &'static str {
        match self {
            AgentType::MemoryHarvester => "memory_harvester",
            AgentType::PatternAnalyzer => "pattern_analyzer",
            AgentType::RelationshipMapper => "relationship_mapper",
            AgentType::AvatarTrainer => "avatar_trainer",
            AgentType::PrivacyGuardian => "privacy_guardian",
            AgentType::InsightGenerator => "insight_generator",
        }
    }

    /// Name of the agent's executable: `mneme-` and the type with dashes.
    pub fn binary_name(self) -> String {
        format!("mneme-{}", self.as_str().replace('_', "-"))
    }
}

impl fmt::Display for AgentType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not an agent type; expected one of: memory_harvester, pattern_analyzer, relationship_mapper, avatar_trainer, privacy_guardian, insight_generator"
)]
pub struct ParseAgentTypeError(pub String);

impl FromStr for AgentType {
    type Err = ParseAgentTypeError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        AgentType::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
            .ok_or_else(|| ParseAgentTypeError(text.to_owned()))
    }
}

/// What a Mneme process is: one of the agents, or the orchestrator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ComponentKind {
    Agent(AgentType),
    Orchestrator,
}

impl ComponentKind {
    pub const ORCHESTRATOR_NAME: &'static str = "orchestrator";

    /// The NATS service name and queue group of every instance of this kind.
    pub const fn as_str(self) -> &'static str {
        match self {
            ComponentKind::Agent(kind) => kind.as_str(),
            ComponentKind::Orchestrator => Self::ORCHESTRATOR_NAME,
        }
    }

    pub fn agent_type(self) -> Option<AgentType> {
        match self {
            ComponentKind::Agent(kind) => Some(kind),
            ComponentKind::Orchestrator => None,
        }
    }
}

impl fmt::Display for ComponentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ComponentKind {
    type Err = ParseAgentTypeError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text == Self::ORCHESTRATOR_NAME {
            return Ok(ComponentKind::Orchestrator);
        }
        text.parse().map(ComponentKind::Agent)
    }
}

/// One running instance: `<kind>_<8 hex chars>`, as the seed's dynamic spawning names agents. It is the
/// `sender_id` of the instance's replies and the token of its direct subjects.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ComponentId(String);

impl ComponentId {
    /// A fresh random id for a new instance of `kind`.
    pub fn generate(kind: ComponentKind) -> Self {
        ComponentId(format!("{}_{:08x}", kind.as_str(), rand::random::<u32>()))
    }

    /// Reads an id back, checking its shape so that it can be put into a subject safely.
    pub fn parse(text: &str) -> Option<Self> {
        let (kind, suffix) = text.rsplit_once('_')?;
        let kind_ok = kind.parse::<ComponentKind>().is_ok();
        let suffix_ok = suffix.len() == 8 && suffix.bytes().all(|byte| byte.is_ascii_hexdigit());
        (kind_ok && suffix_ok).then(|| ComponentId(text.to_owned()))
    }

    pub fn kind(&self) -> ComponentKind {
        let (kind, _) = self.0.rsplit_once('_').expect("a ComponentId is validated on creation");
        kind.parse().expect("a ComponentId is validated on creation")
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ComponentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_types_round_trip_through_their_seed_ids() {
        for kind in AgentType::ALL {
            assert_eq!(kind.as_str().parse::<AgentType>(), Ok(kind));
            assert_eq!(serde_json::to_string(&kind).unwrap(), format!("\"{}\"", kind.as_str()));
        }
        assert!("harvester".parse::<AgentType>().is_err());
    }

    #[test]
    fn binary_names_use_dashes() {
        assert_eq!(AgentType::MemoryHarvester.binary_name(), "mneme-memory-harvester");
    }

    #[test]
    fn generated_ids_have_the_seed_shape_and_parse_back() {
        let id = ComponentId::generate(ComponentKind::Agent(AgentType::PrivacyGuardian));
        let (prefix, suffix) = id.as_str().rsplit_once('_').unwrap();
        assert_eq!(prefix, "privacy_guardian");
        assert_eq!(suffix.len(), 8);
        assert_eq!(ComponentId::parse(id.as_str()), Some(id.clone()));
        assert_eq!(id.kind(), ComponentKind::Agent(AgentType::PrivacyGuardian));
        let orchestrator = ComponentId::generate(ComponentKind::Orchestrator);
        assert_eq!(orchestrator.kind(), ComponentKind::Orchestrator);
    }

    #[test]
    fn ids_that_could_escape_a_subject_are_rejected() {
        for bad in
            ["memory_harvester_1234567", "memory_harvester_1234567g", "x_12345678", "memory_harvester_12.4*678", ""]
        {
            assert_eq!(ComponentId::parse(bad), None, "{bad}");
        }
    }
}
