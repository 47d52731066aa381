//! Encryption at rest: XChaCha20-Poly1305 (`mneme_runtime::sealing`) under a per-owner data key, data keys
//! wrapped by a key derived from the master key, and keys derived from data keys for agents' derived state.
//! Every sealed value is bound to where it belongs (its owner and id) as associated data, so that a value
//! copied under another key does not open.

use hkdf::Hkdf;
use sha2::Sha256;

pub use mneme_runtime::sealing::SealError as CryptoError;
use mneme_runtime::sealing::{open, seal};

use crate::keys::MasterKey;

/// The purpose under which the key that wraps data keys is derived from the master key.
const WRAP_PURPOSE: &str = "mneme/guardian/wrap/v1";

/// An owner's data key: encrypts their memories. Destroying it makes every copy of them unreadable.
#[derive(Clone)]
pub struct DataKey([u8; 32]);

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(..)")
    }
}

impl DataKey {
    pub fn generate() -> Self {
        DataKey(rand::random())
    }

    /// Encrypts `plaintext`, bound to `context`; the result carries its random nonce.
    pub fn seal(&self, context: &[u8], plaintext: &[u8]) -> Vec<u8> {
        seal(&self.0, context, plaintext)
    }

    pub fn open(&self, context: &[u8], sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
        open(&self.0, context, sealed)
    }

    /// A key for what an agent derives from the owner's memories (`purpose` names the agent's state): it dies
    /// with the data key, so forgetting the owner makes the derived state unreadable too.
    pub fn derive(&self, purpose: &str, owner_token: &str) -> [u8; 32] {
        let mut key = [0u8; 32];
        Hkdf::<Sha256>::new(Some(purpose.as_bytes()), &self.0)
            .expand(owner_token.as_bytes(), &mut key)
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        key
    }

    /// The data key encrypted under the master key, bound to its owner.
    pub fn wrap(&self, master: &MasterKey, owner_token: &str) -> Vec<u8> {
        seal(&wrapping_key(master), owner_token.as_bytes(), &self.0)
    }

    pub fn unwrap(master: &MasterKey, owner_token: &str, wrapped: &[u8]) -> Result<Self, CryptoError> {
        let bytes = open(&wrapping_key(master), owner_token.as_bytes(), wrapped)?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| CryptoError::NotAuthentic)?;
        Ok(DataKey(key))
    }
}

fn wrapping_key(master: &MasterKey) -> [u8; 32] {
    master.derive(WRAP_PURPOSE, "").prf_key()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn master(byte: &str) -> MasterKey {
        MasterKey::from_hex(&byte.repeat(32)).unwrap()
    }

    #[test]
    fn data_keys_unwrap_only_under_their_master_key_and_owner() {
        let key = DataKey::generate();
        let wrapped = key.wrap(&master("01"), "ann");
        let unwrapped = DataKey::unwrap(&master("01"), "ann", &wrapped).unwrap();
        let sealed = key.seal(b"c", b"text");
        assert_eq!(unwrapped.open(b"c", &sealed).unwrap(), b"text");
        assert!(DataKey::unwrap(&master("02"), "ann", &wrapped).is_err());
        assert!(DataKey::unwrap(&master("01"), "bob", &wrapped).is_err());
    }

    #[test]
    fn derived_keys_differ_by_purpose_and_owner_and_die_with_the_data_key() {
        let key = DataKey::generate();
        let patterns = key.derive("mneme_patterns", "ann");
        assert_eq!(patterns, key.derive("mneme_patterns", "ann"), "every replica derives the same");
        assert_ne!(patterns, key.derive("mneme_relationships", "ann"));
        assert_ne!(patterns, key.derive("mneme_patterns", "bob"));
        assert_ne!(patterns, DataKey::generate().derive("mneme_patterns", "ann"));
    }
}
