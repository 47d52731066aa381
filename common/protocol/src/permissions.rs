//! Who may do what on a secured NATS server: one user per agent type and for the orchestrator, each allowed
//! exactly the subjects it needs, an operators' user, and people in an account of their own whose requests
//! reach the agents through a service import that tells the agents who sent them. The orchestrator's
//! `mneme nats-config` renders it as a server configuration.

use crate::subjects::{self, jetstream as names};
use crate::{AgentType, ComponentKind, guardian, harvester, orchestrator, patterns, relationships};

/// The account of Mneme's own processes: agents, orchestrator, operators. JetStream lives here.
pub const SYSTEM_ACCOUNT: &str = "MNEME";
/// The account of the people and programs that use Mneme; their requests cross into [`SYSTEM_ACCOUNT`]
/// through service imports that share the requester's user name.
pub const CLIENT_ACCOUNT: &str = "CLIENTS";
/// The operators' user in [`SYSTEM_ACCOUNT`]: the `mneme` command line, dashboards.
pub const ADMIN_USER: &str = "admin";

/// The prefix of a user's reply subjects; each user may subscribe to its own only.
pub fn inbox_prefix(user: &str) -> String {
    format!("_INBOX_{user}")
}

/// The NATS user a kind of process connects as: its type's name.
pub fn user_of(kind: ComponentKind) -> &'static str {
    kind.as_str()
}

/// What one user may publish and subscribe to. Replies to requests it received are allowed besides
/// (`allow_responses`), so that no user needs to publish on others' inboxes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permissions {
    pub publish: Vec<String>,
    /// Subjects refused even where `publish` allows them.
    pub deny_publish: Vec<String>,
    pub subscribe: Vec<String>,
}

/// What an agent type touches besides its own subjects.
struct Reach {
    /// Agent types it sends requests to.
    calls: &'static [AgentType],
    /// Event types it publishes.
    events: &'static [&'static str],
    /// JetStream key-value buckets it keeps.
    buckets: &'static [&'static str],
    /// JetStream object stores it keeps.
    object_stores: &'static [&'static str],
    /// Streams it keeps, with the subjects it publishes into them.
    streams: &'static [(&'static str, &'static str)],
}

fn reach(agent: AgentType) -> Reach {
    use AgentType::*;
    match agent {
        MemoryHarvester => Reach {
            calls: &[],
            events: &[harvester::event_types::MEMORY_PROCESSED],
            buckets: &["mneme_harvester_dedup"],
            object_stores: &[],
            streams: &[],
        },
        PatternAnalyzer => Reach {
            calls: &[PrivacyGuardian],
            events: &[patterns::event_types::PATTERNS_UPDATED],
            buckets: &["mneme_patterns"],
            object_stores: &[],
            streams: &[],
        },
        RelationshipMapper => Reach {
            calls: &[PrivacyGuardian, PatternAnalyzer],
            events: &[relationships::event_types::RELATIONSHIPS_UPDATED],
            buckets: &["mneme_relationships", "mneme_identities"],
            object_stores: &[],
            streams: &[],
        },
        AvatarTrainer => Reach {
            calls: &[PrivacyGuardian, PatternAnalyzer, InsightGenerator],
            events: &[],
            buckets: &["mneme_avatar"],
            object_stores: &["mneme_avatar_models"],
            streams: &[],
        },
        PrivacyGuardian => Reach {
            calls: &[],
            events: &[guardian::event_types::MEMORY_STORED, guardian::event_types::MEMORY_FORGOTTEN],
            buckets: &[names::MEMORY_BUCKET, names::KEY_BUCKET, names::GRANT_BUCKET, names::PEOPLE_BUCKET],
            object_stores: &[],
            streams: &[(names::AUDIT_STREAM, subjects::AUDIT_WILDCARD)],
        },
        InsightGenerator => Reach {
            calls: &[PrivacyGuardian, PatternAnalyzer, RelationshipMapper, AvatarTrainer],
            events: &[],
            buckets: &["mneme_recall", "mneme_insight_ratings"],
            object_stores: &[],
            streams: &[],
        },
    }
}

/// The JetStream API subjects that manage and read one stream and its consumers, and acknowledge its
/// messages: `$JS.API.STREAM.INFO.<stream>`, `$JS.API.CONSUMER.CREATE.<stream>.<consumer>.<filter>`, ...
fn stream_api(stream: &str) -> [String; 5] {
    [
        format!("$JS.API.*.*.{stream}"),
        format!("$JS.API.*.*.{stream}.>"),
        format!("$JS.API.*.*.*.{stream}.>"),
        format!("$JS.ACK.{stream}.>"),
        format!("$JS.FC.{stream}.>"),
    ]
}

/// Discovery (ADR-32) as a service of `name`: every instance answers `$SRV.<verb>`, `$SRV.<verb>.<name>`
/// and `$SRV.<verb>.<name>.<id>`.
fn discovery_subscriptions(name: &str) -> [String; 3] {
    ["$SRV.*".to_owned(), format!("$SRV.*.{name}"), format!("$SRV.*.{name}.*")]
}

/// The least an instance of `kind` needs.
pub fn permissions(kind: ComponentKind) -> Permissions {
    let user = user_of(kind);
    let inbox = format!("{}.>", inbox_prefix(user));
    let mut publish = vec!["$JS.API.INFO".to_owned()];
    let mut subscribe = vec![inbox];
    subscribe.extend(discovery_subscriptions(kind.as_str()));
    match kind {
        ComponentKind::Agent(agent) => {
            let reach = reach(agent);
            subscribe.push(subjects::request_wildcard(kind));
            subscribe.push(subjects::instances_of(kind));
            // Events for everyone, and those sent to this type only.
            subscribe.push(subjects::event("*"));
            subscribe.push(subjects::event_for("*", agent));
            // Its own instances: readiness is a round trip through the instance's own endpoint.
            publish.push(subjects::instances_of(kind));
            for callee in reach.calls {
                let callee = ComponentKind::Agent(*callee);
                publish.push(subjects::request_wildcard(callee));
                publish.push(subjects::instances_of(callee));
                publish.push(format!("$SRV.*.{}", callee.as_str()));
            }
            for event in reach.events {
                publish.push(subjects::event(event));
                publish.push(format!("{}.*", subjects::event(event)));
            }
            for bucket in reach.buckets {
                publish.extend(stream_api(&format!("KV_{bucket}")));
                publish.push(format!("$KV.{bucket}.>"));
            }
            for store in reach.object_stores {
                publish.extend(stream_api(&format!("OBJ_{store}")));
                publish.push(format!("$O.{store}.>"));
            }
            for (stream, stream_subjects) in reach.streams {
                publish.extend(stream_api(stream));
                publish.push((*stream_subjects).to_owned());
            }
        }
        ComponentKind::Orchestrator => {
            // The coordinator: it calls every agent, keeps the ingest queue, pipeline runs, health and
            // metrics in JetStream, and reports on ingested inputs to the operators' inbox.
            subscribe.push(subjects::request_wildcard(kind));
            subscribe.push(subjects::instances_of(kind));
            subscribe.push(format!("{}.event.>", subjects::ROOT));
            // Inputs whose deliveries ran out go to the dead letters from this advisory.
            subscribe.push("$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.>".to_owned());
            publish.extend(
                [
                    "mneme.agent.>",
                    "mneme.instance.>",
                    "mneme.orchestrator.>",
                    "mneme.event.>",
                    "mneme.metrics.>",
                    "mneme.pipeline.>",
                    "mneme.dead.>",
                    "$SRV.>",
                    "$JS.API.>",
                    "$JS.ACK.>",
                    "$JS.FC.>",
                    "$KV.>",
                ]
                .map(str::to_owned),
            );
            publish.push(format!("{}.>", inbox_prefix(ADMIN_USER)));
        }
    }
    Permissions { publish, deny_publish: Vec::new(), subscribe }
}

/// The operators' user: the whole system's requests, discovery and JetStream, but never an agent's
/// request subjects to listen on.
pub fn admin_permissions() -> Permissions {
    Permissions {
        publish: ["mneme.>", "$SRV.>", "$JS.API.>", "$JS.ACK.>", "$KV.>", "$O.>"].map(str::to_owned).to_vec(),
        deny_publish: Vec::new(),
        subscribe: vec![format!("{}.>", inbox_prefix(ADMIN_USER)), format!("{}.event.>", subjects::ROOT)],
    }
}

/// A person or program in [`CLIENT_ACCOUNT`]: requests to agents and the orchestrator (the agents learn who
/// sent them), inputs on their own ingest subject only, replies on their own inbox only.
pub fn client_permissions(user: &str) -> Permissions {
    Permissions {
        publish: vec!["mneme.agent.>".to_owned(), "mneme.orchestrator.>".to_owned(), subjects::ingest(user)],
        // What runs the system rather than one's own memories is the operators'.
        deny_publish: [
            subjects::request(ComponentKind::Agent(AgentType::PrivacyGuardian), guardian::message_types::REWRAP_KEYS),
            subjects::request(ComponentKind::Orchestrator, orchestrator::message_types::BROADCAST),
            subjects::request(ComponentKind::Orchestrator, orchestrator::message_types::SCALE),
        ]
        .to_vec(),
        subscribe: vec![format!("{}.>", inbox_prefix(user))],
    }
}

/// What the system account lends the clients' account: request subjects and the ingest path.
pub const EXPORTED_SERVICES: [&str; 3] = ["mneme.agent.>", "mneme.orchestrator.>", subjects::INGEST_WILDCARD];

#[cfg(test)]
mod tests {
    use super::*;

    const ANALYZER: ComponentKind = ComponentKind::Agent(AgentType::PatternAnalyzer);

    #[test]
    fn an_agent_listens_on_its_own_subjects_only() {
        let analyzer = permissions(ANALYZER);
        assert!(analyzer.subscribe.contains(&"mneme.agent.pattern_analyzer.*".to_owned()));
        assert!(analyzer.subscribe.contains(&"mneme.instance.pattern_analyzer.>".to_owned()));
        assert!(analyzer.subscribe.iter().all(|subject| !subject.contains("privacy_guardian")));
        assert!(analyzer.subscribe.iter().all(|subject| !subject.starts_with("mneme.ingest")));
        // It asks the guardian, and publishes only its own event.
        assert!(analyzer.publish.contains(&"mneme.agent.privacy_guardian.*".to_owned()));
        assert!(analyzer.publish.contains(&"mneme.event.patterns_updated".to_owned()));
        assert!(!analyzer.publish.iter().any(|subject| subject.contains("memory_forgotten")));
    }

    #[test]
    fn clients_publish_inputs_only_as_themselves() {
        let alice = client_permissions("alice");
        assert!(alice.publish.contains(&subjects::ingest("alice")));
        assert!(!alice.publish.contains(&subjects::ingest("bob")));
        assert_eq!(alice.subscribe, vec!["_INBOX_alice.>".to_owned()]);
        assert!(alice.deny_publish.contains(&"mneme.agent.privacy_guardian.rewrap_keys".to_owned()));
    }
}
