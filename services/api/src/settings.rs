//! The API's settings: the shared ones plus rate limits, mail and request limits.

use std::{path::PathBuf, time::Duration};

use nexus_config::{CommonSettings, ConnectionUrl, optional_var, parse_var, var_or};
use nexus_web::ratelimit::Limit;

#[derive(Debug, Clone)]
pub struct RateLimits {
    /// Failed logins per account (contract: 5 per 5 minutes).
    pub login_failures: Limit,
    /// All login attempts from one IP. A class of 35 behind one school NAT, each
    /// mistyping twice, stays far below it.
    pub login_per_ip: Limit,
    /// Registrations from one IP: a class signing up together (35) and a second class
    /// in the same hour fit; a script creating accounts by the thousand does not.
    pub register_per_ip: Limit,
    /// Password-reset requests per IP (each may send a mail).
    pub reset_per_ip: Limit,
    /// Authenticated API calls per user (contract: 100 per minute).
    pub api_per_user: Limit,
}

impl RateLimits {
    fn from_env() -> anyhow::Result<Self> {
        Ok(Self {
            login_failures: Limit::new(
                parse_var("RATE_LIMIT_LOGIN_FAILURES", 5)?,
                Duration::from_secs(parse_var("RATE_LIMIT_LOGIN_FAILURES_WINDOW_SECONDS", 300)?),
            ),
            login_per_ip: Limit::new(
                parse_var("RATE_LIMIT_LOGIN_IP_PER_WINDOW", 300)?,
                Duration::from_secs(parse_var("RATE_LIMIT_LOGIN_IP_WINDOW_SECONDS", 900)?),
            ),
            register_per_ip: Limit::new(
                parse_var("RATE_LIMIT_REGISTER_IP_PER_HOUR", 100)?,
                Duration::from_secs(3600),
            ),
            reset_per_ip: Limit::new(
                parse_var("RATE_LIMIT_RESET_IP_PER_HOUR", 30)?,
                Duration::from_secs(3600),
            ),
            api_per_user: Limit::new(
                parse_var("RATE_LIMIT_API_PER_MIN", 100)?,
                Duration::from_secs(60),
            ),
        })
    }
}

#[derive(Debug, Clone)]
pub struct MailSettings {
    /// `smtp://user:pass@host:587?tls=required` (STARTTLS), `smtps://user:pass@host:465`
    /// (TLS), or `smtp://host:25` (plain, for a relay on the same host). Unset: mails go
    /// to the dev mailbox directory.
    pub smtp_url: Option<ConnectionUrl>,
    pub from: String,
    pub mailbox_dir: PathBuf,
    /// Where the frontend's password-reset page lives; the token is appended.
    pub reset_url_base: String,
    /// The web app's public address, for links in mails (digest, preferences).
    pub web_url: String,
    /// The API's public address, for the one-click unsubscribe header of mails.
    pub api_public_url: String,
    /// Where the frontend's email-verification page lives; the token is appended.
    pub verify_url_base: String,
}

/// Data rights and retention (issue #17, docs/PRIVACY.md).
#[derive(Debug, Clone)]
pub struct PrivacySettings {
    /// How long an email-verification link works.
    pub verify_token_ttl: Duration,
    /// Between a deletion request (the account is disabled at once) and erasure.
    pub erasure_grace: Duration,
    /// ARIA sessions untouched for this long are deleted.
    pub aria_retention: Duration,
    /// Notifications older than this are deleted.
    pub notification_retention: Duration,
    /// A finished export can be downloaded for this long, then it is deleted.
    pub export_ttl: Duration,
    /// How often the worker runs the purge.
    pub purge_interval: Duration,
}

impl PrivacySettings {
    fn from_env() -> anyhow::Result<Self> {
        let days = |n: u64| n * 24 * 3600;
        Ok(Self {
            verify_token_ttl: Duration::from_secs(parse_var(
                "EMAIL_VERIFICATION_TTL_SECONDS",
                days(2),
            )?),
            erasure_grace: Duration::from_secs(parse_var("ERASURE_GRACE_SECONDS", days(30))?),
            aria_retention: Duration::from_secs(parse_var("ARIA_RETENTION_SECONDS", days(365))?),
            notification_retention: Duration::from_secs(parse_var(
                "NOTIFICATION_RETENTION_SECONDS",
                days(180),
            )?),
            export_ttl: Duration::from_secs(parse_var("EXPORT_TTL_SECONDS", days(7))?),
            purge_interval: Duration::from_secs(parse_var("PRIVACY_PURGE_INTERVAL_SECONDS", 3600)?),
        })
    }
}

#[derive(Debug, Clone)]
pub struct ApiSettings {
    pub common: CommonSettings,
    pub rate_limits: RateLimits,
    pub mail: MailSettings,
    pub privacy: PrivacySettings,
    pub refresh_token_ttl: Duration,
    pub reset_token_ttl: Duration,
    pub pairing_code_ttl: Duration,
    pub body_limit: usize,
    /// Apply migrations at start-up (on by default outside production).
    pub migrate_on_start: bool,
    /// Run the outbox relay and reminders in this process (on by default).
    pub run_worker: bool,
}

impl ApiSettings {
    pub fn from_env() -> anyhow::Result<Self> {
        let common = CommonSettings::from_env("API_PORT", 5000)?;
        let production = common.environment == nexus_config::Environment::Production;
        Ok(Self {
            rate_limits: RateLimits::from_env()?,
            mail: MailSettings {
                smtp_url: optional_var("SMTP_URL").map(ConnectionUrl::new),
                from: var_or("MAIL_FROM", "Nexus Réussite <no-reply@nexus-reussite.fr>"),
                mailbox_dir: PathBuf::from(var_or("MAILBOX_DIR", "var/mailbox")),
                reset_url_base: var_or(
                    "PASSWORD_RESET_URL",
                    "http://localhost:3000/reinitialiser-mot-de-passe?token=",
                ),
                web_url: var_or("WEB_APP_URL", "http://localhost:3000"),
                api_public_url: var_or("API_PUBLIC_URL", "http://localhost:5000"),
                verify_url_base: var_or(
                    "EMAIL_VERIFICATION_URL",
                    "http://localhost:3000/verifier-email?token=",
                ),
            },
            privacy: PrivacySettings::from_env()?,
            refresh_token_ttl: Duration::from_secs(parse_var(
                "REFRESH_TOKEN_TTL_SECONDS",
                30 * 24 * 3600,
            )?),
            reset_token_ttl: Duration::from_secs(3600),
            pairing_code_ttl: Duration::from_secs(7 * 24 * 3600),
            body_limit: parse_var("REQUEST_BODY_LIMIT_BYTES", 1024 * 1024)?,
            migrate_on_start: parse_var("MIGRATE_ON_START", !production)?,
            run_worker: parse_var("RUN_WORKER", true)?,
            common,
        })
    }
}
