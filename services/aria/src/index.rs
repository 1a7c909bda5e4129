//! ARIA's index of the published courses: one chunk per section (its lesson text and
//! examples — not the exercises' solutions), kept in Postgres with a French full-text
//! vector. `sync` brings it in line with the courses (new, edited, unpublished,
//! deleted); the service runs it every few seconds, and `nexus-aria reindex` rebuilds
//! everything.

use serde::Deserialize;
use sqlx::{PgConnection, PgPool};

#[derive(Deserialize)]
struct Content {
    #[serde(default)]
    chapters: Vec<Chapter>,
}

#[derive(Deserialize)]
struct Chapter {
    id: String,
    title: String,
    #[serde(default)]
    sections: Vec<Section>,
}

#[derive(Deserialize)]
struct Section {
    id: String,
    title: String,
    #[serde(default)]
    content: String,
    #[serde(default)]
    examples: Vec<Example>,
}

#[derive(Deserialize)]
struct Example {
    #[serde(default)]
    title: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    explanation: String,
}

/// Replaces the chunks of one course (none if it is not published any more).
pub async fn index_course(conn: &mut PgConnection, course_id: i64) -> sqlx::Result<usize> {
    sqlx::query("delete from aria_chunks where course_id = $1")
        .bind(course_id)
        .execute(&mut *conn)
        .await?;
    let course: Option<(String, String, Option<String>, serde_json::Value)> = sqlx::query_as(
        "select title, level, category, content from courses where id = $1 and is_published",
    )
    .bind(course_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((title, level, category, content)) = course else {
        return Ok(0);
    };
    let content: Content = serde_json::from_value(content).unwrap_or(Content { chapters: vec![] });
    let mut count = 0;
    for chapter in &content.chapters {
        for section in &chapter.sections {
            let mut text = section.content.clone();
            for example in &section.examples {
                text.push_str(&format!(
                    "\n\nExemple — {}\n{}\n{}",
                    example.title, example.code, example.explanation
                ));
            }
            sqlx::query(
                "insert into aria_chunks (course_id, chapter_id, section_id, course_title, chapter_title, section_title, level, category, text, class_ids)
                 values ($1, $2, $3, $4, $5, $6, $7, $8, $9,
                         coalesce((select array_agg(class_id order by class_id) from course_classes where course_id = $1), '{}'))
                 on conflict (course_id, section_id) do nothing",
            )
            .bind(course_id)
            .bind(&chapter.id)
            .bind(&section.id)
            .bind(&title)
            .bind(&chapter.title)
            .bind(&section.title)
            .bind(&level)
            .bind(category.as_deref())
            .bind(text.trim())
            .execute(&mut *conn)
            .await?;
            count += 1;
        }
    }
    Ok(count)
}

/// Re-indexes the courses changed since they were indexed, and drops the chunks of
/// courses no longer published. Returns how many courses it touched.
pub async fn sync(pool: &PgPool) -> sqlx::Result<usize> {
    let mut tx = pool.begin().await?;
    // One sync at a time across ARIA replicas.
    let locked: bool = sqlx::query_scalar("select pg_try_advisory_xact_lock(7337001)")
        .fetch_one(&mut *tx)
        .await?;
    if !locked {
        return Ok(0);
    }
    let stale: Vec<i64> = sqlx::query_scalar(
        "select c.id from courses c where c.is_published and (
            not exists(select 1 from aria_chunks k where k.course_id = c.id)
            or c.updated_at > (select min(k.indexed_at) from aria_chunks k where k.course_id = c.id))
         union
         select distinct k.course_id from aria_chunks k join courses c on c.id = k.course_id where not c.is_published",
    )
    .fetch_all(&mut *tx)
    .await?;
    for course in &stale {
        index_course(&mut tx, *course).await?;
    }
    if !stale.is_empty() {
        bump_version(&mut tx).await?;
    }
    tx.commit().await?;
    Ok(stale.len())
}

/// Tells every replica that its in-memory copy is out of date (see [`crate::vectors`]).
pub async fn bump_version(conn: &mut PgConnection) -> sqlx::Result<()> {
    sqlx::query("update aria_index_version set version = version + 1")
        .execute(conn)
        .await
        .map(drop)
}

/// Rebuilds the whole index.
pub async fn reindex_all(pool: &PgPool) -> sqlx::Result<usize> {
    let mut tx = pool.begin().await?;
    sqlx::query("delete from aria_chunks")
        .execute(&mut *tx)
        .await?;
    let courses: Vec<i64> =
        sqlx::query_scalar("select id from courses where is_published order by id")
            .fetch_all(&mut *tx)
            .await?;
    for course in &courses {
        index_course(&mut tx, *course).await?;
    }
    bump_version(&mut tx).await?;
    tx.commit().await?;
    Ok(courses.len())
}
