//! The relationship mapper's settings: the runtime's sections plus `[mapper]`.

use serde::{Deserialize, Serialize};

use mneme_runtime::settings::Validate;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MapperSettings {
    /// Bytes one memory's text may have (the privacy guardian's default limit).
    pub max_text_bytes: usize,
    /// Replicas of the references bucket in a clustered JetStream.
    pub store_replicas: usize,
}

impl Default for MapperSettings {
    fn default() -> Self {
        MapperSettings { max_text_bytes: 512 * 1024, store_replicas: 1 }
    }
}

mneme_runtime::process_settings!(Settings { mapper: MapperSettings });

impl Validate for Settings {
    fn problems(&self) -> Vec<String> {
        let mut problems = self.runtime.problems();
        if self.mapper.max_text_bytes == 0 {
            problems.push("mapper.max_text_bytes must be at least 1".to_owned());
        }
        if self.mapper.store_replicas == 0 {
            problems.push("mapper.store_replicas must be at least 1".to_owned());
        }
        problems
    }
}
