//! The API's integration tests: one binary (link time), one module per feature. Each
//! test starts the real API on port 0 against real Postgres and Redis, in a database and
//! a Redis key prefix of its own.

mod assessments;
mod auth;
mod authorization;
mod caches;
mod catalogue;
mod chat;
mod classes;
mod code_questions;
mod concurrency;
mod courses;
mod dashboards;
mod data_exports;
mod deletion;
mod digest;
mod exports;
mod fixtures;
mod helpers;
mod hostile;
mod lists;
mod me;
mod notifications;
mod password_reset;
mod progress;
mod rate_limits;
mod roster;
mod security;
mod seed;
mod service;
mod users;
mod verification;
