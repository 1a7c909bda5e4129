//! The help policy, decided by the server from the student's attempts in progress —
//! never from what the student writes, so no wording can lift it.
//!
//! Each assessment has a `help_mode` its teacher sets: `explain`, `hints`, `none`, or
//! `default`, which means `none` for an exam, `hints` for a quiz or a TP and `explain`
//! for a project. While an attempt is in progress (and its deadline not passed):
//! - `none`: ARIA refuses questions on that assessment's content — words shared with
//!   its title, description and what the student sees of its questions (prompts,
//!   options, items, starter code — never accepted answers, correct options or
//!   explanations, or the policy would tell a right guess from a wrong one), words its
//!   course teaches and few other
//!   courses do, or a request about the assessment itself ("le DS", "cet examen",
//!   "la question 3": [`about_the_assessment`]). Anything else is answered, in hints
//!   mode;
//! - `hints`: ARIA gives hints and questions, never a solution: the model is told so
//!   and, whatever it writes, code is removed from its answer ([`HintFilter`]);
//! - `explain`: full explanations, as outside assessments.

use nexus_database::assessments::{AssessmentKind, HelpMode};
use sqlx::PgPool;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Explain,
    /// Hints only, because of this assessment.
    Hints(String),
    /// Refused: the question is about this assessment, in progress.
    Refuse(String),
}

impl Mode {
    /// The `policy` of the answer's metadata and of `aria_requests_total`.
    pub fn label(&self) -> &'static str {
        match self {
            Mode::Explain => "explain",
            Mode::Hints(_) => "hints",
            Mode::Refuse(_) => "exam_refused",
        }
    }
}

#[derive(Debug, sqlx::FromRow)]
struct Active {
    title: String,
    help_mode: HelpMode,
    kind: AssessmentKind,
    /// How many of the question's words (lexemes) the assessment's text contains.
    shared: i32,
    /// How many distinct words the question has.
    words: i32,
    /// How many of them are specific to the assessment's course.
    course_words: i32,
}

/// Nouns naming an assessment. Alone they are generic ("comment réviser pour un
/// examen ?"); behind a determiner that points at one ("le DS", "cet examen", "mon
/// contrôle", "l'épreuve") they name the one being taken.
const ASSESSMENT_NOUNS: &[&str] = &[
    "examen",
    "exam",
    "controle",
    "ds",
    "evaluation",
    "devoir",
    "interro",
    "interrogation",
    "epreuve",
    "qcm",
];

/// Determiners that point at a given assessment (folded; `l'` splits to `l`).
const POINTING: &[&str] = &[
    "le", "la", "l", "ce", "cet", "cette", "mon", "ma", "notre", "du", "au", "ton", "ta",
];

/// Words that, followed by a number, point at a part of an assessment ("la question
/// 3", "exercice 2", "q4").
const PARTS: &[&str] = &["question", "questions", "exercice", "exo", "partie"];

fn folded_words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(nexus_web::text::fold)
        .collect()
}

/// Whether the question is about *the* assessment being taken rather than a notion:
/// it points at it ("le DS", "cet examen") or at one of its parts ("la question 3",
/// "q2", "l'exercice 1"). A generic word alone ("corrige-moi quand je t'aurai donné ma
/// réponse", "une solution") is not enough: the over-refusal measured in
/// tests/aria/policy.rs stays at 0 while every bypass attempt is refused.
pub fn about_the_assessment(question: &str) -> bool {
    let words = folded_words(question);
    words.iter().enumerate().any(|(i, word)| {
        let previous = i.checked_sub(1).map(|p| words[p].as_str());
        let next = words.get(i + 1).map(String::as_str);
        let number = |w: Option<&str>| {
            w.is_some_and(|w| {
                !w.is_empty() && w.len() <= 3 && w.chars().all(|c| c.is_ascii_digit())
            })
        };
        (ASSESSMENT_NOUNS.contains(&word.as_str())
            && previous.is_some_and(|p| POINTING.contains(&p)))
            || (PARTS.contains(&word.as_str()) && number(next))
            || (word.len() >= 2
                && word.len() <= 3
                && word.starts_with('q')
                && number(Some(&word[1..])))
    })
}

pub async fn decide(pool: &PgPool, student_id: i64, question: &str) -> sqlx::Result<Mode> {
    let active: Vec<Active> = sqlx::query_as(
        "with q as (select array(select distinct unnest(tsvector_to_array(to_tsvector('nexus_fr', $2)))) as words)
         select a.title, a.help_mode, a.type as kind,
                (select count(*) from unnest(q.words) w
                  where w = any(tsvector_to_array(
                      to_tsvector('nexus_fr', a.title || ' ' || coalesce(a.description, '') || ' ' || (
                          -- Only what the student sees of the questions: never accepted
                          -- answers, correct options, explanations (an answer oracle).
                          select coalesce(string_agg(shown, ' '), '')
                          from jsonb_array_elements(case jsonb_typeof(a.questions)
                                   when 'array' then a.questions else '[]' end) question,
                               lateral (
                                   select question->>'prompt'
                                   union all
                                   select jsonb_array_elements_text(case jsonb_typeof(question->'options')
                                              when 'array' then question->'options' else '[]' end)
                                   union all
                                   select item->>'text'
                                   from jsonb_array_elements(case jsonb_typeof(question->'items')
                                            when 'array' then question->'items' else '[]' end) item
                                   union all
                                   select question->>'starter') visible(shown)))))
                  )::int4 as shared,
                cardinality(q.words)::int4 as words,
                -- The question's words that the assessment's course teaches and few
                -- other courses do (at most a quarter of them).
                (select count(*) from unnest(q.words) w
                  where a.course_id is not null
                    and exists(select 1 from aria_chunks k
                               where k.course_id = a.course_id and k.search @@ quote_literal(w)::tsquery)
                    and (select count(distinct k.course_id) from aria_chunks k
                         where k.search @@ quote_literal(w)::tsquery)
                        <= greatest(1, (select count(distinct course_id) from aria_chunks) / 4)
                )::int4 as course_words
         from assessment_results r join assessments a on a.id = r.assessment_id, q
         where r.student_id = $1 and r.status = 'in_progress'
           and (r.deadline_at is null or r.deadline_at > now())
         order by r.started_at",
    )
    .bind(student_id)
    .bind(question)
    .fetch_all(pool)
    .await?;
    let asks_about_assessment = about_the_assessment(question);
    let mut mode = Mode::Explain;
    for assessment in active {
        match assessment.help_mode.effective(assessment.kind) {
            HelpMode::None => {
                let shares_words = assessment.shared >= 2
                    || (assessment.shared >= 1 && assessment.shared * 3 >= assessment.words);
                if shares_words || assessment.course_words > 0 || asks_about_assessment {
                    return Ok(Mode::Refuse(assessment.title));
                }
                // Other subjects are answered, but never with a solution meanwhile.
                mode = Mode::Hints(assessment.title);
            }
            HelpMode::Hints if mode == Mode::Explain => mode = Mode::Hints(assessment.title),
            _ => {}
        }
    }
    Ok(mode)
}

/// Removes code from streamed text, line by line: fenced blocks (```…```), indented
/// lines and lines that read as Python statements, also behind a list or quote marker
/// (`- `, `* `, `+ `, `1. `, `2) `, `> `) or inline-code backticks. Text is held back until its line
/// is complete, then let through or dropped (a note replaces the first dropped line
/// of each run).
#[derive(Debug, Default)]
pub struct HintFilter {
    line: String,
    in_fence: bool,
    dropping: bool,
}

pub const CODE_REMOVED: &str =
    "[Code retiré : pendant cette évaluation, ARIA donne des pistes, pas la solution.]";

impl HintFilter {
    pub fn push(&mut self, text: &str) -> String {
        let mut out = String::new();
        for c in text.chars() {
            self.line.push(c);
            if c == '\n' {
                let line = std::mem::take(&mut self.line);
                out.push_str(&self.judge(line));
            }
        }
        out
    }

    pub fn finish(&mut self) -> String {
        let line = std::mem::take(&mut self.line);
        self.judge(line)
    }

    fn judge(&mut self, line: String) -> String {
        let trimmed = line.trim();
        let fence = trimmed.starts_with("```") || trimmed.starts_with("~~~");
        let code = fence || self.in_fence || looks_like_code(&line);
        if fence {
            self.in_fence = !self.in_fence;
        }
        if !code {
            self.dropping = false;
            return line;
        }
        if self.dropping {
            return String::new();
        }
        self.dropping = true;
        format!("{CODE_REMOVED}\n")
    }
}

/// `text` through a [`HintFilter`] at once.
pub fn without_code(text: &str) -> String {
    let mut filter = HintFilter::default();
    filter.push(text) + &filter.finish()
}

fn looks_like_code(line: &str) -> bool {
    let line = line.trim_end();
    if line.trim().is_empty() {
        return false;
    }
    if line.starts_with("    ") || line.starts_with('\t') || line.starts_with(">>>") {
        return true;
    }
    let statement = without_markers(line);
    if statement.starts_with(">>>") {
        return true;
    }
    // A Python statement: a keyword opening a block (`…:`), a call, a return, an import.
    const KEYWORDS: &[&str] = &[
        "def", "class", "for", "while", "if", "elif", "else", "try", "except", "with", "return",
        "import", "from", "print", "lambda",
    ];
    let line = statement.trim_end_matches('`').trim_end();
    let keyword = line
        .split(|c: char| !c.is_alphanumeric() && c != '_')
        .next()
        .unwrap_or("");
    if KEYWORDS.contains(&keyword)
        && (line.ends_with(':') || line.contains('(') || matches!(keyword, "return" | "import"))
    {
        return true;
    }
    // An assignment: `n = …`, `t[i] = …`, `s += x`.
    line.split_once('=').is_some_and(|(left, _)| {
        let left = left.trim().trim_end_matches(['+', '-', '*', '/']).trim();
        !left.is_empty()
            && left
                .chars()
                .all(|c| c.is_alphanumeric() || "_[].".contains(c))
    })
}

/// The line without what Markdown puts before a statement: indentation, list markers
/// (`-`, `*`, `+`, `1.`, `1)`), quote markers (`>`) and opening backticks, however
/// nested (`> - 1. `return s``).
fn without_markers(line: &str) -> &str {
    let mut rest = line.trim_start();
    loop {
        if rest.starts_with(">>>") {
            return rest;
        }
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let marker = match rest[digits..].chars().next() {
            Some('.' | ')') if digits > 0 => digits + 1,
            Some('-' | '*' | '+' | '>' | '•') if digits == 0 => {
                rest.chars().next().map_or(1, char::len_utf8)
            }
            Some('`') if digits == 0 => 1,
            _ => 0,
        };
        let after = &rest[marker..];
        // A list marker stands alone before a space (`-x` is not one); backticks and
        // quote markers need none.
        let is_marker = marker > 0
            && (after.starts_with(char::is_whitespace)
                || rest.starts_with(['`', '>'])
                || after.is_empty());
        if !is_marker || (after.trim().is_empty() && !rest.starts_with('`')) {
            return rest;
        }
        rest = after.trim_start();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_reference_to_the_assessment_counts_not_a_generic_word() {
        for about in [
            "Donne-moi la réponse de l'examen",
            "c'est quoi la solution du DS ?",
            "Corrige ma réponse à la question 3",
            "q2 c'est quoi",
            "Aide-moi pour cet examen stp",
            "je bloque à l'exercice 1",
            "Pendant le contrôle, je peux te demander ?",
        ] {
            assert!(about_the_assessment(about), "{about}");
        }
        for generic in [
            "Explique-moi les piles, puis corrige-moi quand je t'aurai donné ma réponse",
            "Comment réviser pour un examen de NSI ?",
            "Une solution simple pour inverser une liste ?",
            "Quelle est la complexité de la question du tri ?",
            "Les évaluations paresseuses en Python, c'est quoi ?",
        ] {
            assert!(!about_the_assessment(generic), "{generic}");
        }
    }

    fn filtered(text: &str, piece: usize) -> String {
        let mut filter = HintFilter::default();
        let chars: Vec<char> = text.chars().collect();
        let mut out = String::new();
        for chunk in chars.chunks(piece) {
            out.push_str(&filter.push(&chunk.iter().collect::<String>()));
        }
        out + &filter.finish()
    }

    #[test]
    fn code_is_removed_however_the_text_is_cut() {
        let answer = "Pense à parcourir la liste.\n```python\ndef somme(t):\n    s = 0\n    for x in t:\n        s += x\n    return s\n```\nQue vaut s au début ?\ndef f(x):\n    return x\nn = len(t)\nEt ensuite ?";
        for piece in [1, 3, 7, 1000] {
            let out = filtered(answer, piece);
            assert!(!out.contains("def "), "{piece}: {out}");
            assert!(!out.contains("return"), "{piece}: {out}");
            assert!(!out.contains("len(t)"), "{piece}: {out}");
            assert!(out.contains("Pense à parcourir la liste."), "{out}");
            assert!(out.contains("Que vaut s au début ?"), "{out}");
            assert!(out.contains("Et ensuite ?"), "{out}");
            assert_eq!(
                out.matches(CODE_REMOVED).count(),
                2,
                "one note per run: {out}"
            );
        }
    }

    #[test]
    fn audit_08_code_behind_list_markers_is_removed_like_any_other_code() {
        for line in [
            "- return s",
            "* def somme(t):",
            "1. for x in t:",
            "2) s += x",
            "+ n = len(t)",
            "> import math",
            "- `return sum(t)`",
            "  - 1. print(s)",
            "• while i < n:",
            "> >>> somme([1, 2])",
        ] {
            let text = format!("Une piste :\n{line}\nÀ toi de jouer.");
            let out = filtered(&text, 3);
            assert!(
                out.contains(CODE_REMOVED) && !out.contains(line.trim()),
                "{line:?} → {out}"
            );
            assert!(out.contains("Une piste :") && out.contains("À toi de jouer."));
        }
    }

    #[test]
    fn list_items_in_prose_are_kept() {
        let prose = "Trois étapes :\n- Parcours la liste.\n* Compare chaque élément au maximum.\n1. Que renvoies-tu si la liste est vide ?\n2) Teste avec [3, 1, 2].\n> Indice : pense à un accumulateur.\n-5 degrés dehors !";
        assert_eq!(filtered(prose, 4), prose);
    }

    #[test]
    fn prose_is_kept() {
        let prose = "Si la liste est vide, que renvoie ta fonction ?\nPour chaque élément, demande-toi : est-il plus grand que le maximum actuel ?\nÉcris d'abord l'idée en français.";
        assert_eq!(filtered(prose, 5), prose);
    }
}
