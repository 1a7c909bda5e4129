//! What an answer of ARIA is, as returned (JSON, server-sent events, websocket) and as
//! stored (`aria_messages.sources` and `.metadata`): typed here so that the pipeline
//! ([`crate::tutor`]) and the conversations ([`crate::sessions`]) share them without
//! depending on each other.
//!
//! The JSON must not change with the types: clients and stored rows read it. Fields
//! are declared in alphabetical order of their JSON names because the `serde_json`
//! objects they replace sorted their keys (no `preserve_order`), and a passage's score
//! is kept as the `f64` those objects held (an `f32` prints differently: `0.8`, not
//! `0.800000011920929`). The tests below hold the shapes to the former `json!` ones.

use serde::Serialize;

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

/// A course section the answer relies on (the first three passages found). Parents'
/// summaries count answers per `courseTitle` in the stored sources.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Source {
    pub course_id: i64,
    pub course_title: String,
    pub level: String,
    /// The passage's confidence, widened as the stored sources have always held it.
    pub score: f64,
    pub section_id: String,
    pub section_title: String,
}

impl From<&Passage> for Source {
    fn from(passage: &Passage) -> Self {
        Source {
            course_id: passage.course_id,
            course_title: passage.course_title.clone(),
            level: passage.level.clone(),
            score: f64::from(passage.confidence),
            section_id: passage.section_id.clone(),
            section_title: passage.section_title.clone(),
        }
    }
}

/// How the answer's text was made: the `generation` of its metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Generation {
    /// Written by the model.
    Enabled,
    /// From the courses: no model on this installation.
    Disabled,
    /// From the courses: the model failed this time.
    Fallback,
    /// From the courses: the model's answer was held back by moderation.
    Moderated,
    /// Neither: a refusal or the support message, written in advance.
    Skipped,
}

/// How an answer was made, for the student (the oversight notice), the teachers who read
/// the conversation and the measurements. Stored without `messageId` and `replyTo`,
/// which the returned answer adds once it is stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    /// From the question's arrival to the model's first piece of text.
    pub first_token_ms: Option<f64>,
    pub generation: Generation,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<i64>,
    /// The model that wrote the answer, `extractive` when none did.
    pub model: String,
    pub model_ms: Option<f64>,
    pub oversight: &'static str,
    /// The help policy applied (`explain`, `hints`, `exam_refused`) or `support`.
    pub policy: &'static str,
    /// The question answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<i64>,
    /// From the question's arrival to the answer's storage, in milliseconds.
    pub response_time: u64,
    pub retrieval_ms: f64,
    pub tokens_used: u64,
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
            oversight: OVERSIGHT_NOTICE,
            policy: "hints",
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
        let source = Source::from(&p);
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
            sources: vec![Source::from(&passage(0.7))],
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
