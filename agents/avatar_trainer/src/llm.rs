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

/// What the model is told of the owner: how they write, never who they know. Interests are told only when
/// the owner asks: they are read from all the owner's memories, beyond what a grantee may see.
pub fn instructions(persona: &Persona, memories: &[String], for_owner: bool) -> String {
    let phrases: Vec<&str> = persona.signature_phrases.iter().take(6).map(|phrase| phrase.phrase.as_str()).collect();
    let emoji: Vec<&str> = persona.emoji.iter().take(3).map(|mark| mark.mark.as_str()).collect();
    let interests: Vec<&str> = if for_owner {
        persona.interests.iter().take(8).map(|interest| interest.term.as_str()).collect()
    } else {
        Vec::new()
    };
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

    pub async fn respond(
        &self,
        persona: &Persona,
        prompt: &str,
        memories: &[String],
        for_owner: bool,
    ) -> Result<String, LlmError> {
        let body = serde_json::json!({
            "model": self.model,
            "messages": [
                {"role": "system", "content": instructions(persona, memories, for_owner)},
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

#[cfg(test)]
pub(crate) mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;
    use crate::model::VoiceModel;
    use crate::style::StyleSample;

    /// An OpenAI-compatible endpoint on a free port that answers every request with `status` and `body`, and
    /// hands over each request body it got.
    pub(crate) async fn endpoint(
        status: u16,
        body: &'static str,
    ) -> (String, tokio::sync::mpsc::Receiver<serde_json::Value>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/v1", listener.local_addr().unwrap());
        let (seen, requests) = tokio::sync::mpsc::channel(8);
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let mut received = Vec::new();
                let mut buffer = [0u8; 4096];
                let request_body = loop {
                    let read = stream.read(&mut buffer).await.unwrap();
                    received.extend_from_slice(&buffer[..read]);
                    let text = String::from_utf8_lossy(&received).to_string();
                    if let Some((head, rest)) = text.split_once("\r\n\r\n") {
                        let length: usize = head
                            .lines()
                            .find_map(|line| {
                                line.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|n| n.trim().parse().unwrap())
                            })
                            .unwrap_or(0);
                        if rest.len() >= length {
                            break rest.to_owned();
                        }
                    }
                };
                seen.send(serde_json::from_str(&request_body).unwrap()).await.unwrap();
                let response = format!(
                    "HTTP/1.1 {status} OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                stream.write_all(response.as_bytes()).await.unwrap();
            }
        });
        (url, requests)
    }

    fn persona() -> Persona {
        let mut model = VoiceModel::default();
        model.add("m1", &StyleSample::read("To be honest the bread was flat. To be honest!", None, None));
        model.add("m2", &StyleSample::read("To be honest I loved Lisbon.", None, None));
        model.persona("sam")
    }

    fn settings(url: String) -> LlmSettings {
        LlmSettings {
            url: Some(url),
            model: Some("local-model".to_owned()),
            api_key: Some("k".to_owned()),
            ..LlmSettings::default()
        }
    }

    #[tokio::test]
    async fn asks_for_a_chat_completion_with_the_persona_and_the_memories() {
        let (url, mut requests) = endpoint(
            200,
            r#"{"choices":[{"message":{"role":"assistant","content":" Lisbon was lovely, to be honest. "}}]}"#,
        )
        .await;
        let backend = LlmBackend::new(&settings(url)).unwrap().unwrap();
        let said = backend
            .respond(&persona(), "How was Lisbon?", &["Lisbon, day one. <PERSON>'s flat".to_owned()], true)
            .await
            .unwrap();
        assert_eq!(said, "Lisbon was lovely, to be honest.");
        let sent = requests.recv().await.unwrap();
        assert_eq!(sent["model"], "local-model");
        let system = sent["messages"][0]["content"].as_str().unwrap();
        assert!(system.contains("to be honest") && system.contains("- Lisbon, day one. <PERSON>'s flat"), "{system}");
        assert_eq!(sent["messages"][1]["content"], "How was Lisbon?");
    }

    #[tokio::test]
    async fn failures_are_typed() {
        let (url, _requests) = endpoint(500, r#"{"error":"overloaded"}"#).await;
        let backend = LlmBackend::new(&settings(url)).unwrap().unwrap();
        let failed = backend.respond(&persona(), "hi", &[], true).await.unwrap_err();
        assert!(matches!(failed, LlmError::Status { status: 500, .. }), "{failed}");
        let (url, _requests) = endpoint(200, r#"{"choices":[]}"#).await;
        let backend = LlmBackend::new(&settings(url)).unwrap().unwrap();
        assert!(matches!(backend.respond(&persona(), "hi", &[], true).await, Err(LlmError::Malformed(_))));
        let nowhere = LlmBackend::new(&settings("http://127.0.0.1:9".to_owned())).unwrap().unwrap();
        assert!(matches!(nowhere.respond(&persona(), "hi", &[], true).await, Err(LlmError::Unreachable(_))));
    }
}
