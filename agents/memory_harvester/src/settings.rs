//! The harvester's settings: the runtime's sections plus `[harvester]`.

use serde::{Deserialize, Serialize};

use mneme_runtime::settings::Validate;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HarvesterSettings {
    /// Owner of inputs that name none.
    pub default_owner: String,
    /// Fewer words than this is `too_short`.
    pub min_words: usize,
    /// Quality score at or above which a memory is acceptable.
    pub acceptance_threshold: f64,
    /// Estimated Jaccard similarity of word bigrams at or above which two texts are near-duplicates.
    pub near_duplicate_min_similarity: f64,
    pub max_batch_size: usize,
    /// The most bytes of text one memory may hold. The privacy guardian seals a memory's text with its
    /// shareable form in one record, so twice this must stay under NATS's largest message (1 MiB by default).
    pub max_text_bytes: usize,
    /// JetStream KV bucket of the duplicate index, shared by all replicas.
    pub dedup_bucket: String,
    /// Replicas of the bucket in a clustered JetStream (1 on a single server).
    pub dedup_replicas: usize,
    /// Publish `mneme.event.memory_processed` for each processed memory.
    pub publish_events: bool,
}

impl Default for HarvesterSettings {
    fn default() -> Self {
        HarvesterSettings {
            default_owner: "default".to_owned(),
            min_words: 3,
            acceptance_threshold: 0.5,
            near_duplicate_min_similarity: 0.7,
            max_batch_size: 1_000,
            max_text_bytes: 256 * 1024,
            dedup_bucket: "mneme_harvester_dedup".to_owned(),
            dedup_replicas: 1,
            publish_events: true,
        }
    }
}

mneme_runtime::process_settings!(Settings { harvester: HarvesterSettings });

impl Validate for Settings {
    fn problems(&self) -> Vec<String> {
        let mut problems = self.runtime.problems();
        let harvester = &self.harvester;
        if harvester.default_owner.trim().is_empty() {
            problems.push("harvester.default_owner is empty".to_owned());
        }
        if !(0.0..=1.0).contains(&harvester.acceptance_threshold) {
            problems.push("harvester.acceptance_threshold must lie in 0..=1".to_owned());
        }
        if !(0.5..=1.0).contains(&harvester.near_duplicate_min_similarity) {
            problems.push(
                "harvester.near_duplicate_min_similarity must lie in 0.5..=1 (lower finds unrelated notes)".to_owned(),
            );
        }
        if harvester.max_batch_size == 0 {
            problems.push("harvester.max_batch_size must be at least 1".to_owned());
        }
        if harvester.max_text_bytes == 0 {
            problems.push("harvester.max_text_bytes must be at least 1".to_owned());
        }
        if harvester.dedup_bucket.is_empty()
            || !harvester
                .dedup_bucket
                .chars()
                .all(|character| character.is_ascii_alphanumeric() || "-_".contains(character))
        {
            problems.push("harvester.dedup_bucket may only hold letters, digits, `-` and `_`".to_owned());
        }
        problems
    }
}
