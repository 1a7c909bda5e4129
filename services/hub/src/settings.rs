//! The hub's settings: the shared ones plus websocket limits.

use std::time::Duration;

use nexus_config::{CommonSettings, parse_var};

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
    /// How far back a resume may scan the event stream.
    pub resume_scan_limit: usize,
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
            resume_scan_limit: parse_var("HUB_RESUME_SCAN_LIMIT", 20_000)?,
        })
    }
}
