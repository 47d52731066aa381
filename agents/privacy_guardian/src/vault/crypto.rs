//! Encryption at rest: XChaCha20-Poly1305 under a per-owner data key, and data keys wrapped by a key derived
//! from the master key. Every sealed value is bound to where it belongs (its owner and id) as associated data,
//! so that a value copied under another key does not open.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use crate::keys::MasterKey;

const NONCE_BYTES: usize = 24;
/// The purpose under which the key that wraps data keys is derived from the master key.
const WRAP_PURPOSE: &str = "mneme/guardian/wrap/v1";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("sealed value is too short to hold a nonce and a tag")]
    Truncated,
    #[error("sealed value does not open: wrong key, or it was altered or moved")]
    NotAuthentic,
}

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
        seal_with(&self.0, context, plaintext)
    }

    pub fn open(&self, context: &[u8], sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
        open_with(&self.0, context, sealed)
    }

    /// The data key encrypted under the master key, bound to its owner.
    pub fn wrap(&self, master: &MasterKey, owner_token: &str) -> Vec<u8> {
        seal_with(&wrapping_key(master), owner_token.as_bytes(), &self.0)
    }

    pub fn unwrap(master: &MasterKey, owner_token: &str, wrapped: &[u8]) -> Result<Self, CryptoError> {
        let bytes = open_with(&wrapping_key(master), owner_token.as_bytes(), wrapped)?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| CryptoError::NotAuthentic)?;
        Ok(DataKey(key))
    }
}

fn wrapping_key(master: &MasterKey) -> [u8; 32] {
    master.derive(WRAP_PURPOSE, "").prf_key()
}

fn cipher(key: &[u8; 32]) -> XChaCha20Poly1305 {
    XChaCha20Poly1305::new(key.into())
}

fn seal_with(key: &[u8; 32], context: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let nonce_bytes: [u8; NONCE_BYTES] = rand::random();
    let nonce = XNonce::from(nonce_bytes);
    let ciphertext = cipher(key)
        .encrypt(&nonce, Payload { msg: plaintext, aad: context })
        .expect("XChaCha20-Poly1305 encrypts any message that fits in memory");
    let mut sealed = Vec::with_capacity(NONCE_BYTES + ciphertext.len());
    sealed.extend_from_slice(&nonce_bytes);
    sealed.extend_from_slice(&ciphertext);
    sealed
}

fn open_with(key: &[u8; 32], context: &[u8], sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
    if sealed.len() < NONCE_BYTES + 16 {
        return Err(CryptoError::Truncated);
    }
    let (nonce_bytes, ciphertext) = sealed.split_at(NONCE_BYTES);
    let nonce_bytes: [u8; NONCE_BYTES] = nonce_bytes.try_into().map_err(|_| CryptoError::Truncated)?;
    cipher(key)
        .decrypt(&XNonce::from(nonce_bytes), Payload { msg: ciphertext, aad: context })
        .map_err(|_| CryptoError::NotAuthentic)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn master(byte: &str) -> MasterKey {
        MasterKey::from_hex(&byte.repeat(32)).unwrap()
    }

    #[test]
    fn sealed_values_open_only_with_their_key_and_context() {
        let key = DataKey::generate();
        let sealed = key.seal(b"ann/m1", b"Lunch with Omar");
        assert!(!sealed.windows(4).any(|window| window == b"Omar"));
        assert_eq!(key.open(b"ann/m1", &sealed).unwrap(), b"Lunch with Omar");
        assert_eq!(key.open(b"ann/m2", &sealed), Err(CryptoError::NotAuthentic));
        assert_eq!(DataKey::generate().open(b"ann/m1", &sealed), Err(CryptoError::NotAuthentic));
        assert_eq!(key.open(b"ann/m1", &sealed[..10]), Err(CryptoError::Truncated));
        assert_ne!(key.seal(b"ann/m1", b"x"), key.seal(b"ann/m1", b"x"), "a fresh nonce every time");
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
}
