//! The guardian's settings: the runtime's sections plus `[guardian]`.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use mneme_runtime::settings::Validate;

use crate::keys::{KeyError, MasterKey};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GuardianSettings {
    /// Findings scoring below this are left out unless a request asks for a lower minimum.
    pub min_score: f64,
    /// Texts longer than this (in bytes) are refused: detection time grows with length.
    pub max_text_bytes: usize,
    /// A file holding the master key in hex (a mounted Secret in production). `mneme up` makes one.
    pub master_key_file: Option<PathBuf>,
    /// The master key in hex, when no file is used; prefer the file, since environments leak.
    pub master_key: Option<String>,
    /// While the master key is rotated: a file holding the key it replaces. Data keys wrapped by it still
    /// open and are wrapped anew under the current key (all at once with `rewrap_keys`).
    pub previous_master_key_file: Option<PathBuf>,
    /// Replicas of the vault's buckets and the audit stream in a clustered JetStream (1 on a single server).
    pub store_replicas: usize,
}

impl Default for GuardianSettings {
    fn default() -> Self {
        GuardianSettings {
            min_score: 0.5,
            max_text_bytes: 512 * 1024,
            master_key_file: None,
            master_key: None,
            previous_master_key_file: None,
            store_replicas: 1,
        }
    }
}

impl GuardianSettings {
    /// The configured master key, if any.
    pub fn master_key(&self) -> Result<Option<MasterKey>, KeyError> {
        match (&self.master_key_file, &self.master_key) {
            (Some(path), _) => MasterKey::from_file(path).map(Some),
            (None, Some(hex)) => MasterKey::from_hex(hex).map(Some),
            (None, None) => Ok(None),
        }
    }

    /// The master key being retired, if a rotation is under way.
    pub fn previous_master_key(&self) -> Result<Option<MasterKey>, KeyError> {
        self.previous_master_key_file.as_deref().map(MasterKey::from_file).transpose()
    }
}

mneme_runtime::process_settings!(Settings { guardian: GuardianSettings });

impl Validate for Settings {
    fn problems(&self) -> Vec<String> {
        let mut problems = self.runtime.problems();
        let guardian = &self.guardian;
        if !(0.0..=1.0).contains(&guardian.min_score) {
            problems.push("guardian.min_score must lie in 0..=1".to_owned());
        }
        if guardian.max_text_bytes == 0 {
            problems.push("guardian.max_text_bytes must be at least 1".to_owned());
        }
        if guardian.store_replicas == 0 {
            problems.push("guardian.store_replicas must be at least 1".to_owned());
        }
        if let Err(error) = guardian.master_key() {
            problems.push(format!("guardian master key: {error}"));
        }
        if let Err(error) = guardian.previous_master_key() {
            problems.push(format!("guardian previous master key: {error}"));
        }
        problems
    }
}
