//! A locked-down NATS for Mneme as a `nats-server` configuration or as the `config.merge` values of the
//! official NATS Helm chart (`mneme nats-config`): the accounts, and a user per agent type, the orchestrator,
//! the operators and each client, with the permissions of `mneme_protocol::permissions`.

use std::fmt::Write as _;

pub use mneme_protocol::permissions::{
    ADMIN_USER, CLIENT_ACCOUNT, EXPORTED_SERVICES, Permissions, SYSTEM_ACCOUNT, admin_permissions, client_permissions,
    inbox_prefix, permissions, user_of,
};
use mneme_protocol::{AgentType, ComponentKind, subjects};

/// The environment variable that holds `user`'s password, for the server and for the process.
pub fn password_variable(user: &str) -> String {
    format!("MNEME_NATS_PASSWORD_{}", user.to_ascii_uppercase().replace(['-', '.'], "_"))
}

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
