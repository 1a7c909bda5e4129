//! What a data export contains: one person's data, read from the database, written as
//! JSON and CSV files in a ZIP with a README in French (docs/PRIVACY.md, "Data export").
//!
//! Only the subject's data: other people appear by name only where the subject's data
//! makes no sense without them (their teachers, linked parents or children, the other
//! party of a direct conversation, the teacher of a class conversation). Other students'
//! messages in a class conversation are theirs, not the subject's: they are left out.
//!
//! A parent's export of their child leaves out the child's ARIA conversations and chat
//! messages: the platform promises students that parents never see their conversations
//! (docs/ARIA.md), and the export must not be a way around it. The child gets them in
//! their own export.

use std::io::Write;

use chrono::{DateTime, NaiveDate, Utc};
use nexus_auth::Role;
use nexus_database::levels::ClassLevel;
use serde::Serialize;
use serde_json::{Value, json};
use sqlx::PgPool;
use zip::{CompressionMethod, ZipWriter, write::SimpleFileOptions};

use crate::exports::sheet::{Cell, Sheet};

#[derive(Debug, Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
struct Profile {
    id: i64,
    email: String,
    first_name: String,
    last_name: String,
    role: Role,
    phone: Option<String>,
    date_of_birth: Option<NaiveDate>,
    is_verified: bool,
    created_at: DateTime<Utc>,
    last_login_at: Option<DateTime<Utc>>,
    class_level: Option<ClassLevel>,
    school_name: Option<String>,
    academic_year: Option<String>,
}

#[derive(Debug, Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
struct Progress {
    course_id: i64,
    course_title: String,
    progress_percentage: i32,
    time_spent_seconds: i64,
    started_at: DateTime<Utc>,
    last_accessed: DateTime<Utc>,
    completed_at: Option<DateTime<Utc>>,
    sections: Value,
}

#[derive(Debug, Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
struct Attempt {
    id: i64,
    assessment_id: i64,
    assessment_title: String,
    attempt_number: i32,
    status: String,
    answers: Value,
    /// Per-question grades, as the student sees them: once the teacher has released the
    /// corrections and the attempt is graded (right or wrong per question is an answer).
    #[serde(skip_serializing_if = "Option::is_none")]
    grades_per_question: Option<Value>,
    score: Option<f64>,
    max_score: Option<f64>,
    is_late: bool,
    feedback: Option<String>,
    started_at: DateTime<Utc>,
    submitted_at: Option<DateTime<Utc>>,
    graded_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
struct AriaMessage {
    session_id: String,
    session_title: Option<String>,
    message_type: String,
    content: String,
    helpful: Option<bool>,
    rating_comment: Option<String>,
    created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
struct ChatMessage {
    conversation_id: i64,
    /// `direct` or `class`.
    conversation_kind: String,
    class_name: Option<String>,
    /// "vous" for the subject's own messages, else the sender's name.
    sender: String,
    sent_by_you: bool,
    body: String,
    created_at: DateTime<Utc>,
    deleted_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
struct Notification {
    kind: String,
    title: String,
    body: String,
    created_at: DateTime<Utc>,
    read_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
struct AuditRow {
    action: String,
    actor_role: Option<String>,
    by_you: bool,
    details: Value,
    created_at: DateTime<Utc>,
}

/// Everything the ZIP holds, read in one repeatable-read snapshot.
pub struct Collected {
    profile: Profile,
    relations: Value,
    progress: Vec<Progress>,
    attempts: Vec<Attempt>,
    aria: Vec<AriaMessage>,
    messages: Vec<ChatMessage>,
    notifications: Vec<Notification>,
    consents: Value,
    audit: Vec<AuditRow>,
    generated_at: DateTime<Utc>,
    for_parent: bool,
}

/// Reads the subject's data (without their conversations when `for_parent`). `None`
/// when the subject no longer exists.
pub async fn collect(
    pool: &PgPool,
    subject: i64,
    for_parent: bool,
    now: DateTime<Utc>,
) -> sqlx::Result<Option<Collected>> {
    let mut tx = pool.begin().await?;
    sqlx::query("set transaction isolation level repeatable read, read only")
        .execute(&mut *tx)
        .await?;
    let Some(profile) = sqlx::query_as::<_, Profile>(
        "select u.id, u.email, u.first_name, u.last_name, u.role, u.phone, u.date_of_birth,
                u.is_verified, u.created_at, u.last_login_at,
                p.class_level, p.school_name, p.academic_year
         from users u left join student_profiles p on p.user_id = u.id where u.id = $1",
    )
    .bind(subject)
    .fetch_optional(&mut *tx)
    .await?
    else {
        return Ok(None);
    };
    let relations: Value = sqlx::query_scalar(
        "select jsonb_build_object(
            'classesAsStudent', coalesce((select jsonb_agg(jsonb_build_object(
                'name', c.name, 'level', c.level, 'schoolYear', c.school_year,
                'teacher', t.first_name || ' ' || t.last_name, 'joinedAt', m.joined_at) order by m.joined_at)
              from class_members m join classes c on c.id = m.class_id join users t on t.id = c.teacher_id
              where m.student_id = $1), '[]'),
            'classesAsTeacher', coalesce((select jsonb_agg(jsonb_build_object(
                'name', c.name, 'level', c.level, 'schoolYear', c.school_year, 'createdAt', c.created_at) order by c.id)
              from classes c where c.teacher_id = $1), '[]'),
            'parents', coalesce((select jsonb_agg(jsonb_build_object(
                'name', u.first_name || ' ' || u.last_name, 'linkedAt', l.created_at) order by l.created_at)
              from parent_links l join users u on u.id = l.parent_id where l.student_id = $1), '[]'),
            'children', coalesce((select jsonb_agg(jsonb_build_object(
                'name', u.first_name || ' ' || u.last_name, 'linkedAt', l.created_at) order by l.created_at)
              from parent_links l join users u on u.id = l.student_id where l.parent_id = $1), '[]'),
            'notificationPreferences', (select to_jsonb(p) - 'user_id' from notification_preferences p where p.user_id = $1))",
    )
    .bind(subject)
    .fetch_one(&mut *tx)
    .await?;
    let progress = sqlx::query_as::<_, Progress>(
        "select p.course_id, c.title as course_title, p.progress_percentage, p.time_spent_seconds,
                p.started_at, p.last_accessed, p.completed_at,
                coalesce((select jsonb_agg(jsonb_build_object('sectionId', s.section_id,
                    'completedAt', s.completed_at, 'timeSpentSeconds', s.time_spent_seconds,
                    'lastAccessed', s.last_accessed) order by s.section_id)
                  from section_progress s where s.student_id = p.student_id and s.course_id = p.course_id), '[]') as sections
         from student_progress p join courses c on c.id = p.course_id
         where p.student_id = $1 order by p.started_at, p.id",
    )
    .bind(subject)
    .fetch_all(&mut *tx)
    .await?;
    let attempts = sqlx::query_as::<_, Attempt>(
        "select r.id, r.assessment_id, a.title as assessment_title, r.attempt_number, r.status,
                r.answers,
                case when a.answers_released and r.status = 'graded' then r.breakdown end as grades_per_question,
                r.score::float8 as score, r.max_score::float8 as max_score, r.is_late, r.feedback,
                r.started_at, r.submitted_at, r.graded_at
         from assessment_results r join assessments a on a.id = r.assessment_id
         where r.student_id = $1 order by r.started_at, r.id",
    )
    .bind(subject)
    .fetch_all(&mut *tx)
    .await?;
    let aria = sqlx::query_as::<_, AriaMessage>(
        "select s.session_id, s.title as session_title, m.message_type, m.content, m.helpful,
                m.rating_comment, m.created_at
         from aria_sessions s join aria_messages m on m.session_id = s.session_id
         where s.user_id = $1 and not $2 order by s.created_at, s.id, m.created_at, m.id",
    )
    .bind(subject)
    .bind(for_parent)
    .fetch_all(&mut *tx)
    .await?;
    // Direct conversations the subject takes part in: every message. Class conversations
    // of the subject's classes (as student or teacher): the subject's own messages and
    // the teacher's; the other students' messages are theirs.
    let messages = sqlx::query_as::<_, ChatMessage>(
        "select v.id as conversation_id, v.kind as conversation_kind, c.name as class_name,
                case when m.sender_id = $1 then 'vous'
                     else coalesce(u.first_name || ' ' || u.last_name, 'compte supprimé') end as sender,
                coalesce(m.sender_id = $1, false) as sent_by_you,
                m.body, m.created_at, m.deleted_at
         from messages m
         join conversations v on v.id = m.conversation_id
         left join classes c on c.id = v.class_id
         left join users u on u.id = m.sender_id
         where (v.kind = 'direct' and exists(select 1 from conversation_participants p
                                             where p.conversation_id = v.id and p.user_id = $1))
            or (v.kind = 'class'
                and (c.teacher_id = $1
                     or exists(select 1 from class_members cm where cm.class_id = c.id and cm.student_id = $1))
                and (m.sender_id = $1 or m.sender_id = c.teacher_id))
           and not $2
         order by v.id, m.id",
    )
    .bind(subject)
    .bind(for_parent)
    .fetch_all(&mut *tx)
    .await?;
    let notifications = sqlx::query_as::<_, Notification>(
        "select kind, title, body, created_at, read_at from notifications
         where user_id = $1 order by id",
    )
    .bind(subject)
    .fetch_all(&mut *tx)
    .await?;
    let consents: Value = sqlx::query_scalar(
        "select jsonb_build_object(
            'givenForYou', (select jsonb_build_object('parent', u.first_name || ' ' || u.last_name, 'givenAt', c.given_at)
                            from parental_consents c join users u on u.id = c.parent_id where c.student_id = $1),
            'givenByYou', coalesce((select jsonb_agg(jsonb_build_object('child', u.first_name || ' ' || u.last_name,
                                                                         'givenAt', c.given_at) order by c.given_at)
                            from parental_consents c join users u on u.id = c.student_id where c.parent_id = $1), '[]'))",
    )
    .bind(subject)
    .fetch_one(&mut *tx)
    .await?;
    let audit = sqlx::query_as::<_, AuditRow>(
        "select action, actor_role, coalesce(actor_id = $1, false) as by_you, details, created_at
         from audit_log where subject_id = $1 or actor_id = $1 order by id",
    )
    .bind(subject)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(Collected {
        profile,
        relations,
        progress,
        attempts,
        aria,
        messages,
        notifications,
        consents,
        audit,
        generated_at: now,
        for_parent,
    }))
}

fn text(value: impl ToString) -> Cell {
    Cell::Text(value.to_string())
}

fn opt_text<T: std::fmt::Display>(value: &Option<T>) -> Cell {
    value.as_ref().map_or(Cell::Empty, text)
}

fn opt_number(value: Option<f64>) -> Cell {
    value.map_or(Cell::Empty, Cell::Number)
}

fn time(value: &DateTime<Utc>) -> Cell {
    Cell::Text(value.to_rfc3339())
}

fn opt_time(value: &Option<DateTime<Utc>>) -> Cell {
    value.as_ref().map_or(Cell::Empty, time)
}

/// A row of one of the archive's CSV files: its columns, and its cells in their order.
trait Row {
    const COLUMNS: &'static [&'static str];
    fn cells(&self) -> Vec<Cell>;
}

fn csv<R: Row>(rows: &[R]) -> Vec<u8> {
    Sheet {
        name: String::new(),
        header: R::COLUMNS.iter().map(|h| (*h).to_owned()).collect(),
        rows: rows.iter().map(Row::cells).collect(),
    }
    .to_csv()
}

impl Row for Progress {
    const COLUMNS: &'static [&'static str] = &[
        "Cours",
        "Progression (%)",
        "Temps passé (s)",
        "Commencé le",
        "Dernier accès",
        "Terminé le",
    ];
    fn cells(&self) -> Vec<Cell> {
        vec![
            text(&self.course_title),
            Cell::Number(f64::from(self.progress_percentage)),
            Cell::Number(self.time_spent_seconds as f64),
            time(&self.started_at),
            time(&self.last_accessed),
            opt_time(&self.completed_at),
        ]
    }
}

impl Row for Attempt {
    const COLUMNS: &'static [&'static str] = &[
        "Évaluation",
        "Tentative",
        "Statut",
        "Note",
        "Sur",
        "En retard",
        "Commentaire",
        "Commencée le",
        "Rendue le",
        "Corrigée le",
        "Réponses (JSON)",
    ];
    fn cells(&self) -> Vec<Cell> {
        vec![
            text(&self.assessment_title),
            Cell::Number(f64::from(self.attempt_number)),
            text(&self.status),
            opt_number(self.score),
            opt_number(self.max_score),
            text(if self.is_late { "oui" } else { "non" }),
            opt_text(&self.feedback),
            time(&self.started_at),
            opt_time(&self.submitted_at),
            opt_time(&self.graded_at),
            text(&self.answers),
        ]
    }
}

impl Row for AriaMessage {
    const COLUMNS: &'static [&'static str] = &[
        "Session",
        "Titre",
        "Auteur",
        "Message",
        "Utile",
        "Envoyé le",
    ];
    fn cells(&self) -> Vec<Cell> {
        let author = if self.message_type == "user" {
            "vous"
        } else {
            "ARIA"
        };
        vec![
            text(&self.session_id),
            opt_text(&self.session_title),
            text(author),
            text(&self.content),
            opt_text(&self.helpful.map(|h| if h { "oui" } else { "non" })),
            time(&self.created_at),
        ]
    }
}

impl Row for ChatMessage {
    const COLUMNS: &'static [&'static str] = &[
        "Conversation",
        "Type",
        "Classe",
        "Expéditeur",
        "Message",
        "Envoyé le",
        "Supprimé le",
    ];
    fn cells(&self) -> Vec<Cell> {
        vec![
            Cell::Number(self.conversation_id as f64),
            text(&self.conversation_kind),
            opt_text(&self.class_name),
            text(&self.sender),
            text(&self.body),
            time(&self.created_at),
            opt_time(&self.deleted_at),
        ]
    }
}

impl Row for Notification {
    const COLUMNS: &'static [&'static str] = &["Type", "Titre", "Texte", "Reçue le", "Lue le"];
    fn cells(&self) -> Vec<Cell> {
        vec![
            text(&self.kind),
            text(&self.title),
            text(&self.body),
            time(&self.created_at),
            opt_time(&self.read_at),
        ]
    }
}

const README: &str = include_str!("export_readme.txt");

fn readme(for_parent: bool) -> String {
    let mut text = README.to_owned();
    if for_parent {
        text.push_str(
            "\nExport demandé par un parent : les conversations de l'élève avec ARIA et ses \
             messages ne sont pas inclus (aria_messages et chat_messages sont vides). \
             Nexus Réussite garantit aux élèves que leurs parents ne voient pas leurs \
             conversations ; l'élève peut les obtenir dans son propre export.\n",
        );
    }
    text
}

/// The files of the ZIP, by name.
fn files(data: &Collected) -> serde_json::Result<Vec<(&'static str, Vec<u8>)>> {
    let pretty = |v: &Value| serde_json::to_vec_pretty(v);
    let profile = json!({
        "generatedAt": data.generated_at,
        "user": data.profile,
        "relations": data.relations,
        "excluded": if data.for_parent {
            json!(["aria_messages", "chat_messages"])
        } else {
            json!([])
        },
    });
    Ok(vec![
        ("README.txt", readme(data.for_parent).into_bytes()),
        ("profile.json", pretty(&profile)?),
        ("progress.json", pretty(&json!(data.progress))?),
        ("progress.csv", csv(&data.progress)),
        ("attempts.json", pretty(&json!(data.attempts))?),
        ("attempts.csv", csv(&data.attempts)),
        ("aria_messages.json", pretty(&json!(data.aria))?),
        ("aria_messages.csv", csv(&data.aria)),
        ("chat_messages.json", pretty(&json!(data.messages))?),
        ("chat_messages.csv", csv(&data.messages)),
        ("notifications.json", pretty(&json!(data.notifications))?),
        ("notifications.csv", csv(&data.notifications)),
        ("consents.json", pretty(&data.consents)?),
        ("audit_log.json", pretty(&json!(data.audit))?),
    ])
}

/// The ZIP file (CPU work: call it off the async threads).
pub fn build_zip(data: &Collected) -> anyhow::Result<Vec<u8>> {
    let mut zip = ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    for (name, content) in files(data)? {
        zip.start_file(name, options)?;
        zip.write_all(&content)?;
    }
    Ok(zip.finish()?.into_inner())
}
