//! `mneme avatar`: an owner's persona (how they write), answers in their voice, and the versions of their
//! voice model.

use std::process::ExitCode;

use comfy_table::{Table, presets::UTF8_BORDERS_ONLY};

use mneme_protocol::AgentType;
use mneme_protocol::avatar::{
    AvatarResponse, GetPersonaRequest, ListModelVersionsRequest, ModelVersions, Persona, RespondRequest,
    ResponseBackend, message_types,
};
use mneme_protocol::words::counted;
use mneme_runtime::call::CallOptions;

use super::{OutputFormat, say};
use crate::settings::Settings;

pub enum AvatarCommand {
    Persona { from: Option<String>, until: Option<String>, version: Option<u64> },
    Say { prompt: String, limit: usize },
    Versions,
}

pub async fn avatar(
    settings: &Settings,
    owner: &str,
    principal: Option<&str>,
    command: AvatarCommand,
    output: OutputFormat,
) -> anyhow::Result<ExitCode> {
    let orchestrator = super::connect(settings).await?;
    let principal = principal.unwrap_or(owner).to_owned();
    let options = CallOptions::default();
    let owner = owner.to_owned();
    let text = match command {
        AvatarCommand::Persona { from, until, version } => {
            let request = GetPersonaRequest { principal, owner, from, until, version };
            let persona: Persona = orchestrator
                .send(AgentType::AvatarTrainer, message_types::GET_PERSONA, &request, &options)
                .await?
                .payload_as()?;
            match output {
                OutputFormat::Json => serde_json::to_string_pretty(&persona)?,
                OutputFormat::Table => persona_text(&persona),
            }
        }
        AvatarCommand::Say { prompt, limit } => {
            let request = RespondRequest { principal, owner, prompt, limit: Some(limit) };
            let response: AvatarResponse = orchestrator
                .send(AgentType::AvatarTrainer, message_types::RESPOND, &request, &options)
                .await?
                .payload_as()?;
            match output {
                OutputFormat::Json => serde_json::to_string_pretty(&response)?,
                OutputFormat::Table => response_text(&response),
            }
        }
        AvatarCommand::Versions => {
            let request = ListModelVersionsRequest { principal, owner };
            let versions: ModelVersions = orchestrator
                .send(AgentType::AvatarTrainer, message_types::LIST_MODEL_VERSIONS, &request, &options)
                .await?
                .payload_as()?;
            match output {
                OutputFormat::Json => serde_json::to_string_pretty(&versions)?,
                OutputFormat::Table => versions_text(&versions),
            }
        }
    };
    say(&text)?;
    Ok(ExitCode::SUCCESS)
}

pub fn persona_text(persona: &Persona) -> String {
    if persona.memories == 0 {
        return format!("Nothing {} wrote has been learned yet.", persona.owner);
    }
    let mut lines = Vec::new();
    let span = match (&persona.from, &persona.until) {
        (None, None) => String::new(),
        (from, until) => {
            format!(", {} to {}", from.as_deref().unwrap_or("the start"), until.as_deref().unwrap_or("now"))
        }
    };
    let version = persona.model_version.map(|version| format!(" (model version {version})")).unwrap_or_default();
    lines.push(format!(
        "{} in their own words{span}{version}: {}, {}, {}",
        persona.owner,
        counted(persona.memories, "memory", "memories"),
        counted(persona.words, "word", "words"),
        counted(persona.sentences, "sentence", "sentences")
    ));
    let mut table = Table::new();
    table.load_style(UTF8_BORDERS_ONLY);
    let sentences = &persona.sentence_length;
    let vocabulary = &persona.vocabulary;
    let punctuation = &persona.punctuation;
    let formality = &persona.formality;
    let mut rows = vec![
        (
            "sentences",
            format!(
                "{:.1} words on average (spread {:.1}); {:.0}% short, {:.0}% long",
                sentences.mean_words,
                sentences.stdev_words,
                sentences.short_share * 100.0,
                sentences.long_share * 100.0
            ),
        ),
        (
            "vocabulary",
            format!(
                "{} distinct words; richness {:.1} (Guiraud); {:.0}% used once; {:.0}% long words",
                vocabulary.distinct_words,
                vocabulary.guiraud,
                vocabulary.hapax_share * 100.0,
                vocabulary.long_word_share * 100.0
            ),
        ),
        (
            "formality",
            format!(
                "{} ({:.0} of 100); {:.1} contractions per 100 words",
                formality.label, formality.score, formality.contractions_per_100_words
            ),
        ),
        (
            "punctuation",
            format!(
                "{:.0}% of sentences end in !, {:.0}% in ?; {:.1} commas a sentence; {:.0}% start in lower case; {:.1} ellipses and {:.1} words in capitals per 1000 words",
                punctuation.exclamation_share * 100.0,
                punctuation.question_share * 100.0,
                punctuation.commas_per_sentence,
                punctuation.lowercase_start_share * 100.0,
                punctuation.ellipses_per_1000_words,
                punctuation.all_caps_per_1000_words
            ),
        ),
    ];
    if !persona.emoji.is_empty() {
        let marks: Vec<String> =
            persona.emoji.iter().take(6).map(|mark| format!("{} ×{}", mark.mark, mark.uses)).collect();
        rows.push(("emoji", format!("{:.1} per 1000 words: {}", punctuation.emoji_per_1000_words, marks.join(", "))));
    }
    if let Some(sentiment) = &persona.sentiment {
        rows.push((
            "sentiment",
            format!(
                "{:+.2} on average (spread {:.2}); {:.0}% of memories positive, {:.0}% negative",
                sentiment.mean,
                sentiment.stdev,
                sentiment.positive_share * 100.0,
                sentiment.negative_share * 100.0
            ),
        ));
    }
    if !persona.signature_phrases.is_empty() {
        let phrases: Vec<String> =
            persona.signature_phrases.iter().map(|phrase| format!("\"{}\" ×{}", phrase.phrase, phrase.uses)).collect();
        rows.push(("signature phrases", phrases.join(", ")));
    }
    if !persona.interests.is_empty() {
        let interests: Vec<String> = persona
            .interests
            .iter()
            .map(|interest| format!("{} ({:.0}%)", interest.term, interest.share * 100.0))
            .collect();
        rows.push(("interests", interests.join(", ")));
    }
    for (name, value) in rows {
        table.add_row(vec![name.to_owned(), value]);
    }
    lines.push(table.to_string());
    let personality = &persona.personality;
    let traits: Vec<String> = personality
        .traits
        .iter()
        .map(|indicator| format!("{} {} ({:+.2})", indicator.name, indicator.level, indicator.score))
        .collect();
    lines.push(format!("Personality indicators (confidence {:.2}): {}", personality.confidence, traits.join("; ")));
    lines.push(personality.method.clone());
    lines.join("\n")
}

fn response_text(response: &AvatarResponse) -> String {
    let mut lines = Vec::new();
    if response.answered {
        lines.push(format!("{}: {}", response.owner, response.text));
        let how = match response.backend {
            ResponseBackend::Extractive => "composed from their own sentences",
            ResponseBackend::Llm => "written by the configured language model from their memories",
        };
        lines.push(format!("({how})"));
    } else {
        // The notes say why.
        lines.push(format!("{} has nothing to say to that.", response.owner));
    }
    for note in &response.notes {
        lines.push(format!("note: {note}"));
    }
    if !response.sources.is_empty() {
        lines.push("drawn from:".to_owned());
        for source in &response.sources {
            let day = source.occurred_at.as_deref().map(|at| &at[..at.len().min(10)]).unwrap_or("undated");
            let redacted = if source.redacted { " (redacted)" } else { "" };
            lines.push(format!("  {day} {}{redacted}: {}", source.memory_id, source.snippet));
        }
    }
    lines.join("\n")
}

fn versions_text(versions: &ModelVersions) -> String {
    if versions.versions.is_empty() {
        return format!("No model snapshot of {} is kept yet.", versions.owner);
    }
    let mut table = Table::new();
    table.load_style(UTF8_BORDERS_ONLY);
    table.set_header(vec!["version", "written", "memories", "words", "bytes"]);
    for version in &versions.versions {
        table.add_row(vec![
            version.version.to_string(),
            version.written_at.clone(),
            version.memories.to_string(),
            version.words.to_string(),
            version.bytes.to_string(),
        ]);
    }
    table.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unanswered_prompt_says_so_once_and_claims_no_way_of_answering() {
        let response = AvatarResponse {
            owner: "ghost".to_owned(),
            prompt: "hello".to_owned(),
            text: String::new(),
            answered: false,
            backend: ResponseBackend::Extractive,
            sources: Vec::new(),
            notes: vec!["nothing ghost wrote answers this".to_owned()],
        };
        assert_eq!(
            response_text(&response),
            "ghost has nothing to say to that.\nnote: nothing ghost wrote answers this"
        );
    }
}
