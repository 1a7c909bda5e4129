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

// Stored as `text` in `users.role` (CHECK on the same words): rows read a `Role`, and a
// word the type does not know is a decoding error, never a silent default.
impl sqlx::Type<sqlx::Postgres> for Role {
    fn type_info() -> sqlx::postgres::PgTypeInfo {
        <str as sqlx::Type<sqlx::Postgres>>::type_info()
    }

    fn compatible(ty: &sqlx::postgres::PgTypeInfo) -> bool {
        <str as sqlx::Type<sqlx::Postgres>>::compatible(ty)
    }
}

impl<'r> sqlx::Decode<'r, sqlx::Postgres> for Role {
    fn decode(value: sqlx::postgres::PgValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        let raw = <&str as sqlx::Decode<sqlx::Postgres>>::decode(value)?;
        Role::parse(raw).ok_or_else(|| format!("unknown role {raw:?}").into())
    }
}

impl sqlx::Encode<'_, sqlx::Postgres> for Role {
    fn encode_by_ref(
        &self,
        buf: &mut sqlx::postgres::PgArgumentBuffer,
    ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        <&str as sqlx::Encode<sqlx::Postgres>>::encode(self.as_str(), buf)
    }
}
