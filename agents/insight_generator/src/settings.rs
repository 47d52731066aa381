//! The insight generator's settings: the runtime's sections plus `[generator]`.

use serde::{Deserialize, Serialize};

use mneme_runtime::settings::Validate;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GeneratorSettings {
    /// Bytes one memory's text may have (the privacy guardian's default limit).
    pub max_text_bytes: usize,
    /// Characters a question may have.
    pub max_query_chars: usize,
    /// Owners whose index one replica keeps in memory at once; the least recently asked one goes first.
    pub max_loaded_owners: usize,
    /// Replicas of the index bucket in a clustered JetStream.
    pub store_replicas: usize,
}

impl Default for GeneratorSettings {
    fn default() -> Self {
        GeneratorSettings {
            max_text_bytes: 512 * 1024,
            max_query_chars: 1_000,
            max_loaded_owners: 64,
            store_replicas: 1,
        }
    }
}

mneme_runtime::process_settings!(Settings { generator: GeneratorSettings });

impl Validate for Settings {
    fn problems(&self) -> Vec<String> {
        let mut problems = self.runtime.problems();
        let generator = &self.generator;
        for (name, value) in [
            ("max_text_bytes", generator.max_text_bytes),
            ("max_query_chars", generator.max_query_chars),
            ("max_loaded_owners", generator.max_loaded_owners),
            ("store_replicas", generator.store_replicas),
        ] {
            if value == 0 {
                problems.push(format!("generator.{name} must be at least 1"));
            }
        }
        problems
    }
}
