//! `mneme people`, `mneme person` and `mneme identity`: the people of an owner's life as the relationship mapper sees them, as
//! tables, JSON, or a picture of who appears with whom.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;
use comfy_table::{Table, presets::UTF8_BORDERS_ONLY};

use mneme_protocol::AgentType;
use mneme_protocol::relationships::{
    GetIdentityRequest, GetPersonRequest, GetRelationshipsRequest, Identity, PersonReport, PersonSummary,
    Relationships, SetIdentityRequest, message_types, rhythm_in_words,
};
use mneme_runtime::call::CallOptions;

use super::{OutputFormat, say};
use crate::settings::Settings;

pub struct PeopleRequest<'a> {
    pub owner: &'a str,
    pub principal: Option<&'a str>,
    pub limit: Option<usize>,
    pub as_of: Option<String>,
    pub graph: Option<&'a Path>,
    pub also_me: Vec<String>,
}

pub async fn people(settings: &Settings, request: PeopleRequest<'_>, output: OutputFormat) -> anyhow::Result<ExitCode> {
    let orchestrator = super::connect(settings).await?;
    let payload = GetRelationshipsRequest {
        principal: request.principal.unwrap_or(request.owner).to_owned(),
        owner: request.owner.to_owned(),
        limit: request.limit,
        as_of: request.as_of,
        also_me: request.also_me,
        mentions_from: None,
    };
    let relationships: Relationships = orchestrator
        .send(AgentType::RelationshipMapper, message_types::GET_RELATIONSHIPS, &payload, &CallOptions::default())
        .await?
        .payload_as()?;
    if let Some(path) = request.graph {
        super::charts::people_graph(&relationships, path)?;
        eprintln!("drew {}", path.display());
    }
    match output {
        OutputFormat::Json => say(&serde_json::to_string_pretty(&relationships)?)?,
        OutputFormat::Table => say(&people_text(&relationships))?,
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn person(
    settings: &Settings,
    owner: &str,
    principal: Option<&str>,
    name: &str,
    also_me: Vec<String>,
    output: OutputFormat,
) -> anyhow::Result<ExitCode> {
    let orchestrator = super::connect(settings).await?;
    let payload = GetPersonRequest {
        principal: principal.unwrap_or(owner).to_owned(),
        owner: owner.to_owned(),
        person: name.to_owned(),
        as_of: None,
        also_me,
    };
    let report: PersonReport = orchestrator
        .send(AgentType::RelationshipMapper, message_types::GET_PERSON, &payload, &CallOptions::default())
        .await
        .with_context(|| format!("looking up {name}"))?
        .payload_as()?;
    match output {
        OutputFormat::Json => say(&serde_json::to_string_pretty(&report)?)?,
        OutputFormat::Table => say(&person_text(&report))?,
    }
    Ok(ExitCode::SUCCESS)
}

/// Shows the names the owner is kept as going by, or replaces them with `change`.
pub async fn identity(
    settings: &Settings,
    owner: &str,
    principal: Option<&str>,
    change: Option<Vec<String>>,
    output: OutputFormat,
) -> anyhow::Result<ExitCode> {
    let orchestrator = super::connect(settings).await?;
    let principal = principal.unwrap_or(owner).to_owned();
    let options = CallOptions::default();
    let reply = match change {
        Some(names) => {
            let request = SetIdentityRequest { principal, owner: owner.to_owned(), names };
            orchestrator.send(AgentType::RelationshipMapper, message_types::SET_IDENTITY, &request, &options).await?
        }
        None => {
            let request = GetIdentityRequest { principal, owner: owner.to_owned() };
            orchestrator.send(AgentType::RelationshipMapper, message_types::GET_IDENTITY, &request, &options).await?
        }
    };
    let identity: Identity = reply.payload_as()?;
    match output {
        OutputFormat::Json => say(&serde_json::to_string_pretty(&identity)?)?,
        OutputFormat::Table if identity.names.is_empty() => say(&format!(
            "{} goes by no other names (their id `{}` and `me` always count)",
            identity.owner, identity.owner
        ))?,
        OutputFormat::Table => say(&format!("{} also goes by: {}", identity.owner, identity.names.join(", ")))?,
    }
    Ok(ExitCode::SUCCESS)
}

fn day(at: Option<&str>) -> String {
    at.map(|at| at.get(..10).unwrap_or(at).to_owned()).unwrap_or_default()
}

fn rhythm(person: &PersonSummary) -> String {
    person.typical_gap_days.map(rhythm_in_words).unwrap_or_default()
}

fn people_text(relationships: &Relationships) -> String {
    let mut lines = vec![format!(
        "{}: {} people{}",
        relationships.owner,
        relationships.total_people,
        relationships.as_of.as_deref().map(|day| format!(" (as of {day})")).unwrap_or_default()
    )];
    if relationships.people.is_empty() {
        return lines.join("\n");
    }
    let mut table = Table::new();
    table.load_style(UTF8_BORDERS_ONLY).set_header([
        "person",
        "relation",
        "strength",
        "talks",
        "mentions",
        "last seen",
        "rhythm",
        "mood",
        "circle",
    ]);
    for person in &relationships.people {
        table.add_row([
            person.name.clone(),
            person.relation.clone().unwrap_or_default(),
            format!("{:.2}", person.strength),
            person.interactions.to_string(),
            person.mentions.to_string(),
            day(person.last_contact.as_deref()),
            rhythm(person),
            format!("{:+.2}", person.sentiment),
            person.community.map(|community| (community + 1).to_string()).unwrap_or_default(),
        ]);
    }
    lines.push(table.to_string());
    for (index, community) in relationships.communities.iter().enumerate() {
        lines.push(format!("circle {}: {}", index + 1, community.members.join(", ")));
    }
    for alert in &relationships.drift {
        lines.push(format!(
            "drifting: {} — last seen {}, {} (confidence {:.2})",
            alert.person,
            alert.last_contact,
            alert.in_words(),
            alert.confidence
        ));
    }
    lines.join("\n")
}

fn person_text(report: &PersonReport) -> String {
    let person = &report.person;
    let mut lines = vec![format!(
        "{}{}",
        person.name,
        person.relation.as_deref().map(|relation| format!(" ({relation})")).unwrap_or_default()
    )];
    if !person.aliases.is_empty() {
        lines.push(format!("also: {}", person.aliases.join(", ")));
    }
    lines.push(format!(
        "{} conversations, {} mentions, from {} to {}; {}; mood {:+.2}",
        person.interactions,
        person.mentions,
        day(person.first_contact.as_deref()),
        day(person.last_contact.as_deref()),
        match rhythm(person).as_str() {
            "" => "no rhythm yet".to_owned(),
            rhythm => format!("seen {rhythm}"),
        },
        person.sentiment
    ));
    if !report.appears_with.is_empty() {
        let with: Vec<String> =
            report.appears_with.iter().take(8).map(|(name, count)| format!("{name} ({count})")).collect();
        lines.push(format!("appears with: {}", with.join(", ")));
    }
    if let Some(alert) = &report.drift {
        lines.push(format!("drifting: last seen {}, {}", alert.last_contact, alert.in_words()));
    }
    let mut table = Table::new();
    table.load_style(UTF8_BORDERS_ONLY).set_header(["when", "as", "mood", "memory"]);
    for appearance in &report.timeline {
        table.add_row([
            appearance.occurred_at.clone().unwrap_or_else(|| "undated".to_owned()),
            format!("{:?}", appearance.role).to_lowercase(),
            format!("{:+.2}", appearance.sentiment),
            appearance.memory_id.clone(),
        ]);
    }
    lines.push(table.to_string());
    lines.join("\n")
}
