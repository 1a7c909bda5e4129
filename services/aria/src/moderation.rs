//! The moderation step: every question (and every generated answer) goes through
//! local rules, and through the provider's moderation endpoint (`/moderations`, the
//! OpenAI protocol, called through `async-openai`) when `ARIA_MODERATION_URL` is set. What is flagged is stored in
//! `aria_flags` and surfaced to the student's teachers. A question showing distress
//! gets a caring answer pointing to help instead of a course answer.

use serde_json::{Value, json};

#[derive(Debug, Clone)]
pub struct ProviderSettings {
    /// e.g. `https://api.openai.com/v1`.
    pub base_url: String,
    pub api_key: Option<secrecy::SecretString>,
}

/// Local rules: folded (lower case, no accents) words and phrases per category.
const RULES: &[(&str, &[&str])] = &[
    (
        "self_harm",
        &[
            "me suicider",
            "suicide",
            "me tuer",
            "envie de mourir",
            "veux mourir",
            "me faire du mal",
            "me scarifier",
            "scarification",
            "en finir avec la vie",
        ],
    ),
    (
        "harassment",
        &[
            "connard",
            "connasse",
            "salope",
            "encule",
            "batard",
            "pute",
            "nique ta",
            "ta gueule",
            "ferme ta gueule",
            "sale con",
            "pd",
        ],
    ),
    (
        "violence",
        &[
            "tuer quelqu",
            "le tuer",
            "la tuer",
            "les tuer",
            "frapper le prof",
            "poser une bombe",
            "fabriquer une bombe",
            "arme a feu",
        ],
    ),
];

/// A category of the local rules, or `personal_data` for a phone number or an email
/// address, if the text shows one.
pub fn local(text: &str) -> Option<&'static str> {
    let folded = nexus_web::text::fold(text);
    // Words separated by single spaces, with a space at each end, so phrases match
    // whole words only.
    let words: Vec<&str> = folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let padded = format!(" {} ", words.join(" "));
    for (category, phrases) in RULES {
        if phrases.iter().any(|p| {
            if p.ends_with(|c: char| c.is_alphanumeric()) && !p.ends_with("quelqu") {
                padded.contains(&format!(" {p} "))
            } else {
                padded.contains(&format!(" {p}"))
            }
        }) {
            return Some(category);
        }
    }
    let digits: String = text.chars().filter(|c| c.is_ascii_digit()).collect();
    let phone = text
        .split(|c: char| !(c.is_ascii_digit() || " .-+".contains(c)))
        .any(|run| {
            let d: String = run.chars().filter(|c| c.is_ascii_digit()).collect();
            (d.len() == 10 && d.starts_with('0')) || (d.len() == 11 && d.starts_with("33"))
        });
    let email = text.split_whitespace().any(|w| {
        let w = w.trim_matches(|c: char| !c.is_alphanumeric());
        w.split_once('@')
            .is_some_and(|(user, host)| !user.is_empty() && host.contains('.'))
    });
    (phone && !digits.is_empty() || email).then_some("personal_data")
}

/// The provider's verdict: the first flagged category, `None` if not flagged or if
/// the endpoint fails (moderation never blocks an answer by being down).
pub async fn provider(
    client: &reqwest::Client,
    settings: &ProviderSettings,
    text: &str,
) -> Option<String> {
    // Through `async-openai` (its `moderation` calls), the answer read as JSON: the
    // categories differ between providers and models.
    let openai = crate::model::openai_client(client, &settings.base_url, settings.api_key.as_ref());
    let moderations = openai.moderations();
    let call = moderations.create_byot::<_, Value>(json!({"input": text}));
    let body = match tokio::time::timeout(std::time::Duration::from_secs(10), call).await {
        Ok(Ok(body)) => body,
        Ok(Err(error)) => {
            tracing::warn!(%error, "moderation endpoint failed; local rules only");
            return None;
        }
        Err(_) => {
            tracing::warn!("moderation endpoint timed out; local rules only");
            return None;
        }
    };
    let result = &body["results"][0];
    if result["flagged"].as_bool() != Some(true) {
        return None;
    }
    let category = result["categories"]
        .as_object()
        .and_then(|c| c.iter().find(|(_, v)| v.as_bool() == Some(true)))
        .map(|(k, _)| k.clone())
        .unwrap_or_else(|| "flagged".into());
    Some(category)
}

/// The answer to a question showing distress.
pub const SUPPORT: &str = "Ce que tu écris m'inquiète, et je préfère te le dire : tu n'es pas seul·e. \
Parles-en dès que possible à un adulte de confiance — un parent, ton professeur principal, l'infirmière \
ou le CPE de ton lycée. Tu peux aussi appeler le 3114 (numéro national de prévention du suicide, gratuit, \
24 h/24) ou, en cas de danger immédiat, le 15 ou le 112. Si tu veux, on reprend la NSI ensuite : je suis là.";

#[cfg(test)]
mod tests {
    use super::local;

    #[test]
    fn the_local_rules_flag_what_they_should_and_only_that() {
        assert_eq!(local("J'ai envie de mourir, rien ne va"), Some("self_harm"));
        assert_eq!(local("Mon prof est un CONNARD"), Some("harassment"));
        assert_eq!(
            local("appelle-moi au 06 12 34 56 78"),
            Some("personal_data")
        );
        assert_eq!(
            local("écris-moi : eleve.nsi@lycee.fr"),
            Some("personal_data")
        );
        assert_eq!(local("comment fabriquer une bombe"), Some("violence"));
        for fine in [
            "C'est quoi une pile ?",
            "Comment tuer un processus sous Linux ?",
            "Le protocole IPv4 utilise 32 bits, par exemple 192.168.0.1",
            "La complexité est en O(n log n) pour n = 1000000",
            "une liste composée de 10 éléments",
        ] {
            assert_eq!(local(fine), None, "{fine}");
        }
    }
}
