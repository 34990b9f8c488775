//! Writers for the published statistics: a CSV matrix and an SVG chart. Suppressed numbers
//! are never written: the CSV leaves them empty, the chart hatches them.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::csv_line;
use crate::report::StatsRecord;

/// Each listed cell's count by (sector, category); `None` when suppressed.
type Cells<'a> = BTreeMap<(&'a str, &'a str), Option<u64>>;

/// The rows (sectors) and columns (categories) of a statistics record, in order, and each
/// cell's count (absent when no report).
fn matrix(s: &StatsRecord) -> (Vec<&str>, Vec<&str>, Cells<'_>) {
    let sectors: Vec<&str> = s.sector_totals.keys().map(String::as_str).collect();
    let categories: Vec<&str> = s.category_totals.keys().map(String::as_str).collect();
    let cells = s
        .cells
        .iter()
        .map(|c| ((c.sector.as_str(), c.category.as_str()), c.count))
        .collect();
    (sectors, categories, cells)
}

/// A CSV matrix: a row per sector, a column per category, then the totals. A suppressed
/// number is an empty field; a combination without reports is `0`.
pub fn stats_csv(s: &StatsRecord) -> String {
    let (sectors, categories, cells) = matrix(s);
    let number = |n: Option<u64>| n.map(|n| n.to_string()).unwrap_or_default();
    let mut out = csv_line(
        std::iter::once("sector")
            .chain(categories.iter().copied())
            .chain(["total"]),
    );
    for sector in &sectors {
        let counts: Vec<String> = categories
            .iter()
            .map(|c| {
                cells
                    .get(&(*sector, *c))
                    .map_or("0".to_owned(), |n| number(*n))
            })
            .chain([number(s.sector_totals.get(*sector).copied().flatten())])
            .collect();
        out.push_str(&csv_line(
            std::iter::once(*sector).chain(counts.iter().map(String::as_str)),
        ));
    }
    let totals: Vec<String> = categories
        .iter()
        .map(|c| number(s.category_totals.get(*c).copied().flatten()))
        .chain([number(s.total)])
        .collect();
    out.push_str(&csv_line(
        std::iter::once("total").chain(totals.iter().map(String::as_str)),
    ));
    out
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A readable chart: a table of coloured squares (darker is more reports), a sector per
/// row and a category per column, with the totals at the right and the bottom. Suppressed
/// numbers are hatched and marked `·`; a legend says what that means.
pub fn stats_svg(s: &StatsRecord) -> String {
    let (sectors, categories, cells) = matrix(s);
    let cell = 56;
    let left = 10 + 8 * sectors.iter().map(|x| x.len()).max().unwrap_or(6).max(6);
    let top = 190;
    let cols = categories.len() + 1;
    let rows = sectors.len() + 1;
    // Wide enough for the notes (about 7 px a character at 13 px).
    let width = (left + cols * cell + 20).max(720);
    let height = top + rows * cell + 110;
    let max = s
        .cells
        .iter()
        .filter_map(|c| c.count)
        .max()
        .unwrap_or(1)
        .max(1);
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="13" role="img" aria-labelledby="title">"#
    );
    let _ = writeln!(
        out,
        r#"<title id="title">Incident reports by sector and category, {}</title>"#,
        escape(&s.period)
    );
    let _ = writeln!(
        out,
        r##"<defs><pattern id="suppressed" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="8" height="8" fill="#f2f2f2"/><line x1="0" y1="0" x2="0" y2="8" stroke="#b0b0b0" stroke-width="3"/></pattern></defs>"##
    );
    let _ = writeln!(
        out,
        r#"<text x="10" y="24" font-size="17" font-weight="bold">Incident reports by sector and category, {}</text>"#,
        escape(&s.period)
    );
    let _ = writeln!(
        out,
        r##"<text x="10" y="46" fill="#444">Hatched (·): withheld — fewer than {} reports or {} organisations,</text><text x="10" y="64" fill="#444">or it would let a withheld number be worked out.</text>"##,
        s.threshold, s.min_organisations
    );
    // Column headings, turned so that long category names fit.
    for (i, c) in categories
        .iter()
        .chain(std::iter::once(&"total"))
        .enumerate()
    {
        let x = left + i * cell + cell / 2;
        let _ = writeln!(
            out,
            r#"<text x="{x}" y="{}" transform="rotate(-55 {x} {})" font-weight="{}">{}</text>"#,
            top - 8,
            top - 8,
            if i + 1 == cols { "bold" } else { "normal" },
            escape(c)
        );
    }
    let square = |out: &mut String,
                  row: usize,
                  col: usize,
                  count: Option<Option<u64>>,
                  total: bool| {
        let x = left + col * cell;
        let y = top + row * cell;
        let (fill, label, ink) = match count {
            None => ("#ffffff".to_owned(), "0".to_owned(), "#999"),
            Some(None) => ("url(#suppressed)".to_owned(), "·".to_owned(), "#333"),
            Some(Some(n)) if total => ("#e8e8e8".to_owned(), n.to_string(), "#000"),
            Some(Some(n)) => {
                // From light to dark blue by share of the largest published cell.
                let t = (n as f64 / max as f64).clamp(0.0, 1.0);
                let channel = |light: f64, dark: f64| (light + (dark - light) * t).round() as u8;
                let ink = if t > 0.55 { "#fff" } else { "#000" };
                (
                    format!(
                        "#{:02x}{:02x}{:02x}",
                        channel(222.0, 8.0),
                        channel(235.0, 69.0),
                        channel(247.0, 148.0)
                    ),
                    n.to_string(),
                    ink,
                )
            }
        };
        let _ = writeln!(
            out,
            r##"<rect x="{x}" y="{y}" width="{}" height="{}" fill="{fill}" stroke="#ccc"/><text x="{}" y="{}" text-anchor="middle" fill="{ink}">{label}</text>"##,
            cell - 2,
            cell - 2,
            x + cell / 2 - 1,
            y + cell / 2 + 4
        );
    };
    for (r, sector) in sectors.iter().enumerate() {
        let _ = writeln!(
            out,
            r#"<text x="{}" y="{}" text-anchor="end">{}</text>"#,
            left - 8,
            top + r * cell + cell / 2 + 4,
            escape(sector)
        );
        for (c, category) in categories.iter().enumerate() {
            square(
                &mut out,
                r,
                c,
                cells.get(&(*sector, *category)).copied(),
                false,
            );
        }
        square(
            &mut out,
            r,
            categories.len(),
            Some(s.sector_totals.get(*sector).copied().flatten()),
            true,
        );
    }
    let last = sectors.len();
    let _ = writeln!(
        out,
        r#"<text x="{}" y="{}" text-anchor="end" font-weight="bold">total</text>"#,
        left - 8,
        top + last * cell + cell / 2 + 4
    );
    for (c, category) in categories.iter().enumerate() {
        square(
            &mut out,
            last,
            c,
            Some(s.category_totals.get(*category).copied().flatten()),
            true,
        );
    }
    square(&mut out, last, categories.len(), Some(s.total), true);
    let _ = writeln!(
        out,
        r##"<text x="10" y="{}" fill="#444">Counted by the reporter's first sector and the incident's category (Reference Security</text><text x="10" y="{}" fill="#444">Incident Taxonomy), by the day the reporter became aware, in Europe/Amsterdam.</text>"##,
        height - 58,
        height - 40
    );
    let _ = writeln!(
        out,
        r##"<text x="10" y="{}" fill="#444">0: no reports. Source: incident reports to the centre.</text>"##,
        height - 20
    );
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::CellRecord;

    fn sample() -> StatsRecord {
        StatsRecord {
            period: "2026-Q3".into(),
            threshold: 5,
            min_organisations: 3,
            cells: vec![
                CellRecord {
                    sector: "health".into(),
                    category: "availability".into(),
                    count: Some(6),
                },
                CellRecord {
                    sector: "health".into(),
                    category: "intrusions".into(),
                    count: None,
                },
                CellRecord {
                    sector: "energy".into(),
                    category: "availability".into(),
                    count: Some(5),
                },
            ],
            sector_totals: [("energy".to_owned(), Some(5)), ("health".to_owned(), None)].into(),
            category_totals: [
                ("availability".to_owned(), Some(11)),
                ("intrusions".to_owned(), None),
            ]
            .into(),
            total: None,
        }
    }

    #[test]
    fn csv_matrix_leaves_suppressed_numbers_empty() {
        assert_eq!(
            stats_csv(&sample()),
            "sector,availability,intrusions,total\r\nenergy,5,0,5\r\nhealth,6,,\r\ntotal,11,,\r\n"
        );
    }

    #[test]
    fn svg_names_every_row_and_column_and_hides_suppressed() {
        let svg = stats_svg(&sample());
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        for text in [
            "health",
            "energy",
            "availability",
            "intrusions",
            ">6<",
            ">11<",
            "url(#suppressed)",
        ] {
            assert!(svg.contains(text), "{text}");
        }
        assert_eq!(svg.matches('<').count(), svg.matches('>').count());
    }
}
