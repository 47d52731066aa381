//! `mneme patterns`: an owner's rhythms, streaks and gaps, mood, subjects and habits, as the pattern analyzer
//! reports them.

use std::path::Path;
use std::process::ExitCode;

use comfy_table::{Table, presets::UTF8_BORDERS_ONLY};

use mneme_protocol::AgentType;
use mneme_protocol::patterns::{GetPatternsRequest, Habit, Patterns, message_types};
use mneme_protocol::words::counted;
use mneme_runtime::call::CallOptions;

use super::{OutputFormat, say};
use crate::settings::Settings;

/// Days of mood shown in the table, the most recent.
const RECENT_DAYS: usize = 14;

pub async fn patterns(
    settings: &Settings,
    owner: &str,
    principal: Option<&str>,
    chart: Option<&Path>,
    output: OutputFormat,
) -> anyhow::Result<ExitCode> {
    let orchestrator = super::connect(settings).await?;
    let request = GetPatternsRequest { principal: principal.unwrap_or(owner).to_owned(), owner: owner.to_owned() };
    let patterns: Patterns = orchestrator
        .send(AgentType::PatternAnalyzer, message_types::GET_PATTERNS, &request, &CallOptions::default())
        .await?
        .payload_as()?;
    if let Some(path) = chart {
        super::charts::mood_chart(&patterns, path)?;
        eprintln!("drew {}", path.display());
    }
    match output {
        OutputFormat::Json => say(&serde_json::to_string_pretty(&patterns)?)?,
        OutputFormat::Table => say(&text(&patterns))?,
    }
    Ok(ExitCode::SUCCESS)
}

fn bar(count: u64, most: u64) -> String {
    let width = if most == 0 { 0 } else { (count * 30).div_ceil(most) as usize };
    "█".repeat(width)
}

fn habit_line(habit: &Habit) -> String {
    // A related word that only repeats when it happens ("saturday" of a habit on Saturdays) says nothing.
    let when = habit.when.to_lowercase();
    let related: Vec<&str> =
        habit.related.iter().map(String::as_str).filter(|word| !when.contains(&word.to_lowercase())).collect();
    let related = if related.is_empty() { String::new() } else { format!(" ({})", related.join(", ")) };
    format!(
        "habit: {}{related} on {} — {}, support {:.2}, confidence {:.2}, last {}",
        habit.activity,
        habit.when,
        counted(habit.occurrences, "time", "times"),
        habit.support,
        habit.confidence,
        habit.last_seen
    )
}

fn text(patterns: &Patterns) -> String {
    let rhythms = &patterns.rhythms;
    let mut lines = vec![format!(
        "{}: {} ({} undated)",
        patterns.owner,
        counted(patterns.memories, "memory", "memories"),
        patterns.undated
    )];
    if patterns.memories == 0 {
        return lines.join("\n");
    }
    if let (Some(hour), Some(weekday)) = (rhythms.peak_hour, &rhythms.peak_weekday) {
        lines.push(format!("most active around {hour:02}:00 UTC, and on {weekday}s"));
    }
    let most = rhythms.by_weekday.iter().copied().max().unwrap_or(0);
    for (day, count) in ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].iter().zip(&rhythms.by_weekday) {
        lines.push(format!("  {day} {:>6} {}", count, bar(*count, most)));
    }
    if let Some(streak) = &patterns.longest_streak {
        lines.push(format!("longest streak: {}", streak.in_words()));
    }
    if let Some(streak) = &patterns.current_streak {
        lines.push(format!("latest streak: {}", streak.in_words()));
    }
    for gap in &patterns.gaps {
        lines.push(format!("gap without a memory: {}", gap.in_words()));
    }
    if !patterns.mood_shifts.is_empty() {
        let mut table = Table::new();
        table.load_style(UTF8_BORDERS_ONLY).set_header([
            "mood shift",
            "date",
            "mood",
            "baseline",
            "z",
            "confidence",
            "memories",
        ]);
        for shift in &patterns.mood_shifts {
            table.add_row([
                shift.direction.clone(),
                shift.date.clone(),
                format!("{:+.2}", shift.mean),
                format!("{:+.2}", shift.baseline),
                format!("{:+.1}", shift.z),
                format!("{:.2}", shift.confidence),
                shift.evidence.len().to_string(),
            ]);
        }
        lines.push(table.to_string());
    }
    if !patterns.keyphrases.is_empty() {
        let phrases: Vec<String> = patterns
            .keyphrases
            .iter()
            .take(10)
            .map(|keyphrase| format!("{} ({})", keyphrase.phrase, keyphrase.memories))
            .collect();
        lines.push(format!("writes most about: {}", phrases.join(", ")));
    }
    for topic in &patterns.topics {
        lines.push(format!(
            "topic: {} — {}, {} (confidence {:.2})",
            topic.label,
            counted(topic.memories, "memory", "memories"),
            format!("{:?}", topic.trend).to_lowercase(),
            topic.confidence
        ));
    }
    lines.extend(patterns.habits.iter().map(habit_line));
    let recent = &patterns.mood[patterns.mood.len().saturating_sub(RECENT_DAYS)..];
    if !recent.is_empty() {
        let mut table = Table::new();
        table.load_style(UTF8_BORDERS_ONLY).set_header(["day", "mood", "baseline", "memories"]);
        for day in recent {
            table.add_row([
                day.date.clone(),
                format!("{:+.2}", day.mean),
                day.baseline.map(|baseline| format!("{baseline:+.2}")).unwrap_or_default(),
                day.memories.to_string(),
            ]);
        }
        lines.push(table.to_string());
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_habit_does_not_repeat_when_it_happens() {
        let habit = Habit {
            activity: "run".to_owned(),
            related: vec!["saturday".to_owned(), "park".to_owned()],
            when: "Saturdays".to_owned(),
            weekday: Some("Saturday".to_owned()),
            part_of_day: None,
            occurrences: 43,
            support: 0.82,
            confidence: 0.9,
            first_seen: "2024-01-06".to_owned(),
            last_seen: "2024-12-21".to_owned(),
            evidence: Vec::new(),
        };
        assert!(habit_line(&habit).starts_with("habit: run (park) on Saturdays — 43 times"), "{}", habit_line(&habit));
    }

    #[test]
    fn an_owner_without_memories_is_told_so_without_empty_charts() {
        let patterns = Patterns { owner: "ghost".to_owned(), ..Patterns::default() };
        assert_eq!(text(&patterns), "ghost: 0 memories (0 undated)");
    }
}
