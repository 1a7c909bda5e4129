//! A passage's excerpt: the fragments of its text around the question's words.
//!
//! What `ts_headline(…, 'MaxWords=45, MinWords=20, MaxFragments=2')` gave, without
//! analysing the passage again at each question: every chunk carries the span and the
//! lexeme of each word Postgres' French analysis counts (`word_spans`: two big-endian
//! int4 a word, its first and past-the-end characters; `word_lexemes`: the lexemes
//! joined by spaces, `""` for a stop word; see the migration `aria_chunk_words`), so
//! the question's lexemes are found by comparing strings. Up to two fragments of at
//! most [`MAX_WORDS`] words, the one with the most distinct question words first, then
//! the best that does not overlap it; each centred on its matches; in the text's order,
//! joined by " … ". A passage without any of the question's words (found by its
//! meaning) gives its first [`MIN_WORDS`] words.

/// Words in a fragment at most.
pub const MAX_WORDS: usize = 45;
/// Words shown of a passage without any of the question's words.
pub const MIN_WORDS: usize = 20;
const FRAGMENTS: usize = 2;
const DELIMITER: &str = " … ";

/// The excerpt of `text` for a question of `question` lexemes, from the chunk's
/// `word_spans` and `word_lexemes` (see the module's head).
pub fn excerpt(text: &str, word_spans: &[u8], word_lexemes: &str, question: &[String]) -> String {
    let spans: Vec<usize> = word_spans
        .chunks_exact(4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .collect();
    let bytes = byte_offsets(text);
    let span = |word: usize| {
        let at = |i: usize| bytes.get(spans[i]).copied().unwrap_or(text.len());
        (at(2 * word), at(2 * word + 1))
    };
    let words = spans.len() / 2;
    // Which of the question's lexemes each word is, if any.
    let mut lexemes = word_lexemes.split(' ');
    let matches: Vec<Option<usize>> = (0..words)
        .map(|_| {
            lexemes
                .next()
                .filter(|l| !l.is_empty())
                .and_then(|l| question.iter().position(|q| q == l))
        })
        .collect();
    let mut fragments: Vec<(usize, usize)> = Vec::with_capacity(FRAGMENTS);
    while fragments.len() < FRAGMENTS {
        let Some(window) = best_window(&matches, question.len(), &fragments) else {
            break;
        };
        fragments.push(window);
    }
    if fragments.is_empty() {
        if words == 0 {
            return String::new();
        }
        fragments.push((0, words.min(MIN_WORDS)));
    }
    fragments.sort_unstable();
    fragments
        .iter()
        .map(|&(first, end)| {
            let (start, _) = span(first);
            let (_, stop) = span(end - 1);
            text.get(start..stop.max(start)).unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(DELIMITER)
}

/// The byte offset of every character of `text`, and of its end.
fn byte_offsets(text: &str) -> Vec<usize> {
    text.char_indices()
        .map(|(at, _)| at)
        .chain(std::iter::once(text.len()))
        .collect()
}

/// The window of at most [`MAX_WORDS`] words (`start..end`) with the most distinct
/// question lexemes (then the most matches), overlapping none of `taken`, centred on
/// its matches; `None` if no such window has a match.
fn best_window(
    matches: &[Option<usize>],
    lexemes: usize,
    taken: &[(usize, usize)],
) -> Option<(usize, usize)> {
    let free = |w: usize| !taken.iter().any(|&(a, b)| (a..b).contains(&w));
    // Each stretch of words between the windows already taken, scanned by a sliding
    // window that counts each lexeme's occurrences.
    let mut best: Option<((usize, usize), (usize, usize))> = None;
    let mut w = 0;
    while w < matches.len() {
        if !free(w) {
            w += 1;
            continue;
        }
        let from = w;
        while w < matches.len() && free(w) {
            w += 1;
        }
        let stretch = &matches[from..w];
        let mut counts = vec![0usize; lexemes];
        let (mut distinct, mut hits) = (0, 0);
        for (end, word) in stretch.iter().enumerate() {
            if let Some(l) = *word {
                counts[l] += 1;
                distinct += usize::from(counts[l] == 1);
                hits += 1;
            }
            if end >= MAX_WORDS
                && let Some(l) = stretch[end - MAX_WORDS]
            {
                counts[l] -= 1;
                distinct -= usize::from(counts[l] == 0);
                hits -= 1;
            }
            let start = (end + 1).saturating_sub(MAX_WORDS);
            if hits > 0 && best.is_none_or(|(score, _)| (distinct, hits) > score) {
                best = Some(((distinct, hits), (from + start, from + end + 1)));
            }
        }
    }
    let (_, (start, end)) = best?;
    // Centre the window on its first and last matches, within its stretch.
    let first = (start..end).find(|&w| matches[w].is_some())?;
    let last = (start..end).rev().find(|&w| matches[w].is_some())?;
    let (mut low, mut high) = (start, end);
    while low > 0 && free(low - 1) {
        low -= 1;
    }
    while high < matches.len() && free(high) {
        high += 1;
    }
    let size = (high - low).min(MAX_WORDS);
    let margin = (size - (last + 1 - first)) / 2;
    let centred = first.saturating_sub(margin).max(low).min(high - size);
    Some((centred, centred + size))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A chunk's `word_spans` as Postgres stores them.
    fn stored(spans: &[u32]) -> Vec<u8> {
        spans.iter().flat_map(|s| s.to_be_bytes()).collect()
    }

    /// `word_spans` and `word_lexemes` of a text whose words are separated by single
    /// spaces; a word's lexeme is itself, or `""` for the stop words listed.
    fn words(text: &str, stop: &[&str]) -> (Vec<u8>, String) {
        let (mut spans, mut lexemes, mut at) = (Vec::new(), Vec::new(), 0);
        for word in text.split(' ') {
            let len = word.chars().count() as u32;
            spans.extend([at, at + len]);
            lexemes.push(if stop.contains(&word) { "" } else { word });
            at += len + 1;
        }
        (stored(&spans), lexemes.join(" "))
    }

    fn question(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| (*w).to_owned()).collect()
    }

    fn numbered(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("w{i}")).collect()
    }

    #[test]
    fn a_short_passage_is_shown_whole_from_its_first_word_to_its_last() {
        let text = "une pile est une structure LIFO.";
        let (spans, lexemes) = words(text, &["une", "est"]);
        assert_eq!(
            excerpt(text, &spans, &lexemes, &question(&["pile"])),
            "une pile est une structure LIFO."
        );
    }

    #[test]
    fn without_any_question_word_the_first_words_are_shown() {
        let text = numbered(100).join(" ");
        let (spans, lexemes) = words(&text, &[]);
        assert_eq!(
            excerpt(&text, &spans, &lexemes, &question(&["absent"])),
            numbered(MIN_WORDS).join(" ")
        );
        assert_eq!(excerpt("", &[], "", &question(&["absent"])), "");
    }

    #[test]
    fn two_fragments_around_the_matches_in_the_texts_order() {
        // Matches at words 20 (a) and 150 (b, then a): the window with both lexemes
        // comes first in rank, the other second; they are shown in the text's order.
        let mut text = numbered(200);
        text[20] = "a".into();
        text[150] = "b".into();
        text[152] = "a".into();
        let text = text.join(" ");
        let (spans, lexemes) = words(&text, &[]);
        let excerpt = excerpt(&text, &spans, &lexemes, &question(&["a", "b"]));
        let fragments: Vec<&str> = excerpt.split(DELIMITER).collect();
        assert_eq!(fragments.len(), 2, "{excerpt}");
        assert!(fragments.iter().all(|f| f.split(' ').count() == MAX_WORDS));
        assert!(fragments[0].split(' ').any(|w| w == "a"));
        assert!(fragments[1].contains("b w151 a"));
        // Each fragment is centred on its matches: "b … a" (words 150–152) gets 21
        // words before it; "a" of word 20 has only 20, so its fragment starts at the
        // text's first word.
        assert!(fragments[0].starts_with("w0 "), "{}", fragments[0]);
        assert!(fragments[1].starts_with("w129 "), "{}", fragments[1]);
    }

    #[test]
    fn spans_are_characters_and_the_text_between_words_is_kept() {
        // Accented letters take two bytes: spans count characters.
        let text = "élève : « tri » — été";
        let spans = stored(&[0, 5, 10, 13, 16, 17, 18, 21]);
        assert_eq!(
            excerpt(text, &spans, "elev tri  ete", &question(&["tri"])),
            "élève : « tri » — été"
        );
        // Spans beyond the text (never expected) end at its end, not in a panic.
        assert_eq!(
            excerpt("ab", &stored(&[0, 9]), "ab", &question(&["ab"])),
            "ab"
        );
    }
}
