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
        sources: Vec<Value>,
        session_id: String,
        metadata: Value,
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
