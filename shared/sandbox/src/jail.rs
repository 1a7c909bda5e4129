//! The jail: `prlimit` (rlimits) → `setpriv` (an unprivileged uid, when we are root) →
//! `bwrap` (namespaces, read-only runtime, tmpfs scratch) → `python3 -I -S` running
//! `harness.py`. Only safe std/tokio process APIs: the workspace forbids `unsafe`, and
//! these small util-linux tools set what a `pre_exec` hook would.

use std::os::unix::fs::MetadataExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

use crate::{Limits, Observed, RunEnd, RunReport, SandboxError};

const HARNESS: &str = include_str!("harness.py");

/// Where the runtime is, and who runs it.
#[derive(Debug, Clone)]
pub struct JailConfig {
    pub bwrap: PathBuf,
    /// Debian's interpreter (`/usr/bin/python3`): its standard library must live under
    /// `/usr/lib`, the only library tree bound into the jail.
    pub python: PathBuf,
    /// Runs get uids in `base_uid .. base_uid + 2^20` (only when the service runs as root).
    pub base_uid: u32,
    /// Size of the jail's `/tmp`, in bytes.
    pub scratch_bytes: u64,
}

impl Default for JailConfig {
    fn default() -> Self {
        Self {
            bwrap: PathBuf::from("/usr/bin/bwrap"),
            python: PathBuf::from("/usr/bin/python3"),
            base_uid: 2_000_000,
            scratch_bytes: 8 * 1024 * 1024,
        }
    }
}

fn running_as_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

/// Files of the standard library that would hand the code raw memory access (`ctypes`):
/// masked with /dev/null so `import ctypes` fails.
fn masked_modules(python: &Path) -> Vec<PathBuf> {
    let Some(name) = python.file_name().and_then(|n| n.to_str()) else {
        return Vec::new();
    };
    let dir = Path::new("/usr/lib").join(name).join("lib-dynload");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("_ctypes"))
        .map(|e| e.path())
        .collect()
}

fn command(config: &JailConfig, uid: u32, limits: &Limits) -> Result<Command, SandboxError> {
    let python = std::fs::canonicalize(&config.python)
        .map_err(|e| SandboxError::Unavailable(format!("{}: {e}", config.python.display())))?;
    let cpu_secs = limits.total_ms.div_ceil(1000) + 1;
    let mut cmd = Command::new("prlimit");
    cmd.arg(format!("--nproc={}", limits.processes))
        .arg(format!("--as={}", limits.memory_mb * 1024 * 1024))
        .arg(format!("--cpu={cpu_secs}"))
        .arg(format!("--fsize={}", config.scratch_bytes))
        .arg("--nofile=64")
        .arg("--core=0")
        .arg("--");
    if running_as_root() {
        cmd.arg("setpriv")
            .arg(format!("--reuid={uid}"))
            .arg(format!("--regid={uid}"))
            .arg("--clear-groups")
            .arg("--inh-caps=-all")
            .arg("--");
    }
    cmd.arg(&config.bwrap)
        .args([
            "--unshare-all",
            "--die-with-parent",
            "--new-session",
            "--clearenv",
        ])
        .args(["--setenv", "PATH", "/usr/bin", "--setenv", "HOME", "/tmp"])
        .args(["--setenv", "LANG", "C.UTF-8"])
        .arg("--ro-bind")
        .arg(&python)
        .arg("/usr/bin/python3")
        .args(["--ro-bind", "/usr/lib", "/usr/lib"]);
    if Path::new("/usr/lib64").is_dir() {
        cmd.args([
            "--ro-bind",
            "/usr/lib64",
            "/usr/lib64",
            "--symlink",
            "usr/lib64",
            "/lib64",
        ]);
    }
    cmd.args([
        "--symlink",
        "usr/lib",
        "/lib",
        "--proc",
        "/proc",
        "--dev",
        "/dev",
    ])
    .arg("--size")
    .arg(config.scratch_bytes.to_string())
    .args(["--tmpfs", "/tmp", "--chdir", "/tmp"]);
    for masked in masked_modules(&python) {
        cmd.arg("--ro-bind").arg("/dev/null").arg(masked);
    }
    cmd.args(["/usr/bin/python3", "-I", "-S", "-X", "utf8", "-c", HARNESS])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    Ok(cmd)
}

pub(crate) async fn run(
    config: &JailConfig,
    uid: u32,
    mut payload: Value,
    tests: usize,
    limits: Limits,
) -> Result<RunReport, SandboxError> {
    let started = Instant::now();
    let deadline = started + Duration::from_millis(limits.total_ms);
    let nonce = format!("@{}@", uuid::Uuid::new_v4().simple());
    payload["nonce"] = nonce.clone().into();
    payload["output_bytes"] = limits.output_bytes.into();

    let mut jail = Jail::start(config, uid, &limits, &payload).await?;
    let (out, cut) = jail
        .read_output(
            deadline,
            (limits.output_bytes + 4096) * (tests + 1) + 65_536,
        )
        .await;
    let status = jail.finish(deadline, cut).await;
    let stderr_text = jail.errors.await.unwrap_or_default();
    let mut lines = Lines::parse(&out, &nonce, tests);
    let end = match (status, lines.compile_error.take()) {
        (Err(end), _) => end,
        (Ok(_), Some(message)) => RunEnd::CompileError { message },
        (Ok(s), None) if s.success() && lines.results.iter().all(Option::is_some) => {
            RunEnd::Completed
        }
        (Ok(s), None) => {
            if lines.never_started(tests) && !s.success() && tool_failed(&stderr_text) {
                return Err(SandboxError::Unavailable(stderr_text.trim().to_string()));
            }
            RunEnd::Died {
                detail: describe(s),
            }
        }
    };
    Ok(RunReport {
        observed: lines.observed(&end),
        end,
        elapsed_ms: started.elapsed().as_millis() as u64,
    })
}

/// A jail running: its process, its output, and a task reading the first 4 KiB of its
/// errors (the rest is drained so it never blocks on a full pipe).
struct Jail {
    child: tokio::process::Child,
    stdout: tokio::process::ChildStdout,
    errors: tokio::task::JoinHandle<String>,
}

impl Jail {
    /// Spawns the jail and hands the harness its one line of input.
    async fn start(
        config: &JailConfig,
        uid: u32,
        limits: &Limits,
        payload: &Value,
    ) -> Result<Self, SandboxError> {
        let mut child = command(config, uid, limits)?
            .spawn()
            .map_err(|e| SandboxError::Unavailable(format!("spawn: {e}")))?;
        let mut stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut stderr = child.stderr.take().expect("piped stderr");
        let mut line = serde_json::to_vec(payload).expect("payload serialises");
        line.push(b'\n');
        // The harness reads its line before anything else; a write error means it died
        // early (reported from its exit status).
        let _ = stdin.write_all(&line).await;
        drop(stdin);
        let errors = tokio::spawn(async move {
            let mut buf = Vec::new();
            let _ = (&mut stderr).take(4096).read_to_end(&mut buf).await;
            let _ = tokio::io::copy(&mut stderr, &mut tokio::io::sink()).await;
            String::from_utf8_lossy(&buf).into_owned()
        });
        Ok(Self {
            child,
            stdout,
            errors,
        })
    }

    /// Reads the jail's output until it closes, the deadline passes or it exceeds `cap`
    /// bytes; in the last two cases, why it was cut.
    async fn read_output(&mut self, deadline: Instant, cap: usize) -> (Vec<u8>, Option<RunEnd>) {
        let mut out = Vec::new();
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.stdout.read(&mut chunk)).await {
                Err(_) => return (out, Some(RunEnd::WallTimeout)),
                Ok(Ok(0)) | Ok(Err(_)) => return (out, None),
                Ok(Ok(n)) => {
                    out.extend_from_slice(&chunk[..n]);
                    if out.len() > cap {
                        return (out, Some(RunEnd::OutputLimit));
                    }
                }
            }
        }
    }

    /// Kills a jail that was cut; otherwise waits for its exit (until the deadline, plus
    /// 200 ms for the exit itself). Killing bwrap kills the jail's PID 1
    /// (--die-with-parent), which takes every process of the namespace with it. Its exit
    /// status, or why the run ended without one.
    async fn finish(
        &mut self,
        deadline: Instant,
        cut: Option<RunEnd>,
    ) -> Result<std::process::ExitStatus, RunEnd> {
        if let Some(end) = cut {
            let _ = self.child.kill().await;
            return Err(end);
        }
        let left = deadline.saturating_duration_since(Instant::now()) + Duration::from_millis(200);
        match tokio::time::timeout(left, self.child.wait()).await {
            Ok(Ok(status)) => Ok(status),
            _ => {
                let _ = self.child.kill().await;
                Err(RunEnd::WallTimeout)
            }
        }
    }
}

/// The harness's lines, read from the jail's output: only those that start with the
/// run's nonce (the student's code cannot forge them), one result per test at most.
struct Lines {
    results: Vec<Option<Value>>,
    started: Vec<bool>,
    compile_error: Option<String>,
}

impl Lines {
    fn parse(out: &[u8], nonce: &str, tests: usize) -> Self {
        let mut lines = Self {
            results: vec![None; tests],
            started: vec![false; tests],
            compile_error: None,
        };
        for raw in String::from_utf8_lossy(out).lines() {
            let Some(json) = raw.strip_prefix(nonce) else {
                continue;
            };
            let Ok(v) = serde_json::from_str::<Value>(json) else {
                continue;
            };
            if let Some(msg) = v.get("compile_error").and_then(Value::as_str) {
                lines.compile_error = Some(msg.to_string());
                continue;
            }
            let Some(i) = v.get("i").and_then(Value::as_u64).map(|i| i as usize) else {
                continue;
            };
            if i >= tests {
                continue;
            }
            if v.get("started").is_some() {
                lines.started[i] = true;
            } else if lines.results[i].is_none() {
                lines.results[i] = Some(v);
            }
        }
        lines
    }

    /// Nothing of the harness ran: no test started or answered.
    fn never_started(&self, tests: usize) -> bool {
        tests > 0 && !self.started[0] && self.results.iter().all(Option::is_none)
    }

    /// What each test did; a test without a result was cut by the run's end.
    fn observed(self, end: &RunEnd) -> Vec<Observed> {
        self.results
            .into_iter()
            .zip(self.started)
            .map(|(result, started)| match result {
                Some(v) => observed_of(v),
                None if !started => Observed::NotRun,
                None => match end {
                    RunEnd::WallTimeout => Observed::Timeout,
                    RunEnd::OutputLimit => Observed::OutputLimit,
                    RunEnd::Died { detail } => Observed::Crashed {
                        detail: detail.clone(),
                    },
                    _ => Observed::NotRun,
                },
            })
            .collect()
    }
}

/// The jail's own tools said why they could not start it (the machine, not the code).
fn tool_failed(stderr: &str) -> bool {
    ["bwrap", "setpriv", "prlimit"]
        .iter()
        .any(|tool| stderr.contains(tool))
}

fn describe(status: std::process::ExitStatus) -> String {
    match (status.code(), status.signal()) {
        // bwrap reports a child killed by signal N as 128 + N.
        (Some(code), _) if code > 128 => signal_name(code - 128),
        (Some(code), _) => format!("le programme s'est arrêté (code {code})"),
        (None, Some(sig)) => signal_name(sig),
        _ => "le programme s'est arrêté".into(),
    }
}

fn signal_name(sig: i32) -> String {
    match sig {
        9 => "tué (limite de ressources)".into(),
        11 => "erreur de segmentation (récursion trop profonde ?)".into(),
        24 => "temps de calcul dépassé".into(),
        25 => "fichier trop gros".into(),
        _ => format!("tué par le signal {sig}"),
    }
}

fn text(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn observed_of(v: Value) -> Observed {
    match v.get("error").and_then(Value::as_str) {
        Some("timeout") => Observed::Timeout,
        Some("output_limit") => Observed::OutputLimit,
        Some(_) => Observed::Exception {
            kind: text(&v, "type"),
            message: text(&v, "message"),
            stdout: text(&v, "stdout"),
        },
        None if v.get("value").is_some() => Observed::Value {
            repr: text(&v, "repr"),
            stdout: text(&v, "stdout"),
            value: v["value"].clone(),
        },
        None => Observed::Stdout {
            stdout: text(&v, "stdout"),
        },
    }
}
