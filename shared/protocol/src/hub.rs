//! The hub's frames (`/ws`), one variant per `type`. Client frames are read leniently,
//! as the hub always read them: a field of the wrong type counts as absent, and each
//! frame's handler answers what is missing with that frame's own error.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use ts_rs::TS;

use crate::{Channel, RequestedChannel, lenient};

/// What a client sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(
    tag = "type",
    rename_all = "snake_case",
    rename_all_fields = "camelCase"
)]
#[ts(rename = "HubClientFrame")]
pub enum ClientFrame {
    /// First frame: authenticate. Later: replace the token (same user only).
    Auth {
        #[serde(default, deserialize_with = "lenient::string")]
        #[ts(type = "string")]
        token: Option<String>,
    },
    /// Replay this user's events after `offset`, then `resumed`.
    Resume {
        #[serde(default, deserialize_with = "lenient::string")]
        #[ts(type = "string")]
        offset: Option<String>,
    },
    Ping,
    /// Store a chat message, then `ack`.
    Send {
        #[serde(default, deserialize_with = "lenient::int")]
        #[ts(type = "number")]
        conversation_id: Option<i64>,
        #[serde(default, deserialize_with = "lenient::string")]
        #[ts(type = "string")]
        client_message_id: Option<String>,
        #[serde(default, deserialize_with = "lenient::string")]
        #[ts(type = "string")]
        body: Option<String>,
    },
    /// Tell a conversation's other members (no answer). `isTyping` defaults to true.
    Typing {
        #[serde(default, deserialize_with = "lenient::int")]
        #[ts(type = "number")]
        conversation_id: Option<i64>,
        #[serde(
            default,
            deserialize_with = "lenient::boolean",
            skip_serializing_if = "Option::is_none"
        )]
        #[ts(optional)]
        is_typing: Option<bool>,
    },
    Subscribe {
        #[serde(default)]
        #[ts(type = "Channel")]
        channel: RequestedChannel,
    },
    Unsubscribe {
        #[serde(default)]
        #[ts(type = "Channel")]
        channel: RequestedChannel,
    },
    /// Who is online on a subscribed class or conversation channel.
    Presence {
        #[serde(default)]
        #[ts(type = "Channel")]
        channel: RequestedChannel,
    },
    /// What a student works on, for a subscribed class's teacher.
    Activity {
        #[serde(default)]
        #[ts(type = "Channel")]
        channel: RequestedChannel,
        #[serde(
            default,
            deserialize_with = "lenient::int",
            skip_serializing_if = "Option::is_none"
        )]
        #[ts(optional)]
        course_id: Option<i64>,
        #[serde(
            default,
            deserialize_with = "lenient::string",
            skip_serializing_if = "Option::is_none"
        )]
        #[ts(optional)]
        section_id: Option<String>,
    },
    /// Any other `type`, or none: answered `unknown_type`.
    #[serde(other)]
    #[ts(skip)]
    Unknown,
}

/// A client frame that is not JSON at all (answered `invalid_frame`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotJson;

impl ClientFrame {
    /// The one place a client's text becomes a frame.
    pub fn parse(text: &str) -> Result<ClientFrame, NotJson> {
        let value: Value = serde_json::from_str(text).map_err(|_| NotJson)?;
        // With every field lenient, only a missing, unknown or non-string `type` (or a
        // value that is not an object) fails here.
        Ok(ClientFrame::deserialize(value).unwrap_or(ClientFrame::Unknown))
    }
}

/// What the hub sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(
    tag = "type",
    rename_all = "snake_case",
    rename_all_fields = "camelCase"
)]
#[ts(rename = "HubServerFrame")]
pub enum ServerFrame {
    /// Authenticated: the user and the channel joined automatically.
    Ready {
        user_id: i64,
        #[ts(type = "Array<Channel>")]
        channels: Vec<Channel>,
    },
    /// An event of a channel: `offset` on those that a resume may replay.
    Event {
        #[ts(type = "Channel")]
        channel: Channel,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        offset: Option<String>,
        #[ts(type = "string")]
        event_id: Value,
        #[ts(type = "\"notification\" | \"chat\" | \"typing\" | \"presence\" | \"course\"")]
        topic: String,
        data: Value,
    },
    /// A `send` is stored (the same message again for a retried `clientMessageId`).
    Ack {
        client_message_id: String,
        conversation_id: i64,
        message: Value,
    },
    Resumed {
        complete: bool,
        more: bool,
        offset: String,
    },
    Subscribed {
        #[ts(type = "Channel")]
        channel: Channel,
        /// On class and conversation channels: who is online there.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        presence: Option<Vec<PresenceUser>>,
    },
    Presence {
        #[ts(type = "Channel")]
        channel: Channel,
        users: Vec<PresenceUser>,
    },
    Unsubscribed {
        #[ts(type = "Channel")]
        channel: Channel,
    },
    Pong,
    TokenExpiring {
        expires_at: i64,
    },
    Reauthenticated {
        expires_at: i64,
    },
    Error(ErrorFrame),
}

/// `{"type":"error",…}`: the socket stays open.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "HubError")]
pub struct ErrorFrame {
    pub code: String,
    pub message: String,
    /// The channel refused (an invalid name is echoed only when 32 characters or fewer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub channel: Option<String>,
    /// The `send` this answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub client_message_id: Option<String>,
    /// `rate_limited`: seconds to wait.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub retry_after: Option<u64>,
}

impl ErrorFrame {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        ErrorFrame {
            code: code.to_owned(),
            message: message.into(),
            channel: None,
            client_message_id: None,
            retry_after: None,
        }
    }

    pub fn rate_limited(seconds: u64) -> Self {
        ErrorFrame {
            retry_after: Some(seconds),
            ..ErrorFrame::new(
                "rate_limited",
                format!("Trop de requêtes : réessayez dans {seconds} s."),
            )
        }
    }

    pub fn on_channel(self, channel: impl ToString) -> Self {
        ErrorFrame {
            channel: Some(channel.to_string()),
            ..self
        }
    }

    pub fn for_message(self, client_message_id: Option<&str>) -> Self {
        ErrorFrame {
            client_message_id: client_message_id.map(str::to_owned),
            ..self
        }
    }
}

impl From<ErrorFrame> for ServerFrame {
    fn from(error: ErrorFrame) -> Self {
        ServerFrame::Error(error)
    }
}

/// One online user of a channel, with what they last reported (`null` if nothing).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PresenceUser {
    pub user_id: i64,
    pub activity: Option<Activity>,
}

/// What a student reported working on, and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Activity {
    pub course_id: Option<i64>,
    pub section_id: Option<String>,
    pub at: String,
}
