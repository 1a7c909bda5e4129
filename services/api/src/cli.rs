//! The command line: `serve` (default), `migrate`, `seed`, `create-admin`, `digests`,
//! `openapi`.

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "nexus-api", about = "Nexus Réussite REST API", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API (the default).
    Serve,
    /// Apply pending database migrations, then exit.
    Migrate,
    /// Create the demo accounts (one per role) if missing, and print their credentials.
    Seed,
    /// Create an administrator account (the first one, typically).
    CreateAdmin {
        #[arg(long)]
        email: String,
        /// Read from the environment to keep it out of shell history.
        #[arg(long, env = "ADMIN_PASSWORD", hide_env_values = true)]
        password: String,
        #[arg(long, default_value = "Admin")]
        first_name: String,
        #[arg(long, default_value = "Nexus")]
        last_name: String,
    },
    /// Queue the digests due at `--now` (default: the current time), then deliver the
    /// mail queue once: what the worker does on its rounds, on demand.
    Digests {
        /// An RFC 3339 time, e.g. `2026-12-10T07:00:00Z`.
        #[arg(long)]
        now: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// Print the API's OpenAPI document (what `/api/openapi.json` serves), without any
    /// database: for regenerating the web app's client (`frontend/openapi.json`).
    Openapi,
}
