//! One table, two files: the CSV a French spreadsheet opens as it is (`;` separator,
//! decimal comma, UTF-8 with a BOM so Excel does not read it as Windows-1252) and an XLSX
//! with real numbers in its cells.

use rust_xlsxwriter::{Format, Workbook, XlsxError};

#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Number(f64),
    Empty,
}

pub struct Sheet {
    pub name: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

/// `12.5` → `12,5`, `14.0` → `14`, rounded to 2 decimals: what a teacher types in a
/// French gradebook.
pub fn french_number(x: f64) -> String {
    let text = format!("{:.2}", (x * 100.0).round() / 100.0);
    let text = text.trim_end_matches('0').trim_end_matches('.');
    let text = if text == "-0" { "0" } else { text };
    text.replace('.', ",")
}

/// A text cell for a spreadsheet: a value a student chose (their name) must never become
/// a formula when the file is opened (CSV injection), so one starting like a formula is
/// prefixed with an apostrophe, which spreadsheets show as text.
fn csv_text(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if text.contains([';', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

impl Sheet {
    pub fn to_csv(&self) -> Vec<u8> {
        let mut out = String::from("\u{feff}");
        let line = |cells: Vec<String>| cells.join(";") + "\r\n";
        out.push_str(&line(self.header.iter().map(|h| csv_text(h)).collect()));
        for row in &self.rows {
            out.push_str(&line(
                row.iter()
                    .map(|cell| match cell {
                        Cell::Text(t) => csv_text(t),
                        Cell::Number(x) => french_number(*x),
                        Cell::Empty => String::new(),
                    })
                    .collect(),
            ));
        }
        out.into_bytes()
    }

    pub fn to_xlsx(&self) -> Result<Vec<u8>, XlsxError> {
        let mut workbook = Workbook::new();
        let bold = Format::new().set_bold();
        let number = Format::new().set_num_format("0.##");
        let sheet = workbook.add_worksheet();
        // Excel refuses sheet names over 31 characters or with []:*?/\.
        let name: String = self
            .name
            .chars()
            .filter(|c| !"[]:*?/\\".contains(*c))
            .take(31)
            .collect();
        sheet.set_name(if name.trim().is_empty() {
            "Notes"
        } else {
            &name
        })?;
        for (col, title) in self.header.iter().enumerate() {
            let col = u16::try_from(col).map_err(|_| XlsxError::RowColumnLimitError)?;
            sheet.write_string_with_format(0, col, title, &bold)?;
            sheet.set_column_width(col, if col < 2 { 18 } else { 14 })?;
        }
        for (i, row) in self.rows.iter().enumerate() {
            let r = u32::try_from(i + 1).map_err(|_| XlsxError::RowColumnLimitError)?;
            for (col, cell) in row.iter().enumerate() {
                let col = u16::try_from(col).map_err(|_| XlsxError::RowColumnLimitError)?;
                match cell {
                    // write_string: a name is never parsed as a formula.
                    Cell::Text(t) => sheet.write_string(r, col, t).map(drop)?,
                    Cell::Number(x) => sheet
                        .write_number_with_format(r, col, *x, &number)
                        .map(drop)?,
                    Cell::Empty => {}
                }
            }
        }
        sheet.set_freeze_panes(1, 2)?;
        workbook.save_to_buffer()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_the_french_way() {
        assert_eq!(french_number(12.5), "12,5");
        assert_eq!(french_number(14.0), "14");
        assert_eq!(french_number(13.333333), "13,33");
        assert_eq!(french_number(0.0), "0");
        assert_eq!(french_number(9.999), "10");
    }

    #[test]
    fn text_that_looks_like_a_formula_stays_text_and_separators_are_quoted() {
        assert_eq!(csv_text("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_text("-1"), "'-1");
        assert_eq!(csv_text("Dupont; Jean"), "\"Dupont; Jean\"");
        assert_eq!(csv_text("Éloïse"), "Éloïse");
    }
}
