//! The guardian's master key: read from a secret file or the settings, never logged, and the root of every
//! key the guardian derives (per-owner pseudonym keys today).

use std::fmt;
use std::path::Path;

use hkdf::Hkdf;
use sha2::Sha256;

/// 256 bits, from which every other key is derived with HKDF-SHA256.
#[derive(Clone)]
pub struct MasterKey([u8; 32]);

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("master key file `{path}` cannot be read: {reason}")]
    Unreadable { path: String, reason: String },
    #[error("the master key must be 64 hexadecimal characters (32 bytes)")]
    Malformed,
}

impl MasterKey {
    /// From 64 hex characters, surrounding white space ignored.
    pub fn from_hex(text: &str) -> Result<Self, KeyError> {
        let bytes = hex::decode(text.trim()).map_err(|_| KeyError::Malformed)?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| KeyError::Malformed)?;
        Ok(MasterKey(key))
    }

    /// From a file holding the key in hex, as `mneme up` writes it and Kubernetes mounts a Secret.
    pub fn from_file(path: &Path) -> Result<Self, KeyError> {
        let text = std::fs::read_to_string(path)
            .map_err(|error| KeyError::Unreadable { path: path.display().to_string(), reason: error.to_string() })?;
        Self::from_hex(&text)
    }

    /// A key for one purpose and one owner: HKDF-SHA256 with the purpose as salt and the owner as info, so
    /// that keys of different owners or purposes say nothing about each other.
    pub fn derive(&self, purpose: &str, owner: &str) -> DerivedKey {
        let mut key = [0u8; 32];
        Hkdf::<Sha256>::new(Some(purpose.as_bytes()), &self.0)
            .expand(owner.as_bytes(), &mut key)
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        DerivedKey(key)
    }
}

/// A key derived from the master key.
#[derive(Clone)]
pub struct DerivedKey([u8; 32]);

impl fmt::Debug for DerivedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DerivedKey(..)")
    }
}

impl DerivedKey {
    /// The key itself, to key a cipher with.
    pub fn prf_key(&self) -> [u8; 32] {
        self.0
    }

    /// A keyed pseudo-random function of `message` (HKDF-Expand, an HMAC-SHA256): the same message always
    /// gives the same value under this key, and without the key nothing about the message can be learnt.
    pub fn prf(&self, message: &[u8]) -> [u8; 16] {
        let mut out = [0u8; 16];
        Hkdf::<Sha256>::from_prk(&self.0)
            .expect("a 32-byte key is a valid pseudo-random key")
            .expand(message, &mut out)
            .expect("16 bytes is a valid HKDF-SHA256 output length");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    #[test]
    fn keys_are_read_in_hex_and_never_printed() {
        let key = MasterKey::from_hex(&format!("  {KEY}\n")).unwrap();
        assert_eq!(format!("{key:?}"), "MasterKey(..)");
        assert!(matches!(MasterKey::from_hex("abcd"), Err(KeyError::Malformed)));
        assert!(matches!(MasterKey::from_hex(&KEY.replace('0', "g")), Err(KeyError::Malformed)));
    }

    #[test]
    fn derived_keys_differ_by_owner_and_purpose() {
        let key = MasterKey::from_hex(KEY).unwrap();
        let ann = key.derive("pseudonym", "ann").prf(b"Omar");
        assert_eq!(ann, key.derive("pseudonym", "ann").prf(b"Omar"));
        assert_ne!(ann, key.derive("pseudonym", "bob").prf(b"Omar"));
        assert_ne!(ann, key.derive("other", "ann").prf(b"Omar"));
    }
}
