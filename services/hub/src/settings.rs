//! The hub's settings: the shared ones plus websocket limits.

use std::time::Duration;

use nexus_config::{CommonSettings, parse_var};
use nexus_web::ratelimit::Limit;

#[derive(Debug, Clone)]
pub struct HubSettings {
    pub common: CommonSettings,
    /// Time a client has to authenticate after connecting.
    pub auth_timeout: Duration,
    /// Largest frame a client may send.
    pub max_frame_bytes: usize,
    /// Events queued for one connection before it is dropped as a slow consumer.
    pub send_queue: usize,
    /// Server pings this often; a client silent for three intervals is closed.
    pub ping_interval: Duration,
    /// How long before its token expires a connection is warned.
    pub expiry_warning: Duration,
    /// Events a resume returns at most, and kept per user for resumes.
    pub resume_max_events: usize,
    /// Connections one user may have open, over every hub instance.
    pub max_connections_per_user: usize,
    /// Chat frames (`send`, `typing`, `activity`) per user, over all their connections.
    pub chat_limit: Limit,
    /// `subscribe` and `presence` frames per user.
    pub subscribe_limit: Limit,
    /// `resume` frames per user.
    pub resume_limit: Limit,
}

impl HubSettings {
    pub fn from_env() -> anyhow::Result<Self> {
        Ok(Self {
            common: CommonSettings::from_env("HUB_PORT", 8080)?,
            auth_timeout: Duration::from_secs(parse_var("HUB_AUTH_TIMEOUT_SECONDS", 5)?),
            max_frame_bytes: parse_var("HUB_MAX_FRAME_BYTES", 16 * 1024)?,
            send_queue: parse_var("HUB_SEND_QUEUE", 256)?,
            ping_interval: Duration::from_secs(parse_var("HUB_PING_INTERVAL_SECONDS", 20)?),
            expiry_warning: Duration::from_secs(parse_var("HUB_EXPIRY_WARNING_SECONDS", 120)?),
            resume_max_events: parse_var("HUB_RESUME_MAX_EVENTS", 1000)?,
            max_connections_per_user: parse_var("HUB_MAX_CONNECTIONS_PER_USER", 10)?,
            chat_limit: Limit::new(
                parse_var("HUB_CHAT_FRAMES_PER_10_SECONDS", 20)?,
                Duration::from_secs(10),
            ),
            subscribe_limit: Limit::new(
                parse_var("HUB_SUBSCRIBES_PER_MINUTE", 60)?,
                Duration::from_secs(60),
            ),
            resume_limit: Limit::new(
                parse_var("HUB_RESUMES_PER_MINUTE", 12)?,
                Duration::from_secs(60),
            ),
        })
    }
}
