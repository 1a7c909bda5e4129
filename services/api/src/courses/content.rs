//! The course content shape of the seed (chapters → sections with content, examples,
//! exercises), checked on write: well-formed, bounded, ids unique.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::validate::Validator;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CourseContent {
    pub chapters: Vec<Chapter>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Chapter {
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub sections: Vec<Section>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Section {
    pub id: String,
    pub title: String,
    /// The lesson, in Markdown.
    #[serde(default)]
    pub content: String,
    #[serde(default)]
    pub examples: Vec<Example>,
    #[serde(default)]
    pub exercises: Vec<Exercise>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Example {
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub explanation: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Exercise {
    pub question: String,
    #[serde(default)]
    pub hint: String,
    #[serde(default)]
    pub solution: String,
}

const MAX_CHAPTERS: usize = 50;
const MAX_SECTIONS: usize = 50;
const MAX_ITEMS: usize = 30;
const MAX_TEXT: usize = 50_000;

fn id_ok(id: &str) -> bool {
    (1..=50).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn title_ok(title: &str) -> bool {
    !title.trim().is_empty() && title.chars().count() <= 200
}

impl CourseContent {
    /// Adds the problems found to `v` (field `content`), the first of each kind.
    pub fn validate(&self, v: &mut Validator) {
        let mut ids = HashSet::new();
        if self.chapters.len() > MAX_CHAPTERS {
            v.fail("content", "Au plus 50 chapitres.");
        }
        for chapter in &self.chapters {
            if !id_ok(&chapter.id) || !ids.insert(chapter.id.as_str()) {
                v.fail(
                    "content",
                    format!(
                        "Identifiant de chapitre invalide ou en double : {:.50}",
                        chapter.id
                    ),
                );
            }
            if !title_ok(&chapter.title) {
                v.fail(
                    "content",
                    "Chaque chapitre a un titre de 1 à 200 caractères.",
                );
            }
            if chapter.sections.len() > MAX_SECTIONS {
                v.fail("content", "Au plus 50 sections par chapitre.");
            }
            for section in &chapter.sections {
                if !id_ok(&section.id) || !ids.insert(section.id.as_str()) {
                    v.fail(
                        "content",
                        format!(
                            "Identifiant de section invalide ou en double : {:.50}",
                            section.id
                        ),
                    );
                }
                if !title_ok(&section.title) {
                    v.fail(
                        "content",
                        "Chaque section a un titre de 1 à 200 caractères.",
                    );
                }
                let texts = std::iter::once(&section.content)
                    .chain(
                        section
                            .examples
                            .iter()
                            .flat_map(|e| [&e.title, &e.code, &e.explanation]),
                    )
                    .chain(
                        section
                            .exercises
                            .iter()
                            .flat_map(|e| [&e.question, &e.hint, &e.solution]),
                    );
                if texts.into_iter().any(|t| t.chars().count() > MAX_TEXT) {
                    v.fail("content", "Un texte dépasse 50 000 caractères.");
                }
                if section.examples.len() > MAX_ITEMS || section.exercises.len() > MAX_ITEMS {
                    v.fail(
                        "content",
                        "Au plus 30 exemples et 30 exercices par section.",
                    );
                }
                if section
                    .exercises
                    .iter()
                    .any(|e| e.question.trim().is_empty())
                {
                    v.fail("content", "Chaque exercice a un énoncé.");
                }
            }
        }
    }

    pub fn section_ids(&self) -> Vec<&str> {
        self.chapters
            .iter()
            .flat_map(|c| c.sections.iter().map(|s| s.id.as_str()))
            .collect()
    }
}
