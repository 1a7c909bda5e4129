//! Dates and times in what a user reads (notifications, e-mails, error messages): in
//! France's time, written as the web app writes them (`src/lib/format.ts`). Stored and
//! exchanged instants stay UTC; only the words change. Europe/Paris is the schools'
//! zone, as the dashboards' weeks already are (dashboard.rs).

use chrono::{DateTime, Datelike, Timelike, Utc};
use chrono_tz::{Europe::Paris, Tz};

const MONTHS: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];

fn in_france(at: DateTime<Utc>) -> DateTime<Tz> {
    at.with_timezone(&Paris)
}

/// `3 janvier 2027`: the day in France.
pub fn long_date(at: DateTime<Utc>) -> String {
    let at = in_france(at);
    format!(
        "{} {} {}",
        at.day(),
        MONTHS[at.month0() as usize],
        at.year()
    )
}

/// `11/12/2026`: the day in France.
pub fn short_date(at: DateTime<Utc>) -> String {
    let at = in_france(at);
    format!("{:02}/{:02}/{}", at.day(), at.month(), at.year())
}

/// `11/12/2026 à 18 h 42`: the day and the time in France.
pub fn date_time(at: DateTime<Utc>) -> String {
    let at = in_france(at);
    format!(
        "{:02}/{:02}/{} à {} h {:02}",
        at.day(),
        at.month(),
        at.year(),
        at.hour(),
        at.minute()
    )
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0)
            .single()
            .expect("a valid instant")
    }

    #[test]
    fn winter_is_one_hour_ahead_of_utc_and_summer_two() {
        assert_eq!(date_time(utc(2026, 12, 11, 17, 42)), "11/12/2026 à 18 h 42");
        assert_eq!(date_time(utc(2027, 6, 1, 6, 5)), "01/06/2027 à 8 h 05");
        // The clocks go forward at 01:00 UTC on the last Sunday of March.
        assert_eq!(date_time(utc(2027, 3, 28, 0, 59)), "28/03/2027 à 1 h 59");
        assert_eq!(date_time(utc(2027, 3, 28, 1, 0)), "28/03/2027 à 3 h 00");
    }

    #[test]
    fn the_day_is_france_s_day() {
        // 23:30 UTC on 31 December is already New Year's Day in Paris.
        assert_eq!(long_date(utc(2026, 12, 31, 23, 30)), "1 janvier 2027");
        assert_eq!(long_date(utc(2026, 12, 31, 12, 0)), "31 décembre 2026");
        assert_eq!(short_date(utc(2026, 12, 31, 23, 30)), "01/01/2027");
    }
}
