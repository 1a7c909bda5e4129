//! The channels a connection may follow, parsed once into one typed value with one
//! canonical name. Two spellings of the same class (`class:01`, `class:+1`) would be two
//! subscriptions and two presence sets: a student on one would be invisible to a teacher
//! on the other. Anything but the canonical spelling is refused.

use std::fmt;

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
}
