//! Settings shared by the three services, read from the environment.
//!
//! Each service builds its own settings from these pieces; the names are the seed's
//! (`DATABASE_URL`, `REDIS_URL`, `JWT_SECRET_KEY`, …) so operators recognise them.

use std::{env, fmt, net::IpAddr, str::FromStr, time::Duration};

use anyhow::{Context, bail};
use secrecy::{ExposeSecret, SecretString};

/// The secret the development set-up falls back to. Refused in production.
pub const DEV_JWT_SECRET: &str = "dev-only-insecure-secret-change-me-please-0123456789";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Development,
    Test,
    Production,
}

impl FromStr for Environment {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> anyhow::Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "development" | "dev" | "local" => Ok(Self::Development),
            "test" => Ok(Self::Test),
            "production" | "prod" => Ok(Self::Production),
            other => bail!("unknown APP_ENV {other:?} (development, test or production)"),
        }
    }
}

/// A connection URL whose password never reaches a log line.
#[derive(Clone)]
pub struct ConnectionUrl(SecretString);

impl ConnectionUrl {
    pub fn new(url: impl Into<String>) -> Self {
        Self(SecretString::from(url.into()))
    }
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
    /// The URL with its password replaced by `***`, for logs and start-up banners.
    pub fn redacted(&self) -> String {
        redact_url(self.expose())
    }
}

impl fmt::Debug for ConnectionUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

pub fn redact_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut url) => {
            if url.password().is_some() {
                let _ = url.set_password(Some("***"));
            }
            url.to_string()
        }
        Err(_) => "<unparseable url>".to_owned(),
    }
}

/// What every service needs: where it listens and what it shares with the others.
#[derive(Debug, Clone)]
pub struct CommonSettings {
    pub environment: Environment,
    pub bind_addr: IpAddr,
    pub port: u16,
    pub database_url: ConnectionUrl,
    pub database_max_connections: u32,
    pub redis_url: ConnectionUrl,
    /// Prepended to every Redis key, so several deployments (or tests) share one Redis.
    pub redis_key_prefix: String,
    pub jwt_secret: SecretString,
    pub jwt_audience: String,
    pub access_token_ttl: Duration,
    pub cors_origins: Vec<String>,
    /// Proxies whose `X-Forwarded-For` is believed (nginx in front).
    pub trusted_proxies: Vec<IpAddr>,
    pub sentry_dsn: Option<SecretString>,
    pub shutdown_timeout: Duration,
}

impl CommonSettings {
    /// Reads the shared settings; `port_var` and `default_port` are the service's own.
    pub fn from_env(port_var: &str, default_port: u16) -> anyhow::Result<Self> {
        let environment: Environment = var_or("APP_ENV", "development").parse()?;
        let jwt_secret = match env::var("JWT_SECRET_KEY") {
            Ok(secret) if !secret.is_empty() => secret,
            _ if environment == Environment::Production => {
                bail!("JWT_SECRET_KEY must be set in production")
            }
            _ => DEV_JWT_SECRET.to_owned(),
        };
        if environment == Environment::Production {
            if jwt_secret == DEV_JWT_SECRET {
                bail!("refusing to start in production with the development JWT secret");
            }
            if jwt_secret.len() < 32 {
                bail!("JWT_SECRET_KEY must be at least 32 characters in production");
            }
        }
        Ok(Self {
            environment,
            bind_addr: parse_var("BIND_ADDR", "0.0.0.0".parse()?)?,
            port: parse_var(port_var, default_port)?,
            database_url: ConnectionUrl::new(var_or(
                "DATABASE_URL",
                "postgres://nexus:nexus@127.0.0.1:5432/nexus",
            )),
            database_max_connections: parse_var("DATABASE_MAX_CONNECTIONS", 20)?,
            redis_url: ConnectionUrl::new(var_or("REDIS_URL", "redis://127.0.0.1:6379")),
            redis_key_prefix: var_or("REDIS_KEY_PREFIX", "nexus:"),
            jwt_secret: SecretString::from(jwt_secret),
            jwt_audience: var_or("JWT_AUDIENCE", "nexus-reussite"),
            access_token_ttl: Duration::from_secs(parse_var("ACCESS_TOKEN_TTL_SECONDS", 3600)?),
            cors_origins: list_var("CORS_ORIGINS", "http://localhost:3000"),
            trusted_proxies: list_var("TRUSTED_PROXIES", "127.0.0.1,::1")
                .iter()
                .map(|ip| {
                    ip.parse()
                        .with_context(|| format!("TRUSTED_PROXIES: {ip:?}"))
                })
                .collect::<anyhow::Result<_>>()?,
            sentry_dsn: env::var("SENTRY_DSN")
                .ok()
                .filter(|dsn| !dsn.is_empty())
                .map(SecretString::from),
            shutdown_timeout: Duration::from_secs(parse_var("SHUTDOWN_TIMEOUT_SECONDS", 20)?),
        })
    }
}

/// An environment variable, or its default when unset or empty.
pub fn var_or(name: &str, default: &str) -> String {
    env::var(name)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| default.to_owned())
}

/// An optional environment variable (unset or empty is `None`).
pub fn optional_var(name: &str) -> Option<String> {
    env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// A typed environment variable, or its default; a value that does not parse is an error
/// naming the variable, never a silent fallback.
pub fn parse_var<T: FromStr>(name: &str, default: T) -> anyhow::Result<T>
where
    T::Err: fmt::Display,
{
    match optional_var(name) {
        None => Ok(default),
        Some(raw) => raw
            .trim()
            .parse()
            .map_err(|e| anyhow::anyhow!("{name}={raw:?} is invalid: {e}")),
    }
}

/// A comma-separated list variable.
pub fn list_var(name: &str, default: &str) -> Vec<String> {
    var_or(name, default)
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacted_urls_hide_the_password_only() {
        assert_eq!(
            redact_url("postgres://nexus:s3cret@db:5432/nexus"),
            "postgres://nexus:***@db:5432/nexus"
        );
        assert_eq!(
            redact_url("redis://127.0.0.1:6379"),
            "redis://127.0.0.1:6379"
        );
    }

    #[test]
    fn debug_output_of_a_connection_url_does_not_contain_its_password() {
        let url = ConnectionUrl::new("postgres://u:topsecret@h/db");
        assert!(!format!("{url:?}").contains("topsecret"));
    }
}
