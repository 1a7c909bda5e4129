//! Comparing what the jail observed with what the teacher expects. Runs in the server:
//! the expected values never enter the jail.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Observed;

/// What a test expects: a value (encoded like the harness encodes results) with the
/// teacher's text for display, or the exact output of a whole program.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Expected {
    Value { value: Value, repr: String },
    Stdout { stdout: String },
}

/// The verdict on one test, in words a student reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestVerdict {
    pub passed: bool,
    /// What the code produced (`repr` of the value, or its output), if it produced one.
    pub actual: Option<String>,
    /// Why it did not pass when it is not a wrong value: exception, timeout, crash.
    pub error: Option<String>,
}

pub fn grade(expected: &Expected, observed: &Observed, tolerance: f64) -> TestVerdict {
    let fail = |error: String| TestVerdict {
        passed: false,
        actual: None,
        error: Some(error),
    };
    match observed {
        Observed::Value { value, repr, .. } => match expected {
            Expected::Value { value: want, .. } => TestVerdict {
                passed: compare_values(want, value, tolerance),
                actual: Some(repr.clone()),
                error: None,
            },
            Expected::Stdout { .. } => fail("résultat inattendu".into()),
        },
        Observed::Stdout { stdout } => match expected {
            Expected::Stdout { stdout: want } => TestVerdict {
                passed: compare_stdout(want, stdout),
                actual: Some(truncate(stdout, 2000)),
                error: None,
            },
            Expected::Value { .. } => fail("résultat inattendu".into()),
        },
        Observed::Exception { kind, message, .. } if message.is_empty() => fail(kind.clone()),
        Observed::Exception { kind, message, .. } => fail(format!("{kind} : {message}")),
        Observed::Timeout => fail("temps dépassé (boucle infinie ?)".into()),
        Observed::OutputLimit => fail("trop d'affichage (sortie limitée)".into()),
        Observed::Crashed { detail } => fail(format!("le programme s'est arrêté : {detail}")),
        Observed::NotRun => fail("test non exécuté (le programme s'est arrêté avant)".into()),
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// Output compared line by line, ignoring `\r`, trailing spaces and final blank lines.
pub fn compare_stdout(expected: &str, actual: &str) -> bool {
    fn norm(s: &str) -> Vec<&str> {
        let mut lines: Vec<&str> = s.lines().map(|l| l.trim_end()).collect();
        while lines.last().is_some_and(|l| l.is_empty()) {
            lines.pop();
        }
        lines
    }
    norm(expected) == norm(actual)
}

/// A number of the encoding: a JSON number, `{"float": x}` (or "nan"/"inf"), `{"int": "…"}`.
fn number(v: &Value) -> Option<(f64, bool)> {
    match v {
        Value::Number(n) => n.as_f64().map(|x| (x, false)),
        Value::Object(o) if o.len() == 1 => match o.get("float") {
            Some(Value::Number(n)) => n.as_f64().map(|x| (x, true)),
            Some(Value::String(s)) => s.parse::<f64>().ok().map(|x| (x, true)),
            _ => None,
        },
        _ => None,
    }
}

fn tagged<'a>(v: &'a Value, tag: &str) -> Option<&'a Value> {
    v.as_object()
        .filter(|o| o.len() == 1)
        .and_then(|o| o.get(tag))
}

/// Python equality on the encoded values, floats within `tolerance` (absolute, or
/// relative for large values); `True` is not `1`, a list is not a tuple.
pub fn compare_values(expected: &Value, actual: &Value, tolerance: f64) -> bool {
    if let (Some((a, af)), Some((b, bf))) = (number(expected), number(actual)) {
        if !(af || bf) {
            return expected == actual;
        }
        if a.is_nan() || b.is_nan() {
            return a.is_nan() && b.is_nan();
        }
        if a == b {
            return true;
        }
        let diff = (a - b).abs();
        return diff <= tolerance || diff <= tolerance * a.abs().max(b.abs());
    }
    if let (Some(a), Some(b)) = (tagged(expected, "int"), tagged(actual, "int")) {
        return a == b;
    }
    for tag in ["tuple", "repr"] {
        if let (Some(a), Some(b)) = (tagged(expected, tag), tagged(actual, tag)) {
            return compare_values(a, b, tolerance);
        }
    }
    if let (Some(Value::Array(a)), Some(Value::Array(b))) =
        (tagged(expected, "set"), tagged(actual, "set"))
    {
        return unordered(a, b, |x, y| compare_values(x, y, tolerance));
    }
    if let (Some(Value::Array(a)), Some(Value::Array(b))) =
        (tagged(expected, "dict"), tagged(actual, "dict"))
    {
        return unordered(a, b, |x, y| match (x.as_array(), y.as_array()) {
            (Some(x), Some(y)) if x.len() == 2 && y.len() == 2 => {
                compare_values(&x[0], &y[0], 0.0) && compare_values(&x[1], &y[1], tolerance)
            }
            _ => false,
        });
    }
    match (expected, actual) {
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len()
                && a.iter()
                    .zip(b)
                    .all(|(x, y)| compare_values(x, y, tolerance))
        }
        (Value::Object(_), _) | (_, Value::Object(_)) => false,
        _ => expected == actual,
    }
}

/// Same elements in any order (each actual element used once).
fn unordered(a: &[Value], b: &[Value], eq: impl Fn(&Value, &Value) -> bool) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut used = vec![false; b.len()];
    a.iter()
        .all(|x| match (0..b.len()).find(|&j| !used[j] && eq(x, &b[j])) {
            Some(j) => {
                used[j] = true;
                true
            }
            None => false,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn floats_compare_within_the_tolerance_and_ints_exactly() {
        assert!(compare_values(
            &json!({"float": 0.3}),
            &json!({"float": 0.30000000000000004}),
            1e-9
        ));
        assert!(!compare_values(
            &json!({"float": 0.3}),
            &json!({"float": 0.31}),
            1e-6
        ));
        assert!(compare_values(&json!(2), &json!({"float": 2.0}), 1e-9));
        assert!(
            !compare_values(&json!(2), &json!(3), 1e9),
            "ints ignore the tolerance"
        );
        assert!(
            !compare_values(&json!(true), &json!(1), 0.0),
            "True is not 1 for grading"
        );
    }

    #[test]
    fn containers_follow_python_equality() {
        assert!(!compare_values(
            &json!([1, 2]),
            &json!({"tuple": [1, 2]}),
            0.0
        ));
        assert!(compare_values(
            &json!({"set": [1, 2, 3]}),
            &json!({"set": [3, 1, 2]}),
            0.0
        ));
        assert!(compare_values(
            &json!({"dict": [["a", 1], ["b", 2]]}),
            &json!({"dict": [["b", 2], ["a", 1]]}),
            0.0
        ));
        assert!(!compare_values(
            &json!({"dict": [["a", 1]]}),
            &json!({"dict": [["a", 2]]}),
            0.0
        ));
        assert!(!compare_values(&json!([1, 2]), &json!([1, 2, 3]), 0.0));
    }

    #[test]
    fn outputs_ignore_trailing_spaces_and_final_blank_lines_only() {
        assert!(compare_stdout("1\n2\n", "1  \r\n2\n\n"));
        assert!(!compare_stdout("1\n2\n", "2\n1\n"));
        assert!(!compare_stdout("a b", "a  b"));
    }
}
