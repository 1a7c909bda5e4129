//! Opaque tokens (refresh, password reset, parent pairing): random, handed to the user
//! once, stored only as a SHA-256 hash, so a database leak does not leak usable tokens.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use rand::{Rng, RngCore};
use sha2::{Digest, Sha256};

/// A 256-bit random token, URL-safe.
pub fn generate() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Crockford's base32 without I, L, O, U: nothing a parent can misread from a screen.
const PAIRING_ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
pub const PAIRING_CODE_LENGTH: usize = 8;

/// A short code (8 characters, 40 bits) a student reads out to a parent.
pub fn generate_pairing_code() -> String {
    let mut rng = rand::rng();
    (0..PAIRING_CODE_LENGTH)
        .map(|_| PAIRING_ALPHABET[rng.random_range(0..PAIRING_ALPHABET.len())] as char)
        .collect()
}

/// Normalises what a parent typed: case, spaces and dashes, and the look-alikes
/// Crockford's alphabet folds (O→0, I/L→1).
pub fn normalize_pairing_code(raw: &str) -> String {
    raw.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            other => other,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_and_hashes_stable() {
        let (a, b) = (generate(), generate());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(hash(&a), hash(&a));
        assert_ne!(hash(&a), hash(&b));
    }

    #[test]
    fn pairing_codes_survive_how_people_type_them() {
        let code = generate_pairing_code();
        assert_eq!(code.len(), PAIRING_CODE_LENGTH);
        let typed = format!("{}-{}", &code[..4], &code[4..]).to_lowercase();
        assert_eq!(normalize_pairing_code(&typed), code);
        assert_eq!(normalize_pairing_code("ab1o il23"), "AB101123");
    }
}
