//! Questions of every type a teacher of NSI needs, what students see of them, and the
//! grading of the objective ones.
//!
//! Grading rules (documented in docs/LEARNING.md):
//! - single choice, true/false, ordering: all or nothing (ordering: the exact order);
//! - multiple choice: `points × max(0, (right picks − wrong picks) / number of right
//!   options)`, so ticking everything earns nothing;
//! - short answer: equal to an accepted answer once both are lower-cased, stripped of
//!   accents, of surrounding spaces and final punctuation, with inner spaces collapsed;
//! - numeric: within `tolerance` of the answer; `3,14` and `3.14` are both read;
//! - code and free text: left for the teacher (`pending_review`).

pub mod code;

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::validate::Validator;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Question {
    pub id: String,
    pub prompt: String,
    /// Points the question is worth (> 0).
    pub points: f64,
    /// Shown to students after grading, once the teacher releases the answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explanation: Option<String>,
    #[serde(flatten)]
    pub kind: QuestionKind,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum QuestionKind {
    SingleChoice {
        options: Vec<String>,
        correct: usize,
    },
    MultipleChoice {
        options: Vec<String>,
        correct: Vec<usize>,
    },
    TrueFalse {
        correct: bool,
    },
    ShortAnswer {
        accepted: Vec<String>,
    },
    Numeric {
        answer: f64,
        #[serde(default)]
        tolerance: f64,
    },
    /// Items in the correct order; students receive them shuffled.
    Ordering {
        items: Vec<OrderItem>,
    },
    /// Python code: graded by the teacher, or by the server against `tests` when there
    /// are any (see `code.rs`).
    Code {
        #[serde(default = "python")]
        language: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        starter: Option<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        tests: Vec<CodeTest>,
        /// A solution that must pass every test when the question is saved; never shown
        /// to students.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reference: Option<String>,
        /// Time per test (ms, 100–5000, default 2000).
        #[serde(
            default,
            rename = "timeLimitMs",
            skip_serializing_if = "Option::is_none"
        )]
        time_limit_ms: Option<u64>,
        /// Memory of the run (MiB, 64–512, default 256).
        #[serde(default, rename = "memoryMb", skip_serializing_if = "Option::is_none")]
        memory_mb: Option<u64>,
        /// Absolute or relative tolerance on floats (default 1e-6).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tolerance: Option<f64>,
    },
    FreeText {},
}

fn python() -> String {
    "python".into()
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OrderItem {
    pub id: String,
    pub text: String,
}

/// A question as a student receives it: the prompt and what is needed to answer,
/// never the answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StudentQuestion {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub prompt: String,
    pub points: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub options: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub items: Option<Vec<OrderItem>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub starter: Option<String>,
    /// Code questions: the visible tests ("Exécuter" runs them).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tests: Option<Vec<VisibleTest>>,
    /// Code questions: how many hidden tests also count in the grade.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hidden_tests: Option<usize>,
}

impl QuestionKind {
    pub fn name(&self) -> &'static str {
        match self {
            Self::SingleChoice { .. } => "single_choice",
            Self::MultipleChoice { .. } => "multiple_choice",
            Self::TrueFalse { .. } => "true_false",
            Self::ShortAnswer { .. } => "short_answer",
            Self::Numeric { .. } => "numeric",
            Self::Ordering { .. } => "ordering",
            Self::Code { .. } => "code",
            Self::FreeText {} => "free_text",
        }
    }

    pub fn needs_teacher(&self) -> bool {
        matches!(self, Self::Code { tests, .. } if tests.is_empty())
            || matches!(self, Self::FreeText {})
    }
}

impl Question {
    /// What a student sees. Ordering items are shuffled uniformly (the right order is as
    /// likely as any other, so the order shown says nothing about the answer) by a
    /// permutation drawn from the question and the student, so a reload shows the same
    /// order and two students usually see different ones.
    pub fn for_student(&self, student_id: i64) -> StudentQuestion {
        let mut view = StudentQuestion {
            id: self.id.clone(),
            kind: self.kind.name(),
            prompt: self.prompt.clone(),
            points: self.points,
            options: None,
            items: None,
            language: None,
            starter: None,
            tests: None,
            hidden_tests: None,
        };
        match &self.kind {
            QuestionKind::SingleChoice { options, .. }
            | QuestionKind::MultipleChoice { options, .. } => {
                view.options = Some(options.clone());
            }
            QuestionKind::Ordering { items } => {
                view.items = Some(shuffled(items, &format!("{}/{student_id}", self.id)));
            }
            QuestionKind::Code {
                language,
                starter,
                tests,
                ..
            } => {
                view.language = Some(language.clone());
                view.starter = starter.clone();
                if !tests.is_empty() {
                    view.tests = Some(
                        tests
                            .iter()
                            .filter(|t| !t.hidden)
                            .map(|t| VisibleTest {
                                name: t.name.clone(),
                                call: t.call.clone(),
                                stdin: t.stdin.clone(),
                                expected: t.expected.clone(),
                            })
                            .collect(),
                    );
                    view.hidden_tests = Some(tests.iter().filter(|t| t.hidden).count());
                }
            }
            _ => {}
        }
        view
    }

    /// The correct answer, in the shape a student submits it (for released corrections).
    pub fn correct_answer(&self) -> Value {
        match &self.kind {
            QuestionKind::SingleChoice { correct, .. } => Value::from(*correct),
            QuestionKind::MultipleChoice { correct, .. } => Value::from(correct.clone()),
            QuestionKind::TrueFalse { correct } => Value::from(*correct),
            QuestionKind::ShortAnswer { accepted } => {
                Value::from(accepted.first().cloned().unwrap_or_default())
            }
            QuestionKind::Numeric { answer, .. } => Value::from(*answer),
            QuestionKind::Ordering { items } => {
                Value::from(items.iter().map(|i| i.id.clone()).collect::<Vec<_>>())
            }
            QuestionKind::Code { .. } | QuestionKind::FreeText {} => Value::Null,
        }
    }
}

/// A deterministic Fisher–Yates shuffle seeded by `seed` (SHA-256, so nearby seeds give
/// unrelated permutations). Every order, the correct one included, is equally likely:
/// an order that is never shown would give the answer away (with two items, the
/// reverse of what is shown).
fn shuffled(items: &[OrderItem], seed: &str) -> Vec<OrderItem> {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(seed.as_bytes());
    let mut state = u64::from_le_bytes(digest[..8].try_into().expect("8 bytes")) | 1;
    let mut out = items.to_vec();
    for i in (1..out.len()).rev() {
        // xorshift64*: uniform enough for a handful of items.
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        let draw = state.wrapping_mul(0x2545_f491_4f6c_dd1d);
        out.swap(i, (draw % (i as u64 + 1)) as usize);
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GradeStatus {
    Correct,
    Partial,
    Incorrect,
    Unanswered,
    PendingReview,
    /// Graded by the teacher.
    Reviewed,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QuestionGrade {
    pub points: f64,
    pub max_points: f64,
    pub status: GradeStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feedback: Option<String>,
    /// Code questions graded against tests: one result per test (hidden ones without
    /// their content).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tests: Option<Vec<TestResult>>,
}

/// Lower case, no accents, trimmed, inner whitespace collapsed, final punctuation dropped.
pub fn normalize_text(raw: &str) -> String {
    let folded = nexus_web::text::fold(raw);
    let collapsed = folded.split_whitespace().collect::<Vec<_>>().join(" ");
    collapsed
        .trim_end_matches(['.', '!', '?', ';', ','])
        .trim()
        .to_owned()
}

fn read_number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().replace(',', ".").replace(' ', "").parse().ok(),
        _ => None,
    }
    .filter(|n: &f64| n.is_finite())
}

/// Is this answer of the right shape for the question? (`null` means unanswered.)
pub fn answer_shape_ok(question: &Question, answer: &Value) -> bool {
    if answer.is_null() {
        return true;
    }
    match &question.kind {
        QuestionKind::SingleChoice { .. } => answer.as_u64().is_some(),
        QuestionKind::MultipleChoice { .. } => answer
            .as_array()
            .is_some_and(|a| a.len() <= 50 && a.iter().all(|v| v.as_u64().is_some())),
        QuestionKind::TrueFalse { .. } => answer.is_boolean(),
        QuestionKind::ShortAnswer { .. } => {
            answer.as_str().is_some_and(|s| s.chars().count() <= 500)
        }
        QuestionKind::Numeric { .. } => {
            answer.is_number() || answer.as_str().is_some_and(|s| s.len() <= 50)
        }
        QuestionKind::Ordering { items } => answer
            .as_array()
            .is_some_and(|a| a.len() <= items.len() + 5 && a.iter().all(Value::is_string)),
        QuestionKind::Code { .. } | QuestionKind::FreeText {} => {
            answer.as_str().is_some_and(|s| s.chars().count() <= 20_000)
        }
    }
}

/// Grades one answer. Questions for the teacher get `pending_review` and 0 points.
pub fn grade(question: &Question, answer: &Value) -> QuestionGrade {
    let max = question.points;
    let result = |points: f64, status| QuestionGrade {
        points,
        max_points: max,
        status,
        feedback: None,
        tests: None,
    };
    if answer.is_null() || answer.as_str().is_some_and(|s| s.trim().is_empty()) {
        return if question.kind.needs_teacher() {
            result(0.0, GradeStatus::PendingReview)
        } else {
            result(0.0, GradeStatus::Unanswered)
        };
    }
    let all_or_nothing = |right: bool| {
        if right {
            result(max, GradeStatus::Correct)
        } else {
            result(0.0, GradeStatus::Incorrect)
        }
    };
    match &question.kind {
        QuestionKind::SingleChoice { correct, .. } => {
            all_or_nothing(answer.as_u64() == Some(*correct as u64))
        }
        QuestionKind::TrueFalse { correct } => all_or_nothing(answer.as_bool() == Some(*correct)),
        QuestionKind::MultipleChoice { correct, .. } => {
            let picked: HashSet<u64> = answer
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_u64)
                .collect();
            let right: HashSet<u64> = correct.iter().map(|c| *c as u64).collect();
            let hits = picked.intersection(&right).count() as f64;
            let wrong = picked.difference(&right).count() as f64;
            let share = ((hits - wrong) / right.len().max(1) as f64).max(0.0);
            let points = round2(max * share);
            let status = if share >= 1.0 {
                GradeStatus::Correct
            } else if share > 0.0 {
                GradeStatus::Partial
            } else {
                GradeStatus::Incorrect
            };
            result(points, status)
        }
        QuestionKind::ShortAnswer { accepted } => {
            let given = normalize_text(answer.as_str().unwrap_or_default());
            all_or_nothing(!given.is_empty() && accepted.iter().any(|a| normalize_text(a) == given))
        }
        QuestionKind::Numeric {
            answer: expected,
            tolerance,
        } => all_or_nothing(
            read_number(answer).is_some_and(|x| (x - expected).abs() <= tolerance.abs() + 1e-9),
        ),
        QuestionKind::Ordering { items } => {
            let given: Vec<&str> = answer
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            all_or_nothing(
                given.len() == items.len() && given.iter().zip(items).all(|(g, i)| *g == i.id),
            )
        }
        QuestionKind::Code { .. } | QuestionKind::FreeText {} => {
            result(0.0, GradeStatus::PendingReview)
        }
    }
}

pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Checks a teacher's questions: ids unique, prompts present, answers consistent.
pub fn validate_questions(questions: &[Question], v: &mut Validator) {
    if questions.is_empty() || questions.len() > 200 {
        v.fail("questions", "Entre 1 et 200 questions.");
    }
    let mut ids = HashSet::new();
    for q in questions {
        let label = format!("Question {:.30}", q.id);
        if q.id.is_empty() || q.id.len() > 50 || !ids.insert(q.id.as_str()) {
            v.fail(
                "questions",
                format!("{label} : identifiant vide, trop long ou en double."),
            );
        }
        if q.prompt.trim().is_empty() || q.prompt.chars().count() > 20_000 {
            v.fail("questions", format!("{label} : énoncé vide ou trop long."));
        }
        if !(q.points > 0.0 && q.points <= 1000.0) {
            v.fail(
                "questions",
                format!("{label} : barème entre 0 (exclu) et 1000."),
            );
        }
        let options_ok = |options: &Vec<String>| {
            (2..=20).contains(&options.len()) && options.iter().all(|o| !o.trim().is_empty())
        };
        let ok = match &q.kind {
            QuestionKind::SingleChoice { options, correct } => {
                options_ok(options) && *correct < options.len()
            }
            QuestionKind::MultipleChoice { options, correct } => {
                options_ok(options)
                    && !correct.is_empty()
                    && correct.iter().all(|c| *c < options.len())
                    && correct.iter().collect::<HashSet<_>>().len() == correct.len()
            }
            QuestionKind::TrueFalse { .. } | QuestionKind::FreeText {} => true,
            QuestionKind::ShortAnswer { accepted } => {
                !accepted.is_empty() && accepted.iter().all(|a| !normalize_text(a).is_empty())
            }
            QuestionKind::Numeric { answer, tolerance } => {
                answer.is_finite() && tolerance.is_finite() && *tolerance >= 0.0
            }
            QuestionKind::Ordering { items } => {
                (2..=20).contains(&items.len())
                    && items
                        .iter()
                        .map(|i| i.id.as_str())
                        .collect::<HashSet<_>>()
                        .len()
                        == items.len()
                    && items
                        .iter()
                        .all(|i| !i.id.is_empty() && !i.text.trim().is_empty())
            }
            QuestionKind::Code { language, .. } => {
                validate_code(q, &label, v);
                language == "python"
            }
        };
        if !ok {
            v.fail(
                "questions",
                format!(
                    "{label} : réponse attendue incohérente avec le type {}.",
                    q.kind.name()
                ),
            );
        }
    }
}

// Code questions: their tests, what students see of them, what a run gives, and the
// checks of a question's settings that need no run (running them: `code.rs`).

/// One test of a code question.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CodeTest {
    pub name: String,
    /// A Python expression evaluated after the student's code has run as a module, e.g.
    /// `somme([1, 2, 3])`. Either `call` or `stdin`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call: Option<String>,
    /// For a whole-program test: what the program reads on its input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdin: Option<String>,
    /// `call` tests: a Python literal (`6`, `[1, 2]`, `(0.5, 'a')`, `{'a': 1}`);
    /// `stdin` tests: the expected output (compared line by line, trailing spaces ignored).
    pub expected: String,
    /// Hidden tests count in the grade; students never see their content.
    #[serde(default)]
    pub hidden: bool,
    /// Weight of the test within the question's points (default 1).
    #[serde(default = "one")]
    pub points: f64,
}

fn one() -> f64 {
    1.0
}

/// A visible test as students see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VisibleTest {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stdin: Option<String>,
    pub expected: String,
}

/// The result of one test. For a hidden test only whether it passed and its points.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TestResult {
    pub name: String,
    pub hidden: bool,
    pub passed: bool,
    pub points: f64,
    pub max_points: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actual: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Checks the shape of a code question's tests (the part that needs no run).
fn validate_code(question: &Question, label: &str, v: &mut Validator) {
    let QuestionKind::Code {
        tests,
        reference,
        time_limit_ms,
        memory_mb,
        tolerance,
        ..
    } = &question.kind
    else {
        return;
    };
    if tests.len() > 30 {
        v.fail("questions", format!("{label} : au plus 30 tests."));
    }
    for test in tests {
        let name = format!("{label}, test « {:.40} »", test.name);
        let ok = !test.name.trim().is_empty()
            && test.name.chars().count() <= 100
            && test.call.is_some() != test.stdin.is_some()
            && test
                .call
                .as_deref()
                .is_none_or(|c| !c.trim().is_empty() && c.len() <= 1_000)
            && test.stdin.as_deref().is_none_or(|s| s.len() <= 10_000)
            && (test.stdin.is_some() || !test.expected.trim().is_empty())
            && test.expected.len() <= 10_000
            && test.points.is_finite()
            && test.points > 0.0
            && test.points <= 1_000.0;
        if !ok {
            v.fail(
                "questions",
                format!(
                    "{name} : un nom, soit un appel (call) soit une entrée (stdin), une valeur attendue et des points entre 0 (exclu) et 1000."
                ),
            );
        }
    }
    if time_limit_ms.is_some_and(|t| !(100..=5_000).contains(&t)) {
        v.fail(
            "questions",
            format!("{label} : temps par test entre 100 et 5000 ms."),
        );
    }
    if memory_mb.is_some_and(|m| !(64..=512).contains(&m)) {
        v.fail(
            "questions",
            format!("{label} : mémoire entre 64 et 512 Mo."),
        );
    }
    if tolerance.is_some_and(|t| !(t.is_finite() && (0.0..=1.0).contains(&t))) {
        v.fail("questions", format!("{label} : tolérance entre 0 et 1."));
    }
    if reference
        .as_deref()
        .is_some_and(|r| r.chars().count() > 20_000)
    {
        v.fail(
            "questions",
            format!("{label} : solution de référence trop longue."),
        );
    }
    if reference.is_some() && tests.is_empty() {
        v.fail(
            "questions",
            format!("{label} : une solution de référence sans test ne sert à rien."),
        );
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn q(kind: Value) -> Question {
        let mut raw = json!({"id": "q1", "prompt": "?", "points": 2.0});
        raw.as_object_mut()
            .expect("object")
            .extend(kind.as_object().expect("object").clone());
        serde_json::from_value(raw).expect("question")
    }

    #[test]
    fn multiple_choice_gives_partial_credit_and_nothing_for_ticking_everything() {
        let question = q(
            json!({"type": "multiple_choice", "options": ["a", "b", "c", "d"], "correct": [0, 2]}),
        );
        assert_eq!(grade(&question, &json!([0, 2])).points, 2.0);
        assert_eq!(grade(&question, &json!([2])).points, 1.0);
        assert_eq!(grade(&question, &json!([2])).status, GradeStatus::Partial);
        assert_eq!(grade(&question, &json!([0, 1])).points, 0.0);
        assert_eq!(grade(&question, &json!([0, 1, 2, 3])).points, 0.0);
        assert_eq!(
            grade(&question, &json!([0, 0, 2])).points,
            2.0,
            "duplicates count once"
        );
    }

    #[test]
    fn short_answers_ignore_case_accents_spaces_and_final_punctuation() {
        let question = q(json!({"type": "short_answer", "accepted": ["Récursivité", "une pile"]}));
        for answer in [
            "recursivite",
            "  RÉCURSIVITÉ. ",
            "re\u{301}cursivite\u{301}",
            "Une   pile",
        ] {
            assert_eq!(
                grade(&question, &json!(answer)).status,
                GradeStatus::Correct,
                "{answer}"
            );
        }
        assert_eq!(
            grade(&question, &json!("file")).status,
            GradeStatus::Incorrect
        );
        assert_eq!(
            grade(&question, &json!("   ")).status,
            GradeStatus::Unanswered
        );
    }

    #[test]
    fn numeric_answers_hold_within_the_tolerance_with_either_decimal_mark() {
        let question = q(json!({"type": "numeric", "answer": 2.5, "tolerance": 0.01}));
        for answer in [json!(2.5), json!(2.51), json!("2,49"), json!(" 2.505 ")] {
            assert_eq!(
                grade(&question, &answer).status,
                GradeStatus::Correct,
                "{answer}"
            );
        }
        for answer in [json!(2.52), json!("pi"), json!("NaN"), json!("inf")] {
            assert_eq!(
                grade(&question, &answer).status,
                GradeStatus::Incorrect,
                "{answer}"
            );
        }
        let exact = q(json!({"type": "numeric", "answer": 255}));
        assert_eq!(grade(&exact, &json!(255)).status, GradeStatus::Correct);
        assert_eq!(grade(&exact, &json!(254.99)).status, GradeStatus::Incorrect);
    }

    #[test]
    fn single_choice_true_false_and_ordering_are_all_or_nothing() {
        let single = q(json!({"type": "single_choice", "options": ["a", "b", "c"], "correct": 1}));
        assert_eq!(grade(&single, &json!(1)).points, 2.0);
        assert_eq!(grade(&single, &json!(2)).points, 0.0);
        assert_eq!(grade(&single, &json!(null)).status, GradeStatus::Unanswered);
        let tf = q(json!({"type": "true_false", "correct": false}));
        assert_eq!(grade(&tf, &json!(false)).status, GradeStatus::Correct);
        assert_eq!(grade(&tf, &json!(true)).status, GradeStatus::Incorrect);
        let order = q(
            json!({"type": "ordering", "items": [{"id": "a", "text": "1"}, {"id": "b", "text": "2"}, {"id": "c", "text": "3"}]}),
        );
        assert_eq!(
            grade(&order, &json!(["a", "b", "c"])).status,
            GradeStatus::Correct
        );
        assert_eq!(
            grade(&order, &json!(["b", "a", "c"])).status,
            GradeStatus::Incorrect
        );
        assert_eq!(
            grade(&order, &json!(["a", "b"])).status,
            GradeStatus::Incorrect
        );
    }

    #[test]
    fn code_and_free_text_wait_for_the_teacher() {
        let code = q(json!({"type": "code", "starter": "def f():\n    pass"}));
        assert_eq!(
            grade(&code, &json!("def f(): return 1")).status,
            GradeStatus::PendingReview
        );
        assert_eq!(
            grade(&code, &json!(null)).status,
            GradeStatus::PendingReview
        );
    }

    #[test]
    fn students_see_no_answer_and_a_shuffled_order() {
        let order = q(
            json!({"type": "ordering", "explanation": "secret", "items": [{"id": "a", "text": "1"}, {"id": "b", "text": "2"}, {"id": "c", "text": "3"}]}),
        );
        let view = serde_json::to_value(order.for_student(7)).expect("json");
        assert_eq!(view["items"].as_array().expect("items").len(), 3);
        assert!(view.get("explanation").is_none());
        // A reload shows the same order.
        assert_eq!(
            serde_json::to_value(order.for_student(7)).expect("json"),
            view
        );
        let single = q(json!({"type": "single_choice", "options": ["a", "b"], "correct": 1}));
        let view = serde_json::to_value(single.for_student(7)).expect("json");
        assert!(view.get("correct").is_none());
    }

    /// Audit finding 10: with two items the order shown was always the wrong one, so the
    /// answer was the other order. Over many students each order must come up about
    /// half the time.
    #[test]
    fn audit_10_ordering_questions_are_shuffled_fairly() {
        let pair = q(
            json!({"type": "ordering", "items": [{"id": "a", "text": "1"}, {"id": "b", "text": "2"}]}),
        );
        let correct_first = (0..1000)
            .filter(|student| {
                let view = serde_json::to_value(pair.for_student(*student)).expect("json");
                view["items"][0]["id"] == "a"
            })
            .count();
        assert!(
            (400..=600).contains(&correct_first),
            "the correct order was shown {correct_first} times in 1000"
        );
        let three = q(
            json!({"type": "ordering", "items": [{"id": "a", "text": "1"}, {"id": "b", "text": "2"}, {"id": "c", "text": "3"}]}),
        );
        let mut seen = std::collections::HashMap::new();
        for student in 0..6000 {
            let view = serde_json::to_value(three.for_student(student)).expect("json");
            let order: String = view["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|i| i["id"].as_str().expect("id"))
                .collect();
            *seen.entry(order).or_insert(0) += 1;
        }
        assert_eq!(seen.len(), 6, "every order must be possible: {seen:?}");
        assert!(
            seen.values().all(|n| (800..=1200).contains(n)),
            "orders not uniform: {seen:?}"
        );
    }
}
