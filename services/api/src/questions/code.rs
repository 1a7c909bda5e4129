//! Code questions that run (what they are and the checks of their settings:
//! `mod.rs`): a teacher's tests (visible and hidden) evaluated, the student's "run
//! against the visible tests", and grading on submit. The code runs in the jail of
//! `nexus-sandbox`; expected values stay here and are compared here (docs/SANDBOX.md).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use nexus_sandbox::{Expected, JailConfig, Limits, RunEnd, Sandbox, SandboxError, TestInput};
use nexus_web::ApiError;
use serde_json::Value;

use super::{CodeTest, GradeStatus, Question, QuestionGrade, QuestionKind, TestResult, round2};
use crate::validate::Validator;

/// What a code question holds for running.
pub struct CodeSpec<'a> {
    pub tests: &'a [CodeTest],
    pub reference: Option<&'a str>,
    pub limits: Limits,
    pub tolerance: f64,
}

pub fn spec(question: &Question) -> Option<CodeSpec<'_>> {
    let QuestionKind::Code {
        tests,
        reference,
        time_limit_ms,
        memory_mb,
        tolerance,
        ..
    } = &question.kind
    else {
        return None;
    };
    if tests.is_empty() {
        return None;
    }
    let per_test_ms = time_limit_ms.unwrap_or(2_000).clamp(100, 5_000);
    let limits = Limits {
        per_test_ms,
        total_ms: nexus_sandbox::total_budget(per_test_ms, tests.len())
            .as_millis()
            .min(60_000) as u64,
        memory_mb: memory_mb.unwrap_or(256).clamp(64, 512),
        ..Limits::default()
    };
    Some(CodeSpec {
        tests,
        reference: reference.as_deref(),
        limits,
        tolerance: tolerance.unwrap_or(1e-6),
    })
}

/// A teacher's expected literal, evaluated: the encoded value and its `repr`, or why not.
type Literal = Result<(Value, String), String>;

/// The sandbox and a cache of the teachers' expected literals, evaluated once.
#[derive(Clone)]
pub struct CodeRunner {
    sandbox: Sandbox,
    literals: Arc<Mutex<HashMap<String, Literal>>>,
}

impl CodeRunner {
    /// As many jails at once as cores (a jail is CPU-bound), 256 waiting at most.
    pub fn new() -> Self {
        let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self {
            sandbox: Sandbox::new(JailConfig::default(), workers, 256),
            literals: Arc::default(),
        }
    }

    async fn expected(
        &self,
        tests: &[CodeTest],
    ) -> Result<Vec<Result<Expected, String>>, SandboxError> {
        let missing: Vec<String> = {
            let cache = self
                .literals
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            tests
                .iter()
                .filter(|t| t.call.is_some() && !cache.contains_key(&t.expected))
                .map(|t| t.expected.clone())
                .collect()
        };
        if !missing.is_empty() {
            let parsed = self.sandbox.literals(&missing).await?;
            let mut cache = self
                .literals
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if cache.len() > 10_000 {
                cache.clear();
            }
            for (text, value) in missing.into_iter().zip(parsed) {
                cache.insert(text, value);
            }
        }
        let cache = self
            .literals
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Ok(tests
            .iter()
            .map(|t| {
                if t.call.is_none() {
                    return Ok(Expected::Stdout {
                        stdout: t.expected.clone(),
                    });
                }
                match cache.get(&t.expected) {
                    Some(Ok((value, repr))) => Ok(Expected::Value {
                        value: value.clone(),
                        repr: repr.clone(),
                    }),
                    Some(Err(e)) => Err(e.clone()),
                    None => Err("valeur attendue illisible".into()),
                }
            })
            .collect())
    }

    /// Runs `code` against the tests (`visible_only`: the student's "Exécuter").
    pub async fn run(
        &self,
        spec: &CodeSpec<'_>,
        code: &str,
        visible_only: bool,
    ) -> Result<Vec<TestResult>, SandboxError> {
        let tests: Vec<&CodeTest> = spec
            .tests
            .iter()
            .filter(|t| !(visible_only && t.hidden))
            .collect();
        let owned: Vec<CodeTest> = tests.iter().map(|t| (*t).clone()).collect();
        let expected = self.expected(&owned).await?;
        let inputs: Vec<TestInput> = owned
            .iter()
            .map(|t| match (&t.call, &t.stdin) {
                (Some(call), _) => TestInput::Call { call: call.clone() },
                (None, stdin) => TestInput::Stdout {
                    stdin: stdin.clone().unwrap_or_default(),
                },
            })
            .collect();
        let report = self.sandbox.run(code, &inputs, spec.limits).await?;
        let compile_error = match &report.end {
            RunEnd::CompileError { message } => Some(message.clone()),
            _ => None,
        };
        let mut hidden_number = 0;
        Ok(owned
            .iter()
            .zip(expected)
            .zip(&report.observed)
            .map(|((test, expected), observed)| {
                let verdict = match (&compile_error, &expected) {
                    (Some(message), _) => nexus_sandbox::TestVerdict {
                        passed: false,
                        actual: None,
                        error: Some(message.clone()),
                    },
                    (None, Ok(expected)) => {
                        nexus_sandbox::grade(expected, observed, spec.tolerance)
                    }
                    (None, Err(e)) => nexus_sandbox::TestVerdict {
                        passed: false,
                        actual: None,
                        error: Some(format!("test invalide : {e}")),
                    },
                };
                let points = if verdict.passed { test.points } else { 0.0 };
                if test.hidden {
                    hidden_number += 1;
                    TestResult {
                        name: format!("Test caché {hidden_number}"),
                        hidden: true,
                        passed: verdict.passed,
                        points,
                        max_points: test.points,
                        call: None,
                        expected: None,
                        actual: None,
                        error: None,
                    }
                } else {
                    TestResult {
                        name: test.name.clone(),
                        hidden: false,
                        passed: verdict.passed,
                        points,
                        max_points: test.points,
                        call: test.call.clone(),
                        expected: Some(test.expected.clone()),
                        actual: verdict.actual,
                        error: verdict.error,
                    }
                }
            })
            .collect())
    }

    /// The grade of an answer to a code question with tests: the question's points in
    /// proportion to the points of the tests passed.
    pub async fn grade(
        &self,
        question: &Question,
        spec: &CodeSpec<'_>,
        answer: &Value,
    ) -> QuestionGrade {
        let code = answer.as_str().unwrap_or_default();
        let mut grade = QuestionGrade {
            points: 0.0,
            max_points: question.points,
            status: GradeStatus::Unanswered,
            feedback: None,
            tests: None,
        };
        if code.trim().is_empty() {
            return grade;
        }
        match self.run(spec, code, false).await {
            Ok(results) => {
                let total: f64 = results.iter().map(|r| r.max_points).sum();
                let earned: f64 = results.iter().map(|r| r.points).sum();
                let share = if total > 0.0 { earned / total } else { 0.0 };
                grade.points = round2(question.points * share);
                grade.status = if share >= 1.0 {
                    GradeStatus::Correct
                } else if share > 0.0 {
                    GradeStatus::Partial
                } else {
                    GradeStatus::Incorrect
                };
                grade.tests = Some(results);
            }
            Err(error) => {
                // The submission is kept: the teacher grades it by hand.
                tracing::warn!(%error, question = %question.id, "automatic grading unavailable");
                grade.status = GradeStatus::PendingReview;
                grade.feedback = Some(
                    "Correction automatique indisponible : votre enseignant corrigera ce code."
                        .into(),
                );
            }
        }
        grade
    }
}

impl Default for CodeRunner {
    fn default() -> Self {
        Self::new()
    }
}

/// Keeps `results` as the latest run of `question_id` in the attempt, for ARIA. Only
/// visible tests are stored (a hidden one is dropped even if a caller passed it). A run
/// that started before the stored one (two runs racing) does not replace it.
#[tracing::instrument(skip_all)]
pub async fn store_latest_run(
    pool: &sqlx::PgPool,
    attempt_id: i64,
    question_id: &str,
    code: &str,
    results: &[TestResult],
    started: chrono::DateTime<chrono::Utc>,
) -> sqlx::Result<()> {
    let visible: Vec<&TestResult> = results.iter().filter(|r| !r.hidden).collect();
    sqlx::query(
        "insert into code_runs (attempt_id, question_id, code, results, ran_at)
         values ($1, $2, $3, $4, $5)
         on conflict (attempt_id, question_id) do update
            set code = excluded.code, results = excluded.results, ran_at = excluded.ran_at
          where code_runs.ran_at <= excluded.ran_at",
    )
    .bind(attempt_id)
    .bind(question_id)
    .bind(code)
    .bind(sqlx::types::Json(visible))
    .bind(started)
    .execute(pool)
    .await?;
    Ok(())
}

/// The sandbox errors as the API says them.
pub fn api_error(error: SandboxError) -> ApiError {
    match error {
        SandboxError::Busy => ApiError::too_many_requests(5),
        SandboxError::Unavailable(cause) => {
            tracing::error!(%cause, "the sandbox cannot run");
            ApiError::unavailable("sandbox")
        }
    }
}

/// At save time: expected values must be Python literals, and a reference solution must
/// pass every test (422 naming the first one it fails).
pub async fn check_questions(runner: &CodeRunner, questions: &[Question]) -> Result<(), ApiError> {
    let mut v = Validator::new();
    for question in questions {
        let Some(spec) = spec(question) else { continue };
        let label = format!("Question {:.30}", question.id);
        let expected = runner.expected(spec.tests).await.map_err(api_error)?;
        if let Some((test, Err(e))) = spec.tests.iter().zip(&expected).find(|(_, e)| e.is_err()) {
            v.fail(
                "questions",
                format!("{label}, test « {:.40} » : {e}", test.name),
            );
            continue;
        }
        if let Some(reference) = spec.reference {
            let results = runner
                .run(&spec, reference, false)
                .await
                .map_err(api_error)?;
            if let Some((test, result)) = spec.tests.iter().zip(&results).find(|(_, r)| !r.passed) {
                let why = match (&result.error, &result.actual) {
                    (Some(error), _) => error.clone(),
                    (None, Some(actual)) => {
                        format!("attendu {:.100}, obtenu {actual:.100}", test.expected)
                    }
                    (None, None) => "échec".into(),
                };
                v.fail(
                    "questions",
                    format!(
                        "{label} : la solution de référence échoue au test « {:.40} » ({why}).",
                        test.name
                    ),
                );
            }
        }
    }
    v.finish()
}
