//! Authentication pieces shared by the services: roles, JWT access tokens, password
//! hashing and opaque (refresh, reset, pairing) tokens.

pub mod jwt;
pub mod password;
pub mod tokens;

use serde::{Deserialize, Serialize};

pub use jwt::{AccessClaims, JwtError, JwtKeys};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Student,
    Parent,
    Teacher,
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Student, Role::Parent, Role::Teacher, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Student => "student",
            Role::Parent => "parent",
            Role::Teacher => "teacher",
            Role::Admin => "admin",
        }
    }

    pub fn parse(raw: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == raw)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
