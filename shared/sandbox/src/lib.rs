//! Running students' Python safely, and grading what it did.
//!
//! Untrusted code runs in a bubblewrap jail (see `docs/SANDBOX.md` for the threat model):
//! no network, no file of the host but the Python runtime (read-only), a small tmpfs as
//! scratch space, its own PID namespace, an unprivileged uid per worker slot, and rlimits
//! on CPU, memory, file size, open files and processes, with a wall-clock kill on top.
//!
//! Jobs go through a bounded queue: at most `workers` jails run at once, at most
//! `max_queued` jobs wait, and any more are refused at once ([`SandboxError::Busy`]) so a
//! class submitting together never piles work onto the server without limit.
//!
//! The jail only ever receives the code and the test *inputs*. It reports what the code
//! produced; [`grade`] compares that with the expected values outside the jail, so a
//! program printing "all tests passed" (or forging the harness's lines) gains nothing.

mod grade;
mod jail;

use std::collections::HashSet;
use std::sync::{
    Arc, Mutex,
    atomic::{AtomicUsize, Ordering},
};
use std::time::Duration;

pub use grade::{Expected, TestVerdict, compare_stdout, compare_values, grade};
pub use jail::JailConfig;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::Semaphore;

/// Bounds of one run. The defaults suit a NSI exercise: small programs, small inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Time one test may take (wall clock; a test over it is a timeout, the next runs).
    pub per_test_ms: u64,
    /// Wall-clock budget of the whole run (all tests); the jail is killed past it.
    pub total_ms: u64,
    /// Address space of the jailed process (RLIMIT_AS), in MiB.
    pub memory_mb: u64,
    /// What the code may print per test, in bytes.
    pub output_bytes: usize,
    /// Processes and threads the jail may hold (RLIMIT_NPROC of its own uid).
    pub processes: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            per_test_ms: 2_000,
            total_ms: 10_000,
            memory_mb: 256,
            output_bytes: 64 * 1024,
            processes: 8,
        }
    }
}

/// One test's input: a Python expression evaluated after the code has run as a module
/// (`somme([1, 2])`), or a whole-program run with a given stdin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TestInput {
    Call { call: String },
    Stdout { stdin: String },
}

/// What one test did inside the jail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Observed {
    /// The call returned: its value (encoded, see `harness.py`) and `repr`.
    Value {
        value: Value,
        repr: String,
        stdout: String,
    },
    /// The program ran to its end (stdout cases).
    Stdout { stdout: String },
    /// An exception escaped: its type and message.
    Exception {
        kind: String,
        message: String,
        stdout: String,
    },
    /// Over the per-test time, or the run was killed while this test ran.
    Timeout,
    /// Printed more than the limit.
    OutputLimit,
    /// The process died during this test (memory, crash, `os._exit`).
    Crashed { detail: String },
    /// The run ended before this test started.
    NotRun,
}

/// How the run as a whole ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "end", rename_all = "snake_case")]
pub enum RunEnd {
    Completed,
    /// Killed by the wall clock.
    WallTimeout,
    /// Wrote more than the channel allows in total.
    OutputLimit,
    /// Exited or was killed before reporting every test.
    Died {
        detail: String,
    },
    /// The code does not compile; no test ran.
    CompileError {
        message: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    pub observed: Vec<Observed>,
    pub end: RunEnd,
    pub elapsed_ms: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// Too many jobs queued: the caller should say "try again in a moment".
    #[error("the sandbox queue is full")]
    Busy,
    /// The jail could not be started (bubblewrap or python3 missing, namespaces refused).
    #[error("the sandbox cannot run: {0}")]
    Unavailable(String),
}

/// The sandbox service: a bounded queue in front of the jail.
#[derive(Clone)]
pub struct Sandbox {
    inner: Arc<Inner>,
}

struct Inner {
    config: JailConfig,
    slots: Semaphore,
    waiting: AtomicUsize,
    max_queued: usize,
}

/// How many uids runs are spread over (from `JailConfig::base_uid`).
const UID_RANGE: u32 = 1 << 20;

/// Uids of the runs in progress in this process.
static UIDS_IN_USE: Mutex<Option<HashSet<u32>>> = Mutex::new(None);

/// A uid of its own for one run: RLIMIT_NPROC counts the processes of a uid across the
/// whole machine, so two runs (or two API instances, or a run and the leftovers of a
/// killed one) sharing a uid would share one budget. Drawn at random in a range no
/// account uses, unique within this process.
struct RunUid {
    uid: u32,
}

impl RunUid {
    fn draw(base: u32) -> Self {
        let mut in_use = UIDS_IN_USE
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let in_use = in_use.get_or_insert_with(HashSet::new);
        loop {
            let bytes = uuid::Uuid::new_v4().into_bytes();
            let uid =
                base + u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) % UID_RANGE;
            if in_use.insert(uid) {
                return Self { uid };
            }
        }
    }
}

impl Drop for RunUid {
    fn drop(&mut self) {
        let mut in_use = UIDS_IN_USE
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(in_use) = in_use.as_mut() {
            in_use.remove(&self.uid);
        }
    }
}

impl Sandbox {
    /// `workers` jails at once (the number of cores is right: a jail is CPU-bound), at
    /// most `max_queued` waiting.
    pub fn new(config: JailConfig, workers: usize, max_queued: usize) -> Self {
        let workers = workers.max(1);
        Self {
            inner: Arc::new(Inner {
                config,
                slots: Semaphore::new(workers),
                waiting: AtomicUsize::new(0),
                max_queued,
            }),
        }
    }

    /// Jobs waiting for a slot now (for metrics and tests).
    pub fn queued(&self) -> usize {
        self.inner.waiting.load(Ordering::Relaxed)
    }

    /// Runs `code` against the tests' inputs.
    pub async fn run(
        &self,
        code: &str,
        tests: &[TestInput],
        limits: Limits,
    ) -> Result<RunReport, SandboxError> {
        let payload = serde_json::json!({
            "mode": "tests",
            "code": code,
            "tests": tests,
            "per_test_ms": limits.per_test_ms,
        });
        let _permit = self.acquire().await?;
        let uid = RunUid::draw(self.inner.config.base_uid);
        jail::run(&self.inner.config, uid.uid, payload, tests.len(), limits).await
    }

    /// Evaluates Python literals (`[1, 2.5, "a"]`, `(1, None)`) into the encoding the
    /// harness uses for values, so expected values compare structurally with actual ones.
    /// Runs in the jail too: the text comes from a teacher, but parsing stays out of the
    /// server's process. Each entry is the value or a French error.
    pub async fn literals(
        &self,
        texts: &[String],
    ) -> Result<Vec<Result<(Value, String), String>>, SandboxError> {
        let payload = serde_json::json!({ "mode": "literals", "literals": texts });
        let limits = Limits {
            total_ms: 5_000,
            ..Limits::default()
        };
        let _permit = self.acquire().await?;
        let uid = RunUid::draw(self.inner.config.base_uid);
        let report = jail::run(&self.inner.config, uid.uid, payload, texts.len(), limits).await?;
        Ok(report
            .observed
            .into_iter()
            .map(|o| match o {
                Observed::Value { value, repr, .. } => Ok((value, repr)),
                Observed::Exception { kind, .. } => Err(format!(
                    "pas une valeur littérale Python ({kind}) : écrivez par exemple 42, 3.5, \"texte\", [1, 2] ou (1, 'a')"
                )),
                _ => Err("valeur attendue illisible".to_string()),
            })
            .collect())
    }

    async fn acquire(&self) -> Result<tokio::sync::SemaphorePermit<'_>, SandboxError> {
        let inner = &self.inner;
        if inner.waiting.fetch_add(1, Ordering::AcqRel) >= inner.max_queued {
            inner.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(SandboxError::Busy);
        }
        let permit = inner.slots.acquire().await;
        inner.waiting.fetch_sub(1, Ordering::AcqRel);
        permit.map_err(|_| SandboxError::Unavailable("closed".into()))
    }
}

/// Default wall budget for `n` tests with these per-test limits: every test at its limit,
/// plus the start of the interpreter.
pub fn total_budget(per_test_ms: u64, tests: usize) -> Duration {
    Duration::from_millis(per_test_ms.saturating_mul(tests as u64 + 1) + 1_000)
}
