//! Field readers that take a value of the wrong JSON type for an absent one. The hub read
//! its frames this way before they were typed (`value["offset"].as_str()`), and its
//! answers depend on it: a `send` whose `conversationId` is a string is answered
//! `invalid_frame` with the send's own message, not `unknown_type`.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

pub fn string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(deserializer)? {
        Value::String(text) => Some(text),
        _ => None,
    })
}

pub fn int<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    Ok(Value::deserialize(deserializer)?.as_i64())
}

pub fn boolean<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<bool>, D::Error> {
    Ok(Value::deserialize(deserializer)?.as_bool())
}
