//! The websocket protocols of the platform, typed: one enum of client frames and one of
//! server frames per service, tagged by `type`, each frame a variant with its fields;
//! and the hub's channels, parsed once into their one spelling. The hub, ARIA, the hub
//! load tool and the tests exchange these types; the web app gets them as TypeScript
//! (`frontend/src/lib/ws-protocol.ts`, written by [`typescript`]).
//!
//! Types only: this crate imports no web framework, no database and no runtime. The
//! socket handling and the authentication handshake live in `nexus-web` (`ws.rs`).
//!
//! Server frames go out through [`to_text`]: a frame becomes a JSON value before its
//! text, so its keys come out sorted, byte for byte what the services sent when they
//! built `serde_json::Value`s by hand (the web app and the contract's examples rely on
//! the fields, and the bytes did not change).

pub mod aria;
pub mod channel;
pub mod hub;
mod lenient;
mod typescript;

pub use channel::{Channel, InvalidChannel, InvalidName, RequestedChannel};
pub use typescript::typescript;

use serde::Serialize;
use serde_json::Value;

/// A server frame's text: its keys sorted, as `serde_json::Value` writes them.
pub fn to_text<T: Serialize>(frame: &T) -> String {
    to_value(frame).to_string()
}

/// A server frame as a JSON value (for the server-sent events that carry the same data).
pub fn to_value<T: Serialize>(frame: &T) -> Value {
    // Frames hold strings, numbers and JSON values only: nothing that fails to serialize.
    serde_json::to_value(frame).unwrap_or(Value::Null)
}

/// The token of a first frame `{"type":"auth","token":"…"}`, the only frame a socket
/// accepts before it is authenticated (hub and ARIA alike).
pub fn auth_token(text: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    #[serde(tag = "type", rename_all = "snake_case")]
    enum First {
        Auth { token: String },
    }
    match serde_json::from_str::<First>(text).ok()? {
        First::Auth { token } => Some(token),
    }
}
