//! Benchmark of the sandbox (scripts/bench-sandbox.sh): the cost of one jail start, and
//! 35 simultaneous submissions of a 10-test exercise through the bounded queue.

use std::time::Instant;

use nexus_sandbox::{JailConfig, Limits, Sandbox, TestInput};

const SOLUTION: &str = "def tri_insertion(t):\n    t = list(t)\n    for i in range(1, len(t)):\n        x = t[i]\n        j = i - 1\n        while j >= 0 and t[j] > x:\n            t[j + 1] = t[j]\n            j -= 1\n        t[j + 1] = x\n    return t\n";

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx]
}

fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

#[tokio::main]
async fn main() {
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let submissions: usize = std::env::var("SUBMISSIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(35);
    let sandbox = Sandbox::new(JailConfig::default(), workers, 256);
    let limits = Limits::default();

    // One jail start: a run of one trivial test, sequentially.
    let trivial = [TestInput::Call { call: "1".into() }];
    let mut starts = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        let r = sandbox.run("", &trivial, limits).await.expect("jail runs");
        assert!(matches!(r.end, nexus_sandbox::RunEnd::Completed), "{r:?}");
        starts.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    starts.sort_by(f64::total_cmp);
    let rss = sandbox
        .run(
            "",
            &[TestInput::Call {
                call: "__import__('resource').getrusage(0).ru_maxrss".into(),
            }],
            limits,
        )
        .await
        .expect("jail runs");

    // 35 submissions at once, 10 tests each (lists of up to 300 items to sort).
    let tests: Vec<TestInput> = (0..10)
        .map(|i| TestInput::Call {
            call: format!("tri_insertion(list(range({}, 0, -1)))", 30 * (i + 1)),
        })
        .collect();
    let started = Instant::now();
    let runs = (0..submissions).map(|_| {
        let sandbox = sandbox.clone();
        let tests = tests.clone();
        tokio::spawn(async move {
            let t = Instant::now();
            let r = sandbox
                .run(SOLUTION, &tests, limits)
                .await
                .expect("jail runs");
            assert!(matches!(r.end, nexus_sandbox::RunEnd::Completed), "{r:?}");
            assert!(
                r.observed
                    .iter()
                    .all(|o| matches!(o, nexus_sandbox::Observed::Value { .. }))
            );
            t.elapsed().as_secs_f64() * 1000.0
        })
    });
    let mut times = Vec::new();
    for run in runs.collect::<Vec<_>>() {
        times.push(run.await.expect("task"));
    }
    let total = started.elapsed().as_secs_f64() * 1000.0;
    times.sort_by(f64::total_cmp);

    println!("workers (jails at once): {workers}");
    println!(
        "one jail start (1 trivial test, sequential, 20 runs): p50 {:.1} ms, p95 {:.1} ms",
        percentile(&starts, 0.5),
        percentile(&starts, 0.95)
    );
    match &rss.observed[0] {
        nexus_sandbox::Observed::Value { repr, .. } => {
            println!("peak RSS of one jailed python: {repr} KiB")
        }
        other => println!("peak RSS of one jailed python: unknown ({other:?})"),
    }
    println!("{submissions} simultaneous submissions x 10 tests: last result after {total:.0} ms");
    println!(
        "per submission (queue wait included): p50 {:.0} ms, p95 {:.0} ms, max {:.0} ms",
        percentile(&times, 0.5),
        percentile(&times, 0.95),
        times[times.len() - 1]
    );
    println!(
        "peak RSS of the server side (this process): {} KiB",
        vm_hwm_kib()
    );
}
