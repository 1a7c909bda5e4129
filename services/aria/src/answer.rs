//! What an answer of ARIA is, as returned (JSON, server-sent events, websocket) and as
//! stored (`aria_messages.sources` and `.metadata`): typed here so that the pipeline
//! ([`crate::tutor`]) and the conversations ([`crate::sessions`]) share them without
//! depending on each other. Its parts (`Source`, `Metadata`, `Generation`) are the
//! websocket protocol's (`nexus_protocol::aria`): the `ai_response` frame carries them
//! typed, and the web app gets them as TypeScript.
//!
//! The JSON must not change with the types: clients and stored rows read it. Fields
//! are declared in alphabetical order of their JSON names because the `serde_json`
//! objects they replace sorted their keys (no `preserve_order`), and a passage's score
//! is kept as the `f64` those objects held (an `f32` prints differently: `0.8`, not
//! `0.800000011920929`). The tests below hold the shapes to the former `json!` ones.

use serde::Serialize;

pub use nexus_protocol::aria::{Generation, Metadata, Source};

use crate::retrieval::Passage;

/// What students are told about who reads their conversations.
pub const OVERSIGHT_NOTICE: &str =
    "Tes enseignants peuvent lire tes conversations avec ARIA, et tes parents en voient un résumé.";

/// The contract's answer to a question.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatResponse {
    /// Always true (the seed's clients test it); errors are the API's error body.
    pub success: bool,
    pub session_id: String,
    pub response: String,
    pub confidence: f32,
    pub sources: Vec<Source>,
    pub metadata: Metadata,
}

/// The source a passage gives.
pub fn source(passage: &Passage) -> Source {
    Source {
        course_id: passage.course_id,
        course_title: passage.course_title.clone(),
        level: passage.level.clone(),
        score: f64::from(passage.confidence),
        section_id: passage.section_id.clone(),
        section_title: passage.section_title.clone(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn text(value: &impl Serialize) -> String {
        serde_json::to_string(value).expect("serializable")
    }

    fn value(value: &impl Serialize) -> Value {
        serde_json::to_value(value).expect("serializable")
    }

    fn passage(confidence: f32) -> Passage {
        Passage {
            id: 1,
            course_id: 7,
            course_title: "Structures linéaires".into(),
            chapter_title: "Piles".into(),
            section_id: "s1".into(),
            section_title: "Les piles".into(),
            level: "terminale".into(),
            excerpt: "Une pile…".into(),
            score: 0.5,
            coverage: 0.5,
            similarity: None,
            confidence,
        }
    }

    fn metadata() -> Metadata {
        Metadata {
            first_token_ms: Some(12.5),
            generation: Generation::Moderated,
            message_id: None,
            model: "extractive".into(),
            model_ms: None,
            oversight: OVERSIGHT_NOTICE.into(),
            policy: "hints".into(),
            reply_to: None,
            response_time: 42,
            retrieval_ms: 3.25,
            tokens_used: 17,
        }
    }

    /// The same bytes as the `json!` object a source used to be.
    #[test]
    fn a_source_serializes_as_before() {
        let p = passage(0.8);
        let before = json!({"courseId": p.course_id, "courseTitle": p.course_title, "level": p.level, "sectionId": p.section_id,
                            "sectionTitle": p.section_title, "score": p.confidence});
        let source = source(&p);
        assert_eq!(text(&source), before.to_string());
        assert_eq!(value(&source), before);
    }

    /// The same bytes as the `json!` metadata, stored and then returned.
    #[test]
    fn metadata_serializes_as_before() {
        let mut metadata = metadata();
        let mut before = json!({
            "responseTime": 42_u64,
            "retrievalMs": 3.25,
            "modelMs": None::<f64>,
            "firstTokenMs": Some(12.5),
            "tokensUsed": 17_u64,
            "model": "extractive",
            "generation": "moderated",
            "policy": "hints",
            "oversight": OVERSIGHT_NOTICE,
        });
        assert_eq!(text(&metadata), before.to_string());
        metadata.message_id = Some(9);
        metadata.reply_to = Some(8);
        before["messageId"] = json!(9);
        before["replyTo"] = json!(8);
        assert_eq!(text(&metadata), before.to_string());
    }

    #[test]
    fn generation_names_are_the_stored_ones() {
        let names: Vec<Value> = [
            Generation::Enabled,
            Generation::Disabled,
            Generation::Fallback,
            Generation::Moderated,
            Generation::Skipped,
        ]
        .iter()
        .map(value)
        .collect();
        assert_eq!(
            Value::Array(names),
            json!(["enabled", "disabled", "fallback", "moderated", "skipped"])
        );
    }

    /// The whole answer: the order of its own fields, then the sorted objects.
    #[test]
    fn a_response_serializes_as_before() {
        let response = ChatResponse {
            success: true,
            session_id: "abcdefgh".into(),
            response: "Réponse".into(),
            confidence: 0.7,
            sources: vec![source(&passage(0.7))],
            metadata: metadata(),
        };
        let (sources, metadata) = (text(&response.sources), text(&response.metadata));
        assert_eq!(
            text(&response),
            format!(
                r#"{{"success":true,"sessionId":"abcdefgh","response":"Réponse","confidence":0.7,"sources":{sources},"metadata":{metadata}}}"#
            )
        );
    }
}
