//! Reading a roster file as schools' software exports it: UTF-8 (with or without a BOM)
//! or Windows-1252/Latin-1, `;` or `,` between fields, quoted fields per RFC 4180.

use chrono::NaiveDate;

/// The text of the file: UTF-8 when it is valid UTF-8 (BOM dropped), else Windows-1252
/// (the superset of Latin-1 that Windows' Excel and Pronote write).
pub fn decode(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => encoding_rs::WINDOWS_1252
            .decode_without_bom_handling(bytes)
            .0
            .into_owned(),
    }
}

/// `;` unless the header line has more `,` than `;` outside quotes.
pub fn separator(text: &str) -> char {
    let first = text.lines().next().unwrap_or("");
    let (mut semi, mut comma, mut quoted) = (0, 0, false);
    for c in first.chars() {
        match c {
            '"' => quoted = !quoted,
            ';' if !quoted => semi += 1,
            ',' if !quoted => comma += 1,
            _ => {}
        }
    }
    if comma > semi { ',' } else { ';' }
}

/// Records of the file (quoted fields may hold separators, quotes doubled, line breaks);
/// blank lines are dropped. Each record keeps its line number (1-based) for the report.
pub fn records(text: &str, sep: char) -> Vec<(usize, Vec<String>)> {
    let mut out = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut line = 1;
    let mut start = 1;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted => {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    field.push('"');
                } else {
                    quoted = false;
                }
            }
            '"' if field.trim().is_empty() => {
                field.clear();
                quoted = true;
            }
            '\n' if quoted => {
                line += 1;
                field.push('\n');
            }
            c if c == sep && !quoted => record.push(std::mem::take(&mut field)),
            '\r' if !quoted => {}
            '\n' => {
                record.push(std::mem::take(&mut field));
                if record.iter().any(|f| !f.trim().is_empty()) {
                    out.push((start, std::mem::take(&mut record)));
                }
                record.clear();
                line += 1;
                start = line;
            }
            c => field.push(c),
        }
    }
    record.push(field);
    if record.iter().any(|f| !f.trim().is_empty()) {
        out.push((start, record));
    }
    out
}

/// A header, compared without case, accents, spaces or punctuation.
pub fn header_key(raw: &str) -> String {
    raw.chars()
        .flat_map(char::to_lowercase)
        .filter_map(|c| match c {
            'à' | 'â' | 'ä' => Some('a'),
            'é' | 'è' | 'ê' | 'ë' => Some('e'),
            'î' | 'ï' => Some('i'),
            'ô' | 'ö' => Some('o'),
            'ù' | 'û' | 'ü' => Some('u'),
            'ç' => Some('c'),
            c if c.is_ascii_alphanumeric() => Some(c),
            _ => None,
        })
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    LastName,
    FirstName,
    Email,
    Class,
    BirthDate,
}

/// The names Pronote, ENT and hand-made files give the columns.
pub fn column_of(header: &str) -> Option<Column> {
    match header_key(header).as_str() {
        "nom" | "nomdefamille" | "nomeleve" | "nomdusage" => Some(Column::LastName),
        "prenom" | "prenomeleve" | "prenoms" => Some(Column::FirstName),
        "email" | "mail" | "courriel" | "adressemail" | "adresseemail" | "emaileleve"
        | "adressecourriel" => Some(Column::Email),
        "classe" | "division" | "classes" => Some(Column::Class),
        "datedenaissance" | "datenaissance" | "datenaiss" | "nele" | "nee" | "neele" => {
            Some(Column::BirthDate)
        }
        _ => None,
    }
}

/// `12/03/2009`, `12-03-2009`, `12.03.2009` or `2009-03-12`.
pub fn birth_date(raw: &str) -> Option<NaiveDate> {
    let raw = raw.trim();
    ["%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y-%m-%d"]
        .iter()
        .find_map(|f| NaiveDate::parse_from_str(raw, f).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin1_and_utf8_with_bom_read_the_same() {
        let latin1 = b"nom;pr\xe9nom\r\nL\xe9a;Zo\xe9\r\n";
        let utf8 = "\u{feff}nom;prénom\r\nLéa;Zoé\r\n";
        assert_eq!(decode(latin1), decode(utf8.as_bytes()));
        assert_eq!(decode(b"\x80"), "€", "Windows-1252, not bare Latin-1");
    }

    #[test]
    fn the_separator_is_guessed_from_the_header() {
        assert_eq!(separator("nom;prénom;email"), ';');
        assert_eq!(separator("nom,prénom,email"), ',');
        assert_eq!(separator("\"a;b\",c,d"), ',');
    }

    #[test]
    fn quoted_fields_keep_separators_quotes_and_line_breaks() {
        let rows = records("a;\"b;c\";\"d \"\"e\"\"\"\r\n\r\n\"x\ny\";z\n", ';');
        assert_eq!(
            rows,
            vec![
                (1, vec!["a".into(), "b;c".into(), "d \"e\"".into()]),
                (3, vec!["x\ny".into(), "z".into()]),
            ]
        );
    }

    #[test]
    fn pronote_headers_are_recognised() {
        assert_eq!(column_of("NOM"), Some(Column::LastName));
        assert_eq!(column_of("Prénom"), Some(Column::FirstName));
        assert_eq!(column_of("Date de naissance"), Some(Column::BirthDate));
        assert_eq!(column_of("Né(e) le"), Some(Column::BirthDate));
        assert_eq!(column_of("Adresse e-mail"), Some(Column::Email));
        assert_eq!(column_of("Classe"), Some(Column::Class));
        assert_eq!(column_of("Régime"), None);
    }

    #[test]
    fn birth_dates_in_french_and_iso_forms() {
        let d = NaiveDate::from_ymd_opt(2009, 3, 12);
        assert_eq!(birth_date("12/03/2009"), d);
        assert_eq!(birth_date("2009-03-12"), d);
        assert_eq!(birth_date("31/02/2009"), None);
    }
}
