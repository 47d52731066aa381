//! `mneme ask` and `mneme insights`: recall (a question in plain words; the memories that answer it, best
//! first, with where they came from and how the question was read) and digests of a period.

use std::process::ExitCode;

use comfy_table::{Table, presets::UTF8_BORDERS_ONLY};

use mneme_protocol::AgentType;
use mneme_protocol::harvester::SourceKind;
use mneme_protocol::insights::{
    Digest, DigestPeriod, GenerateInsightsRequest, Period, SearchFilters, SearchHit, SearchRequest, SearchResults,
    message_types,
};
use mneme_protocol::words::counted;
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
    let span = reading.period.as_ref().and_then(Span::of);
    if let (Some(period), Some(span)) = (&reading.period, &span) {
        read.push_str(&format!("; \"{}\" read as {}", period.expression, span.days()));
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
    // "How often" is answered by a count, on a line of its own.
    if let Some(tally) = &reading.tally {
        let memories = counted(tally.memories, "memory says it", "memories say it");
        let days = counted(tally.days, "day", "days");
        let listed = if tally.memories == 0 { "." } else { "; the earliest first:" };
        lines.push(format!("{}: {memories}, on {days}{listed}", tally.expression));
    }
    if results.results.is_empty() {
        lines.push(match &span {
            Some(span) => format!("Nothing from {}.", span.days()),
            None => "Nothing found.".to_owned(),
        });
        return lines.join("\n");
    }
    // What falls in the period the question names comes first; the rest, from other times, is told apart.
    let (inside, outside): (Vec<_>, Vec<_>) =
        results.results.iter().enumerate().partition(|(_, hit)| span.as_ref().is_none_or(|span| span.holds(hit)));
    let row = |(rank, hit): &(usize, &SearchHit)| {
        let when = hit.occurred_at.as_deref().map(|at| at.get(..10).unwrap_or(at)).unwrap_or("-");
        let mut snippet = hit.snippet.clone();
        if hit.redacted {
            snippet.push_str(" (redacted)");
        }
        [(rank + 1).to_string(), when.to_owned(), snippet, hit.source.clone().unwrap_or_default()]
    };
    let mut table = Table::new();
    table.load_style(UTF8_BORDERS_ONLY).set_header(["#", "when", "memory", "from"]);
    table.add_rows(inside.iter().map(row));
    if let Some(span) = span.as_ref().filter(|_| !outside.is_empty()) {
        if inside.is_empty() {
            lines.push(format!("Nothing from {}; from other times:", span.days()));
        } else {
            table.add_row(["", "", &format!("from other times than {}:", span.days()), ""]);
        }
    }
    table.add_rows(outside.iter().map(row));
    lines.push(table.to_string());
    lines.join("\n")
}

/// The period a question was read as, in instants, to tell the memories within it from the others.
struct Span {
    from: jiff::Timestamp,
    until: jiff::Timestamp,
}

impl Span {
    fn of(period: &Period) -> Option<Span> {
        Some(Span { from: period.from.parse().ok()?, until: period.until.parse().ok()? })
    }

    /// Its first and last days, both included, as a digest shows its own.
    fn days(&self) -> String {
        let day = |at: jiff::Timestamp| at.to_zoned_datetime(jiff::tz::TimeZone::UTC).date().to_string();
        let last = self.until.checked_sub(jiff::SignedDuration::from_nanos(1)).unwrap_or(self.until);
        format!("{} to {}", day(self.from), day(last.max(self.from)))
    }

    /// Whether `hit` happened within it. A memory without a time is no answer to when.
    fn holds(&self, hit: &SearchHit) -> bool {
        let at = hit.occurred_at.as_deref().and_then(|at| at.parse::<jiff::Timestamp>().ok());
        at.is_some_and(|at| self.from <= at && at < self.until)
    }
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
        "{} {}: {}{}",
        digest.owner,
        if digest.from == digest.to { digest.from.clone() } else { format!("{} to {}", digest.from, digest.to) },
        counted(digest.memories, "memory", "memories"),
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

#[cfg(test)]
mod tests {
    use mneme_protocol::insights::{QueryReading, RecallTally};

    use super::*;

    fn hit(memory_id: &str, occurred_at: Option<&str>) -> SearchHit {
        SearchHit {
            memory_id: memory_id.to_owned(),
            source: None,
            occurred_at: occurred_at.map(str::to_owned),
            snippet: format!("memory {memory_id}"),
            score: 1.0,
            redacted: false,
        }
    }

    fn results(hits: Vec<SearchHit>) -> SearchResults {
        SearchResults {
            owner: "sam".to_owned(),
            query: "what did I do last summer?".to_owned(),
            reading: QueryReading {
                words: vec!["do".to_owned()],
                period: Some(Period {
                    expression: "last summer".to_owned(),
                    from: "2024-06-01T00:00:00Z".to_owned(),
                    until: "2024-09-01T00:00:00Z".to_owned(),
                }),
                ..QueryReading::default()
            },
            results: hits,
        }
    }

    #[test]
    fn a_period_shows_its_last_day_and_what_falls_outside_it_is_told_apart() {
        let text = results_text(&results(vec![
            hit("june", Some("2024-06-12T10:00:00Z")),
            hit("august", Some("2024-08-31T23:00:00Z")),
            hit("september", Some("2024-09-01T00:00:00Z")),
            hit("undated", None),
        ]));
        assert!(text.starts_with("searched for: do; \"last summer\" read as 2024-06-01 to 2024-08-31\n"), "{text}");
        let order: Vec<usize> =
            ["memory june", "memory august", "from other times than", "memory september", "undated"]
                .iter()
                .map(|shown| text.find(shown).unwrap_or_else(|| panic!("{shown} in {text}")))
                .collect();
        assert!(order.is_sorted(), "{text}");
        assert!(!text.contains("Nothing from"), "{text}");
    }

    #[test]
    fn how_often_shows_its_count() {
        let mut answer = results(vec![hit("june", Some("2024-06-12T10:00:00Z"))]);
        answer.reading.tally = Some(RecallTally { expression: "how often".to_owned(), memories: 1, days: 1 });
        let text = results_text(&answer);
        assert!(text.contains("\nhow often: 1 memory says it, on 1 day; the earliest first:\n"), "{text}");
    }

    #[test]
    fn a_period_nothing_falls_in_says_so() {
        let text = results_text(&results(vec![hit("may", Some("2024-05-30T10:00:00Z"))]));
        assert!(text.contains("\nNothing from 2024-06-01 to 2024-08-31; from other times:\n"), "{text}");
        assert!(!text.contains("from other times than"), "{text}");
        let within = results_text(&results(vec![hit("june", Some("2024-06-12T10:00:00Z"))]));
        assert!(!within.contains("other times"), "{within}");
        assert!(results_text(&results(Vec::new())).ends_with("\nNothing from 2024-06-01 to 2024-08-31."));
    }
}
