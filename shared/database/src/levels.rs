//! The two years of NSI: a student's level, a class's and a course's
//! (`student_profiles.class_level`, `classes.level`, `courses.level`, each with a CHECK
//! on the same words).

text_enum! {
    /// Première or Terminale.
    ClassLevel {
        Premiere = "premiere",
        Terminale = "terminale",
    }
}

impl ClassLevel {
    /// The other year: where ARIA looks when a student's own year has too little.
    pub fn other(self) -> ClassLevel {
        match self {
            ClassLevel::Premiere => ClassLevel::Terminale,
            ClassLevel::Terminale => ClassLevel::Premiere,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_words_are_the_stored_ones() {
        for &level in ClassLevel::ALL {
            assert_eq!(ClassLevel::parse(level.as_str()), Some(level));
            assert_eq!(
                serde_json::to_value(level).expect("serialises"),
                serde_json::Value::from(level.as_str())
            );
            assert_eq!(level.other().other(), level);
        }
        assert_eq!(ClassLevel::parse("Terminale"), None);
        assert_eq!(ClassLevel::parse("seconde"), None);
    }
}
