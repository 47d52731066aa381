//! `mneme demo` starts a system of its own, ingests Sam's year, and shows what Mneme makes of it.

use std::process::Command;

use mneme_system_tests::{binary, nats_server_binary};

#[test]
fn the_demo_runs_a_system_of_its_own_and_shows_the_year() {
    let home = tempfile::tempdir().unwrap();
    let server_binary = nats_server_binary();
    let output = Command::new(binary("mneme"))
        .arg("demo")
        .env("XDG_DATA_HOME", home.path())
        .env("MNEME__SUPERVISOR__NATS_SERVER_BINARY", &server_binary)
        .env("MNEME__TELEMETRY__LOG_FILTER", "warn")
        .env_remove("MNEME_CONFIG")
        .env_remove("MNEME__NATS__URL")
        .output()
        .expect("mneme demo runs");
    let shown = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{shown}\n{}", String::from_utf8_lossy(&output.stderr));
    for expected in [
        "138 inputs from 3 files",
        "138 memories this year",
        "New habit: run on Saturdays",
        "Mood fell",
        "Omar",
        "I got the job at Fieldwork!",
        "Lisbon, day one.",
        "Stopping the demo system",
    ] {
        assert!(shown.contains(expected), "`{expected}` is not in what the demo showed:\n{shown}");
    }
    let people =
        shown.split("== The people").nth(1).and_then(|rest| rest.split("== Patterns").next()).unwrap_or_default();
    for organization in ["Fieldwork HR", "Greenway Lettings", "Richmond Marathon"] {
        assert!(!people.contains(organization), "{organization} is no one's person:\n{people}");
    }
    // Christmas at Mum's (Mum, Grandma, Lena and, through her, Tom) and Omar's side (Omar, Priya, Jonas) share
    // one memory: two circles.
    let circles: Vec<&str> = people.lines().filter(|line| line.starts_with("circle ")).collect();
    assert_eq!(circles.len(), 2, "two circles, not one of everyone:\n{people}");
    assert!(
        circles.iter().any(|circle| circle.contains("Mum") && circle.contains("Grandma") && !circle.contains("Omar"))
    );
    let mood_fell = shown.lines().find(|line| line.contains("Mood fell")).expect("September's mood");
    let evidence = mood_fell.trim_end_matches(['│', ' ']).rsplit(' ').next().unwrap_or_default();
    assert_ne!(evidence, "0", "a mood that fell shows the days it fell on: {mood_fell}");
    let lisbon = shown.lines().find(|line| line.contains("\"last summer\" read as")).unwrap_or_default();
    assert!(!lisbon.contains("already"), "an adverb of time widens no question: {lisbon}");
    assert!(!shown.contains("On your mind: best"), "a word that judges is no topic:\n{shown}");
    let topics: Vec<&str> = shown
        .lines()
        .filter_map(|line| line.split("On your mind: ").nth(1)?.split("  ").next())
        .map(str::trim)
        .collect();
    assert!(!topics.iter().any(|topic| ["broke", "face"].contains(topic)), "a thing done is no topic: {topics:?}");
    assert!(!topics.contains(&"grey"), "a feeling (\"Everything feels grey\") is no topic: {topics:?}");
    assert!(topics.contains(&"pottery") && !topics.contains(&"pottery class"), "one topic a subject: {topics:?}");
    let interests = shown.lines().find(|line| line.contains("│ interests")).expect("Sam's interests");
    assert!(interests.contains(" run (") && interests.contains(" pottery ("), "Saturday runs and pottery: {interests}");
    assert!(!interests.contains("grey") && !interests.contains("mile"), "a passing mention is none: {interests}");
    let keyphrases = shown.lines().find(|line| line.starts_with("writes most about:")).expect("the keyphrases");
    assert!(
        keyphrases.contains("Lena (") && keyphrases.contains("Saturday run (") && !keyphrases.contains("lena ("),
        "names and weekdays read with their capitals: {keyphrases}"
    );
    // The question's words as it writes them, not as the index keeps them ("fieldwork").
    let fieldwork = shown.lines().find(|line| line.starts_with("searched for: start Fieldwork")).expect("its reading");
    assert!(!fieldwork.contains("people: fieldwork"), "an employer is no one's person: {fieldwork}");
    // Words the memories add to a question read as they write them, not as the index keeps them.
    assert!(fieldwork.contains(" March") && !fieldwork.contains(" march"), "{fieldwork}");
    assert!(fieldwork.contains(" Omar") && !fieldwork.contains(" omar"), "a name as its chat writes it: {fieldwork}");
    assert!(!fieldwork.contains("11th"), "a number widens no question: {fieldwork}");
    let jonas = shown.lines().find(|line| line.contains("\"the week after Jonas left\" read as")).expect("its reading");
    let added = jonas.split("also: ").nth(1).unwrap_or_default();
    assert!(!added.split(' ').any(|word| word == "week" || word == "bit"), "no word of time or amount: {jonas}");
    // "When did I last ..." asks for the latest of the memories of Omar, not for the word "last".
    let omar = shown.split("when did I last see Omar?").nth(1).unwrap_or_default();
    assert!(omar.contains("\"last\" read as the latest first"), "{omar}");
    let omar_reading = omar.lines().find(|line| line.starts_with("searched for:")).unwrap_or_default();
    assert!(
        omar_reading.contains("people: Omar") && !omar_reading.contains(" fieldwork"),
        "a question answered by date reads its people and added words as Sam writes them: {omar_reading}"
    );
    let first_answer = omar.lines().find(|line| line.starts_with("│ 1 ")).unwrap_or_default();
    assert!(first_answer.contains("2024-11-30") && first_answer.contains("Omar came"), "{omar}");
    let runs = shown.split("how often did I run since July?").nth(1).unwrap_or_default();
    assert!(
        runs.contains("\"since July\" read as 2024-07-01 to 2024-12-31")
            && runs.contains("\nhow often: 24 memories say it, on 23 days; the earliest first:\n"),
        "Sam's Saturday runs since July, counted: {runs}"
    );
    assert!(home.path().join("mneme/demo/nats").is_dir(), "the demo keeps its data apart from the user's");
}
