//! The HTTP plumbing every service shares: the contract's error body, extractors that
//! answer bad input with it, health/readiness/metrics routes, the common middleware
//! stack, client-IP resolution, Redis-backed rate limits, authentication, in-process
//! caches kept exact by Postgres notifications (`cache`), the websocket handshake (`ws`)
//! and serving with graceful shutdown.

pub mod access;
pub mod auth;
pub mod background;
pub mod cache;
pub mod error;
pub mod extract;
pub mod health;
pub mod middleware;
pub mod net;
pub mod pagination;
pub mod ratelimit;
pub mod redis_conn;
pub mod relay;
pub mod serve;
pub mod service;
pub mod text;
pub mod ws;

pub use error::{ApiError, ErrorBody};
pub use extract::{Json, Path, Query};
