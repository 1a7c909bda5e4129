//! Grades a teacher takes back to the school's gradebook (Pronote, ENT): a class's grid
//! (one row per student, one column per assessment published to the class) and one
//! assessment's list, as CSV or XLSX.
//!
//! The grade that counts is a student's best graded attempt (an attempt waiting for the
//! teacher's correction counts for nothing yet; its status says so in the per-assessment
//! file). Students are sorted by last name, first name, as a gradebook is.

pub mod sheet;

use std::collections::HashMap;

use axum::{
    extract::State,
    http::header,
    response::{IntoResponse, Response},
};
use nexus_web::{
    ApiError, ErrorBody, Path, Query, access::ensure_class_owner, auth::CurrentUser,
    error::ApiResult,
};
use serde::Deserialize;
use sqlx::PgPool;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use self::sheet::{Cell, Sheet};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(export_class_grades))
        .routes(routes!(export_assessment_grades))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// `csv` (default: `;`, decimal comma, UTF-8 with BOM) or `xlsx`.
    pub format: Option<String>,
}

#[derive(Clone, Copy)]
enum Format {
    Csv,
    Xlsx,
}

impl ExportQuery {
    fn format(&self) -> ApiResult<Format> {
        match self.format.as_deref() {
            None | Some("csv") => Ok(Format::Csv),
            Some("xlsx") => Ok(Format::Xlsx),
            Some(_) => Err(ApiError::invalid_fields(vec![(
                "format",
                "Format attendu : csv ou xlsx.".into(),
            )])),
        }
    }
}

#[derive(sqlx::FromRow)]
struct Student {
    id: i64,
    last_name: String,
    first_name: String,
}

#[derive(sqlx::FromRow)]
struct Published {
    id: i64,
    title: String,
    max_score: f64,
}

#[derive(sqlx::FromRow)]
struct Standing {
    assessment_id: i64,
    student_id: i64,
    best: Option<f64>,
    late: bool,
    waiting: bool,
    in_progress: bool,
}

async fn students_of(pool: &PgPool, class_id: i64) -> sqlx::Result<Vec<Student>> {
    sqlx::query_as(
        "select u.id, u.last_name, u.first_name from class_members m join users u on u.id = m.student_id
         where m.class_id = $1 order by lower(u.last_name), lower(u.first_name), u.id",
    )
    .bind(class_id)
    .fetch_all(pool)
    .await
}

/// Per (assessment, student) of the class: the best graded score, whether that attempt
/// was late, and whether an attempt waits for correction or is still open.
async fn standings(
    pool: &PgPool,
    class_id: i64,
    assessment_ids: &[i64],
) -> sqlx::Result<HashMap<(i64, i64), Standing>> {
    let rows: Vec<Standing> = sqlx::query_as(
        "select r.assessment_id, r.student_id,
                max(r.score) filter (where r.status = 'graded')::float8 as best,
                coalesce((array_agg(r.is_late order by r.score desc nulls last)
                          filter (where r.status = 'graded'))[1], false) as late,
                bool_or(r.status = 'submitted') as waiting,
                bool_or(r.status = 'in_progress') as in_progress
         from assessment_results r
         join class_members m on m.student_id = r.student_id and m.class_id = $1
         where r.assessment_id = any($2)
         group by r.assessment_id, r.student_id",
    )
    .bind(class_id)
    .bind(assessment_ids)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|s| ((s.assessment_id, s.student_id), s))
        .collect())
}

async fn class_name(pool: &PgPool, class_id: i64) -> sqlx::Result<String> {
    sqlx::query_scalar("select name from classes where id = $1")
        .bind(class_id)
        .fetch_one(pool)
        .await
}

fn on_twenty(score: f64, max: f64) -> Option<f64> {
    (max > 0.0).then(|| score / max * 20.0)
}

/// `notes-terminale-nsi.csv`: ASCII letters, digits and dashes only, for any browser.
fn file_name(stem: &str, format: Format) -> String {
    let mut slug = String::new();
    for c in stem.to_lowercase().chars() {
        let c = match c {
            'à' | 'â' | 'ä' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'î' | 'ï' => 'i',
            'ô' | 'ö' => 'o',
            'ù' | 'û' | 'ü' => 'u',
            'ç' => 'c',
            c if c.is_ascii_alphanumeric() => c,
            _ => '-',
        };
        if c != '-' || !slug.ends_with('-') {
            slug.push(c);
        }
    }
    let slug: String = slug.trim_matches('-').chars().take(60).collect();
    let ext = match format {
        Format::Csv => "csv",
        Format::Xlsx => "xlsx",
    };
    format!(
        "notes-{}.{ext}",
        if slug.is_empty() { "classe" } else { &slug }
    )
}

fn file_response(sheet: &Sheet, stem: &str, format: Format) -> ApiResult<Response> {
    let (body, content_type) = match format {
        Format::Csv => (sheet.to_csv(), "text/csv; charset=utf-8"),
        Format::Xlsx => (
            sheet
                .to_xlsx()
                .map_err(|e| ApiError::internal(anyhow::anyhow!("writing the XLSX: {e}")))?,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}\"", file_name(stem, format)),
            ),
            (header::CACHE_CONTROL, "private, no-store".to_owned()),
        ],
        body,
    )
        .into_response())
}

/// A class's grades: one row per student (Nom, Prénom), one column per assessment
/// published to the class (its best graded score, on the assessment's own scale, named
/// in the header), then the student's average on 20. Roles: the class's teacher, admin.
#[utoipa::path(get, path = "/api/classes/{id}/grades/export", tag = "exports",
    params(("id" = i64, Path, description = "Class id"), ExportQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The file (CSV or XLSX, as asked)", content(
            (String = "text/csv"),
            (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        )),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody),
    ))]
async fn export_class_grades(
    user: CurrentUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Query(query): Query<ExportQuery>,
) -> ApiResult<Response> {
    let format = query.format()?;
    ensure_class_owner(&state.pool, &user, id).await?;
    let pool = &state.pool;
    let students = students_of(pool, id).await?;
    let assessments: Vec<Published> = sqlx::query_as(
        "select a.id, a.title, coalesce(a.max_score, 0)::float8 as max_score
         from assessment_classes p join assessments a on a.id = p.assessment_id
         where p.class_id = $1 order by p.opens_at, a.id",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    let ids: Vec<i64> = assessments.iter().map(|a| a.id).collect();
    let standings = standings(pool, id, &ids).await?;
    let mut header = vec!["Nom".to_owned(), "Prénom".to_owned()];
    header.extend(assessments.iter().map(|a| {
        format!(
            "{} (/{})",
            a.title.trim(),
            sheet::french_number(a.max_score)
        )
    }));
    header.push("Moyenne (/20)".to_owned());
    let rows = students
        .iter()
        .map(|s| {
            let mut row = vec![
                Cell::Text(s.last_name.clone()),
                Cell::Text(s.first_name.clone()),
            ];
            let mut marks = Vec::new();
            for a in &assessments {
                match standings.get(&(a.id, s.id)).and_then(|st| st.best) {
                    Some(score) => {
                        marks.extend(on_twenty(score, a.max_score));
                        row.push(Cell::Number(score));
                    }
                    None => row.push(Cell::Empty),
                }
            }
            row.push(if marks.is_empty() {
                Cell::Empty
            } else {
                Cell::Number(marks.iter().sum::<f64>() / marks.len() as f64)
            });
            row
        })
        .collect();
    let name = class_name(pool, id).await?;
    file_response(
        &Sheet {
            name: name.clone(),
            header,
            rows,
        },
        &name,
        format,
    )
}

/// One assessment's grades in a class: Nom, Prénom, Note (on the assessment's scale),
/// Sur, Note sur 20, Statut, En retard. Roles: the class's teacher, admin; the assessment
/// must be published to the class (else 404).
#[utoipa::path(get, path = "/api/classes/{id}/assessments/{assessmentId}/grades/export", tag = "exports",
    params(("id" = i64, Path, description = "Class id"),
           ("assessmentId" = i64, Path, description = "Assessment id"), ExportQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The file (CSV or XLSX, as asked)", content(
            (String = "text/csv"),
            (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        )),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody),
    ))]
async fn export_assessment_grades(
    user: CurrentUser,
    State(state): State<AppState>,
    Path((id, assessment_id)): Path<(i64, i64)>,
    Query(query): Query<ExportQuery>,
) -> ApiResult<Response> {
    let format = query.format()?;
    ensure_class_owner(&state.pool, &user, id).await?;
    let pool = &state.pool;
    let assessment: Published = sqlx::query_as(
        "select a.id, a.title, coalesce(a.max_score, 0)::float8 as max_score
         from assessment_classes p join assessments a on a.id = p.assessment_id
         where p.class_id = $1 and a.id = $2",
    )
    .bind(id)
    .bind(assessment_id)
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| ApiError::not_found("Évaluation introuvable dans cette classe."))?;
    let students = students_of(pool, id).await?;
    let standings = standings(pool, id, &[assessment.id]).await?;
    let header = [
        "Nom",
        "Prénom",
        "Note",
        "Sur",
        "Note sur 20",
        "Statut",
        "En retard",
    ]
    .map(str::to_owned)
    .to_vec();
    let rows = students
        .iter()
        .map(|s| {
            let standing = standings.get(&(assessment.id, s.id));
            let best = standing.and_then(|st| st.best);
            let status = match standing {
                Some(st) if st.best.is_some() => "Noté",
                Some(st) if st.waiting => "À corriger",
                Some(st) if st.in_progress => "En cours",
                _ => "Non rendu",
            };
            let late = standing.is_some_and(|st| st.best.is_some() && st.late);
            vec![
                Cell::Text(s.last_name.clone()),
                Cell::Text(s.first_name.clone()),
                best.map_or(Cell::Empty, Cell::Number),
                Cell::Number(assessment.max_score),
                best.and_then(|b| on_twenty(b, assessment.max_score))
                    .map_or(Cell::Empty, Cell::Number),
                Cell::Text(status.to_owned()),
                Cell::Text(if late { "oui" } else { "non" }.to_owned()),
            ]
        })
        .collect();
    let class = class_name(pool, id).await?;
    let stem = format!("{class} {}", assessment.title);
    file_response(
        &Sheet {
            name: assessment.title.clone(),
            header,
            rows,
        },
        &stem,
        format,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_plain_ascii() {
        assert_eq!(
            file_name("Terminale NSI — Évaluation n°2", Format::Csv),
            "notes-terminale-nsi-evaluation-n-2.csv"
        );
        assert_eq!(file_name("\"; rm", Format::Xlsx), "notes-rm.xlsx");
        assert_eq!(file_name("日本", Format::Csv), "notes-classe.csv");
    }
}
