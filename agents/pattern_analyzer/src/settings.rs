//! The pattern analyzer's settings: the runtime's sections plus `[analyzer]`.

use serde::{Deserialize, Serialize};

use mneme_runtime::settings::Validate;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AnalyzerSettings {
    /// Texts one `analyze_sentiment` may carry.
    pub max_texts: usize,
    /// Bytes one text may have.
    pub max_text_bytes: usize,
    /// Replicas of the observations bucket in a clustered JetStream.
    pub store_replicas: usize,
}

impl Default for AnalyzerSettings {
    fn default() -> Self {
        AnalyzerSettings { max_texts: 10_000, max_text_bytes: 64 * 1024, store_replicas: 1 }
    }
}

mneme_runtime::process_settings!(Settings { analyzer: AnalyzerSettings });

impl Validate for Settings {
    fn problems(&self) -> Vec<String> {
        let mut problems = self.runtime.problems();
        if self.analyzer.max_texts == 0 {
            problems.push("analyzer.max_texts must be at least 1".to_owned());
        }
        if self.analyzer.store_replicas == 0 {
            problems.push("analyzer.store_replicas must be at least 1".to_owned());
        }
        if self.analyzer.max_text_bytes == 0 {
            problems.push("analyzer.max_text_bytes must be at least 1".to_owned());
        }
        problems
    }
}
