//! The owner's ratings of kinds of insight, and the weights they give each kind in the owner's digests: kept
//! per owner in JetStream KV (`mneme_insight_ratings`, under the owner's opaque token), or in memory for tests.
//! A rating r of 1 to 5 multiplies the kind's weight by 1 + 0.15 (r − 3), within 0.25 and 4: a 5 raises it by
//! 30%, a 1 lowers it by 30%, a 3 leaves it.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use async_nats::jetstream::kv;

use mneme_protocol::insights::{Insight, InsightKind, KindWeight};
use mneme_protocol::subjects;
use mneme_runtime::kv::KvError;

pub const BUCKET: &str = "mneme_insight_ratings";

pub type Weights = BTreeMap<InsightKind, KindWeight>;

/// The weight a kind has after `rating`.
pub fn rated(weight: f64, rating: u8) -> f64 {
    let step = 1.0 + 0.15 * (f64::from(rating) - 3.0);
    (weight * step).clamp(0.25, 4.0)
}

/// Gives each insight its kind's weight and lists heavier kinds first, keeping the digest's order among equals.
pub fn weigh(insights: &mut [Insight], weights: &Weights) {
    for insight in insights.iter_mut() {
        insight.weight = weights.get(&insight.kind).map_or(1.0, |kind| kind.weight);
    }
    insights.sort_by(|a, b| b.weight.total_cmp(&a.weight));
}

pub enum RatingStore {
    Kv(Box<kv::Store>),
    Memory(Mutex<HashMap<String, Weights>>),
}

impl Default for RatingStore {
    fn default() -> Self {
        RatingStore::Memory(Mutex::default())
    }
}

fn unreadable(error: impl std::fmt::Display) -> KvError {
    KvError { bucket: BUCKET.to_owned(), reason: error.to_string() }
}

impl RatingStore {
    /// Opens the bucket, creating it on first use.
    pub async fn open(jetstream: &async_nats::jetstream::Context, replicas: usize) -> Result<Self, KvError> {
        let store =
            mneme_runtime::kv::bucket(jetstream, BUCKET, "Mneme: owners' ratings of kinds of insight", replicas)
                .await?;
        Ok(RatingStore::Kv(Box::new(store)))
    }

    pub async fn weights(&self, owner: &str) -> Result<Weights, KvError> {
        match self {
            RatingStore::Kv(store) => {
                let entry = store.get(subjects::owner_token(owner)).await.map_err(unreadable)?;
                entry
                    .map(|bytes| serde_json::from_slice(&bytes).map_err(unreadable))
                    .transpose()
                    .map(Option::unwrap_or_default)
            }
            RatingStore::Memory(owners) => {
                Ok(owners.lock().expect("unpoisoned").get(owner).cloned().unwrap_or_default())
            }
        }
    }

    /// Applies `rating` to the owner's weight of `kind`; concurrent ratings are all counted.
    pub async fn rate(&self, owner: &str, kind: InsightKind, rating: u8) -> Result<Weights, KvError> {
        let apply = |weights: &mut Weights| {
            let entry = weights.entry(kind).or_insert(KindWeight { weight: 1.0, ratings: 0 });
            entry.weight = rated(entry.weight, rating);
            entry.ratings += 1;
        };
        match self {
            RatingStore::Kv(store) => {
                let written = mneme_runtime::kv::update(store, &subjects::owner_token(owner), |current| {
                    let next = current
                        .map(|bytes| serde_json::from_slice::<Weights>(&bytes))
                        .transpose()
                        .map(Option::unwrap_or_default)
                        .and_then(|mut weights| {
                            apply(&mut weights);
                            serde_json::to_vec(&weights)
                        })
                        .map(Some)
                        .map_err(unreadable);
                    async move { next }
                })
                .await?;
                written
                    .map(|bytes| serde_json::from_slice(&bytes).map_err(unreadable))
                    .transpose()
                    .map(Option::unwrap_or_default)
            }
            RatingStore::Memory(owners) => {
                let mut owners = owners.lock().expect("unpoisoned");
                let weights = owners.entry(owner.to_owned()).or_default();
                apply(weights);
                Ok(weights.clone())
            }
        }
    }

    /// Forgets everything of the owner's ratings.
    pub async fn forget(&self, owner: &str) -> Result<(), KvError> {
        match self {
            RatingStore::Kv(store) => store.purge(subjects::owner_token(owner)).await.map_err(unreadable),
            RatingStore::Memory(owners) => {
                owners.lock().expect("unpoisoned").remove(owner);
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratings_move_the_weight_within_bounds() {
        assert!((rated(1.0, 5) - 1.3).abs() < 1e-9);
        assert!((rated(1.0, 1) - 0.7).abs() < 1e-9);
        assert_eq!(rated(1.0, 3), 1.0);
        assert_eq!((0..20).fold(1.0, |weight, _| rated(weight, 5)), 4.0);
        assert_eq!((0..20).fold(1.0, |weight, _| rated(weight, 1)), 0.25);
    }

    #[test]
    fn heavier_kinds_come_first_and_equals_keep_their_order() {
        let insight = |kind, title: &str| Insight {
            kind,
            title: title.to_owned(),
            detail: String::new(),
            confidence: 1.0,
            evidence: Vec::new(),
            weight: 1.0,
        };
        let mut insights = vec![
            insight(InsightKind::Activity, "a"),
            insight(InsightKind::Mood, "m"),
            insight(InsightKind::Topic, "t1"),
            insight(InsightKind::Topic, "t2"),
        ];
        let weights = Weights::from([
            (InsightKind::Topic, KindWeight { weight: 1.3, ratings: 1 }),
            (InsightKind::Activity, KindWeight { weight: 0.7, ratings: 1 }),
        ]);
        weigh(&mut insights, &weights);
        let titles: Vec<&str> = insights.iter().map(|insight| insight.title.as_str()).collect();
        assert_eq!(titles, ["t1", "t2", "m", "a"]);
        assert_eq!(insights[0].weight, 1.3);
    }

    #[tokio::test]
    async fn each_owner_has_their_own_weights() {
        let store = RatingStore::default();
        store.rate("ann", InsightKind::Mood, 5).await.unwrap();
        let weights = store.rate("ann", InsightKind::Mood, 5).await.unwrap();
        assert_eq!(weights[&InsightKind::Mood].ratings, 2);
        assert!((weights[&InsightKind::Mood].weight - 1.69).abs() < 1e-9);
        assert!(store.weights("bob").await.unwrap().is_empty());
        store.forget("ann").await.unwrap();
        assert!(store.weights("ann").await.unwrap().is_empty());
    }
}
