//! Sealing values at rest: XChaCha20-Poly1305 under a 32-byte key, each value bound to where it belongs
//! (associated data), so that a value copied under another key or owner does not open. The guardian seals
//! memories with it; agents seal what they derive from them with keys the guardian derives for them.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

const NONCE_BYTES: usize = 24;
const TAG_BYTES: usize = 16;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    #[error("sealed value is too short to hold a nonce and a tag")]
    Truncated,
    #[error("sealed value does not open: wrong key, or it was altered or moved")]
    NotAuthentic,
}

fn cipher(key: &[u8; 32]) -> XChaCha20Poly1305 {
    XChaCha20Poly1305::new(key.into())
}

/// Encrypts `plaintext` under `key`, bound to `context`; the result carries its random nonce.
pub fn seal(key: &[u8; 32], context: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let nonce_bytes: [u8; NONCE_BYTES] = rand::random();
    let ciphertext = cipher(key)
        .encrypt(&XNonce::from(nonce_bytes), Payload { msg: plaintext, aad: context })
        .expect("XChaCha20-Poly1305 encrypts any message that fits in memory");
    let mut sealed = Vec::with_capacity(NONCE_BYTES + ciphertext.len());
    sealed.extend_from_slice(&nonce_bytes);
    sealed.extend_from_slice(&ciphertext);
    sealed
}

pub fn open(key: &[u8; 32], context: &[u8], sealed: &[u8]) -> Result<Vec<u8>, SealError> {
    if sealed.len() < NONCE_BYTES + TAG_BYTES {
        return Err(SealError::Truncated);
    }
    let (nonce_bytes, ciphertext) = sealed.split_at(NONCE_BYTES);
    let nonce_bytes: [u8; NONCE_BYTES] = nonce_bytes.try_into().map_err(|_| SealError::Truncated)?;
    cipher(key)
        .decrypt(&XNonce::from(nonce_bytes), Payload { msg: ciphertext, aad: context })
        .map_err(|_| SealError::NotAuthentic)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_their_key_and_context() {
        let key: [u8; 32] = rand::random();
        let sealed = seal(&key, b"ann/m1", b"Lunch with Omar");
        assert!(!sealed.windows(4).any(|window| window == b"Omar"));
        assert_eq!(open(&key, b"ann/m1", &sealed).unwrap(), b"Lunch with Omar");
        assert_eq!(open(&key, b"ann/m2", &sealed), Err(SealError::NotAuthentic));
        assert_eq!(open(&rand::random(), b"ann/m1", &sealed), Err(SealError::NotAuthentic));
        assert_eq!(open(&key, b"ann/m1", &sealed[..10]), Err(SealError::Truncated));
        assert_ne!(seal(&key, b"ann/m1", b"x"), seal(&key, b"ann/m1", b"x"), "a fresh nonce every time");
    }
}
