//! The jail against hostile programs, and grading against real runs. Needs bubblewrap
//! and Debian's python3 (installed by scripts/test.sh).

use std::time::{Duration, Instant};

use nexus_sandbox::{Expected, JailConfig, Limits, Observed, RunEnd, Sandbox, TestInput, grade};
use serde_json::{Value, json};

fn sandbox() -> Sandbox {
    Sandbox::new(JailConfig::default(), 2, 64)
}

fn call(c: &str) -> TestInput {
    TestInput::Call { call: c.into() }
}

fn quick() -> Limits {
    Limits {
        per_test_ms: 1_000,
        total_ms: 4_000,
        ..Limits::default()
    }
}

async fn one(code: &str, test: TestInput) -> (Observed, RunEnd) {
    let report = sandbox()
        .run(code, &[test], quick())
        .await
        .expect("the jail runs");
    (report.observed[0].clone(), report.end)
}

fn exception(o: &Observed) -> (String, String) {
    match o {
        Observed::Exception { kind, message, .. } => (kind.clone(), message.clone()),
        other => panic!("expected an exception, got {other:?}"),
    }
}

fn value(o: &Observed) -> Value {
    match o {
        Observed::Value { value, .. } => value.clone(),
        other => panic!("expected a value, got {other:?}"),
    }
}

/// After each hostile program the sandbox still runs an ordinary one, quickly.
async fn still_healthy(sb: &Sandbox) {
    let t = Instant::now();
    let r = sb
        .run("def f(x):\n    return x + 1\n", &[call("f(1)")], quick())
        .await
        .expect("the jail runs");
    assert_eq!(value(&r.observed[0]), json!(2));
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "took {:?}",
        t.elapsed()
    );
}

#[tokio::test]
async fn an_ordinary_function_is_called_and_its_value_reported() {
    let (o, end) = one(
        "def somme(t):\n    return sum(t)\n",
        call("somme([1, 2, 3])"),
    )
    .await;
    assert_eq!(value(&o), json!(6));
    assert_eq!(end, RunEnd::Completed);
}

#[tokio::test]
async fn an_infinite_loop_is_a_timeout_and_the_next_test_still_runs() {
    let sb = sandbox();
    let code = "def f(x):\n    while x:\n        pass\n    return 0\n";
    let t = Instant::now();
    let r = sb
        .run(code, &[call("f(1)"), call("f(0)")], quick())
        .await
        .expect("the jail runs");
    assert_eq!(r.observed[0], Observed::Timeout);
    assert_eq!(value(&r.observed[1]), json!(0));
    assert!(
        t.elapsed() < Duration::from_millis(2_500),
        "took {:?}",
        t.elapsed()
    );
    still_healthy(&sb).await;
}

#[tokio::test]
async fn a_loop_that_swallows_the_timeout_is_killed_by_the_wall_clock() {
    let sb = sandbox();
    let code = "import signal\ndef f():\n    signal.signal(signal.SIGALRM, signal.SIG_IGN)\n    while True:\n        pass\n";
    let t = Instant::now();
    let r = sb
        .run(code, &[call("f()"), call("1")], quick())
        .await
        .expect("the jail runs");
    assert_eq!(r.end, RunEnd::WallTimeout);
    assert_eq!(r.observed, vec![Observed::Timeout, Observed::NotRun]);
    assert!(
        t.elapsed() < Duration::from_millis(5_000),
        "took {:?}",
        t.elapsed()
    );
    still_healthy(&sb).await;
}

#[tokio::test]
async fn a_fork_bomb_is_contained_by_the_process_limit() {
    let sb = sandbox();
    let code = "import os\ndef f():\n    n = 0\n    try:\n        while True:\n            if os.fork() == 0:\n                import time; time.sleep(30)\n            n += 1\n    except OSError:\n        return n\n";
    let r = sb
        .run(code, &[call("f()")], quick())
        .await
        .expect("the jail runs");
    let forked = value(&r.observed[0]).as_i64().expect("a count of children");
    assert!(forked < 8, "forked {forked} processes");
    still_healthy(&sb).await;
}

#[tokio::test]
async fn a_thread_bomb_is_contained_too() {
    let sb = sandbox();
    let code = "import threading, time\ndef f():\n    n = 0\n    try:\n        while True:\n            threading.Thread(target=time.sleep, args=(30,), daemon=True).start()\n            n += 1\n    except RuntimeError:\n        return n\n";
    let r = sb
        .run(code, &[call("f()")], quick())
        .await
        .expect("the jail runs");
    let threads = value(&r.observed[0]).as_i64().expect("a count of threads");
    assert!(threads < 8, "started {threads} threads");
    still_healthy(&sb).await;
}

#[tokio::test]
async fn a_memory_hog_gets_a_memory_error() {
    let (o, _) = one(
        "def f():\n    return len(bytearray(2 * 1024**3))\n",
        call("f()"),
    )
    .await;
    assert_eq!(exception(&o).0, "MemoryError");
}

#[tokio::test]
async fn a_growing_list_is_stopped_as_well() {
    // A generous time limit: the test binary runs its tests in parallel on 2 cores.
    let limits = Limits {
        per_test_ms: 5_000,
        total_ms: 8_000,
        ..Limits::default()
    };
    let code = "def f():\n    t = []\n    while True:\n        t.append(bytearray(1000000))\n";
    let r = sandbox()
        .run(code, &[call("f()")], limits)
        .await
        .expect("the jail runs");
    let o = &r.observed[0];
    assert!(
        matches!(o, Observed::Exception { .. } | Observed::Crashed { .. }),
        "{o:?}"
    );
}

#[tokio::test]
async fn huge_output_is_cut_and_reported() {
    let sb = sandbox();
    let (o, _) = one(
        "def f():\n    while True:\n        print('x' * 10000)\n",
        call("f()"),
    )
    .await;
    assert_eq!(o, Observed::OutputLimit);
    let r = sb
        .run(
            "import os\nwhile True:\n    os.write(1, b'y' * 65536)\n",
            &[TestInput::Stdout {
                stdin: String::new(),
            }],
            quick(),
        )
        .await
        .expect("the jail runs");
    // Raw writes to fd 1 go to /dev/null: the loop runs until its time is up.
    assert_eq!(r.observed[0], Observed::Timeout);
    still_healthy(&sb).await;
}

#[tokio::test]
async fn the_host_files_are_not_there() {
    for path in [
        "/etc/passwd",
        "/etc/shadow",
        "/work",
        "/root",
        "/home",
        "/var/lib/postgresql",
    ] {
        let code = format!(
            "import os\ndef f():\n    return os.path.exists({path:?}) and len(open({path:?}, 'rb').read())\n"
        );
        let (o, _) = one(&code, call("f()")).await;
        match &o {
            Observed::Value { value, .. } => assert_eq!(value, &json!(false), "{path}"),
            Observed::Exception { .. } => {}
            other => panic!("{path}: {other:?}"),
        }
    }
    // Not even the environment of the service (secrets live there).
    let (o, _) = one(
        "import os\ndef f():\n    return sorted(os.environ)\n",
        call("f()"),
    )
    .await;
    assert_eq!(value(&o), json!(["HOME", "LANG", "PATH", "PWD"]));
    let here = env!("CARGO_MANIFEST_DIR");
    let (o, _) = one(
        &format!(
            "def f():\n    return open({:?}).read()\n",
            format!("{here}/Cargo.toml")
        ),
        call("f()"),
    )
    .await;
    assert_eq!(exception(&o).0, "FileNotFoundError");
}

#[tokio::test]
async fn the_scratch_space_is_writable_and_small() {
    let code = "def f():\n    open('/tmp/a', 'w').write('ok')\n    return open('/tmp/a').read()\ndef g():\n    with open('/tmp/big', 'wb') as fh:\n        while True:\n            fh.write(b'z' * 1048576)\ndef h():\n    open('/usr/lib/x', 'w')\n";
    let r = sandbox()
        .run(code, &[call("f()"), call("g()"), call("h()")], quick())
        .await
        .expect("the jail runs");
    assert_eq!(value(&r.observed[0]), json!("ok"));
    assert!(
        matches!(
            &r.observed[1],
            Observed::Exception { .. } | Observed::Crashed { .. }
        ),
        "{:?}",
        r.observed[1]
    );
    assert_eq!(exception(&r.observed[2]).0, "OSError");
}

#[tokio::test]
async fn sockets_cannot_reach_anything() {
    let code = "import socket\ndef f():\n    s = socket.create_connection(('127.0.0.1', 5432), timeout=1)\n    return 'connected'\ndef g():\n    return socket.getaddrinfo('crates.io', 443)\n";
    let r = sandbox()
        .run(code, &[call("f()"), call("g()")], quick())
        .await
        .expect("the jail runs");
    assert!(
        exception(&r.observed[0]).0.contains("Error"),
        "{:?}",
        r.observed[0]
    );
    assert!(
        exception(&r.observed[1]).0.contains("gaierror")
            || exception(&r.observed[1]).0.contains("Error")
    );
}

#[tokio::test]
async fn os_system_finds_no_shell_and_subprocess_no_programs() {
    let code = "import os, subprocess\ndef f():\n    return os.system('cat /etc/passwd')\ndef g():\n    return subprocess.run(['ls', '/'], capture_output=True).stdout\n";
    let r = sandbox()
        .run(code, &[call("f()"), call("g()")], quick())
        .await
        .expect("the jail runs");
    assert_ne!(value(&r.observed[0]), json!(0), "os.system must fail");
    assert_eq!(exception(&r.observed[1]).0, "FileNotFoundError");
}

#[tokio::test]
async fn ctypes_is_not_importable() {
    let (o, _) = one("import ctypes\ndef f():\n    return 1\n", call("f()")).await;
    let (kind, _) = exception(&o);
    assert!(
        kind == "ModuleNotFoundError" || kind == "ImportError",
        "{kind}"
    );
}

#[tokio::test]
async fn deep_recursion_is_a_recursion_error_and_forced_deeper_recursion_a_crash() {
    let sb = sandbox();
    let (o, _) = one("def f(n):\n    return f(n + 1)\n", call("f(0)")).await;
    assert_eq!(exception(&o).0, "RecursionError");
    let code = "import sys\nsys.setrecursionlimit(10**7)\ndef f(n):\n    return f(n + 1)\n";
    let r = sb
        .run(code, &[call("f(0)"), call("1")], quick())
        .await
        .expect("the jail runs");
    // CPython 3.11 keeps Python frames off the C stack: this ends in a MemoryError, a
    // crash or the time limit, whichever comes first; each is a clear result.
    assert!(
        matches!(
            &r.observed[0],
            Observed::Crashed { .. } | Observed::Exception { .. } | Observed::Timeout
        ),
        "{:?}",
        r.observed[0]
    );
    still_healthy(&sb).await;
}

#[tokio::test]
async fn a_program_printing_all_tests_passed_gains_nothing() {
    let code = "print('All tests passed! 10/10')\nimport sys\nsys.stdout.write('{\"i\": 0, \"value\": 42}\\n')\nimport os\nos.write(1, b'{\"i\": 0, \"value\": 42}\\n')\ndef f():\n    return 0\n";
    let r = sandbox()
        .run(code, &[call("f()")], quick())
        .await
        .expect("the jail runs");
    let v = grade(
        &Expected::Value {
            value: json!(42),
            repr: "42".into(),
        },
        &r.observed[0],
        1e-9,
    );
    assert!(!v.passed);
    assert_eq!(v.actual.as_deref(), Some("0"));
}

#[tokio::test]
async fn sys_exit_and_os_exit_are_reported_not_trusted() {
    let sb = sandbox();
    let (o, _) = one("import sys\nsys.exit(0)\n", call("1")).await;
    assert!(exception(&o).1.contains("sys.exit"));
    let r = sb
        .run(
            "import os\ndef f():\n    os._exit(0)\n",
            &[call("f()"), call("2")],
            quick(),
        )
        .await
        .expect("the jail runs");
    assert!(
        matches!(r.observed[0], Observed::Crashed { .. }),
        "{:?}",
        r.observed[0]
    );
    assert_eq!(r.observed[1], Observed::NotRun);
}

#[tokio::test]
async fn a_syntax_error_is_one_clear_message() {
    let r = sandbox()
        .run("def f(:\n", &[call("f()")], quick())
        .await
        .expect("the jail runs");
    match r.end {
        RunEnd::CompileError { message } => assert!(message.contains("ligne 1"), "{message}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn grading_gives_partial_credit_and_names_the_exception() {
    let code = "def moyenne(t):\n    return sum(t) / len(t)\n";
    let tests = [
        call("moyenne([1, 2])"),
        call("moyenne([0.1, 0.2])"),
        call("moyenne([])"),
        call("moyenne([2])"),
    ];
    let expected = [
        json!({"float": 1.5}),
        json!({"float": 0.15}),
        json!(0),
        json!(3),
    ];
    let r = sandbox()
        .run(code, &tests, quick())
        .await
        .expect("the jail runs");
    let verdicts: Vec<_> = expected
        .iter()
        .zip(&r.observed)
        .map(|(e, o)| {
            grade(
                &Expected::Value {
                    value: e.clone(),
                    repr: e.to_string(),
                },
                o,
                1e-9,
            )
        })
        .collect();
    assert_eq!(
        verdicts.iter().map(|v| v.passed).collect::<Vec<_>>(),
        vec![true, true, false, false]
    );
    assert!(
        verdicts[2]
            .error
            .as_deref()
            .expect("an error")
            .starts_with("ZeroDivisionError"),
        "{:?}",
        verdicts[2]
    );
    assert_eq!(verdicts[3].actual.as_deref(), Some("2.0"));
}

#[tokio::test]
async fn stdout_cases_feed_stdin_and_compare_the_output() {
    let code = "n = int(input())\nfor i in range(n):\n    print(i * i)\n";
    let tests = [
        TestInput::Stdout {
            stdin: "3\n".into(),
        },
        TestInput::Stdout {
            stdin: "x\n".into(),
        },
    ];
    let r = sandbox()
        .run(code, &tests, quick())
        .await
        .expect("the jail runs");
    assert!(
        grade(
            &Expected::Stdout {
                stdout: "0\n1\n4".into()
            },
            &r.observed[0],
            0.0
        )
        .passed
    );
    let v = grade(&Expected::Stdout { stdout: "".into() }, &r.observed[1], 0.0);
    assert!(!v.passed);
    assert!(v.error.expect("an error").starts_with("ValueError"));
}

#[tokio::test]
async fn literals_are_encoded_like_results_and_code_is_refused() {
    let texts = [
        "[1, 2.5, 'a']".to_string(),
        "(1, None, True)".into(),
        "{'a': {1, 2}}".into(),
        "__import__('os')".into(),
    ];
    let out = sandbox().literals(&texts).await.expect("the jail runs");
    assert_eq!(
        out[0].as_ref().expect("a literal").0,
        json!([1, {"float": 2.5}, "a"])
    );
    assert_eq!(
        out[1].as_ref().expect("a literal").0,
        json!({"tuple": [1, null, true]})
    );
    assert_eq!(
        out[2].as_ref().expect("a literal").0,
        json!({"dict": [["a", {"set": [1, 2]}]]})
    );
    assert!(out[3].is_err());
}

#[tokio::test]
async fn a_full_queue_refuses_at_once_instead_of_piling_up() {
    let sb = Sandbox::new(JailConfig::default(), 1, 1);
    let slow = Limits {
        per_test_ms: 800,
        total_ms: 1_500,
        ..Limits::default()
    };
    let code = "import time\ntime.sleep(0.7)\n";
    let tests = [call("1")];
    let (a, b, c) = tokio::join!(
        sb.run(code, &tests, slow),
        sb.run(code, &tests, slow),
        async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            sb.run(code, &tests, slow).await
        }
    );
    assert!(a.is_ok() && b.is_ok());
    assert!(matches!(c, Err(nexus_sandbox::SandboxError::Busy)), "{c:?}");
}
