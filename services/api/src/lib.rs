//! `nexus-api`: accounts, roles and families (this slice), then the learning domain.

pub mod auth;
pub mod cli;
pub mod mail;
pub mod me;
pub mod openapi;
pub mod seed;
pub mod settings;
pub mod startup;
pub mod state;
pub mod users;
pub mod validate;

pub use startup::Application;
