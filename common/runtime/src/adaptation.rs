//! The seed's `AdaptiveAgent`: scores from `feedback` kept, their trend judged (the mean of the last 10 against
//! the 10 before, relative, with a threshold of 0.1), and parameters moved the conservative or the aggressive
//! way when it crosses the threshold.

use std::collections::VecDeque;

use mneme_protocol::stats::{AdaptationState, Adjustment};

/// Scores in each half of the comparison.
pub const WINDOW: usize = 10;
/// A relative change in the mean score beyond which parameters move.
pub const THRESHOLD: f64 = 0.1;
/// Scores kept, as the seed's `learning_data`.
const KEPT: usize = 100;

/// The seed's `_analyze_performance_trend`: 0 until there are two windows of scores, or when the older
/// window's mean is 0 (no relative change can be told).
pub fn trend(scores: &[f64]) -> f64 {
    if scores.len() < 2 * WINDOW {
        return 0.0;
    }
    let mean = |window: &[f64]| window.iter().sum::<f64>() / window.len() as f64;
    let recent = mean(&scores[scores.len() - WINDOW..]);
    let older = mean(&scores[scores.len() - 2 * WINDOW..scores.len() - WINDOW]);
    if older.abs() < f64::EPSILON { 0.0 } else { (recent - older) / older.abs() }
}

/// What one instance learned from feedback.
#[derive(Debug, Default)]
pub struct Learner {
    scores: VecDeque<f64>,
    /// Scores since the trend was last judged. Judging again only after a whole new window means every
    /// adjustment is judged on scores given after the one before.
    since_judged: usize,
    state: AdaptationState,
}

impl Learner {
    /// Keeps `score`; when it completes a window, judges the trend and says which way to adjust, if any.
    pub fn learn(&mut self, score: f64) -> Option<Adjustment> {
        if self.scores.len() == KEPT {
            self.scores.pop_front();
        }
        self.scores.push_back(score);
        self.state.feedback_count += 1;
        self.since_judged += 1;
        if self.scores.len() < 2 * WINDOW || self.since_judged < WINDOW {
            return None;
        }
        self.since_judged = 0;
        let trend = trend(self.scores.make_contiguous());
        self.state.trend = Some(trend);
        let adjustment = if trend < -THRESHOLD {
            Adjustment::Conservative
        } else if trend > THRESHOLD {
            Adjustment::Aggressive
        } else {
            return None;
        };
        self.state.last_adjustment = Some(adjustment);
        self.state.adjustments += 1;
        Some(adjustment)
    }

    /// The state with the parameters as they now stand.
    pub fn state(&self, parameters: impl IntoIterator<Item = (&'static str, f64)>) -> AdaptationState {
        let mut state = self.state.clone();
        state.parameters = parameters.into_iter().map(|(name, value)| (name.to_owned(), value)).collect();
        state
    }
}

/// The concurrency limit under adaptation: from the configured one, down to 1 when conservative (× 0.8) and up
/// to four times it when aggressive (× 1.25).
pub fn adjusted_concurrency(current: usize, configured: usize, adjustment: Adjustment) -> usize {
    let next = match adjustment {
        Adjustment::Conservative => (current as f64 * 0.8).floor() as usize,
        Adjustment::Aggressive => (current as f64 * 1.25).ceil() as usize,
    };
    next.clamp(1, configured.saturating_mul(4).max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seeds_trend_compares_the_last_ten_with_the_ten_before() {
        let mut scores = vec![1.0; 10];
        assert_eq!(trend(&scores), 0.0, "one window is not a trend");
        scores.extend([1.2; 10]);
        assert!((trend(&scores) - 0.2).abs() < 1e-9);
        scores.extend([0.6; 10]);
        assert!((trend(&scores) - (0.6 - 1.2) / 1.2).abs() < 1e-9);
    }

    #[test]
    fn adjustments_follow_the_threshold_once_per_window() {
        let mut learner = Learner::default();
        let mut adjustments = Vec::new();
        for score in [1.0; 10].into_iter().chain([1.05; 10]).chain([1.5; 10]).chain([0.9; 10]) {
            if let Some(adjustment) = learner.learn(score) {
                adjustments.push(adjustment);
            }
        }
        // 1.0 → 1.05 is within the threshold; 1.05 → 1.5 is better; 1.5 → 0.9 is worse.
        assert_eq!(adjustments, [Adjustment::Aggressive, Adjustment::Conservative]);
        let state = learner.state([("max_concurrency", 8.0)]);
        assert_eq!((state.feedback_count, state.adjustments), (40, 2));
        assert_eq!(state.parameters["max_concurrency"], 8.0);
    }

    #[test]
    fn concurrency_moves_within_one_and_four_times_the_configured() {
        assert_eq!(adjusted_concurrency(64, 64, Adjustment::Aggressive), 80);
        assert_eq!(adjusted_concurrency(250, 64, Adjustment::Aggressive), 256);
        assert_eq!(adjusted_concurrency(64, 64, Adjustment::Conservative), 51);
        assert_eq!(adjusted_concurrency(1, 64, Adjustment::Conservative), 1);
    }
}
