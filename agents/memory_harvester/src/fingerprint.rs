//! Fingerprints for finding duplicates: a key for exact ones (the text and, when the memory is dated, its
//! time: "on my way" sent on two days is two memories), and a MinHash signature over word bigrams for near
//! ones, cut into LSH bands so that candidates are found without scanning.
//!
//! MinHash estimates the Jaccard similarity of two texts' bigram sets; bigrams rather than single words
//! keep the incidental overlap of unrelated notes (`of the`, `and I`) from making them candidates.
//! With 16 bands of 4 values, a pair at Jaccard 0.7 becomes a candidate with probability 0.99, a pair at
//! 0.1 with probability 0.0016.

use sha2::{Digest, Sha256};
use unicode_segmentation::UnicodeSegmentation;

pub const SIGNATURE_LEN: usize = 64;
pub const BANDS: usize = 16;
const ROWS_PER_BAND: usize = SIGNATURE_LEN / BANDS;

pub type Signature = [u32; SIGNATURE_LEN];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    /// SHA-256 of the normalized text, hex.
    pub content_hash: String,
    /// What an exact duplicate shares: the content hash, or for a dated memory SHA-256 of the content hash
    /// and the time, hex.
    pub exact_key: String,
    pub signature: Signature,
}

impl Fingerprint {
    /// The fingerprint of an undated text.
    pub fn of(normalized: &str) -> Self {
        let content_hash = hex::encode(Sha256::digest(normalized.as_bytes()));
        Fingerprint { exact_key: content_hash.clone(), content_hash, signature: minhash(normalized) }
    }

    /// The same text at `occurred_at` (RFC 3339): the same words at another time are another memory.
    pub fn at(mut self, occurred_at: Option<&str>) -> Self {
        if let Some(at) = occurred_at {
            self.exact_key = hex::encode(Sha256::digest(format!("{}\n{at}", self.content_hash).as_bytes()));
        }
        self
    }

    /// One 64-bit key per band: the band's values hashed together.
    pub fn bands(&self) -> [u64; BANDS] {
        bands_of(&self.signature)
    }
}

/// The band keys of a signature (see [`Fingerprint::bands`]).
pub fn bands_of(signature: &Signature) -> [u64; BANDS] {
    std::array::from_fn(|band| {
        let rows = &signature[band * ROWS_PER_BAND..(band + 1) * ROWS_PER_BAND];
        let bytes: Vec<u8> = rows.iter().flat_map(|value| value.to_le_bytes()).collect();
        fnv1a(&bytes)
    })
}

/// Estimated Jaccard similarity of the texts behind two signatures.
pub fn similarity(left: &Signature, right: &Signature) -> f64 {
    let equal = left.iter().zip(right).filter(|(left, right)| left == right).count();
    equal as f64 / SIGNATURE_LEN as f64
}

/// The features of a text: lower-cased word bigrams, or its words when it has fewer than two.
fn features(text: &str) -> Vec<String> {
    let words: Vec<String> = text.unicode_words().map(str::to_lowercase).collect();
    let mut features: Vec<String> =
        if words.len() < 2 { words } else { words.windows(2).map(|pair| format!("{} {}", pair[0], pair[1])).collect() };
    features.sort_unstable();
    features.dedup();
    features
}

fn minhash(text: &str) -> Signature {
    let mut signature = [u32::MAX; SIGNATURE_LEN];
    for feature in features(text) {
        let base = fnv1a(feature.as_bytes());
        // One 64-bit hash per feature, spread into independent-looking ones per slot (Kirsch-Mitzenmacher).
        let (first, second) = (base as u32, (base >> 32) as u32 | 1);
        for (slot, minimum) in signature.iter_mut().enumerate() {
            let value = mix(first.wrapping_add((slot as u32).wrapping_mul(second)));
            *minimum = (*minimum).min(value);
        }
    }
    signature
}

/// A bijective scrambler (the murmur3 finalizer), so that slot values are not linear in each other.
fn mix(mut value: u32) -> u32 {
    value ^= value >> 16;
    value = value.wrapping_mul(0x85eb_ca6b);
    value ^= value >> 13;
    value = value.wrapping_mul(0xc2b2_ae35);
    value ^ (value >> 16)
}

/// FNV-1a, 64 bits: stable across versions and platforms, which persisted fingerprints need.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOTE: &str = "Spent the afternoon at the lake with Anna and Tom. We swam twice, ate cherries on the pier, \
                        and talked about moving to Lisbon next spring. Tom finally told us about the new job.";
    const SHORT: &str = "Dinner at Mario's with the whole team to celebrate the launch; Priya gave a lovely speech.";

    fn similarity_of(left: &str, right: &str) -> f64 {
        similarity(&Fingerprint::of(left).signature, &Fingerprint::of(right).signature)
    }

    fn share_a_band(left: &str, right: &str) -> bool {
        let (left, right) = (Fingerprint::of(left).bands(), Fingerprint::of(right).bands());
        left.iter().zip(&right).any(|(left, right)| left == right)
    }

    #[test]
    fn small_edits_stay_similar_and_find_each_other() {
        for edited in [
            NOTE.replace("twice", "three times"),
            NOTE.replace("Lisbon", "Porto"),
            NOTE.replace(" finally", ""),
            format!("{NOTE} It was great."),
            SHORT.replace("lovely", "wonderful"),
        ] {
            let original = if edited.starts_with("Dinner") { SHORT } else { NOTE };
            assert!(similarity_of(original, &edited) >= 0.7, "{edited}: {}", similarity_of(original, &edited));
            assert!(share_a_band(original, &edited), "{edited}");
        }
    }

    #[test]
    fn different_notes_stay_apart() {
        for other in [
            "Quarterly budget review: marketing overspent by twelve percent; hiring frozen until March.",
            "Spent the morning at the office with Priya. We reviewed the roadmap and talked about the new hire.",
            "Spent the afternoon at the beach with Anna. We swam and read books on the sand until sunset.",
            SHORT,
        ] {
            assert!(similarity_of(NOTE, other) < 0.4, "{other}: {}", similarity_of(NOTE, other));
        }
    }

    #[test]
    fn case_and_punctuation_do_not_matter() {
        assert_eq!(
            Fingerprint::of("Had coffee with Anna").signature,
            Fingerprint::of("had coffee with anna!").signature
        );
    }

    #[test]
    fn the_hash_function_is_stable() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
