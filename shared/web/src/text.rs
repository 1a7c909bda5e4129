//! Text comparison for people's writing: case and accents do not matter.

use unicode_normalization::UnicodeNormalization;

/// Lower case without accents: `"Évaluation"` → `"evaluation"`.
pub fn fold(text: &str) -> String {
    text.nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .collect::<String>()
        .to_lowercase()
}

#[cfg(test)]
mod tests {
    #[test]
    fn case_and_accents_are_folded() {
        assert_eq!(super::fold("Évaluation Réseau ÇA"), "evaluation reseau ca");
    }
}
