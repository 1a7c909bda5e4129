//! Password hashing with argon2id and the OWASP parameters (19 MiB, 2 passes, 1 lane),
//! always on the blocking pool: a hash takes tens of milliseconds of CPU, which would
//! stall every other request sharing the async worker.

use std::sync::OnceLock;

use argon2::{
    Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version,
    password_hash::{SaltString, rand_core::OsRng},
};

pub const MIN_LENGTH: usize = 8;
/// Hashing cost grows with input length: cap it so a huge password is no DoS lever.
pub const MAX_LENGTH: usize = 128;

fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("OWASP argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// At most this many hashes run at once (one per core, at least two). Each takes 19 MiB:
/// unbounded, a burst of logins queued hundreds of them and the process grew by
/// gigabytes (measured: 9.4 GB RSS after 64 connections of logins). Queued requests
/// wait for a permit; throughput is the same, since hashing is CPU-bound.
///
/// The permit moves into the blocking task, so a hash whose request was abandoned still
/// holds it until it finishes.
async fn permit() -> anyhow::Result<tokio::sync::OwnedSemaphorePermit> {
    static PERMITS: OnceLock<std::sync::Arc<tokio::sync::Semaphore>> = OnceLock::new();
    let permits = PERMITS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        std::sync::Arc::new(tokio::sync::Semaphore::new(cores.max(2)))
    });
    Ok(permits.clone().acquire_owned().await?)
}

pub async fn hash(password: String) -> anyhow::Result<String> {
    let permit = permit().await?;
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let salt = SaltString::generate(&mut OsRng);
        hasher()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("hashing password: {e}"))
    })
    .await?
}

/// Verifies a password against a stored hash. With `None` (no such account) it still
/// spends the time of a real verification, so timing does not reveal which emails exist.
pub async fn verify(password: String, stored: Option<String>) -> anyhow::Result<bool> {
    let permit = permit().await?;
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let stored = stored.as_deref().unwrap_or_else(|| dummy_hash());
        let parsed = PasswordHash::new(stored)
            .map_err(|e| anyhow::anyhow!("stored hash unreadable: {e}"))?;
        Ok(hasher()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok())
    })
    .await?
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        hasher()
            .hash_password(b"no-such-account-placeholder", &salt)
            .map(|h| h.to_string())
            .expect("hashing a constant cannot fail")
    })
}

/// Why a password is refused, as a message for the person (French).
pub fn policy_violation(password: &str, email: &str, names: &[&str]) -> Option<&'static str> {
    let length = password.chars().count();
    if length < MIN_LENGTH {
        return Some("Le mot de passe doit contenir au moins 8 caractères.");
    }
    if length > MAX_LENGTH {
        return Some("Le mot de passe ne doit pas dépasser 128 caractères.");
    }
    let lowered = password.to_lowercase();
    if is_common(&lowered) {
        return Some("Ce mot de passe est trop courant ; choisissez-en un autre.");
    }
    let distinct: std::collections::HashSet<char> = lowered.chars().collect();
    if distinct.len() < 4 {
        return Some("Le mot de passe est trop répétitif.");
    }
    let local_part = email.split('@').next().unwrap_or("").to_lowercase();
    let personal = std::iter::once(local_part.as_str())
        .chain(names.iter().map(|n| n.trim()))
        .filter(|p| p.chars().count() >= 4)
        .map(str::to_lowercase);
    for part in personal {
        if lowered.contains(&part) {
            return Some("Le mot de passe ne doit pas contenir votre nom ni votre adresse e-mail.");
        }
    }
    None
}

fn is_common(lowered: &str) -> bool {
    static LIST: OnceLock<std::collections::HashSet<&'static str>> = OnceLock::new();
    LIST.get_or_init(|| {
        include_str!("common_passwords.txt")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect()
    })
    .contains(lowered)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let hashed = hash("Correct-Horse-9".into()).await.expect("hash");
        assert!(hashed.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(
            verify("Correct-Horse-9".into(), Some(hashed.clone()))
                .await
                .expect("verify")
        );
        assert!(
            !verify("wrong-horse-99".into(), Some(hashed))
                .await
                .expect("verify")
        );
        assert!(!verify("anything".into(), None).await.expect("verify"));
    }

    #[test]
    fn the_policy_refuses_short_common_repetitive_and_personal_passwords() {
        assert!(policy_violation("short", "a@b.fr", &[]).is_some());
        assert!(policy_violation("password123", "a@b.fr", &[]).is_some());
        assert!(policy_violation("azertyuiop", "a@b.fr", &[]).is_some());
        assert!(policy_violation("aaaaaaaaaaaa", "a@b.fr", &[]).is_some());
        assert!(policy_violation("Dupont-2026!", "x@b.fr", &["Dupont"]).is_some());
        assert!(policy_violation("camille.m-2026", "camille.m@b.fr", &[]).is_some());
        assert!(policy_violation(&"x1".repeat(70), "a@b.fr", &[]).is_some());
        assert_eq!(
            policy_violation("Tr0mpette-Bleue", "a@b.fr", &["Léa"]),
            None
        );
    }
}
