//! The optional language model backend: an OpenAI-compatible chat completions endpoint given the persona and
//! the owner's memories in their shareable form, asked to answer in the owner's voice from them alone.

use std::time::Duration;

use serde::Deserialize;

use mneme_protocol::avatar::Persona;

use crate::settings::LlmSettings;

#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    #[error("the language model endpoint cannot be reached: {0}")]
    Unreachable(String),
    #[error("the language model endpoint answered {status}: {body}")]
    Status { status: u16, body: String },
    #[error("the language model's answer is not a chat completion: {0}")]
    Malformed(String),
}

#[derive(Debug, Clone)]
pub struct LlmBackend {
    client: reqwest::Client,
    endpoint: String,
    model: String,
    settings: LlmSettings,
}

#[derive(Deserialize)]
struct Completion {
    choices: Vec<Choice>,
}

#[derive(Deserialize)]
struct Choice {
    message: ChoiceMessage,
}

#[derive(Deserialize)]
struct ChoiceMessage {
    content: Option<String>,
}

/// What the model is told of the owner: how they write, never who they know.
pub fn instructions(persona: &Persona, memories: &[String]) -> String {
    let phrases: Vec<&str> = persona.signature_phrases.iter().take(6).map(|phrase| phrase.phrase.as_str()).collect();
    let emoji: Vec<&str> = persona.emoji.iter().take(3).map(|mark| mark.mark.as_str()).collect();
    let interests: Vec<&str> = persona.interests.iter().take(8).map(|interest| interest.term.as_str()).collect();
    let mut text = format!(
        "You answer as the person whose memories follow, in the first person and in their voice. They write \
         sentences of about {:.0} words, {} in tone (formality {:.0} of 100), with {:.1} contractions per 100 words.",
        persona.sentence_length.mean_words,
        persona.formality.label,
        persona.formality.score,
        persona.formality.contractions_per_100_words,
    );
    if !phrases.is_empty() {
        text.push_str(&format!(" Phrases they use: {}.", phrases.join("; ")));
    }
    if !emoji.is_empty() && persona.punctuation.emoji_per_1000_words >= 5.0 {
        text.push_str(&format!(" Emoji they use: {}.", emoji.join(" ")));
    }
    if persona.punctuation.lowercase_start_share > 0.5 {
        text.push_str(" They start sentences in lower case.");
    }
    if !interests.is_empty() {
        text.push_str(&format!(" They often write about: {}.", interests.join(", ")));
    }
    text.push_str(
        " Use only what the memories below say; if they do not answer the question, say so briefly, in their \
         voice. Stand-ins such as <PERSON> or made-up names replace private details: keep them as they are. \
         Answer in at most three sentences.\n\nMemories:\n",
    );
    for memory in memories {
        text.push_str("- ");
        text.push_str(memory.trim());
        text.push('\n');
    }
    text
}

impl LlmBackend {
    /// The backend the settings configure; `None` when they configure none.
    pub fn new(settings: &LlmSettings) -> Option<Result<Self, LlmError>> {
        let url = settings.url.as_ref()?;
        let model = settings.model.clone()?;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(settings.timeout_ms))
            .build()
            .map_err(|error| LlmError::Unreachable(error.to_string()));
        Some(client.map(|client| LlmBackend {
            client,
            endpoint: format!("{}/chat/completions", url.trim_end_matches('/')),
            model,
            settings: settings.clone(),
        }))
    }

    pub async fn respond(&self, persona: &Persona, prompt: &str, memories: &[String]) -> Result<String, LlmError> {
        let body = serde_json::json!({
            "model": self.model,
            "messages": [
                {"role": "system", "content": instructions(persona, memories)},
                {"role": "user", "content": prompt},
            ],
            "max_tokens": self.settings.max_tokens,
            "temperature": self.settings.temperature,
        });
        let mut request = self.client.post(&self.endpoint).json(&body);
        if let Some(key) = &self.settings.api_key {
            request = request.bearer_auth(key);
        }
        let response = request.send().await.map_err(|error| LlmError::Unreachable(error.to_string()))?;
        let status = response.status();
        if !status.is_success() {
            let body: String = response.text().await.unwrap_or_default().chars().take(300).collect();
            return Err(LlmError::Status { status: status.as_u16(), body });
        }
        let completion: Completion = response.json().await.map_err(|error| LlmError::Malformed(error.to_string()))?;
        completion
            .choices
            .into_iter()
            .find_map(|choice| choice.message.content)
            .map(|content| content.trim().to_owned())
            .filter(|content| !content.is_empty())
            .ok_or_else(|| LlmError::Malformed("no choice has content".to_owned()))
    }
}
