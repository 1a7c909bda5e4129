//! `nexus-api`: accounts, roles and families; classes, courses, progress, assessments
//! with grading, dashboards and notifications.

pub use nexus_web::access;
pub mod accounts;
pub mod assessments;
pub mod auth;
pub mod caches;
pub mod chat;
pub mod classes;
pub mod cli;
pub mod code_guard;
pub mod courses;
pub mod dashboard;
pub mod dates;
pub mod digest;
pub mod exports;
pub mod mail;
pub mod me;
pub mod notifications;
pub mod openapi;
pub mod privacy;
pub mod progress;
pub mod questions;
pub mod report;
pub mod roster;
pub mod seed;
pub mod settings;
pub mod startup;
pub mod state;
pub mod users;
pub mod validate;
pub mod worker;

pub use startup::Application;
