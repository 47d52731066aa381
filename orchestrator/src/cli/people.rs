//! `mneme people`, `mneme person` and `mneme identity`: the people of an owner's life as the relationship mapper sees them, as
//! tables, JSON, or a picture of who appears with whom.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;
use comfy_table::{Table, presets::UTF8_BORDERS_ONLY};

use futures::StreamExt;

use mneme_protocol::AgentType;
use mneme_protocol::guardian::{self, GetMemoryRequest, MemoryReply, MemoryView};
use mneme_protocol::relationships::{
    Appearance, GetIdentityRequest, GetPersonRequest, GetRelationshipsRequest, Identity, PersonReport, PersonSummary,
    Relationships, SetIdentityRequest, message_types, rhythm_in_words,
};
use mneme_protocol::words::counted;
use mneme_runtime::call::CallOptions;

use super::vault::GUARDIAN;
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

pub struct PersonRequest<'a> {
    pub owner: &'a str,
    pub principal: Option<&'a str>,
    pub name: &'a str,
    /// How many of their latest memories the table shows with their text.
    pub limit: usize,
}

pub async fn person(
    settings: &Settings,
    request: PersonRequest<'_>,
    also_me: Vec<String>,
    output: OutputFormat,
) -> anyhow::Result<ExitCode> {
    let orchestrator = super::connect(settings).await?;
    let principal = request.principal.unwrap_or(request.owner).to_owned();
    let payload = GetPersonRequest {
        principal: principal.clone(),
        owner: request.owner.to_owned(),
        person: request.name.to_owned(),
        as_of: None,
        also_me,
    };
    let report: PersonReport = orchestrator
        .send(AgentType::RelationshipMapper, message_types::GET_PERSON, &payload, &CallOptions::default())
        .await
        .with_context(|| format!("looking up {}", request.name))?
        .payload_as()?;
    match output {
        OutputFormat::Json => say(&serde_json::to_string_pretty(&report)?)?,
        OutputFormat::Table => {
            // The mapper keeps who appears where, never what was said: the texts come from the guardian's
            // vault, as the principal may read them.
            let shown = latest(&report.timeline, request.limit);
            let texts: Vec<String> = futures::stream::iter(shown)
                .map(|appearance| {
                    let read = GetMemoryRequest {
                        principal: principal.clone(),
                        owner: request.owner.to_owned(),
                        memory_id: appearance.memory_id.clone(),
                    };
                    let orchestrator = &orchestrator;
                    async move {
                        let reply = orchestrator
                            .send(GUARDIAN, guardian::message_types::GET_MEMORY, &read, &CallOptions::default())
                            .await
                            .map_err(anyhow::Error::from)
                            .and_then(|reply| Ok(reply.payload_as::<MemoryReply>()?));
                        match reply {
                            Ok(reply) => memory_line(&reply.memory),
                            Err(error) => format!("({}: {error:#})", appearance.memory_id),
                        }
                    }
                })
                .buffered(READS_AT_ONCE)
                .collect()
                .await;
            say(&person_text(&report, shown, &texts))?
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// How many memories `mneme person` reads from the vault at once.
const READS_AT_ONCE: usize = 16;

/// The last `limit` appearances of a timeline (oldest first, undated last): the dated ones nearest now.
fn latest(timeline: &[Appearance], limit: usize) -> &[Appearance] {
    let dated = timeline.iter().take_while(|appearance| appearance.occurred_at.is_some()).count();
    let from = dated.saturating_sub(limit);
    &timeline[from..(from + limit).min(timeline.len())]
}

/// What a memory says, on one line and cut short, with whether it is the shareable form.
fn memory_line(view: &MemoryView) -> String {
    let mut line = super::one_line(&view.memory.text, 120);
    if view.redacted {
        line.push_str(" (redacted)");
    }
    line
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
        "{}: {}{}",
        relationships.owner,
        counted(relationships.total_people, "person", "people"),
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

/// The person, and `shown` of their timeline with what each memory says (`texts`, in the same order).
fn person_text(report: &PersonReport, shown: &[Appearance], texts: &[String]) -> String {
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
        "{}, {}, from {} to {}; {}; mood {:+.2}",
        counted(person.interactions, "conversation", "conversations"),
        counted(person.mentions, "mention", "mentions"),
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
    if shown.len() < report.timeline.len() {
        lines.push(format!(
            "the latest {} of their {} memories (--limit for more):",
            shown.len(),
            report.timeline.len()
        ));
    }
    let mut table = Table::new();
    table.load_style(UTF8_BORDERS_ONLY).set_header(["when", "as", "mood", "memory"]);
    for (appearance, text) in shown.iter().zip(texts) {
        table.add_row([
            appearance.occurred_at.as_deref().map_or_else(|| "undated".to_owned(), minute),
            format!("{:?}", appearance.role).to_lowercase(),
            format!("{:+.2}", appearance.sentiment),
            text.clone(),
        ]);
    }
    lines.push(table.to_string());
    lines.join("\n")
}

/// An RFC 3339 instant as its day and minute ("2024-02-29 13:00"), or as given when it is not one.
fn minute(at: &str) -> String {
    match (at.get(..10), at.get(11..16)) {
        (Some(day), Some(time)) if at.as_bytes().get(10) == Some(&b'T') => format!("{day} {time}"),
        _ => at.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use mneme_protocol::relationships::Role;

    use super::*;

    fn appearance(memory_id: &str, occurred_at: Option<&str>) -> Appearance {
        Appearance {
            memory_id: memory_id.to_owned(),
            occurred_at: occurred_at.map(str::to_owned),
            role: Role::Mention,
            sentiment: 0.0,
        }
    }

    #[test]
    fn the_latest_of_a_timeline_are_its_last_dated_then_its_undated() {
        let timeline = [
            appearance("first", Some("2024-01-01T00:00:00Z")),
            appearance("second", Some("2024-02-01T00:00:00Z")),
            appearance("third", Some("2024-03-01T00:00:00Z")),
            appearance("undated", None),
        ];
        let ids = |shown: &[Appearance]| shown.iter().map(|shown| shown.memory_id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(latest(&timeline, 2)), ["second", "third"]);
        assert_eq!(ids(latest(&timeline, 3)), ["first", "second", "third"]);
        assert_eq!(ids(latest(&timeline, 10)), ["first", "second", "third", "undated"]);
        assert!(latest(&timeline, 0).is_empty());
    }

    #[test]
    fn an_instant_shows_its_day_and_minute() {
        assert_eq!(minute("2024-02-29T13:05:09Z"), "2024-02-29 13:05");
        assert_eq!(minute("yesterday"), "yesterday");
    }
}
