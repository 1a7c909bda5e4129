//! The channels a connection may follow, parsed once into one typed value with one
//! canonical name. Two spellings of the same class (`class:01`, `class:+1`) would be two
//! subscriptions and two presence sets: a student on one would be invisible to a teacher
//! on the other. Anything but the canonical spelling is refused.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// Longest channel name accepted: `conversation:` and the 19 digits of the largest id.
pub const MAX_LEN: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    User(i64),
    Class(i64),
    Course(i64),
    Conversation(i64),
}

/// Why a name is not a channel (the error frame's code is `invalid_channel` for all).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidChannel {
    TooLong,
    Malformed,
}

impl Channel {
    /// Parses `kind:id` where `kind` is lower-case and `id` a positive decimal without
    /// sign, leading zeros or spaces: exactly what `Display` writes.
    pub fn parse(raw: &str) -> Result<Channel, InvalidChannel> {
        if raw.len() > MAX_LEN {
            return Err(InvalidChannel::TooLong);
        }
        let (kind, id) = raw.split_once(':').ok_or(InvalidChannel::Malformed)?;
        let canonical_digits =
            !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) && !id.starts_with('0');
        if !canonical_digits {
            return Err(InvalidChannel::Malformed);
        }
        let id: i64 = id.parse().map_err(|_| InvalidChannel::Malformed)?;
        match kind {
            "user" => Ok(Channel::User(id)),
            "class" => Ok(Channel::Class(id)),
            "course" => Ok(Channel::Course(id)),
            "conversation" => Ok(Channel::Conversation(id)),
            _ => Err(InvalidChannel::Malformed),
        }
    }

    /// Class and conversation channels track who is online.
    pub fn has_presence(self) -> bool {
        matches!(self, Channel::Class(_) | Channel::Conversation(_))
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Channel::User(id) => write!(f, "user:{id}"),
            Channel::Class(id) => write!(f, "class:{id}"),
            Channel::Course(id) => write!(f, "course:{id}"),
            Channel::Conversation(id) => write!(f, "conversation:{id}"),
        }
    }
}

/// The TypeScript type of a channel's name, written next to the kinds `parse` accepts.
pub const TS_CHANNEL: &str = "export type Channel = `user:${number}` | `class:${number}` | `course:${number}` | `conversation:${number}`;";

impl Serialize for Channel {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Channel {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Channel::parse(&raw).map_err(|_| serde::de::Error::custom("not a channel's one spelling"))
    }
}

/// A name that is not a channel, kept to echo it back (when short) in the error frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidName {
    pub raw: String,
    pub reason: InvalidChannel,
}

/// The `channel` of a client frame, parsed when the frame is: a channel, or the name that
/// is not one. A missing or non-string `channel` is an empty, malformed name (the frame
/// is still the frame its `type` says, answered with `invalid_channel`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestedChannel(pub Result<Channel, InvalidName>);

impl Default for RequestedChannel {
    fn default() -> Self {
        RequestedChannel(Err(InvalidName {
            raw: String::new(),
            reason: InvalidChannel::Malformed,
        }))
    }
}

impl From<Channel> for RequestedChannel {
    fn from(channel: Channel) -> Self {
        RequestedChannel(Ok(channel))
    }
}

impl RequestedChannel {
    pub fn parse(raw: &str) -> Self {
        RequestedChannel(Channel::parse(raw).map_err(|reason| InvalidName {
            raw: raw.to_owned(),
            reason,
        }))
    }
}

impl Serialize for RequestedChannel {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            Ok(channel) => channel.serialize(serializer),
            Err(invalid) => serializer.serialize_str(&invalid.raw),
        }
    }
}

impl<'de> Deserialize<'de> for RequestedChannel {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(match Value::deserialize(deserializer)? {
            Value::String(raw) => RequestedChannel::parse(&raw),
            _ => RequestedChannel::default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_channel_has_one_spelling_and_it_round_trips() {
        for name in [
            "user:1",
            "class:42",
            "course:7",
            "conversation:9223372036854775807",
        ] {
            assert_eq!(Channel::parse(name).map(|c| c.to_string()), Ok(name.into()));
        }
        for alias in [
            "class:01",
            "class:+1",
            "class:-1",
            "class:0",
            "class: 1",
            "class:1 ",
            "Class:1",
            "class:",
            "class",
            "class:1:2",
            "class:1e3",
            "class:٣",
            "classes:1",
            "",
            "conversation:9223372036854775808",
        ] {
            assert_eq!(
                Channel::parse(alias),
                Err(InvalidChannel::Malformed),
                "{alias}"
            );
        }
        assert_eq!(
            Channel::parse(&format!("class:{}", "1".repeat(8192))),
            Err(InvalidChannel::TooLong)
        );
    }

    #[test]
    fn a_channel_travels_as_its_name_and_an_alias_is_kept_only_to_be_refused() {
        let channel: Channel = serde_json::from_str("\"class:4\"").expect("a channel");
        assert_eq!(channel, Channel::Class(4));
        assert_eq!(
            serde_json::to_string(&channel).expect("json"),
            "\"class:4\""
        );
        assert!(serde_json::from_str::<Channel>("\"class:04\"").is_err());
        let alias: RequestedChannel =
            serde_json::from_str("\"class:04\"").expect("a requested channel");
        assert_eq!(
            alias.0,
            Err(InvalidName {
                raw: "class:04".into(),
                reason: InvalidChannel::Malformed
            })
        );
        let number: RequestedChannel = serde_json::from_str("4").expect("a requested channel");
        assert_eq!(number, RequestedChannel::default());
    }
}
