//! A locked-down NATS for Mneme: one user per agent type and for the orchestrator, each allowed exactly the
//! subjects it needs, an operators' user, and people in an account of their own whose requests reach the
//! agents through a service import that tells the agents who sent them. Rendered as a `nats-server`
//! configuration or as the `config.merge` values of the official NATS Helm chart (`mneme nats-config`).

use std::fmt::Write as _;

use mneme_protocol::subjects::{self, jetstream as names};
use mneme_protocol::{AgentType, ComponentKind, guardian, harvester, orchestrator, patterns, relationships};

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

/// The environment variable that holds `user`'s password, for the server and for the process.
pub fn password_variable(user: &str) -> String {
    format!("MNEME_NATS_PASSWORD_{}", user.to_ascii_uppercase().replace(['-', '.'], "_"))
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
            buckets: &[names::MEMORY_BUCKET, names::KEY_BUCKET, names::GRANT_BUCKET],
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
const EXPORTED_SERVICES: [&str; 3] = ["mneme.agent.>", "mneme.orchestrator.>", subjects::INGEST_WILDCARD];

/// A value in a NATS configuration: plain data, or a variable that the server reads from its environment.
#[derive(Debug, Clone, PartialEq)]
enum Conf {
    Text(String),
    Variable(String),
    Bool(bool),
    List(Vec<Conf>),
    Map(Vec<(String, Conf)>),
}

fn text(value: impl Into<String>) -> Conf {
    Conf::Text(value.into())
}

fn texts(values: &[String]) -> Conf {
    Conf::List(values.iter().map(|value| text(value.clone())).collect())
}

fn map(entries: Vec<(&str, Conf)>) -> Conf {
    Conf::Map(entries.into_iter().map(|(key, value)| (key.to_owned(), value)).collect())
}

fn user_entry(user: &str, permissions: &Permissions) -> Conf {
    let mut publish = vec![("allow", texts(&permissions.publish))];
    if !permissions.deny_publish.is_empty() {
        publish.push(("deny", texts(&permissions.deny_publish)));
    }
    map(vec![
        ("user", text(user)),
        ("password", Conf::Variable(password_variable(user))),
        (
            "permissions",
            map(vec![
                ("publish", map(publish)),
                ("subscribe", map(vec![("allow", texts(&permissions.subscribe))])),
                ("allow_responses", Conf::Bool(true)),
            ]),
        ),
    ])
}

/// The `accounts` block: the system account with a user per agent type, the orchestrator and the
/// operators, and the clients' account with one user per name in `clients`.
fn accounts(clients: &[String]) -> Conf {
    let mut system_users: Vec<Conf> = AgentType::ALL
        .iter()
        .map(|agent| ComponentKind::Agent(*agent))
        .chain([ComponentKind::Orchestrator])
        .map(|kind| user_entry(user_of(kind), &permissions(kind)))
        .collect();
    system_users.push(user_entry(ADMIN_USER, &admin_permissions()));
    let exports = EXPORTED_SERVICES
        .iter()
        .map(|subject| map(vec![("service", text(*subject)), ("accounts", texts(&[CLIENT_ACCOUNT.to_owned()]))]))
        .collect();
    let imports = EXPORTED_SERVICES
        .iter()
        .map(|subject| {
            map(vec![
                ("service", map(vec![("account", text(SYSTEM_ACCOUNT)), ("subject", text(*subject))])),
                // The agents learn the requesting user from the `Nats-Request-Info` header this adds.
                ("share", Conf::Bool(true)),
            ])
        })
        .collect();
    let client_users = clients.iter().map(|user| user_entry(user, &client_permissions(user))).collect();
    map(vec![
        (
            SYSTEM_ACCOUNT,
            map(vec![
                ("jetstream", text("enabled")),
                ("users", Conf::List(system_users)),
                ("exports", Conf::List(exports)),
            ]),
        ),
        (CLIENT_ACCOUNT, map(vec![("users", Conf::List(client_users)), ("imports", Conf::List(imports))])),
    ])
}

#[derive(Debug, thiserror::Error)]
pub enum SecurityConfigError {
    #[error("client user `{0}` is not a valid name: letters, digits, `-` and `_` only")]
    InvalidClient(String),
    #[error("client user `{0}` is the name of one of Mneme's own users")]
    ReservedClient(String),
}

fn check_clients(clients: &[String]) -> Result<(), SecurityConfigError> {
    for client in clients {
        if !subjects::is_key_token(client) {
            return Err(SecurityConfigError::InvalidClient(client.clone()));
        }
        let reserved = client == ADMIN_USER
            || client == ComponentKind::Orchestrator.as_str()
            || AgentType::ALL.iter().any(|agent| agent.as_str() == client);
        if reserved {
            return Err(SecurityConfigError::ReservedClient(client.clone()));
        }
    }
    Ok(())
}

/// The authorization part of a `nats-server` configuration (`include` it beside `listen`, `jetstream`,
/// `tls`): every password is read from the server's environment ([`password_variable`]).
pub fn server_config(clients: &[String]) -> Result<String, SecurityConfigError> {
    check_clients(clients)?;
    let mut out = String::new();
    out.push_str("# Mneme's accounts, users and permissions; made by `mneme nats-config`, do not edit by hand.\n");
    out.push_str("# Every password comes from the server's environment (MNEME_NATS_PASSWORD_<USER>).\n");
    out.push_str("accounts ");
    write_conf(&mut out, &accounts(clients), 0);
    out.push('\n');
    Ok(out)
}

/// The same, as the `config.merge` values of the official NATS Helm chart (its `<< $VAR >>` form for
/// the passwords, which the chart writes unquoted).
pub fn helm_values(clients: &[String]) -> Result<String, SecurityConfigError> {
    check_clients(clients)?;
    let mut out = String::new();
    out.push_str("# Mneme's accounts, users and permissions for the NATS Helm chart; made by\n");
    out.push_str("# `mneme nats-config --format helm`, do not edit by hand. Pass it beside the chart values:\n");
    out.push_str("#   helm upgrade --install nats nats/nats -f values.yaml -f auth-values.yaml\n");
    out.push_str("config:\n  merge:\n    accounts:\n");
    write_yaml(&mut out, &accounts(clients), 6);
    Ok(out)
}

fn quoted(value: &str) -> String {
    serde_json::to_string(value).expect("a string always encodes")
}

fn write_conf(out: &mut String, value: &Conf, depth: usize) {
    let indent = "  ".repeat(depth + 1);
    let closing = "  ".repeat(depth);
    match value {
        Conf::Text(value) => out.push_str(&quoted(value)),
        Conf::Variable(name) => {
            let _ = write!(out, "${name}");
        }
        Conf::Bool(value) => out.push_str(if *value { "true" } else { "false" }),
        Conf::List(items) if items.is_empty() => out.push_str("[]"),
        Conf::List(items) => {
            out.push_str("[\n");
            for item in items {
                out.push_str(&indent);
                write_conf(out, item, depth + 1);
                out.push('\n');
            }
            let _ = write!(out, "{closing}]");
        }
        Conf::Map(entries) => {
            out.push_str("{\n");
            for (key, value) in entries {
                let _ = write!(out, "{indent}{key}: ");
                write_conf(out, value, depth + 1);
                out.push('\n');
            }
            let _ = write!(out, "{closing}}}");
        }
    }
}

fn yaml_scalar(value: &Conf) -> Option<String> {
    match value {
        Conf::Text(value) => Some(quoted(value)),
        Conf::Variable(name) => Some(format!("<< ${name} >>")),
        Conf::Bool(value) => Some(value.to_string()),
        Conf::List(items) if items.is_empty() => Some("[]".to_owned()),
        Conf::List(_) | Conf::Map(_) => None,
    }
}

/// Block YAML of a map's entries or a list's items, each line indented by `indent` spaces.
fn write_yaml(out: &mut String, value: &Conf, indent: usize) {
    let pad = " ".repeat(indent);
    match value {
        Conf::Map(entries) => {
            for (key, value) in entries {
                match yaml_scalar(value) {
                    Some(scalar) => {
                        let _ = writeln!(out, "{pad}{key}: {scalar}");
                    }
                    None => {
                        let _ = writeln!(out, "{pad}{key}:");
                        write_yaml(out, value, indent + 2);
                    }
                }
            }
        }
        Conf::List(items) => {
            for item in items {
                match yaml_scalar(item) {
                    Some(scalar) => {
                        let _ = writeln!(out, "{pad}- {scalar}");
                    }
                    None => {
                        // The item's first line follows the dash; the rest line up under it.
                        let mut nested = String::new();
                        write_yaml(&mut nested, item, indent + 2);
                        let _ = write!(out, "{pad}- {}", nested.trim_start());
                    }
                }
            }
        }
        scalar => {
            let _ = writeln!(out, "{pad}{}", yaml_scalar(scalar).unwrap_or_default());
        }
    }
}

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

    #[test]
    fn the_configuration_names_every_user_and_reads_passwords_from_the_environment() {
        let config = server_config(&["alice".to_owned()]).unwrap();
        for user in AgentType::ALL.map(AgentType::as_str).into_iter().chain(["orchestrator", "admin", "alice"]) {
            assert!(config.contains(&format!("user: \"{user}\"")), "{user} missing");
            assert!(config.contains(&format!("password: ${}", password_variable(user))));
        }
        assert!(config.contains("share: true"));
        assert!(matches!(server_config(&["admin".to_owned()]), Err(SecurityConfigError::ReservedClient(_))));
        assert!(matches!(server_config(&["a.b".to_owned()]), Err(SecurityConfigError::InvalidClient(_))));
    }

    #[test]
    fn helm_values_are_yaml_with_the_charts_variables() {
        let values = helm_values(&["alice".to_owned()]).unwrap();
        assert!(values.contains("password: << $MNEME_NATS_PASSWORD_PATTERN_ANALYZER >>"), "{values}");
        assert!(
            values.contains(
                "      MNEME:\n        jetstream: \"enabled\"\n        users:\n          - user: \"memory_harvester\""
            ),
            "{values}"
        );
    }
}
