//! An assessment's words as types: its kind, what happens to a copy handed in late, how
//! ARIA may help during it. Stored as text in `assessments` (each column has a CHECK
//! with the same words), read and written through these types by the API and ARIA, and
//! published as OpenAPI enums. A word the database holds but the type does not know is
//! a decoding error, never a silent default.

text_enum! {
    /// What kind of assessment: it sets ARIA's default help and how the web app shows it.
    AssessmentKind {
        Quiz = "quiz",
        Tp = "tp",
        Exam = "exam",
        Project = "project",
    }
}

text_enum! {
    /// What happens to a copy handed in after the deadline.
    LatePolicy {
        /// Graded, and marked late.
        Flag = "flag",
        /// Kept for the teacher, not graded; the student gets 409.
        Refuse = "refuse",
    }
}

text_enum! {
    /// How ARIA may help a student during an attempt (services/aria/src/policy.rs).
    HelpMode {
        /// By the assessment's kind: `none` for an exam, `explain` for a project, `hints`
        /// otherwise.
        Default = "default",
        Explain = "explain",
        Hints = "hints",
        None = "none",
    }
}

impl AssessmentKind {
    /// Its name in what a user reads (notifications, e-mails), as the web app writes it.
    pub fn label(self) -> &'static str {
        match self {
            AssessmentKind::Quiz => "quiz",
            AssessmentKind::Tp => "TP",
            AssessmentKind::Exam => "examen",
            AssessmentKind::Project => "projet",
        }
    }
}

impl HelpMode {
    /// The mode ARIA applies (never `Default`): the one rule, used by the API (what the
    /// student is told) and by ARIA (what it does).
    pub fn effective(self, kind: AssessmentKind) -> HelpMode {
        match (self, kind) {
            (HelpMode::Default, AssessmentKind::Exam) => HelpMode::None,
            (HelpMode::Default, AssessmentKind::Project) => HelpMode::Explain,
            (HelpMode::Default, AssessmentKind::Quiz | AssessmentKind::Tp) => HelpMode::Hints,
            (mode, _) => mode,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_word_parses_back_to_itself_and_serialises_as_stored() {
        fn round_trip<T>(all: &[T], as_str: fn(T) -> &'static str, parse: fn(&str) -> Option<T>)
        where
            T: Copy + PartialEq + std::fmt::Debug + serde::Serialize,
        {
            for &word in all {
                assert_eq!(parse(as_str(word)), Some(word));
                assert_eq!(
                    serde_json::to_value(word).expect("serialises"),
                    serde_json::Value::from(as_str(word))
                );
            }
        }
        round_trip(
            AssessmentKind::ALL,
            AssessmentKind::as_str,
            AssessmentKind::parse,
        );
        round_trip(LatePolicy::ALL, LatePolicy::as_str, LatePolicy::parse);
        round_trip(HelpMode::ALL, HelpMode::as_str, HelpMode::parse);
        assert_eq!(LatePolicy::parse("refuse"), Some(LatePolicy::Refuse));
        assert_eq!(AssessmentKind::parse("Quiz"), None);
        assert_eq!(HelpMode::parse(""), None);
    }

    #[test]
    fn the_default_help_follows_the_kind_and_a_chosen_one_wins() {
        use AssessmentKind::*;
        let default = |kind| HelpMode::Default.effective(kind);
        assert_eq!(
            [Quiz, Tp, Exam, Project].map(default),
            [
                HelpMode::Hints,
                HelpMode::Hints,
                HelpMode::None,
                HelpMode::Explain
            ]
        );
        assert_eq!(HelpMode::Explain.effective(Exam), HelpMode::Explain);
        assert_eq!(HelpMode::None.effective(Project), HelpMode::None);
        assert_eq!(HelpMode::Hints.effective(Project), HelpMode::Hints);
    }
}
