//! Cluster sizes over time, when the corpus has a time field (`textrnn
//! report --time-field`): each text's date is read from its value, the
//! texts are counted per period and cluster, and the report draws stacked
//! columns. The period is the finest of day, month and year that gives at
//! most [`MAX_PERIODS`] periods from the first date to the last (empty
//! periods included, so gaps show).

use std::fmt::Write;

use super::svg::{self, color, esc};
use crate::model::Model;

/// The most periods a chart shows.
pub const MAX_PERIODS: usize = 60;

/// A calendar date.
type Date = (i32, u32, u32);

/// The date of a time value: an ISO 8601 date or date-time
/// (`2024-03-05`, `2024-03-05T10:00:00Z`, `2024/03/05`, `2024-03`), a year
/// (`2024`), or Unix time in seconds or milliseconds (a whole number of 9
/// digits or more). `None` for anything else.
pub fn date_of(value: &str) -> Option<Date> {
    let v = value.trim();
    if v.len() >= 9 && v.bytes().all(|b| b.is_ascii_digit()) {
        let mut secs: i64 = v.parse().ok()?;
        if v.len() >= 12 {
            secs /= 1000;
        }
        return Some(civil(secs.div_euclid(86_400)));
    }
    let head: String = v.chars().take(10).collect();
    let mut parts = head.split(['-', '/']);
    let year: i32 = parts
        .next()?
        .parse()
        .ok()
        .filter(|y| (1000..=9999).contains(y))?;
    let month: u32 = match parts.next() {
        Some(m) => m.parse().ok().filter(|m| (1..=12).contains(m))?,
        None => return (v.len() == 4).then_some((year, 1, 1)),
    };
    let day: u32 = match parts.next() {
        Some(d) => d
            .get(..2.min(d.len()))?
            .parse()
            .ok()
            .filter(|d| (1..=31).contains(d))?,
        None => 1,
    };
    Some((year, month, day))
}

/// The calendar date of a day count since 1970-01-01 (the proleptic
/// Gregorian calendar; Howard Hinnant's civil-from-days algorithm).
fn civil(days: i64) -> Date {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = (yoe + era * 400 + i64::from(m <= 2)) as i32;
    (y, m, d)
}

/// Days since 1970-01-01 of a calendar date (the inverse of [`civil`]).
fn days(date: Date) -> i64 {
    let (y, m, d) = date;
    let y = i64::from(y) - i64::from(m <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from(if m > 2 { m - 3 } else { m + 9 });
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// How long a period is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Period {
    /// One day.
    Day,
    /// One calendar month.
    Month,
    /// One calendar year.
    Year,
}

impl Period {
    /// The period's index on a scale common to all dates.
    fn index(self, date: Date) -> i64 {
        match self {
            Period::Day => days(date),
            Period::Month => i64::from(date.0) * 12 + i64::from(date.1) - 1,
            Period::Year => i64::from(date.0),
        }
    }

    /// The label of the period with this index.
    fn label(self, index: i64) -> String {
        match self {
            Period::Day => {
                let (y, m, d) = civil(index);
                format!("{y:04}-{m:02}-{d:02}")
            }
            Period::Month => format!(
                "{:04}-{:02}",
                index.div_euclid(12),
                index.rem_euclid(12) + 1
            ),
            Period::Year => format!("{index:04}"),
        }
    }
}

/// Texts per period and cluster.
#[derive(Clone, Debug, PartialEq)]
pub struct Timeline {
    /// The period length chosen.
    pub period: Period,
    /// Each period's label, first to last.
    pub labels: Vec<String>,
    /// `counts[p][c]`: texts of cluster (position) `c` in period `p`.
    pub counts: Vec<Vec<u64>>,
    /// Texts whose time value could not be read (or was missing).
    pub unknown: usize,
}

/// Count `clusters` (positions, `k` of them) per period of their texts'
/// `times`; `None` when no time value could be read.
pub fn timeline(times: &[Option<String>], clusters: &[usize], k: usize) -> Option<Timeline> {
    let dates: Vec<Option<Date>> = times
        .iter()
        .map(|t| t.as_deref().and_then(date_of))
        .collect();
    let known: Vec<Date> = dates.iter().flatten().copied().collect();
    let (first, last) = (*known.iter().min()?, *known.iter().max()?);
    let period = [Period::Day, Period::Month, Period::Year]
        .into_iter()
        .find(|p| p.index(last) - p.index(first) < MAX_PERIODS as i64)
        .unwrap_or(Period::Year);
    let start = period.index(first);
    let n = (period.index(last) - start + 1) as usize;
    let mut counts = vec![vec![0u64; k]; n];
    for (d, &c) in dates.iter().zip(clusters) {
        if let Some(d) = d {
            counts[(period.index(*d) - start) as usize][c] += 1;
        }
    }
    Some(Timeline {
        period,
        labels: (0..n as i64).map(|i| period.label(start + i)).collect(),
        counts,
        unknown: dates.iter().filter(|d| d.is_none()).count(),
    })
}

/// The "Over time" section.
pub fn section(h: &mut String, model: &Model, t: &Timeline, field: &str) {
    let names: Vec<String> = (model.manifest.clusters.iter())
        .map(|c| format!("#{} {}", c.id, c.name))
        .collect();
    let colors: Vec<&str> = (0..names.len()).map(color).collect();
    let _ = write!(
        h,
        r#"<section id="time"><h2>Clusters over time</h2><p class="note">Texts per {period} and cluster, by the input's <code>{field}</code> field{unknown}.</p>"#,
        period = format!("{:?}", t.period).to_lowercase(),
        field = esc(field),
        unknown = if t.unknown > 0 {
            format!("; {} texts without a readable time are left out", t.unknown)
        } else {
            String::new()
        },
    );
    h.push_str(&svg::stacked(
        "timeline", &t.labels, &t.counts, &names, &colors,
    ));
    h.push_str("</section>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_read_from_the_usual_forms() {
        assert_eq!(date_of("2024-03-05"), Some((2024, 3, 5)));
        assert_eq!(date_of("2024-03-05T10:00:00Z"), Some((2024, 3, 5)));
        assert_eq!(date_of("2024/3/5"), Some((2024, 3, 5)));
        assert_eq!(date_of("2024-03"), Some((2024, 3, 1)));
        assert_eq!(date_of("2024"), Some((2024, 1, 1)));
        // Unix time: 2021-01-01T00:00:00Z in seconds and milliseconds.
        assert_eq!(date_of("1609459200"), Some((2021, 1, 1)));
        assert_eq!(date_of("1609459200000"), Some((2021, 1, 1)));
        for bad in [
            "",
            "yesterday",
            "2024-13-01",
            "12",
            "99-01-01",
            "2024-02-40",
        ] {
            assert_eq!(date_of(bad), None, "{bad}");
        }
        for d in [(1970, 1, 1), (2000, 2, 29), (2024, 12, 31), (1969, 12, 31)] {
            assert_eq!(civil(days(d)), d);
        }
        assert_eq!(days((1970, 1, 2)), 1);
    }

    #[test]
    fn periods_are_the_finest_that_fit_and_gaps_show() {
        let t = |v: &[&str]| v.iter().map(|s| Some(s.to_string())).collect::<Vec<_>>();
        let line = timeline(
            &t(&["2024-01-01", "2024-01-03", "2024-01-03"]),
            &[0, 1, 1],
            2,
        )
        .unwrap();
        assert_eq!(line.period, Period::Day);
        assert_eq!(line.labels, vec!["2024-01-01", "2024-01-02", "2024-01-03"]);
        assert_eq!(line.counts, vec![vec![1, 0], vec![0, 0], vec![0, 2]]);
        let line = timeline(&t(&["2023-11-20", "2024-02-01", "x"]), &[0, 0, 0], 1).unwrap();
        assert_eq!(line.period, Period::Month);
        assert_eq!(
            line.labels,
            vec!["2023-11", "2023-12", "2024-01", "2024-02"]
        );
        assert_eq!(line.unknown, 1);
        let line = timeline(&t(&["1990", "2020"]), &[0, 0], 1).unwrap();
        assert_eq!(line.period, Period::Year);
        assert_eq!(line.labels.len(), 31);
        assert!(timeline(&t(&["x"]), &[0], 1).is_none());
    }
}
