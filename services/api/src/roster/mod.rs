//! A class roster imported from a spreadsheet (the columns of a Pronote or ENT export:
//! nom, prénom, email, classe, date de naissance). A dry run (the default) reports what
//! each row would do; the real run does it in one transaction, skipping bad rows, and
//! queues the invitation mails in it (`mail::queue`).
//!
//! What a row does:
//! - `create`: no account has the address: a student account is created (no usable
//!   password; the mail carries a link, valid 7 days, to choose one) and enrolled, since
//!   the school's own register vouches for the student;
//! - `invite`: a student account has the address: they get the class invitation (in the
//!   app and by mail) and join when they accept, as with an invitation by hand;
//! - `already_member`, `skipped` (another class of the file, when `sourceClass` is
//!   given), `error` (with the reason, in French).

pub mod csv;

use std::{collections::HashMap, time::Duration};

use axum::{body::Bytes, extract::State};
use chrono::{Datelike, NaiveDate, Utc};
use nexus_auth::Role;
use nexus_web::{
    ApiError, ErrorBody, Json, Path, Query,
    access::ensure_class_writable,
    auth::CurrentUser,
    error::{ApiResult, unique_violation},
    ratelimit::Limit,
};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use self::csv::{Column, birth_date, column_of, decode, header_key, records, separator};
use crate::{
    accounts::tokens,
    mail::{Mail, queue},
    notifications::{NewNotification, notify},
    state::AppState,
    validate::{has_control, is_email, normalize_email},
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(import_roster))
}

/// A roster of a whole school year group fits; a file of a whole city does not.
pub const MAX_ROWS: usize = 1000;
/// How long the link of a new account's invitation mail works.
pub const INVITATION_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
/// Real imports (which create accounts and send mails) per user and hour.
const IMPORTS_PER_HOUR: u64 = 30;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// `true` (default): only report what each row would do. `false`: do it.
    pub dry_run: Option<bool>,
    /// Only the rows whose `classe` is this (e.g. `TG3`), when the file holds several
    /// classes; the others are `skipped`.
    #[param(max_length = 100)]
    pub source_class: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Create,
    Invite,
    AlreadyMember,
    Skipped,
    Error,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RowReport {
    /// Line of the file (1 is the header).
    pub line: usize,
    pub last_name: String,
    pub first_name: String,
    pub email: String,
    pub class_name: String,
    /// `YYYY-MM-DD`, when given and valid.
    pub birth_date: Option<NaiveDate>,
    pub outcome: Outcome,
    /// Why, for `error` and `skipped`.
    pub message: Option<String>,
}

#[derive(Debug, Default, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImportSummary {
    pub rows: usize,
    pub created: usize,
    pub invited: usize,
    pub already_member: usize,
    pub skipped: usize,
    pub errors: usize,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImportReport {
    pub success: bool,
    pub dry_run: bool,
    pub class_id: i64,
    /// `;` or `,`, as found in the header line.
    pub separator: String,
    /// The distinct values of the `classe` column, to pick `sourceClass`.
    pub classes_in_file: Vec<String>,
    pub summary: ImportSummary,
    pub rows: Vec<RowReport>,
}

fn bad_file(message: impl Into<std::borrow::Cow<'static, str>>) -> ApiError {
    ApiError::invalid_fields(vec![("file", message.into())])
}

/// Who each email of the file is, in one query.
async fn existing(
    pool: &sqlx::PgPool,
    class_id: i64,
    emails: &[String],
) -> sqlx::Result<HashMap<String, (i64, String, bool)>> {
    let rows: Vec<(String, i64, String, bool)> = sqlx::query_as(
        "select lower(u.email), u.id, u.role,
                exists(select 1 from class_members m where m.class_id = $1 and m.student_id = u.id)
         from users u where lower(u.email) = any($2)",
    )
    .bind(class_id)
    .bind(emails)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(email, id, role, member)| (email, (id, role, member)))
        .collect())
}

fn parse(text: &str) -> ApiResult<(char, Vec<RowReport>)> {
    let sep = separator(text);
    let mut all = records(text, sep).into_iter();
    let Some((_, header)) = all.next() else {
        return Err(bad_file("Le fichier est vide."));
    };
    let columns: Vec<Option<Column>> = header.iter().map(|h| column_of(h)).collect();
    let missing: Vec<&str> = [
        (Column::LastName, "nom"),
        (Column::FirstName, "prénom"),
        (Column::Email, "email"),
    ]
    .iter()
    .filter(|(c, _)| !columns.contains(&Some(*c)))
    .map(|(_, name)| *name)
    .collect();
    if !missing.is_empty() {
        return Err(bad_file(format!(
            "Colonnes manquantes : {}. Colonnes attendues : nom, prénom, email, classe, date de naissance.",
            missing.join(", ")
        )));
    }
    let rows: Vec<(usize, Vec<String>)> = all.collect();
    if rows.len() > MAX_ROWS {
        return Err(bad_file(format!(
            "Trop de lignes : {} (au plus {MAX_ROWS} par import).",
            rows.len()
        )));
    }
    let this_year = Utc::now().year();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let reports = rows
        .into_iter()
        .map(|(line, fields)| {
            let get = |col: Column| {
                columns
                    .iter()
                    .position(|c| *c == Some(col))
                    .and_then(|i| fields.get(i))
                    .map(|v| v.trim().to_owned())
                    .unwrap_or_default()
            };
            let raw_date = get(Column::BirthDate);
            let date = birth_date(&raw_date);
            let mut report = RowReport {
                line,
                last_name: get(Column::LastName),
                first_name: get(Column::FirstName),
                email: normalize_email(&get(Column::Email)),
                class_name: get(Column::Class),
                birth_date: date,
                outcome: Outcome::Create,
                message: None,
            };
            let name_ok = |n: &str| !n.is_empty() && n.chars().count() <= 100 && !has_control(n);
            let problem = if !name_ok(&report.last_name) {
                Some("Nom manquant ou trop long (100 caractères au plus).".to_owned())
            } else if !name_ok(&report.first_name) {
                Some("Prénom manquant ou trop long (100 caractères au plus).".to_owned())
            } else if !is_email(&report.email) {
                Some("Adresse e-mail invalide.".to_owned())
            } else if !raw_date.is_empty()
                && !date.is_some_and(|d| (this_year - 30..=this_year - 8).contains(&d.year()))
            {
                Some("Date de naissance invalide (attendue : JJ/MM/AAAA).".to_owned())
            } else {
                seen.get(&report.email)
                    .map(|first| format!("Adresse déjà présente ligne {first}."))
            };
            seen.entry(report.email.clone()).or_insert(line);
            if let Some(problem) = problem {
                report.outcome = Outcome::Error;
                report.message = Some(problem);
            }
            report
        })
        .collect();
    Ok((sep, reports))
}

/// Import a roster into a class from a CSV file sent as the request body (UTF-8 with or
/// without BOM, or Windows-1252/Latin-1; `;` or `,`). Columns, in any order, named as
/// Pronote or an ENT names them: nom, prénom, email (required), classe, date de
/// naissance (optional). `dryRun` defaults to true. Roles: the class's teacher, admin.
#[utoipa::path(post, path = "/api/classes/{id}/roster/import", tag = "classes",
    params(("id" = i64, Path, description = "Class id"), ImportQuery),
    request_body(content = String, content_type = "text/csv", description = "The CSV file"),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ImportReport),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
    ))]
async fn import_roster(
    user: CurrentUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Query(query): Query<ImportQuery>,
    body: Bytes,
) -> ApiResult<Json<ImportReport>> {
    user.require(&[Role::Teacher, Role::Admin])?;
    ensure_class_writable(&state.pool, &user, id).await?;
    let dry_run = query.dry_run.unwrap_or(true);
    if !dry_run {
        state
            .limiter
            .hit(
                "roster_import",
                &user.id.to_string(),
                Limit::new(IMPORTS_PER_HOUR, Duration::from_secs(3600)),
            )
            .await
            .map_err(ApiError::too_many_requests)?;
    }
    let text = decode(&body);
    let (sep, mut rows) = parse(&text)?;
    let source = query
        .source_class
        .as_deref()
        .map(header_key)
        .filter(|s| !s.is_empty());
    let mut classes_in_file: Vec<String> = Vec::new();
    for row in &rows {
        if !row.class_name.is_empty() && !classes_in_file.contains(&row.class_name) {
            classes_in_file.push(row.class_name.clone());
        }
    }
    let emails: Vec<String> = rows.iter().map(|r| r.email.clone()).collect();
    let known = existing(&state.pool, id, &emails).await?;
    for row in rows.iter_mut().filter(|r| r.outcome != Outcome::Error) {
        if let Some(source) = &source
            && header_key(&row.class_name) != *source
        {
            row.outcome = Outcome::Skipped;
            row.message = Some(format!("Autre classe ({}).", row.class_name));
            continue;
        }
        row.outcome = match known.get(&row.email) {
            None => Outcome::Create,
            Some((_, role, _)) if role != "student" => {
                row.message =
                    Some("Adresse déjà utilisée par un compte qui n'est pas un élève.".into());
                Outcome::Error
            }
            Some((_, _, true)) => Outcome::AlreadyMember,
            Some(_) => Outcome::Invite,
        };
    }
    if !dry_run {
        apply(&state, &user, id, &rows, &known).await?;
    }
    let count = |o: Outcome| rows.iter().filter(|r| r.outcome == o).count();
    let summary = ImportSummary {
        rows: rows.len(),
        created: count(Outcome::Create),
        invited: count(Outcome::Invite),
        already_member: count(Outcome::AlreadyMember),
        skipped: count(Outcome::Skipped),
        errors: count(Outcome::Error),
    };
    Ok(Json(ImportReport {
        success: true,
        dry_run,
        class_id: id,
        separator: sep.to_string(),
        classes_in_file,
        summary,
        rows,
    }))
}

/// The real run: one transaction for every account, enrolment, invitation and the mails
/// they queue (never a mail for a rolled-back row; none holds the answer).
async fn apply(
    state: &AppState,
    user: &CurrentUser,
    class_id: i64,
    rows: &[RowReport],
    known: &HashMap<String, (i64, String, bool)>,
) -> ApiResult<()> {
    // New accounts get the hash of a random secret nobody ever sees: no password works
    // until the student chooses one through the mailed link. One hash per import
    // (argon2 is slow on purpose).
    let unusable = nexus_auth::password::hash(nexus_auth::tokens::generate()).await?;
    let mut tx = state.pool.begin().await?;
    ensure_class_writable(&mut *tx, user, class_id).await?;
    let (class_name, level): (String, String) =
        sqlx::query_as("select name, level from classes where id = $1 for update")
            .bind(class_id)
            .fetch_one(&mut *tx)
            .await?;
    let class = Class {
        id: class_id,
        name: &class_name,
        level: &level,
    };
    let mut mails = Vec::new();
    for row in rows {
        match row.outcome {
            Outcome::Create => {
                mails.push((
                    true,
                    create_student(&mut tx, state, &class, row, &unusable).await?,
                ));
            }
            Outcome::Invite => {
                let Some((student_id, _, _)) = known.get(&row.email) else {
                    continue;
                };
                if let Some(mail) = invite_student(&mut tx, user, &class, row, *student_id).await? {
                    mails.push((false, mail));
                }
            }
            _ => {}
        }
    }
    // The set-password mails carry a token: secret, blanked once sent.
    for (secret, mail) in &mails {
        queue::enqueue_text(&mut tx, "roster", mail, *secret).await?;
    }
    tx.commit().await?;
    state.mail_wake.now();
    tracing::info!(
        class_id,
        by = user.id,
        mails = mails.len(),
        "roster imported"
    );
    Ok(())
}

/// The class an import writes into, read (and locked) once.
struct Class<'a> {
    id: i64,
    name: &'a str,
    level: &'a str,
}

/// A new student: their account (no usable password), profile and enrolment, and the
/// mail with their set-password link.
async fn create_student(
    tx: &mut PgConnection,
    state: &AppState,
    class: &Class<'_>,
    row: &RowReport,
    unusable: &str,
) -> ApiResult<Mail> {
    let student_id: i64 = sqlx::query_scalar(
        "insert into users (email, password_hash, first_name, last_name, role, date_of_birth)
         values ($1, $2, $3, $4, 'student', $5) returning id",
    )
    .bind(&row.email)
    .bind(unusable)
    .bind(&row.first_name)
    .bind(&row.last_name)
    .bind(row.birth_date)
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| {
        if unique_violation(&e) == Some("users_email_lower_key") {
            ApiError::conflict(
                "email_taken",
                format!(
                    "Un compte a été créé entre-temps avec l'adresse {} : relancez l'import.",
                    row.email
                ),
            )
        } else {
            e.into()
        }
    })?;
    sqlx::query("insert into student_profiles (user_id, class_level) values ($1, $2)")
        .bind(student_id)
        .bind(class.level)
        .execute(&mut *tx)
        .await?;
    sqlx::query("insert into class_members (class_id, student_id) values ($1, $2)")
        .bind(class.id)
        .bind(student_id)
        .execute(&mut *tx)
        .await?;
    let token = tokens::issue_reset(tx, student_id, INVITATION_TTL).await?;
    let link = format!("{}{}", state.settings.mail.reset_url_base, token);
    let class_name = class.name;
    Ok(Mail {
        to: row.email.clone(),
        subject: format!("Votre compte Nexus Réussite — classe {class_name}"),
        body: format!(
            "Bonjour {},\n\n\
             Votre établissement vous a inscrit(e) dans la classe {class_name}\n\
             sur Nexus Réussite. Pour activer votre compte, choisissez votre\n\
             mot de passe avec ce lien (valable 7 jours, utilisable une fois) :\n\n\
             {link}\n\n\
             Code de réinitialisation, si le lien ne s'ouvre pas :\n\n\
             {token}\n\n\
             Votre identifiant est cette adresse e-mail.\n\n\
             L'équipe Nexus Réussite\n",
            row.first_name
        ),
    })
}

/// An existing student: an invitation to the class (once), its notification, and the
/// mail that tells them. `None` when they were already invited.
async fn invite_student(
    tx: &mut PgConnection,
    user: &CurrentUser,
    class: &Class<'_>,
    row: &RowReport,
    student_id: i64,
) -> ApiResult<Option<Mail>> {
    let created: Option<i64> = sqlx::query_scalar(
        "insert into class_invitations (class_id, email, invited_by) values ($1, $2, $3)
         on conflict (class_id, email) do nothing returning id",
    )
    .bind(class.id)
    .bind(&row.email)
    .bind(user.id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(invitation_id) = created else {
        return Ok(None);
    };
    let class_name = class.name;
    notify(
        tx,
        &[student_id],
        &NewNotification {
            kind: "class_invitation",
            title: format!("Invitation à rejoindre la classe {class_name}"),
            body: "Acceptez-la ou refusez-la depuis votre espace.".into(),
            data: serde_json::json!({ "invitationId": invitation_id, "classId": class.id }),
        },
    )
    .await?;
    Ok(Some(Mail {
        to: row.email.clone(),
        subject: format!("Invitation à rejoindre la classe {class_name}"),
        body: format!(
            "Bonjour {},\n\n\
             Vous êtes invité(e) à rejoindre la classe {class_name} sur\n\
             Nexus Réussite. Connectez-vous pour accepter ou refuser\n\
             l'invitation depuis votre espace.\n\n\
             L'équipe Nexus Réussite\n",
            row.first_name
        ),
    }))
}
