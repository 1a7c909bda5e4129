//! An assessment's words as types: its kind, what happens to a copy handed in late, how
//! ARIA may help during it. Stored as text in `assessments` (each column has a CHECK
//! with the same words), read and written through these types by the API and ARIA, and
//! published as OpenAPI enums. A word the database holds but the type does not know is
//! a decoding error, never a silent default.

use sqlx::{
    Postgres,
    encode::IsNull,
    error::BoxDynError,
    postgres::{PgArgumentBuffer, PgTypeInfo, PgValueRef},
};

/// A closed set of words stored as `text`: the enum, its words, `parse`, and the sqlx
/// and serde mappings, written once.
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        // snake_case: the stored words are the variants' names (a test holds serde's and
        // `as_str`'s words equal); utoipa does not read a `rename` given by a macro.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            pub const ALL: &[$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            pub fn parse(raw: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == raw)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl sqlx::Type<Postgres> for $name {
            fn type_info() -> PgTypeInfo {
                <str as sqlx::Type<Postgres>>::type_info()
            }

            fn compatible(ty: &PgTypeInfo) -> bool {
                <str as sqlx::Type<Postgres>>::compatible(ty)
            }
        }

        impl<'r> sqlx::Decode<'r, Postgres> for $name {
            fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
                let raw = <&str as sqlx::Decode<Postgres>>::decode(value)?;
                Self::parse(raw).ok_or_else(|| format!("unknown {} {raw:?}", stringify!($name)).into())
            }
        }

        impl sqlx::Encode<'_, Postgres> for $name {
            fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
                <&str as sqlx::Encode<Postgres>>::encode(self.as_str(), buf)
            }
        }
    };
}

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
