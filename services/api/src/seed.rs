//! Demo accounts for the development set-up: one per role, a parent linked to the
//! student. Idempotent: existing accounts are left as they are.

use nexus_auth::{Role, password};
use sqlx::PgPool;

pub const DEFAULT_DEMO_PASSWORD: &str = "NexusDemo2026!";

pub struct DemoAccount {
    pub email: &'static str,
    pub first_name: &'static str,
    pub last_name: &'static str,
    pub role: Role,
}

pub const DEMO_ACCOUNTS: [DemoAccount; 4] = [
    DemoAccount {
        email: "admin@nexus-reussite.fr",
        first_name: "Claire",
        last_name: "Administratrice",
        role: Role::Admin,
    },
    DemoAccount {
        email: "teacher@nexus-reussite.fr",
        first_name: "Paul",
        last_name: "Lefèvre",
        role: Role::Teacher,
    },
    DemoAccount {
        email: "student@nexus-reussite.fr",
        first_name: "Léa",
        last_name: "Martin",
        role: Role::Student,
    },
    DemoAccount {
        email: "parent@nexus-reussite.fr",
        first_name: "Sophie",
        last_name: "Martin",
        role: Role::Parent,
    },
];

/// Creates the demo accounts that do not exist yet; returns how many were created.
pub async fn seed_demo(pool: &PgPool, demo_password: &str) -> anyhow::Result<usize> {
    let hash = password::hash(demo_password.to_owned()).await?;
    let mut tx = pool.begin().await?;
    let mut created = 0;
    for account in &DEMO_ACCOUNTS {
        let id: Option<i64> = sqlx::query_scalar(
            "insert into users (email, password_hash, first_name, last_name, role, is_verified)
             values ($1, $2, $3, $4, $5, true)
             on conflict ((lower(email))) do nothing returning id",
        )
        .bind(account.email)
        .bind(&hash)
        .bind(account.first_name)
        .bind(account.last_name)
        .bind(account.role.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(id) = id {
            created += 1;
            if account.role == Role::Student {
                sqlx::query(
                    "insert into student_profiles (user_id, class_level, school_name, academic_year)
                     values ($1, 'terminale', 'Lycée Victor Hugo', '2026-2027')",
                )
                .bind(id)
                .execute(&mut *tx)
                .await?;
            }
        }
    }
    sqlx::query(
        "insert into parent_links (parent_id, student_id)
         select p.id, s.id from users p, users s
         where p.email = 'parent@nexus-reussite.fr' and s.email = 'student@nexus-reussite.fr'
         on conflict do nothing",
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(created)
}
