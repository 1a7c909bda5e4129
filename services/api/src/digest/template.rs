//! The digest's French templates, text and HTML. Every value that comes from a user (a
//! name, a title, a message's conversation) is escaped in the HTML.

use chrono::{DateTime, Utc};

pub struct DigestItem {
    pub title: String,
    pub detail: String,
}

pub struct Digest {
    pub first_name: String,
    pub weekly: bool,
    pub since: DateTime<Utc>,
    pub grades: Vec<DigestItem>,
    pub assessments: Vec<DigestItem>,
    pub messages: Vec<DigestItem>,
}

impl Digest {
    pub fn is_empty(&self) -> bool {
        self.grades.is_empty() && self.assessments.is_empty() && self.messages.is_empty()
    }
}

pub struct RenderedMail {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Items shown per section; the rest is counted.
const SHOWN: usize = 20;

pub fn escape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

pub fn render(digest: &Digest, web_url: &str, token: &str) -> RenderedMail {
    let web = web_url.trim_end_matches('/');
    let unsubscribe = format!("{web}/desabonnement?token={token}");
    let preferences = format!("{web}/parametres/notifications");
    let period = if digest.weekly {
        "de la semaine"
    } else {
        "du jour"
    };
    let subject = format!("Votre récapitulatif {period} — Nexus Réussite");
    let sections = [
        ("Nouvelles notes", &digest.grades),
        ("Évaluations", &digest.assessments),
        ("Messages non lus", &digest.messages),
    ];
    let since = crate::dates::short_date(digest.since);

    let mut text = format!(
        "Bonjour {},\n\nVoici ce que vous n'avez pas encore lu depuis le {since} :\n",
        digest.first_name
    );
    let mut html = format!(
        "<!doctype html><html lang=\"fr\"><head><meta charset=\"utf-8\"><title>{}</title></head>\
         <body style=\"font-family:Arial,sans-serif;color:#1f2937;max-width:600px;margin:auto\">\
         <p>Bonjour {},</p><p>Voici ce que vous n'avez pas encore lu depuis le {since} :</p>",
        escape(&subject),
        escape(&digest.first_name)
    );
    for (heading, items) in sections {
        if items.is_empty() {
            continue;
        }
        text.push_str(&format!(
            "\n{heading}\n{}\n",
            "-".repeat(heading.chars().count())
        ));
        html.push_str(&format!(
            "<h2 style=\"font-size:18px;color:#1e3a8a\">{}</h2><ul>",
            escape(heading)
        ));
        for item in items.iter().take(SHOWN) {
            if item.detail.is_empty() {
                text.push_str(&format!("- {}\n", item.title));
                html.push_str(&format!(
                    "<li><strong>{}</strong></li>",
                    escape(&item.title)
                ));
            } else {
                text.push_str(&format!("- {} : {}\n", item.title, item.detail));
                html.push_str(&format!(
                    "<li><strong>{}</strong> : {}</li>",
                    escape(&item.title),
                    escape(&item.detail)
                ));
            }
        }
        if items.len() > SHOWN {
            let more = "… et d'autres, à lire dans votre espace.";
            text.push_str(&format!("{more}\n"));
            html.push_str(&format!("<li>{more}</li>"));
        }
        html.push_str("</ul>");
    }
    text.push_str(&format!(
        "\nOuvrir Nexus Réussite : {web}/notifications\n\n\
         Vous recevez ce récapitulatif {} car il est activé dans vos préférences.\n\
         Choisir la fréquence et les sujets : {preferences}\n\
         Ne plus recevoir ce récapitulatif : {unsubscribe}\n",
        if digest.weekly {
            "chaque semaine"
        } else {
            "chaque jour"
        }
    ));
    html.push_str(&format!(
        "<p><a href=\"{}\">Ouvrir Nexus Réussite</a></p>\
         <p style=\"font-size:12px;color:#4b5563\">Vous recevez ce récapitulatif {} car il est activé dans vos préférences. \
         <a href=\"{}\">Choisir la fréquence et les sujets</a> · \
         <a href=\"{}\">Ne plus recevoir ce récapitulatif</a></p></body></html>",
        escape(&format!("{web}/notifications")),
        if digest.weekly { "chaque semaine" } else { "chaque jour" },
        escape(&preferences),
        escape(&unsubscribe),
    ));
    RenderedMail {
        subject,
        text,
        html,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_values_are_escaped_in_the_html_and_plain_in_the_text() {
        let digest = Digest {
            first_name: "<script>".into(),
            weekly: false,
            since: Utc::now(),
            grades: vec![DigestItem {
                title: "Note : \"Quiz\" & co".into(),
                detail: "15/20".into(),
            }],
            assessments: Vec::new(),
            messages: Vec::new(),
        };
        let mail = render(&digest, "https://app.example/", "7.abc");
        assert!(mail.html.contains("Bonjour &lt;script&gt;"));
        assert!(!mail.html.contains("<script>"));
        assert!(mail.html.contains("&quot;Quiz&quot; &amp; co"));
        assert!(mail.text.contains("- Note : \"Quiz\" & co : 15/20"));
        assert!(
            mail.text
                .contains("https://app.example/desabonnement?token=7.abc")
        );
        assert_eq!(mail.subject, "Votre récapitulatif du jour — Nexus Réussite");
        assert!(
            !mail.text.contains("Évaluations"),
            "empty sections are left out"
        );
    }
}
