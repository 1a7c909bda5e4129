//! Lexical retrieval over ARIA's index, French-aware (the `nexus_fr` text-search
//! configuration: accents folded, French stemming, stop words dropped). A question's
//! words are OR-ed, so a passage matching most of them ranks first without requiring
//! all; `ts_rank_cd` rewards words close together, and the section title weighs most.
//! Dense (embedding) retrieval fused with this one is the next step of issue 5.

use serde::Serialize;
use sqlx::PgPool;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct Passage {
    pub course_id: i64,
    pub course_title: String,
    pub chapter_title: String,
    pub section_id: String,
    pub section_title: String,
    /// The most relevant fragments of the section.
    pub excerpt: String,
    pub score: f32,
}

/// The words of a question as a `to_tsquery` OR expression: letters and digits only,
/// so no input can break the query syntax.
pub fn or_query(question: &str) -> Option<String> {
    let words: Vec<String> = question
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 2)
        .take(30)
        .map(str::to_lowercase)
        .collect();
    (!words.is_empty()).then(|| words.join(" | "))
}

pub async fn search(
    pool: &PgPool,
    question: &str,
    level: Option<&str>,
    limit: i64,
) -> sqlx::Result<Vec<Passage>> {
    let Some(query) = or_query(question) else {
        return Ok(Vec::new());
    };
    sqlx::query_as(
        "with q as (select to_tsquery('nexus_fr', $1) as query)
         select k.course_id, k.course_title, k.chapter_title, k.section_id, k.section_title,
                ts_headline('nexus_fr', k.text, q.query,
                            'StartSel=\"\", StopSel=\"\", MaxWords=45, MinWords=20, MaxFragments=2, FragmentDelimiter=\" … \"') as excerpt,
                ts_rank_cd(k.search, q.query, 1)::float4 as score
         from aria_chunks k, q
         where k.search @@ q.query and ($2::text is null or k.level = $2)
         order by score desc, k.id
         limit $3",
    )
    .bind(query)
    .bind(level)
    .bind(limit)
    .fetch_all(pool)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn questions_become_safe_or_queries() {
        assert_eq!(
            or_query("C'est quoi une pile ?").as_deref(),
            Some("est | quoi | une | pile")
        );
        assert_eq!(
            or_query("'); drop table x; -- & | !").as_deref(),
            Some("drop | table")
        );
        assert_eq!(or_query("?!"), None);
    }
}
