//! ARIA's frames (`/ws/aria/{sessionId}`). Unlike the hub's, its client frames are read
//! strictly: anything but the frames below is answered `invalid_frame`.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use ts_rs::TS;

use crate::lenient;

/// What a client sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
#[ts(rename = "AriaClientFrame")]
pub enum ClientFrame {
    /// First frame, when the URL has no `?token=`.
    Auth {
        token: String,
    },
    /// A question; `timestamp` is accepted and ignored.
    UserMessage {
        content: String,
        #[serde(
            default,
            deserialize_with = "lenient::string",
            skip_serializing_if = "Option::is_none"
        )]
        #[ts(optional)]
        timestamp: Option<String>,
    },
    Ping,
    /// Not JSON, or not one of the frames above (an `auth` after the first frame too).
    #[serde(other)]
    #[ts(skip)]
    Invalid,
}

impl ClientFrame {
    /// The one place a client's text becomes a frame.
    pub fn parse(text: &str) -> ClientFrame {
        serde_json::from_str(text).unwrap_or(ClientFrame::Invalid)
    }
}

/// What ARIA sends: per question `typing` true, `ai_chunk`s, `ai_response` (or an
/// `error`), `typing` false.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(
    tag = "type",
    rename_all = "snake_case",
    rename_all_fields = "camelCase"
)]
#[ts(rename = "AriaServerFrame")]
pub enum ServerFrame {
    Connected {
        session_id: String,
    },
    Typing {
        is_typing: bool,
    },
    AiChunk {
        content: String,
    },
    /// The stored answer (as in the server-sent events).
    AiResponse {
        content: String,
        confidence: f32,
        sources: Vec<Source>,
        session_id: String,
        metadata: Metadata,
        timestamp: String,
    },
    Pong,
    Error(ErrorFrame),
}

/// `{"type":"error",…}`: the socket stays open.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "AriaError")]
pub struct ErrorFrame {
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub retry_after: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub details: Option<Value>,
}

impl ErrorFrame {
    pub fn new(code: &str, message: &str) -> Self {
        ErrorFrame {
            code: code.to_owned(),
            message: message.to_owned(),
            retry_after: None,
            details: None,
        }
    }
}

impl From<ErrorFrame> for ServerFrame {
    fn from(error: ErrorFrame) -> Self {
        ServerFrame::Error(error)
    }
}

// An answer's parts, as ARIA returns them (JSON, server-sent events, `ai_response`) and
// stores them (`aria_messages.sources` and `.metadata`). Fields are in alphabetical order
// of their JSON names: the `serde_json` objects they replaced sorted their keys, and
// clients and stored rows read those bytes (services/aria/src/answer.rs tests them).

/// A course section an answer relies on (the first three passages found). Parents'
/// summaries count answers per `courseTitle` in the stored sources.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "AriaSource")]
pub struct Source {
    pub course_id: i64,
    pub course_title: String,
    /// `premiere` or `terminale`.
    pub level: String,
    /// The passage's confidence, widened as the stored sources have always held it.
    pub score: f64,
    pub section_id: String,
    pub section_title: String,
}

/// How the answer's text was made: the `generation` of its metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(rename = "AriaGeneration")]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "AriaMetadata")]
pub struct Metadata {
    /// From the question's arrival to the model's first piece of text.
    pub first_token_ms: Option<f64>,
    pub generation: Generation,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub message_id: Option<i64>,
    /// The model that wrote the answer, `extractive` when none did.
    pub model: String,
    pub model_ms: Option<f64>,
    /// Who reads the conversation, as the student is told.
    pub oversight: String,
    /// The help policy applied (`explain`, `hints`, `exam_refused`) or `support`.
    pub policy: String,
    /// The question answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub reply_to: Option<i64>,
    /// From the question's arrival to the answer's storage, in milliseconds.
    pub response_time: u64,
    pub retrieval_ms: f64,
    pub tokens_used: u64,
}
