//! Every frame that docs/API.md documents (the contract's frames: docs/CONTRACT.md points
//! there) goes through the enums and comes out byte for byte as the services write it;
//! and every frame type the document's tables name has an example here.

use nexus_protocol::{Channel, RequestedChannel, aria, hub, to_text};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;

/// The document's examples, with their `…` filled in.
const HUB_SERVER: &[&str] = &[
    r#"{"type":"ready","userId":3,"channels":["user:3"]}"#,
    r#"{"type":"event","channel":"user:3","offset":"1795308399635-0","eventId":"b68d3fbe-0832-44fb-9213-efce12442880","topic":"notification","data":{"eventId":"b68d3fbe-0832-44fb-9213-efce12442880","notificationId":1,"userId":3,"kind":"result_graded","title":"Résultat disponible : Quiz — Structures de données : listes, piles et files","body":"Note : 0 / 10","data":{"assessmentId":10,"attemptId":1,"score":0.0,"maxScore":10.0,"studentId":3},"createdAt":"2026-11-22T00:46:39.554666Z"}}"#,
    r#"{"type":"event","channel":"conversation:12","offset":"1795308399635-1","eventId":"e1","topic":"chat","data":{"type":"message","message":{"id":5,"body":"Bonjour !"}}}"#,
    r#"{"type":"event","channel":"conversation:12","eventId":"e2","topic":"typing","data":{"conversationId":12,"userId":7,"isTyping":true}}"#,
    r#"{"type":"ack","clientMessageId":"c-42","conversationId":12,"message":{"id":5,"body":"Bonjour !"}}"#,
    r#"{"type":"resumed","complete":true,"more":false,"offset":"1795308399635-0"}"#,
    r#"{"type":"subscribed","channel":"class:4","presence":[{"userId":3,"activity":{"courseId":7,"sectionId":"ch1-s2","at":"2026-12-03T18:00:00Z"}},{"userId":9,"activity":null}]}"#,
    r#"{"type":"subscribed","channel":"course:7"}"#,
    r#"{"type":"error","code":"forbidden","channel":"class:4","message":"Vous n'avez pas accès à ce canal."}"#,
    r#"{"type":"event","channel":"class:4","eventId":"e3","topic":"presence","data":{"kind":"join","userId":3}}"#,
    r#"{"type":"event","channel":"course:7","eventId":"e4","topic":"course","data":{"courseId":7,"action":"updated"}}"#,
    r#"{"type":"presence","channel":"class:4","users":[{"userId":3,"activity":null}]}"#,
    r#"{"type":"unsubscribed","channel":"class:4"}"#,
    r#"{"type":"pong"}"#,
    r#"{"type":"token_expiring","expiresAt":1795312000}"#,
    r#"{"type":"reauthenticated","expiresAt":1795315600}"#,
    r#"{"type":"error","code":"rate_limited","retryAfter":7,"message":"Trop de requêtes : réessayez dans 7 s."}"#,
    r#"{"type":"error","code":"unavailable","clientMessageId":"c-42","message":"Message non enregistré : réessayez."}"#,
];

const HUB_CLIENT: &[&str] = &[
    r#"{"type":"auth","token":"eyJ"}"#,
    r#"{"type":"resume","offset":"1795308399635-0"}"#,
    r#"{"type":"ping"}"#,
    r#"{"type":"send","conversationId":12,"clientMessageId":"c-42","body":"Bonjour !"}"#,
    r#"{"type":"typing","conversationId":12,"isTyping":true}"#,
    r#"{"type":"subscribe","channel":"class:4"}"#,
    r#"{"type":"unsubscribe","channel":"class:4"}"#,
    r#"{"type":"presence","channel":"class:4"}"#,
    r#"{"type":"activity","channel":"class:4","courseId":7,"sectionId":"ch1-s2"}"#,
];

const ARIA_CLIENT: &[&str] = &[
    r#"{"type":"auth","token":"eyJ"}"#,
    r#"{"type":"user_message","content":"Comment fonctionne une pile ?","timestamp":"2026-12-03T18:00:00Z"}"#,
    r#"{"type":"user_message","content":"Comment fonctionne une pile ?"}"#,
    r#"{"type":"ping"}"#,
];

const ARIA_SERVER: &[&str] = &[
    r#"{"type":"connected","sessionId":"revision-piles-01"}"#,
    r#"{"type":"typing","isTyping":true}"#,
    r#"{"type":"ai_chunk","content":"Une pile"}"#,
    r#"{"type":"ai_response","content":"Une pile…","confidence":0.5,"sources":[{"courseId":1,"courseTitle":"Structures linéaires","level":"terminale","score":0.5,"sectionId":"s1","sectionTitle":"Les piles"}],"sessionId":"revision-piles-01","metadata":{"firstTokenMs":12.5,"generation":"enabled","messageId":9,"model":"smollm2","modelMs":80.25,"oversight":"Tes enseignants peuvent lire tes conversations avec ARIA.","policy":"explain","replyTo":8,"responseTime":120,"retrievalMs":3.25,"tokensUsed":12},"timestamp":"2026-12-03T18:00:00.000Z"}"#,
    r#"{"type":"ai_response","content":"Je ne peux pas t'aider sur ce DS.","confidence":0.0,"sources":[],"sessionId":"revision-piles-01","metadata":{"firstTokenMs":null,"generation":"skipped","messageId":11,"model":"extractive","modelMs":null,"oversight":"Tes enseignants peuvent lire tes conversations avec ARIA.","policy":"exam_refused","replyTo":10,"responseTime":4,"retrievalMs":1.5,"tokensUsed":0},"timestamp":"2026-12-03T18:00:01.000Z"}"#,
    r#"{"type":"typing","isTyping":false}"#,
    r#"{"type":"pong"}"#,
    r#"{"type":"error","code":"rate_limited","message":"Trop de questions.","retryAfter":30}"#,
    r#"{"type":"error","code":"invalid_fields","message":"Champs invalides.","details":{"message":"requis"}}"#,
];

/// What the services wrote before the frames were typed: a `serde_json::Value`'s text.
fn as_value_text(example: &str) -> String {
    serde_json::from_str::<Value>(example)
        .expect("an example is JSON")
        .to_string()
}

fn round_trips<T: Serialize + DeserializeOwned + std::fmt::Debug>(examples: &[&str]) {
    for example in examples {
        let frame: T = serde_json::from_str(example)
            .unwrap_or_else(|e| panic!("{example} does not parse: {e}"));
        assert_eq!(
            to_text(&frame),
            as_value_text(example),
            "{example} as {frame:?}"
        );
    }
}

#[test]
fn every_documented_hub_frame_round_trips_byte_for_byte() {
    round_trips::<hub::ServerFrame>(HUB_SERVER);
    round_trips::<hub::ClientFrame>(HUB_CLIENT);
    for example in HUB_CLIENT {
        assert_ne!(
            hub::ClientFrame::parse(example),
            Ok(hub::ClientFrame::Unknown)
        );
    }
}

#[test]
fn every_documented_aria_frame_round_trips_byte_for_byte() {
    round_trips::<aria::ServerFrame>(ARIA_SERVER);
    round_trips::<aria::ClientFrame>(ARIA_CLIENT);
}

/// The `type`s named in the frame tables of a section of docs/API.md.
fn documented_types(section_start: &str, section_end: &str) -> Vec<String> {
    let doc = include_str!("../../../docs/API.md");
    let start = doc.find(section_start).expect("section");
    let section = &doc[start..];
    let section = &section[..section.find(section_end).expect("section end")];
    let mut types: Vec<String> = section
        .lines()
        .filter(|line| line.starts_with("| `{\"type\":"))
        .filter_map(|line| line.split('"').nth(3).map(str::to_owned))
        .collect();
    types.sort();
    types.dedup();
    types
}

fn example_types(lists: &[&[&str]]) -> Vec<String> {
    let mut types: Vec<String> = lists
        .iter()
        .flat_map(|list| list.iter())
        .map(|e| {
            serde_json::from_str::<Value>(e).expect("an example is JSON")["type"]
                .as_str()
                .expect("an example has a type")
                .to_owned()
        })
        .collect();
    types.sort();
    types.dedup();
    types
}

#[test]
fn every_frame_type_the_document_names_has_an_example_here() {
    let hub = documented_types("## The hub: real-time", "### Close codes");
    assert!(hub.len() >= 15, "{hub:?}");
    assert_eq!(hub, example_types(&[HUB_SERVER, HUB_CLIENT]));
    let aria = documented_types("### WebSocket `/ws/aria/{sessionId}`", "### Sessions");
    assert!(aria.len() >= 7, "{aria:?}");
    assert_eq!(aria, example_types(&[ARIA_SERVER, ARIA_CLIENT]));
}

#[test]
fn the_hub_reads_client_frames_as_leniently_as_before() {
    use hub::ClientFrame;
    assert_eq!(ClientFrame::parse("not json"), Err(hub::NotJson));
    for unknown in [
        r#"{"type":"teleport"}"#,
        r#"{"token":"x"}"#,
        r#"{"type":5}"#,
        "[1]",
        "3",
    ] {
        assert_eq!(
            ClientFrame::parse(unknown),
            Ok(ClientFrame::Unknown),
            "{unknown}"
        );
    }
    assert_eq!(
        ClientFrame::parse(r#"{"type":"send","conversationId":"12","body":7}"#),
        Ok(ClientFrame::Send {
            conversation_id: None,
            client_message_id: None,
            body: None
        })
    );
    assert_eq!(
        ClientFrame::parse(r#"{"type":"subscribe"}"#),
        Ok(ClientFrame::Subscribe {
            channel: RequestedChannel::default()
        })
    );
    assert_eq!(
        ClientFrame::parse(r#"{"type":"subscribe","channel":"class:4"}"#),
        Ok(ClientFrame::Subscribe {
            channel: Channel::Class(4).into()
        })
    );
    assert_eq!(
        ClientFrame::parse(r#"{"type":"subscribe","channel":"CLASS:4"}"#),
        Ok(ClientFrame::Subscribe {
            channel: RequestedChannel::parse("CLASS:4")
        })
    );
    assert_eq!(
        ClientFrame::parse(r#"{"type":"auth","token":3}"#),
        Ok(ClientFrame::Auth { token: None })
    );
}

#[test]
fn aria_reads_only_its_frames() {
    use aria::ClientFrame;
    for invalid in [
        "nope",
        r#"{"type":"user_message"}"#,
        r#"{"type":"user_message","content":3}"#,
        r#"{"type":"subscribe"}"#,
        "{}",
    ] {
        assert_eq!(
            ClientFrame::parse(invalid),
            ClientFrame::Invalid,
            "{invalid}"
        );
    }
    assert_eq!(
        ClientFrame::parse(r#"{"type":"user_message","content":"Pile ?","timestamp":12}"#),
        ClientFrame::UserMessage {
            content: "Pile ?".into(),
            timestamp: None
        }
    );
}

#[test]
fn only_an_auth_frame_with_a_string_token_authenticates() {
    use nexus_protocol::auth_token;
    assert_eq!(
        auth_token(r#"{"type":"auth","token":"abc"}"#),
        Some("abc".into())
    );
    for refused in [
        r#"{"type":"auth"}"#,
        r#"{"type":"auth","token":1}"#,
        r#"{"type":"ping"}"#,
        "abc",
    ] {
        assert_eq!(auth_token(refused), None, "{refused}");
    }
}

#[test]
fn the_typescript_types_are_up_to_date() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../frontend/src/lib/ws-protocol.ts"
    );
    let generated = nexus_protocol::typescript();
    if std::env::var_os("UPDATE_WS_PROTOCOL").is_some() {
        std::fs::write(path, &generated).expect("write ws-protocol.ts");
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == generated,
        "frontend/src/lib/ws-protocol.ts differs from the frames: run \
         `UPDATE_WS_PROTOCOL=1 cargo test -p nexus-protocol` and commit it"
    );
}
