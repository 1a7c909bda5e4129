//! Demo data for the development set-up: one account per role (the parent linked to the
//! student), a class per level with demo students, the NSI curriculum of
//! `database/seed/courses/` published and assigned, and each course's quiz published to
//! the class of its level; and the demo student's last weeks (sections read, three quizzes
//! graded) so that her dashboard, its charts and her parent's view are not empty on the
//! first sign-in. Idempotent: what exists is left as it is.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use nexus_auth::{Role, password, tokens};
use serde::Deserialize;
use sqlx::{PgConnection, PgPool};

use crate::{
    courses::{CourseInput, content::CourseContent},
    questions::{Question, QuestionKind, grade, validate_questions},
    validate::Validator,
};

pub const DEFAULT_DEMO_PASSWORD: &str = "NexusDemo2026!";

pub struct DemoAccount {
    pub email: &'static str,
    pub first_name: &'static str,
    pub last_name: &'static str,
    pub role: Role,
    pub class_level: Option<&'static str>,
}

const fn account(
    email: &'static str,
    first_name: &'static str,
    last_name: &'static str,
    role: Role,
    class_level: Option<&'static str>,
) -> DemoAccount {
    DemoAccount {
        email,
        first_name,
        last_name,
        role,
        class_level,
    }
}

/// The accounts printed by `nexus-api seed` and listed in the README.
pub const DEMO_ACCOUNTS: [DemoAccount; 4] = [
    account(
        "admin@nexus-reussite.fr",
        "Claire",
        "Administratrice",
        Role::Admin,
        None,
    ),
    account(
        "teacher@nexus-reussite.fr",
        "Paul",
        "Lefèvre",
        Role::Teacher,
        None,
    ),
    account(
        "student@nexus-reussite.fr",
        "Léa",
        "Martin",
        Role::Student,
        Some("terminale"),
    ),
    account(
        "parent@nexus-reussite.fr",
        "Sophie",
        "Martin",
        Role::Parent,
        None,
    ),
];

/// Classmates, so that class views and dashboards have something to show.
const DEMO_STUDENTS: [DemoAccount; 8] = [
    account(
        "hugo.bernard@nexus-reussite.fr",
        "Hugo",
        "Bernard",
        Role::Student,
        Some("terminale"),
    ),
    account(
        "ines.petit@nexus-reussite.fr",
        "Inès",
        "Petit",
        Role::Student,
        Some("terminale"),
    ),
    account(
        "lucas.robert@nexus-reussite.fr",
        "Lucas",
        "Robert",
        Role::Student,
        Some("terminale"),
    ),
    account(
        "chloe.richard@nexus-reussite.fr",
        "Chloé",
        "Richard",
        Role::Student,
        Some("terminale"),
    ),
    account(
        "nathan.durand@nexus-reussite.fr",
        "Nathan",
        "Durand",
        Role::Student,
        Some("premiere"),
    ),
    account(
        "jade.dubois@nexus-reussite.fr",
        "Jade",
        "Dubois",
        Role::Student,
        Some("premiere"),
    ),
    account(
        "adam.moreau@nexus-reussite.fr",
        "Adam",
        "Moreau",
        Role::Student,
        Some("premiere"),
    ),
    account(
        "manon.laurent@nexus-reussite.fr",
        "Manon",
        "Laurent",
        Role::Student,
        Some("premiere"),
    ),
];

const CLASSES: [(&str, &str); 2] = [
    ("terminale", "Terminale NSI — groupe A"),
    ("premiere", "Première NSI — groupe B"),
];
const SCHOOL_YEAR: &str = "2026-2027";

/// Where the curriculum lives: `SEED_CONTENT_DIR`, else the repository's folder.
pub fn default_content_dir() -> PathBuf {
    nexus_config::optional_var("SEED_CONTENT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../database/seed/courses")
        })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SeedCourse {
    pub slug: String,
    pub title: String,
    pub description: String,
    pub level: String,
    pub category: String,
    pub estimated_time: i32,
    #[serde(default)]
    pub prerequisites: Vec<String>,
    #[serde(default)]
    pub objectives: Vec<String>,
    pub content: CourseContent,
    pub quiz: SeedQuiz,
}

#[derive(Debug, Deserialize)]
pub struct SeedQuiz {
    pub title: String,
    pub questions: Vec<Question>,
}

/// Reads and validates every course file, in file-name order. A file that does not pass
/// the API's own validation stops the seed with its name.
pub fn load_curriculum(dir: &Path) -> anyhow::Result<Vec<SeedCourse>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let mut courses = Vec::with_capacity(files.len());
    for file in files {
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("reading {}", file.display()))?;
        let course: SeedCourse =
            serde_json::from_str(&text).with_context(|| format!("parsing {}", file.display()))?;
        let input = CourseInput {
            title: course.title.clone(),
            description: Some(course.description.clone()),
            level: course.level.clone(),
            category: Some(course.category.clone()),
            content: course.content.clone(),
            prerequisites: course.prerequisites.clone(),
            objectives: course.objectives.clone(),
            estimated_time: Some(course.estimated_time),
        };
        let mut v = Validator::new();
        validate_questions(&course.quiz.questions, &mut v);
        if let Err(error) = input.validate().and(v.finish()) {
            bail!(
                "{}: {}",
                file.display(),
                error.details.map(|d| d.to_string()).unwrap_or_default()
            );
        }
        courses.push(course);
    }
    Ok(courses)
}

pub struct SeedReport {
    pub accounts_created: usize,
    pub courses_created: usize,
    pub quizzes_created: usize,
}

pub async fn seed_demo(
    pool: &PgPool,
    demo_password: &str,
    content_dir: &Path,
) -> anyhow::Result<SeedReport> {
    let curriculum = load_curriculum(content_dir)?;
    let hash = password::hash(demo_password.to_owned()).await?;
    let mut tx = pool.begin().await?;
    let mut accounts_created = 0;
    for account in DEMO_ACCOUNTS.iter().chain(&DEMO_STUDENTS) {
        accounts_created += usize::from(ensure_account(&mut tx, account, &hash).await?);
    }
    sqlx::query(
        "insert into parent_links (parent_id, student_id)
         select p.id, s.id from users p, users s
         where p.email = 'parent@nexus-reussite.fr' and s.email = 'student@nexus-reussite.fr'
         on conflict do nothing",
    )
    .execute(&mut *tx)
    .await?;
    let teacher: i64 =
        sqlx::query_scalar("select id from users where email = 'teacher@nexus-reussite.fr'")
            .fetch_one(&mut *tx)
            .await?;
    let mut class_ids = Vec::new();
    for (level, name) in CLASSES {
        let class_id = ensure_class(&mut tx, teacher, level, name).await?;
        sqlx::query(
            "insert into class_members (class_id, student_id)
             select $1, p.user_id from student_profiles p join users u on u.id = p.user_id
             where p.class_level = $2 and u.email like '%@nexus-reussite.fr'
             on conflict do nothing",
        )
        .bind(class_id)
        .bind(level)
        .execute(&mut *tx)
        .await?;
        class_ids.push((level, class_id));
    }
    let (mut courses_created, mut quizzes_created) = (0, 0);
    for course in &curriculum {
        let class_id = class_ids
            .iter()
            .find(|(level, _)| *level == course.level)
            .map(|(_, id)| *id);
        let existing: Option<i64> =
            sqlx::query_scalar("select id from courses where title = $1 and created_by = $2")
                .bind(&course.title)
                .bind(teacher)
                .fetch_optional(&mut *tx)
                .await?;
        let course_id = match existing {
            Some(id) => id,
            None => {
                courses_created += 1;
                sqlx::query_scalar(
                    "insert into courses (title, description, level, category, content, prerequisites, objectives,
                                          estimated_time, is_published, published_at, created_by)
                     values ($1, $2, $3, $4, $5, $6, $7, $8, true, now(), $9) returning id",
                )
                .bind(&course.title)
                .bind(&course.description)
                .bind(&course.level)
                .bind(&course.category)
                .bind(sqlx::types::Json(&course.content))
                .bind(sqlx::types::Json(&course.prerequisites))
                .bind(sqlx::types::Json(&course.objectives))
                .bind(course.estimated_time)
                .bind(teacher)
                .fetch_one(&mut *tx)
                .await?
            }
        };
        if let Some(class_id) = class_id {
            sqlx::query("insert into course_classes (course_id, class_id) values ($1, $2) on conflict do nothing")
                .bind(course_id)
                .bind(class_id)
                .execute(&mut *tx)
                .await?;
        }
        let quiz_exists: bool = sqlx::query_scalar(
            "select exists(select 1 from assessments where course_id = $1 and title = $2)",
        )
        .bind(course_id)
        .bind(&course.quiz.title)
        .fetch_one(&mut *tx)
        .await?;
        if !quiz_exists {
            quizzes_created += 1;
            let max: f64 = course.quiz.questions.iter().map(|q| q.points).sum();
            let quiz_id: i64 = sqlx::query_scalar(
                "insert into assessments (course_id, title, type, description, questions, max_score, max_attempts,
                                          answers_released, is_published, created_by)
                 values ($1, $2, 'quiz', $3, $4, $5, 3, true, $6, $7) returning id",
            )
            .bind(course_id)
            .bind(&course.quiz.title)
            .bind(format!("Quiz d'entraînement du cours « {} ».", course.title))
            .bind(sqlx::types::Json(&course.quiz.questions))
            .bind(max)
            .bind(class_id.is_some())
            .bind(teacher)
            .fetch_one(&mut *tx)
            .await?;
            if let Some(class_id) = class_id {
                sqlx::query("insert into assessment_classes (assessment_id, class_id) values ($1, $2) on conflict do nothing")
                    .bind(quiz_id)
                    .bind(class_id)
                    .execute(&mut *tx)
                    .await?;
            }
        }
    }
    seed_demo_activity(&mut tx).await?;
    tx.commit().await?;
    Ok(SeedReport {
        accounts_created,
        courses_created,
        quizzes_created,
    })
}

/// The demo student's last weeks, when she has none yet: the sections of three of her
/// class's courses read (all, about half, the first) on days spread over five weeks, and
/// three of her quizzes — not the first one, which the operations tests take — graded,
/// answered right except for one question in three, two, and none of every six.
async fn seed_demo_activity(tx: &mut PgConnection) -> anyhow::Result<()> {
    let Some(student): Option<i64> = sqlx::query_scalar(
        "select u.id from users u where u.email = 'student@nexus-reussite.fr'
           and not exists (select 1 from student_progress p where p.student_id = u.id)
           and not exists (select 1 from assessment_results r where r.student_id = u.id)",
    )
    .fetch_optional(&mut *tx)
    .await?
    else {
        return Ok(());
    };
    let courses: Vec<(i64, Vec<String>)> = sqlx::query_as(
        "select c.id, array(select jsonb_path_query(c.content, '$.chapters[*].sections[*].id') #>> '{}')
         from courses c join course_classes cc on cc.course_id = c.id
         join class_members m on m.class_id = cc.class_id and m.student_id = $1
         where c.is_published order by c.id limit 3",
    )
    .bind(student)
    .fetch_all(&mut *tx)
    .await?;
    for (n, (course, sections)) in courses.iter().enumerate() {
        let done = match n {
            0 => sections.len(),
            1 => sections.len().div_ceil(2),
            _ => 1.min(sections.len()),
        };
        if done == 0 {
            continue;
        }
        for (i, section) in sections.iter().take(done).enumerate() {
            // Oldest first: 35 days ago for the first course's first section, then every
            // few days, the last ones this week.
            let days_ago = 35_i64.saturating_sub((n * 9 + i * 3) as i64).max(1);
            sqlx::query(
                "insert into section_progress (student_id, course_id, section_id, completed_at, time_spent_seconds, last_accessed)
                 values ($1, $2, $3, now() - make_interval(days => $4::int), 900, now() - make_interval(days => $4::int))
                 on conflict do nothing",
            )
            .bind(student)
            .bind(course)
            .bind(section)
            .bind(days_ago as i32)
            .execute(&mut *tx)
            .await?;
        }
        let percentage = (done * 100).checked_div(sections.len()).unwrap_or(0) as i32;
        sqlx::query(
            "insert into student_progress (student_id, course_id, progress_percentage, last_accessed, completed_at,
                                           time_spent_seconds, started_at)
             select $1, $2, $3, max(last_accessed), case when $3 = 100 then max(completed_at) end,
                    sum(time_spent_seconds), min(completed_at)
             from section_progress where student_id = $1 and course_id = $2
             on conflict do nothing",
        )
        .bind(student)
        .bind(course)
        .bind(percentage)
        .execute(&mut *tx)
        .await?;
    }
    let quizzes: Vec<(i64, sqlx::types::Json<Vec<Question>>)> = sqlx::query_as(
        "select a.id, a.questions from assessments a
         join assessment_classes ac on ac.assessment_id = a.id
         join class_members m on m.class_id = ac.class_id and m.student_id = $1
         where a.is_published order by a.id offset 1 limit 3",
    )
    .bind(student)
    .fetch_all(&mut *tx)
    .await?;
    for (n, (quiz, questions)) in quizzes.iter().enumerate() {
        let wrong_every = [3, 2, 6][n % 3];
        let answers: serde_json::Map<String, serde_json::Value> = questions
            .iter()
            .enumerate()
            .map(|(i, q)| (q.id.clone(), demo_answer(q, (i + 1) % wrong_every != 0)))
            .collect();
        let breakdown: std::collections::BTreeMap<_, _> = questions
            .iter()
            .map(|q| (q.id.clone(), grade(q, &answers[&q.id])))
            .collect();
        let score: f64 = breakdown.values().map(|g| g.points).sum();
        let max: f64 = questions.iter().map(|q| q.points).sum();
        let days_ago = 28 - 10 * n as i32;
        sqlx::query(
            "insert into assessment_results (assessment_id, student_id, attempt_number, status, answers, breakdown,
                                             score, max_score, started_at, submitted_at, completed_at, graded_at)
             values ($1, $2, 1, 'graded', $3, $4, $5, $6, now() - make_interval(days => $7, mins => 20),
                     now() - make_interval(days => $7), now() - make_interval(days => $7),
                     now() - make_interval(days => $7))",
        )
        .bind(quiz)
        .bind(student)
        .bind(sqlx::types::Json(&answers))
        .bind(sqlx::types::Json(&breakdown))
        .bind(score)
        .bind(max)
        .bind(days_ago)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// What the demo student answered: the right answer, or a plausible wrong one.
fn demo_answer(question: &Question, right: bool) -> serde_json::Value {
    use serde_json::json;
    match &question.kind {
        QuestionKind::SingleChoice { options, correct } => {
            json!(if right {
                *correct
            } else {
                (correct + 1) % options.len().max(1)
            })
        }
        QuestionKind::MultipleChoice { correct, .. } => {
            json!(if right {
                correct.clone()
            } else {
                correct[..1.min(correct.len())].to_vec()
            })
        }
        QuestionKind::TrueFalse { correct } => json!(*correct == right),
        QuestionKind::ShortAnswer { accepted } => {
            json!(if right {
                accepted.first().cloned().unwrap_or_default()
            } else {
                "je ne sais pas".into()
            })
        }
        QuestionKind::Numeric { answer, .. } => json!(if right { *answer } else { answer + 1.0 }),
        QuestionKind::Ordering { items } => {
            let mut ids: Vec<&str> = items.iter().map(|i| i.id.as_str()).collect();
            if !right {
                ids.reverse();
            }
            json!(ids)
        }
        QuestionKind::Code { .. } | QuestionKind::FreeText {} => json!("Réponse de démonstration."),
    }
}

async fn ensure_account(
    conn: &mut PgConnection,
    account: &DemoAccount,
    hash: &str,
) -> sqlx::Result<bool> {
    let id: Option<i64> = sqlx::query_scalar(
        "insert into users (email, password_hash, first_name, last_name, role, is_verified)
         values ($1, $2, $3, $4, $5, true)
         on conflict ((lower(email))) do nothing returning id",
    )
    .bind(account.email)
    .bind(hash)
    .bind(account.first_name)
    .bind(account.last_name)
    .bind(account.role.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    if let (Some(id), Some(level)) = (id, account.class_level) {
        sqlx::query(
            "insert into student_profiles (user_id, class_level, school_name, academic_year)
             values ($1, $2, 'Lycée Victor Hugo', $3)",
        )
        .bind(id)
        .bind(level)
        .bind(SCHOOL_YEAR)
        .execute(&mut *conn)
        .await?;
    }
    Ok(id.is_some())
}

async fn ensure_class(
    conn: &mut PgConnection,
    teacher: i64,
    level: &str,
    name: &str,
) -> sqlx::Result<i64> {
    let existing: Option<i64> =
        sqlx::query_scalar("select id from classes where teacher_id = $1 and name = $2")
            .bind(teacher)
            .bind(name)
            .fetch_optional(&mut *conn)
            .await?;
    match existing {
        Some(id) => Ok(id),
        None => {
            sqlx::query_scalar(
                "insert into classes (teacher_id, name, level, school_year, join_code) values ($1, $2, $3, $4, $5) returning id",
            )
            .bind(teacher)
            .bind(name)
            .bind(level)
            .bind(SCHOOL_YEAR)
            .bind(tokens::generate_pairing_code())
            .fetch_one(conn)
            .await
        }
    }
}
