//! Field validation shared by the handlers: collect every problem, answer them all at
//! once as a 422 with one message per field.

use std::borrow::Cow;

use nexus_web::ApiError;

#[derive(Default)]
pub struct Validator {
    errors: Vec<(&'static str, Cow<'static, str>)>,
}

impl Validator {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn check(&mut self, ok: bool, field: &'static str, message: &'static str) -> &mut Self {
        if !ok {
            self.fail(field, message);
        }
        self
    }

    pub fn fail(
        &mut self,
        field: &'static str,
        message: impl Into<Cow<'static, str>>,
    ) -> &mut Self {
        if !self.errors.iter().any(|(f, _)| *f == field) {
            self.errors.push((field, message.into()));
        }
        self
    }

    pub fn email(&mut self, field: &'static str, value: &str) -> &mut Self {
        self.check(is_email(value), field, "Adresse e-mail invalide.")
    }

    /// A person's name: 1 to 100 characters, no control characters.
    pub fn name(&mut self, field: &'static str, value: &str) -> &mut Self {
        let trimmed = value.trim();
        let ok = !trimmed.is_empty() && trimmed.chars().count() <= 100 && !has_control(trimmed);
        self.check(ok, field, "Doit contenir entre 1 et 100 caractères.")
    }

    pub fn phone(&mut self, field: &'static str, value: Option<&str>) -> &mut Self {
        let ok = value.is_none_or(|p| {
            let p = p.trim();
            p.chars().count() <= 20
                && p.chars().filter(char::is_ascii_digit).count() >= 6
                && p.chars()
                    .all(|c| c.is_ascii_digit() || " +-.()".contains(c))
        });
        self.check(ok, field, "Numéro de téléphone invalide.")
    }

    pub fn finish(&mut self) -> Result<(), ApiError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::invalid_fields(std::mem::take(&mut self.errors)))
        }
    }
}

pub fn has_control(value: &str) -> bool {
    value.chars().any(char::is_control)
}

/// A pragmatic check (one `@`, a dotted domain, no spaces or controls, ≤ 254 chars): the
/// real proof of an address is the mail that reaches it.
pub fn is_email(value: &str) -> bool {
    if value.len() > 254 || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    let Some((local, domain)) = value.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && local.len() <= 64
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
}

/// Emails are compared case-insensitively and stored trimmed, lower-cased.
pub fn normalize_email(value: &str) -> String {
    value.trim().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_checked_pragmatically() {
        assert!(is_email("léa.martin@lycee.fr"));
        assert!(!is_email("no-at-sign"));
        assert!(!is_email("a@b"));
        assert!(!is_email("a b@c.fr"));
        assert!(!is_email("a@b@c.fr"));
        assert!(!is_email("a@.fr"));
    }
}
