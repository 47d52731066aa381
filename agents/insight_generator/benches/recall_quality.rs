//! Recall quality: conversations in the harvester's chat format, questions with the ids of the turns that
//! answer them, and recall@k (the share of a question's answering turns among the first k results, averaged
//! over questions) for k = 1, 5, 10 and 25, overall and per category of question. Plain BM25 over turns runs
//! beside Mneme's recall on the same index, and each of recall's additions is switched off in turn.
//!
//! Run with `cargo bench -p mneme-insight-generator --bench recall_quality [-- <conversations.json>
//! <questions.json>]`; without arguments it reads the evaluation set in `eval/`. A question is
//! `{question, category, answers: [turn ids], asked_at}`; `asked_at` (RFC 3339) is the day relative time
//! expressions count from.

use std::collections::BTreeMap;
use std::path::PathBuf;

use mneme_insight_generator::recall::index::{Indexed, Narrowing, OwnerIndex};
use mneme_insight_generator::recall::{Question, Tuning, recall, text};
use mneme_protocol::guardian::Sensitivity;

const KS: [usize; 4] = [1, 5, 10, 25];

#[derive(serde::Deserialize)]
struct Asked {
    question: String,
    category: String,
    answers: Vec<String>,
    asked_at: String,
}

fn paths() -> (PathBuf, PathBuf) {
    let arguments: Vec<String> = std::env::args().skip(1).filter(|argument| !argument.starts_with("--")).collect();
    match arguments.as_slice() {
        [conversations, questions] => (conversations.into(), questions.into()),
        _ => {
            let eval = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("eval");
            (eval.join("conversations.json"), eval.join("questions.json"))
        }
    }
}

/// Every turn, indexed as the pipeline indexes a memory, under its turn id.
fn index_of(conversations: &[u8]) -> OwnerIndex {
    let inputs = mneme_sources::chat::parse(conversations, "eval.json").expect("conversations in the chat format");
    let index = OwnerIndex::new("maya").expect("an index");
    let entries = inputs.into_iter().map(|input| {
        let mut people: Vec<String> = input.participants.clone();
        people.extend(input.author.clone());
        let entry = Indexed {
            occurred_at: input.occurred_at.clone(),
            terms: text::terms(&input.raw_input),
            people,
            author: input.author.clone(),
            source: input.source.clone(),
            kind: input.source_kind,
            sensitivity: Sensitivity::Personal,
            analysis: text::ANALYSIS,
        };
        (input.source.expect("every turn has an id"), entry)
    });
    index.apply(entries, []).expect("indexed");
    index
}

type Ranker<'a> = Box<dyn Fn(&OwnerIndex, &Asked) -> Vec<String> + 'a>;

fn bm25() -> Ranker<'static> {
    Box::new(|index, asked| {
        let mut weighted: Vec<(String, f32)> = Vec::new();
        for term in text::terms(&asked.question) {
            match weighted.iter_mut().find(|(known, _)| *known == term) {
                Some((_, weight)) => *weight += 1.0,
                None => weighted.push((term, 1.0)),
            }
        }
        let found = index.search(&weighted, &[], 0.0, &Narrowing::default(), 25).expect("a search");
        found.into_iter().map(|found| found.memory_id).collect()
    })
}

fn mneme(tuning: Tuning) -> Ranker<'static> {
    Box::new(move |index, asked| {
        let asked_at: jiff::Timestamp = asked.asked_at.parse().expect("asked_at is RFC 3339");
        let today = asked_at.to_zoned_datetime(jiff::tz::TimeZone::UTC).date();
        let question = Question { text: &asked.question, limit: 25, narrowing: Narrowing::default(), today };
        let recalled = recall(index, &question, &tuning).expect("a search");
        recalled.found.into_iter().map(|found| found.memory_id).collect()
    })
}

/// recall@k per k, averaged over `questions`.
fn recall_at(index: &OwnerIndex, questions: &[&Asked], ranker: &Ranker<'_>) -> [f64; 4] {
    let mut sums = [0.0; 4];
    for asked in questions {
        let ranked = ranker(index, asked);
        for (sum, k) in sums.iter_mut().zip(KS) {
            let hits = asked.answers.iter().filter(|answer| ranked.iter().take(k).any(|id| id == *answer)).count();
            *sum += hits as f64 / asked.answers.len() as f64;
        }
    }
    sums.map(|sum| sum / questions.len().max(1) as f64)
}

fn main() {
    let (conversations_path, questions_path) = paths();
    let conversations = std::fs::read(&conversations_path).expect("the conversations");
    let questions: Vec<Asked> =
        serde_json::from_slice(&std::fs::read(&questions_path).expect("the questions")).expect("questions as JSON");
    let index = index_of(&conversations);
    let name = |path: &std::path::Path| path.file_name().unwrap_or(path.as_os_str()).to_string_lossy().into_owned();
    println!(
        "Recall on {} turns ({}), {} questions ({})\n",
        index.len(),
        name(&conversations_path),
        questions.len(),
        name(&questions_path)
    );

    let rankers: Vec<(&str, Ranker<'_>)> = vec![
        ("BM25 over turns", bm25()),
        ("Mneme recall", mneme(Tuning::default())),
        ("  without time expressions", mneme(Tuning { time_expressions: false, ..Tuning::default() })),
        ("  without expansion", mneme(Tuning { expansion_share: 0.0, ..Tuning::default() })),
        ("  without people", mneme(Tuning { people_weight: 0.0, ..Tuning::default() })),
        (
            "  without turn context",
            mneme(Tuning { following_turns: [0.0; 2], preceding_turn: 0.0, ..Tuning::default() }),
        ),
    ];
    let all: Vec<&Asked> = questions.iter().collect();
    println!("| ranking | R@1 | R@5 | R@10 | R@25 |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    for (name, ranker) in &rankers {
        let figures = recall_at(&index, &all, ranker);
        println!("| {name} | {:.3} | {:.3} | {:.3} | {:.3} |", figures[0], figures[1], figures[2], figures[3]);
    }

    if std::env::var_os("MNEME_RECALL_MISSES").is_some() {
        let ranker = mneme(Tuning::default());
        println!("\nQuestions with an answer missing from Mneme's first 5:\n");
        for asked in &questions {
            let ranked = ranker(&index, asked);
            let missing: Vec<&String> =
                asked.answers.iter().filter(|answer| !ranked.iter().take(5).any(|id| id == *answer)).collect();
            if !missing.is_empty() {
                let first: Vec<&str> = ranked.iter().take(5).map(String::as_str).collect();
                println!("- {} missing {missing:?}; first 5: {first:?}", asked.question);
            }
        }
    }

    let mut categories: BTreeMap<&str, Vec<&Asked>> = BTreeMap::new();
    for asked in &questions {
        categories.entry(asked.category.as_str()).or_default().push(asked);
    }
    println!("\nPer category, R@5 / R@10:\n");
    println!(
        "| category | questions | {} |",
        rankers.iter().map(|(name, _)| name.trim()).collect::<Vec<_>>().join(" | ")
    );
    println!("| --- | ---: |{}", " ---: |".repeat(rankers.len()));
    for (category, asked) in &categories {
        let cells: Vec<String> = rankers
            .iter()
            .map(|(_, ranker)| {
                let figures = recall_at(&index, asked, ranker);
                format!("{:.2} / {:.2}", figures[1], figures[2])
            })
            .collect();
        println!("| {category} | {} | {} |", asked.len(), cells.join(" | "));
    }
}
