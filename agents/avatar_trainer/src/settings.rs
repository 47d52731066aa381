//! The avatar trainer's settings: the runtime's sections plus `[avatar]` and `[avatar.llm]`.

use serde::{Deserialize, Serialize};

use mneme_runtime::settings::Validate;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AvatarSettings {
    /// Bytes one memory's text may have (the privacy guardian's default limit).
    pub max_text_bytes: usize,
    /// Characters a prompt may have.
    pub max_prompt_chars: usize,
    /// Owners whose model one replica keeps in memory at once; the least recently used one goes first.
    pub max_loaded_owners: usize,
    /// A replica writes a new snapshot of an owner's model after training this many of their memories (and
    /// when it stops, if it trained any since the last).
    pub snapshot_every: usize,
    /// ... and at most this long after it trained one not yet in a snapshot, however few.
    pub snapshot_after_ms: u64,
    /// Snapshots kept per owner; older ones are deleted.
    pub snapshots_kept: usize,
    /// Replicas of the sample ledger and the snapshot bucket in a clustered JetStream.
    pub store_replicas: usize,
    pub llm: LlmSettings,
}

impl Default for AvatarSettings {
    fn default() -> Self {
        AvatarSettings {
            max_text_bytes: 512 * 1024,
            max_prompt_chars: 2_000,
            max_loaded_owners: 64,
            snapshot_every: 200,
            snapshot_after_ms: 30_000,
            snapshots_kept: 5,
            store_replicas: 1,
            llm: LlmSettings::default(),
        }
    }
}

/// An OpenAI-compatible chat completions endpoint that `respond` may use; off unless `url` is set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LlmSettings {
    /// The API's base URL, up to and including its version (`http://localhost:11434/v1`, `https://api.openai.com/v1`);
    /// `/chat/completions` is added.
    pub url: Option<String>,
    pub model: Option<String>,
    /// Sent as a bearer token when set (`MNEME__AVATAR__LLM__API_KEY`).
    pub api_key: Option<String>,
    pub timeout_ms: u64,
    pub max_tokens: u32,
    pub temperature: f64,
}

impl Default for LlmSettings {
    fn default() -> Self {
        LlmSettings { url: None, model: None, api_key: None, timeout_ms: 30_000, max_tokens: 300, temperature: 0.7 }
    }
}

impl LlmSettings {
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if let Some(url) = &self.url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                problems.push(format!("avatar.llm.url `{url}` must start with http:// or https://"));
            }
            if self.model.as_deref().is_none_or(|model| model.trim().is_empty()) {
                problems.push("avatar.llm.model must be set when avatar.llm.url is".to_owned());
            }
        }
        if self.timeout_ms == 0 || self.max_tokens == 0 {
            problems.push("avatar.llm.timeout_ms and avatar.llm.max_tokens must be at least 1".to_owned());
        }
        if !(0.0..=2.0).contains(&self.temperature) {
            problems.push("avatar.llm.temperature must be within 0..2".to_owned());
        }
        problems
    }
}

mneme_runtime::process_settings!(Settings { avatar: AvatarSettings });

impl Validate for Settings {
    fn problems(&self) -> Vec<String> {
        let mut problems = self.runtime.problems();
        let avatar = &self.avatar;
        for (name, value) in [
            ("max_text_bytes", avatar.max_text_bytes),
            ("max_prompt_chars", avatar.max_prompt_chars),
            ("max_loaded_owners", avatar.max_loaded_owners),
            ("snapshot_every", avatar.snapshot_every),
            ("snapshots_kept", avatar.snapshots_kept),
            ("store_replicas", avatar.store_replicas),
        ] {
            if value == 0 {
                problems.push(format!("avatar.{name} must be at least 1"));
            }
        }
        if avatar.snapshot_after_ms == 0 {
            problems.push("avatar.snapshot_after_ms must be at least 1".to_owned());
        }
        problems.extend(avatar.llm.problems());
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_language_model_needs_a_url_and_a_model() {
        assert!(Settings::default().problems().is_empty());
        let mut settings = Settings::default();
        settings.avatar.llm.url = Some("localhost:11434".to_owned());
        let problems = settings.problems();
        assert_eq!(problems.len(), 2, "{problems:?}");
    }
}
