//! The mapper on a year of one person's memories written for the purpose, whose social structure is known in
//! advance: a family (a sister, mom and dad), a work team that chats every weekday, two friends, one of whom
//! fell out of touch three months ago.

use mneme_protocol::relationships::{PersonReport, Relationships};
use mneme_protocol::{AgentMessage, Encoding};
use mneme_relationship_mapper::identity::MemoryIdentities;
use mneme_relationship_mapper::mapper::TextReading;
use mneme_relationship_mapper::references::Contact;
use mneme_relationship_mapper::{MapperSettings, RelationshipMapper};
use mneme_runtime::access::OwnerOnly;
use mneme_runtime::ledger::MemoryLedger;
use mneme_runtime::{Agent, HandlerError, Request};

/// Finds the corpus's names where the privacy guardian would, and calls happy texts happy.
struct KnownNames;

const NAMES: [&str; 8] = ["Anna Keller", "Anna", "Omar", "Lena", "Raj", "Chloe", "Bob", "Marta"];

impl TextReading for KnownNames {
    async fn names_in(&self, text: &str) -> Result<Vec<(usize, usize)>, HandlerError> {
        let mut found: Vec<(usize, usize)> = Vec::new();
        for name in NAMES {
            for (start, _) in text.match_indices(name) {
                let end = start + name.len();
                let whole_word = !text[end..].starts_with(char::is_alphabetic);
                if whole_word && !found.iter().any(|(s, e)| start < *e && *s < end) {
                    found.push((start, end));
                }
            }
        }
        found.sort();
        Ok(found)
    }

    async fn sentiment(&self, text: &str) -> Result<f64, HandlerError> {
        Ok(if text.contains("lovely") {
            0.6
        } else if text.contains("argued") {
            -0.5
        } else {
            0.0
        })
    }
}

type Mapper = RelationshipMapper<MemoryLedger<Contact>, OwnerOnly, KnownNames, MemoryIdentities>;

fn mapper() -> Mapper {
    RelationshipMapper::new(
        MapperSettings::default(),
        MemoryLedger::default(),
        OwnerOnly,
        KnownNames,
        MemoryIdentities::default(),
        None,
    )
}

fn request(message_type: &str, payload: serde_json::Value) -> Request {
    Request { message: AgentMessage::new(message_type, payload), encoding: Encoding::MessagePack }
}

async fn store(
    mapper: &Mapper,
    id: String,
    day: jiff::civil::Date,
    hour: i8,
    text: &str,
    author: Option<&str>,
    participants: &[&str],
) {
    let at = format!("{day}T{hour:02}:00:00Z");
    let memory = serde_json::json!({
        "id": id, "owner": "ann", "source": null, "text": text, "author": author, "participants": participants,
        "language": {"code": "eng", "name": "English", "confidence": 1.0, "reliable": true},
        "word_count": 5, "occurred_at": at, "processed_at": at, "content_hash": "00",
        "quality": {"score": 1.0, "acceptable": true, "reasons": []}, "is_duplicate": false, "duplicate_of": null
    });
    mapper.handle(request("update_relationships", serde_json::json!({"memory": memory}))).await.unwrap();
}

/// 2024 as Ann lived it; the archive ends on 2024-12-31.
async fn year_of_memories(mapper: &Mapper) {
    let start = jiff::civil::date(2024, 1, 1);
    for offset in 0..366 {
        let day = start.checked_add(jiff::Span::new().days(offset)).unwrap();
        let weekday = day.weekday().to_monday_zero_offset();
        let tag = day.strftime("%Y%m%d");
        if weekday < 5 {
            // The team chats every weekday: Ann, Omar, Lena and Raj.
            store(
                mapper,
                format!("team-{tag}-1"),
                day,
                9,
                "Standup: the release is on track.",
                Some("Omar Haddad"),
                &["Ann Lee", "Lena Fischer", "Raj Patel"],
            )
            .await;
            store(
                mapper,
                format!("team-{tag}-2"),
                day,
                10,
                "I'll review it after lunch.",
                Some("Ann Lee"),
                &["Omar Haddad", "Lena Fischer", "Raj Patel"],
            )
            .await;
            if weekday % 2 == 0 {
                store(
                    mapper,
                    format!("team-{tag}-3"),
                    day,
                    11,
                    "Pushed the fix, Raj can test it.",
                    Some("Lena Fischer"),
                    &["Ann Lee", "Omar Haddad", "Raj Patel"],
                )
                .await;
            }
        }
        if weekday == 6 && offset % 14 == 6 {
            // Family dinner every other Sunday, in the journal.
            store(
                mapper,
                format!("journal-{tag}"),
                day,
                20,
                "Dinner with Mom, Dad and my sister Anna. A lovely evening.",
                None,
                &[],
            )
            .await;
        }
        if weekday == 2 {
            // Anna writes on Wednesdays.
            store(
                mapper,
                format!("mail-{tag}"),
                day,
                18,
                "Are you coming on Sunday?",
                Some("Anna Keller <anna.keller@example.org>"),
                &["ann@example.com"],
            )
            .await;
        }
        if weekday == 4 && day < jiff::civil::date(2024, 10, 1) {
            // Friday drinks with Chloe, until the autumn.
            store(
                mapper,
                format!("chat-{tag}-c"),
                day,
                19,
                "Drinks at the usual place?",
                Some("Chloe Martin"),
                &["Ann"],
            )
            .await;
            store(mapper, format!("chat-{tag}-d"), day, 19, "Yes! Bringing Bob along.", Some("Ann"), &["Chloe Martin"])
                .await;
        }
        if weekday == 5 && offset % 21 == 5 {
            let text = if day < jiff::civil::date(2024, 10, 1) {
                "Climbing with Bob and Chloe, lovely day."
            } else {
                "Climbing with Bob, lovely day."
            };
            store(mapper, format!("journal-{tag}-b"), day, 12, text, None, &[]).await;
        }
        if day.day() == 15 {
            store(
                mapper,
                format!("chat-{tag}-r"),
                day,
                12,
                "Bob here: free for a climb?",
                Some("Robert Stone <bob@climbing.example>"),
                &["Ann Lee"],
            )
            .await;
        }
    }
}

#[tokio::test]
async fn a_known_social_structure_is_found() {
    let mapper = mapper();
    year_of_memories(&mapper).await;
    let reply = mapper
        .handle(request("get_relationships", serde_json::json!({"principal": "ann", "owner": "ann"})))
        .await
        .unwrap();
    let relationships: Relationships = serde_json::from_value(reply.payload_tree().unwrap()).unwrap();
    let names: Vec<&str> = relationships.people.iter().map(|person| person.name.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        ["Anna Keller", "Chloe Martin", "Dad", "Lena Fischer", "Mom", "Omar Haddad", "Raj Patel", "Robert Stone"],
        "everyone once, the owner never"
    );
    // Daily work chat outweighs the rest; the strongest is someone of the team.
    assert!(["Omar Haddad", "Lena Fischer", "Raj Patel"].contains(&names[0]), "{names:?}");
    let person = |name: &str| relationships.people.iter().find(|person| person.name == name).unwrap();
    assert_eq!(person("Anna Keller").relation.as_deref(), Some("sister"));
    assert!(person("Anna Keller").aliases.iter().any(|alias| alias == "Anna"));
    assert_eq!(person("Mom").relation.as_deref(), Some("mother"));
    assert_eq!(person("Dad").relation.as_deref(), Some("father"));
    assert_eq!(person("Robert Stone").aliases, ["Bob", "Robert Stone <bob@climbing.example>"]);
    assert_eq!(person("Omar Haddad").typical_gap_days, Some(1.0));
    assert!(person("Anna Keller").sentiment > 0.1, "family dinners are lovely");

    let mut communities: Vec<Vec<&str>> = relationships
        .communities
        .iter()
        .map(|community| {
            let mut members: Vec<&str> = community.members.iter().map(String::as_str).collect();
            members.sort();
            members
        })
        .collect();
    communities.sort();
    assert_eq!(
        communities,
        [
            vec!["Anna Keller", "Dad", "Mom"],
            vec!["Chloe Martin", "Robert Stone"],
            vec!["Lena Fischer", "Omar Haddad", "Raj Patel"]
        ]
    );

    let drifting: Vec<&str> = relationships.drift.iter().map(|alert| alert.person.as_str()).collect();
    assert_eq!(drifting, ["Chloe Martin"], "only Chloe fell out of touch");
    let chloe = &relationships.drift[0];
    assert_eq!(chloe.last_contact, "2024-09-27");
    assert!(chloe.confidence > 0.5 && chloe.evidence.len() == 3, "{chloe:?}");

    let reply = mapper
        .handle(request("get_person", serde_json::json!({"principal": "ann", "owner": "ann", "person": "bob"})))
        .await
        .unwrap();
    let bob: PersonReport = serde_json::from_value(reply.payload_tree().unwrap()).unwrap();
    let bob_timeline = bob.timeline.clone();
    assert_eq!(bob.person.name, "Robert Stone");
    assert_eq!(bob.appears_with[0].0, "Chloe Martin");
    assert!(bob.timeline.windows(2).all(|pair| pair[0].occurred_at <= pair[1].occurred_at));

    // A digest asks whom the memories of its period and the one before speak of.
    let reply = mapper
        .handle(request(
            "get_relationships",
            serde_json::json!({"principal": "ann", "owner": "ann", "as_of": "2024-09-30", "mentions_from": "2024-09-01"}),
        ))
        .await
        .unwrap();
    let september: Relationships = serde_json::from_value(reply.payload_tree().unwrap()).unwrap();
    let bob = september.people.iter().find(|person| person.name == "Robert Stone").unwrap();
    let spoken_of_in_september: Vec<&str> = bob_timeline
        .iter()
        .filter(|appearance| appearance.role == mneme_protocol::relationships::Role::Mention)
        .filter(|appearance| {
            appearance.occurred_at.as_deref().is_some_and(|at| ("2024-09-01".."2024-10-01").contains(&at))
        })
        .map(|appearance| appearance.memory_id.as_str())
        .collect();
    assert!(spoken_of_in_september.len() >= 4, "Bob is brought along every Friday: {spoken_of_in_september:?}");
    assert_eq!(bob.mentioned_in, spoken_of_in_september);
    assert!(relationships.people.iter().all(|person| person.mentioned_in.is_empty()), "only when asked for");
    let bad_day = mapper
        .handle(request(
            "get_relationships",
            serde_json::json!({"principal": "ann", "owner": "ann", "mentions_from": "September"}),
        ))
        .await
        .unwrap_err();
    assert_eq!(bad_day.code, mneme_protocol::ErrorCode::BadRequest);

    let denied = mapper
        .handle(request("get_relationships", serde_json::json!({"principal": "bob", "owner": "ann"})))
        .await
        .unwrap_err();
    assert_eq!(denied.code, mneme_protocol::ErrorCode::Forbidden);
    let missing = mapper
        .handle(request("get_person", serde_json::json!({"principal": "ann", "owner": "ann", "person": "Zed"})))
        .await
        .unwrap_err();
    assert_eq!(missing.code, mneme_protocol::ErrorCode::NotFound);
}

#[tokio::test]
async fn an_owner_who_goes_by_other_names_is_never_their_own_contact() {
    let mapper = mapper();
    for (index, (author, participant)) in [("Ann Lee", "Bob Stone"), ("Bob Stone", "Ann Lee")].iter().enumerate() {
        let memory = serde_json::json!({
            "id": format!("m{index}"), "owner": "me", "source": null, "text": "See you at six", "author": author,
            "participants": [participant], "word_count": 4, "occurred_at": "2024-05-06T08:00:00Z",
            "language": {"code": "eng", "name": "English", "confidence": 1.0, "reliable": true},
            "processed_at": "2024-05-06T08:00:00Z", "content_hash": "00",
            "quality": {"score": 1.0, "acceptable": true, "reasons": []}, "is_duplicate": false, "duplicate_of": null
        });
        mapper.handle(request("update_relationships", serde_json::json!({"memory": memory}))).await.unwrap();
    }
    let people = async || {
        let reply = mapper
            .handle(request("get_relationships", serde_json::json!({"principal": "me", "owner": "me"})))
            .await
            .unwrap();
        let relationships: Relationships = serde_json::from_value(reply.payload_tree().unwrap()).unwrap();
        relationships.people.into_iter().map(|person| person.name).collect::<Vec<_>>()
    };
    assert_eq!(people().await, ["Ann Lee", "Bob Stone"], "nothing says Ann Lee is the owner yet");

    let denied = mapper
        .handle(request("set_identity", serde_json::json!({"principal": "bob", "owner": "me", "names": ["Bob"]})))
        .await
        .unwrap_err();
    assert_eq!(denied.code, mneme_protocol::ErrorCode::Forbidden);
    mapper
        .handle(request(
            "set_identity",
            serde_json::json!({"principal": "me", "owner": "me", "names": [" Ann Lee ", ""]}),
        ))
        .await
        .unwrap();
    assert_eq!(people().await, ["Bob Stone"], "kept names are the owner's");
    let reply =
        mapper.handle(request("get_identity", serde_json::json!({"principal": "me", "owner": "me"}))).await.unwrap();
    assert_eq!(reply.payload_tree().unwrap()["names"], serde_json::json!(["Ann Lee"]));
}
