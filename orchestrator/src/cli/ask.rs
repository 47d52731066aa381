//! `mneme ask` and `mneme insights`: recall (a question in plain words; the memories that answer it, best
//! first, with where they came from and how the question was read) and digests of a period.

use std::process::ExitCode;

use comfy_table::{Table, presets::UTF8_BORDERS_ONLY};

use mneme_protocol::AgentType;
use mneme_protocol::harvester::SourceKind;
use mneme_protocol::insights::{
    Digest, DigestPeriod, GenerateInsightsRequest, SearchFilters, SearchRequest, SearchResults, message_types,
};
use mneme_runtime::call::CallOptions;

use super::{OutputFormat, say};
use crate::settings::Settings;

pub struct AskRequest {
    pub question: String,
    pub owner: String,
    pub principal: Option<String>,
    pub limit: usize,
    pub from: Option<String>,
    pub until: Option<String>,
    pub people: Vec<String>,
    pub kinds: Vec<SourceKind>,
    pub now: Option<String>,
}

pub async fn ask(settings: &Settings, request: AskRequest, output: OutputFormat) -> anyhow::Result<ExitCode> {
    let orchestrator = super::connect(settings).await?;
    let payload = SearchRequest {
        principal: request.principal.unwrap_or_else(|| request.owner.clone()),
        owner: request.owner,
        query: request.question,
        limit: Some(request.limit),
        filters: SearchFilters {
            from: request.from,
            until: request.until,
            people: request.people,
            source_kinds: request.kinds,
            now: request.now,
            own_words_only: false,
        },
    };
    let results: SearchResults = orchestrator
        .send(AgentType::InsightGenerator, message_types::SEARCH, &payload, &CallOptions::default())
        .await?
        .payload_as()?;
    match output {
        OutputFormat::Json => say(&serde_json::to_string_pretty(&results)?)?,
        OutputFormat::Table => say(&results_text(&results))?,
    }
    Ok(ExitCode::SUCCESS)
}

fn results_text(results: &SearchResults) -> String {
    let reading = &results.reading;
    let mut lines = Vec::new();
    // An insight generator from before `words` sends only the index's terms.
    let searched = if reading.words.is_empty() { &reading.terms } else { &reading.words };
    let mut read = format!("searched for: {}", if searched.is_empty() { "-".to_owned() } else { searched.join(" ") });
    if let Some(period) = &reading.period {
        read.push_str(&format!(
            "; \"{}\" read as {} to {}",
            period.expression,
            &period.from[..10],
            &period.until[..10]
        ));
    }
    if let Some(order) = &reading.order {
        let first = if order.latest_first { "latest" } else { "earliest" };
        read.push_str(&format!("; \"{}\" read as the {first} first", order.expression));
    }
    if !reading.people.is_empty() {
        read.push_str(&format!("; people: {}", reading.people.join(", ")));
    }
    if !reading.expansion.is_empty() {
        let words: Vec<&str> = reading
            .expansion
            .iter()
            .take(5)
            .map(|weighted| weighted.word.as_deref().unwrap_or(&weighted.term))
            .collect();
        read.push_str(&format!("; also: {}", words.join(" ")));
    }
    lines.push(read);
    if results.results.is_empty() {
        lines.push("Nothing found.".to_owned());
        return lines.join("\n");
    }
    let mut table = Table::new();
    table.load_style(UTF8_BORDERS_ONLY).set_header(["#", "when", "memory", "from"]);
    for (rank, hit) in results.results.iter().enumerate() {
        let when = hit.occurred_at.as_deref().map(|at| at.get(..10).unwrap_or(at)).unwrap_or("-");
        let mut snippet = hit.snippet.clone();
        if hit.redacted {
            snippet.push_str(" (redacted)");
        }
        table.add_row([(rank + 1).to_string(), when.to_owned(), snippet, hit.source.clone().unwrap_or_default()]);
    }
    lines.push(table.to_string());
    lines.join("\n")
}

pub struct InsightsRequest {
    pub owner: String,
    pub principal: Option<String>,
    pub period: DigestPeriod,
    pub ending: Option<String>,
    pub deadline_ms: Option<u64>,
}

/// `mneme insights`: a digest of a period, and what it lacks when an agent could not give its part.
pub async fn insights(settings: &Settings, request: InsightsRequest, output: OutputFormat) -> anyhow::Result<ExitCode> {
    let orchestrator = super::connect(settings).await?;
    let payload = GenerateInsightsRequest {
        principal: request.principal.unwrap_or_else(|| request.owner.clone()),
        owner: request.owner,
        period: request.period,
        ending: request.ending,
        deadline_ms: request.deadline_ms,
    };
    let digest: Digest = orchestrator
        .send(AgentType::InsightGenerator, message_types::GENERATE_INSIGHTS, &payload, &CallOptions::default())
        .await?
        .payload_as()?;
    match output {
        OutputFormat::Json => say(&serde_json::to_string_pretty(&digest)?)?,
        OutputFormat::Table => say(&digest_text(&digest))?,
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn rate(
    settings: &Settings,
    owner: String,
    principal: Option<String>,
    kind: mneme_protocol::insights::InsightKind,
    rating: u8,
    output: OutputFormat,
) -> anyhow::Result<ExitCode> {
    use mneme_protocol::insights::{InsightRated, RateInsightRequest};

    let orchestrator = super::connect(settings).await?;
    let payload = RateInsightRequest { principal: principal.unwrap_or_else(|| owner.clone()), owner, kind, rating };
    let rated: InsightRated = orchestrator
        .send(AgentType::InsightGenerator, message_types::RATE_INSIGHT, &payload, &CallOptions::default())
        .await?
        .payload_as()?;
    match output {
        OutputFormat::Json => say(&serde_json::to_string_pretty(&rated)?)?,
        OutputFormat::Table => {
            let mut lines = Vec::new();
            for (kind, weight) in &rated.weights {
                let name = serde_json::to_value(kind)?.as_str().unwrap_or_default().to_owned();
                lines.push(format!("{name}: weight {:.2} after {} ratings", weight.weight, weight.ratings));
            }
            say(&lines.join("\n"))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn digest_text(digest: &Digest) -> String {
    let mut lines = vec![format!(
        "{} {} to {}: {} memories{}",
        digest.owner,
        digest.from,
        digest.to,
        digest.memories,
        if digest.complete { "" } else { " (partial)" }
    )];
    let mut table = Table::new();
    table.load_style(UTF8_BORDERS_ONLY).set_header(["insight", "figures", "sure", "evidence"]);
    for insight in &digest.insights {
        table.add_row([
            insight.title.clone(),
            insight.detail.clone(),
            format!("{:.0}%", insight.confidence * 100.0),
            insight.evidence.len().to_string(),
        ]);
    }
    if !digest.insights.is_empty() {
        lines.push(table.to_string());
    }
    for part in &digest.missing {
        lines.push(format!("missing: {} from the {} ({})", part.part, part.agent, part.reason));
    }
    lines.join("\n")
}
