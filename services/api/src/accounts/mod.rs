//! Accounts below the handlers that use them (`auth`, `users`, `privacy`, `roster`):
//! creating one, from registration or by an admin (one validation, one transaction); the
//! user as the API shows it; the check that an address is verified; and the stored
//! tokens (`tokens`: refresh sessions, reset and verification links).

pub mod tokens;

use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use nexus_auth::{Role, password};
use nexus_database::levels::ClassLevel;
use nexus_web::{
    ApiError,
    error::{ApiResult, unique_violation},
};
use serde::Serialize;
// The SQL assembled here joins constant fragments only; every value is a bind parameter.
use sqlx::{AssertSqlSafe, PgExecutor, PgPool};
use utoipa::ToSchema;

use crate::validate::{Validator, has_control, normalize_email};

/// A new account, as registration (`student` or `parent` only) and admins (any role)
/// send it.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewAccount {
    #[schema(example = "lea.martin@example.fr")]
    pub email: String,
    /// At least 8 characters, not a common password, not containing the name or email.
    pub password: String,
    pub first_name: String,
    pub last_name: String,
    /// Self-registration: `student` or `parent`; admins may create any role.
    pub role: Role,
    pub phone: Option<String>,
    /// Required for students.
    #[schema(value_type = Option<ClassLevel>)]
    pub class_level: Option<String>,
    pub school_name: Option<String>,
    /// Sent by the seed's registration form: when present, must equal `password`.
    pub confirm_password: Option<String>,
    /// `YYYY-MM-DD`. Asked of students at registration: under 15, ARIA and chat wait for
    /// a linked parent's consent (docs/PRIVACY.md). Also accepted as `birthDate`.
    #[serde(alias = "birthDate")]
    #[schema(example = "2010-09-01")]
    pub date_of_birth: Option<String>,
}

/// Validates and stores a new account (and a student's profile); the id of the account.
pub async fn create(pool: &PgPool, account: NewAccount) -> ApiResult<i64> {
    let email = normalize_email(&account.email);
    let phone = account
        .phone
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty());
    let school = account
        .school_name
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let mut v = Validator::new();
    v.email("email", &email)
        .name("firstName", &account.first_name)
        .name("lastName", &account.last_name)
        .phone("phone", phone);
    if let Some(reason) = password::policy_violation(
        &account.password,
        &email,
        &[account.first_name.as_str(), account.last_name.as_str()],
    ) {
        v.fail("password", reason);
    }
    match (account.role, account.class_level.as_deref()) {
        (Role::Student, Some(level)) if ClassLevel::parse(level).is_some() => {}
        (Role::Student, _) => {
            v.fail("classLevel", "Niveau attendu : premiere ou terminale.");
        }
        (_, Some(_)) => {
            v.fail("classLevel", "Seuls les élèves ont un niveau de classe.");
        }
        (_, None) => {}
    }
    if account
        .confirm_password
        .as_ref()
        .is_some_and(|c| *c != account.password)
    {
        v.fail(
            "confirmPassword",
            "Les deux mots de passe ne correspondent pas.",
        );
    }
    let birth = match account.date_of_birth.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(text) => match parse_birth_date(text) {
            Ok(date) => Some(date),
            Err(reason) => {
                v.fail("dateOfBirth", reason);
                None
            }
        },
    };
    v.check(
        school.is_none_or(|s| s.chars().count() <= 200 && !has_control(s)),
        "schoolName",
        "Doit contenir au plus 200 caractères.",
    );
    v.finish()?;

    let hash = password::hash(account.password).await?;
    let mut tx = pool.begin().await?;
    let inserted = sqlx::query_scalar::<_, i64>(
        "insert into users (email, password_hash, first_name, last_name, role, phone, date_of_birth)
         values ($1, $2, $3, $4, $5, $6, $7) returning id",
    )
    .bind(&email)
    .bind(&hash)
    .bind(account.first_name.trim())
    .bind(account.last_name.trim())
    .bind(account.role.as_str())
    .bind(phone)
    .bind(birth)
    .fetch_one(&mut *tx)
    .await;
    let id = match inserted {
        Ok(id) => id,
        Err(e) if unique_violation(&e) == Some("users_email_lower_key") => {
            return Err(ApiError::conflict(
                "email_taken",
                "Un compte existe déjà avec cette adresse e-mail.",
            ));
        }
        Err(e) => return Err(e.into()),
    };
    if account.role == Role::Student {
        sqlx::query(
            "insert into student_profiles (user_id, class_level, school_name) values ($1, $2, $3)",
        )
        .bind(id)
        .bind(account.class_level.as_deref())
        .bind(school)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(id)
}

/// A plausible birth date: `YYYY-MM-DD`, between 5 and 120 years ago.
fn parse_birth_date(text: &str) -> Result<chrono::NaiveDate, &'static str> {
    let date = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| "Date attendue au format AAAA-MM-JJ.")?;
    let today = chrono::Utc::now().date_naive();
    let years = today
        .years_since(date)
        .ok_or("La date de naissance est dans le futur.")?;
    if !(5..=120).contains(&years) {
        return Err("Date de naissance invalide.");
    }
    Ok(date)
}

/// A user as the API shows it; the student profile fields are set for students.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    pub id: i64,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub role: Role,
    pub phone: Option<String>,
    pub is_active: bool,
    pub is_verified: bool,
    pub created_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class_level: Option<ClassLevel>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub school_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub academic_year: Option<String>,
}

/// The select of a [`UserView`], to which callers add their `where` (the admin list its
/// filters).
pub const USER_VIEW: &str =
    "select u.id, u.email, u.first_name, u.last_name, u.role, u.phone, u.is_active,
        u.is_verified, u.created_at, u.last_login_at, p.class_level, p.school_name, p.academic_year
    from users u left join student_profiles p on p.user_id = u.id";

pub async fn find_user(executor: impl PgExecutor<'_>, id: i64) -> sqlx::Result<Option<UserView>> {
    sqlx::query_as(AssertSqlSafe(format!("{USER_VIEW} where u.id = $1")))
        .bind(id)
        .fetch_optional(executor)
        .await
}

pub async fn get_existing_user(pool: &PgPool, id: i64) -> ApiResult<UserView> {
    find_user(pool, id)
        .await?
        .ok_or_else(|| ApiError::not_found("Utilisateur introuvable."))
}

/// Refuses an account whose address is not verified (for acts that bind someone else).
pub async fn require_verified(pool: &PgPool, user_id: i64) -> ApiResult<()> {
    let verified: bool = sqlx::query_scalar("select is_verified from users where id = $1")
        .bind(user_id)
        .fetch_one(pool)
        .await?;
    if verified {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "email_not_verified",
            "Confirmez d'abord votre adresse e-mail (lien reçu à l'inscription, ou renvoyez-le depuis votre compte).",
        ))
    }
}
