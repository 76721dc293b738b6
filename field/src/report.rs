//! The report: one row per subject, one cell per class, and below the table one line per
//! divergence that the crate's own deliberate reading explains. Deterministic: subjects in a
//! fixed order, the kit seeded, no timing and no map iteration in the text.

use core::fmt::Write as _;

use misdirect_testkit::{Class, Divergence};

use crate::Subject;

/// The classes, in the order of the table's columns.
pub const CLASSES: [Class; 3] = [Class::Serves, Class::Refuses, Class::Differs];

/// The line that opens the report in `docs/field-report.md`.
pub const BEGIN: &str = "<!-- field-report:begin -->";
/// The line that closes it.
pub const END: &str = "<!-- field-report:end -->";

/// What one subject gave: its divergence (or none) per class, in [`CLASSES`] order.
pub struct Row<'a> {
    /// The subject.
    pub subject: &'a Subject,
    /// Per class, the minimal divergence, or `None` when the budget found none.
    pub found: Vec<Option<Divergence>>,
}

/// Runs every class of `subject`.
#[must_use]
pub fn run(subject: &Subject) -> Row<'_> {
    let found = CLASSES
        .iter()
        .map(|&class| (subject.run)(Subject::options(class)).err())
        .collect();
    Row { subject, found }
}

/// `text` as a Markdown code span that survives a table cell: `|` escaped, and a delimiter
/// longer than any run of backticks inside.
#[must_use]
pub fn code(text: &str) -> String {
    let text = text.replace('|', "\\|");
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    if longest > 0 || text.starts_with(' ') || text.ends_with(' ') {
        format!("{fence} {text} {fence}")
    } else {
        format!("{fence}{text}{fence}")
    }
}

/// Plain text for a table cell: `|` escaped, and the kit's rule references kept short.
fn plain(text: &str) -> String {
    text.replace('|', "\\|")
}

/// The model's answer in a few words: its verdict and the rule, without the sources the kit
/// appends after the rule.
#[must_use]
pub fn model_words(divergence: &Divergence) -> String {
    let mut text = divergence.model().to_string();
    for (long, short) in [
        (
            "; SPEC §3, RFC 9525 §6.3: an invalid presented identifier \"MUST be ignored\")",
            ")",
        ),
        ("; SPEC §2)", ")"),
        (" (SPEC §2)", ""),
        (" (RFC 9525 §6.3, SPEC §2)", ""),
        (" (RFC 9525 §6.3)", ""),
        (" (RFC 9525 §6.2)", ""),
        (" (the scheme's default)", ""),
    ] {
        text = text.replace(long, short);
    }
    text
}

/// `text` with every run of 8 or more copies of one character written `c{n}`, so that the
/// kit's long names fit a table cell.
#[must_use]
pub fn runs(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let n = chars[i..].iter().take_while(|&&d| d == c).count();
        if n >= 8 {
            let _ = write!(out, "{c}{{{n}}}");
        } else {
            out.extend(&chars[i..i + n]);
        }
        i += n;
    }
    out
}

/// One cell: `none`, or the minimal input and what the model and the crate answered.
#[must_use]
pub fn cell(divergence: Option<&Divergence>) -> String {
    match divergence {
        None => "none".to_string(),
        Some(d) => format!(
            "{}: model {}; crate {}",
            code(&runs(d.input())),
            plain(&runs(&model_words(d))),
            plain(&runs(&d.user().replace(" (the scheme's default)", "")))
        ),
    }
}

/// A divergence the kit reports although a `Deviation` every subject accepts allows it: a
/// defect of the kit (reported with the report, not worked around in an adapter), named so
/// that the table is not read as the crate's bug. None is known: the two the first run found
/// (`LongPorts` did not excuse `PortTooLong` and `PortZero`; `NumericNames` was no reading of
/// patterns) are fixed in the kit, and `testkit/tests/mutants.rs` holds each reading.
#[must_use]
pub fn kit_defect(divergence: &Divergence) -> Option<&'static str> {
    let _ = divergence;
    None
}

/// The whole report as the binary prints it.
#[must_use]
pub fn render(rows: &[Row<'_>]) -> String {
    let mut out = String::new();
    out.push_str("| crate | version | function | serves | refuses | differs |\n");
    out.push_str("| --- | --- | --- | --- | --- | --- |\n");
    for row in rows {
        let _ = write!(
            out,
            "| {} | {} | {} |",
            row.subject.package,
            row.subject.version(),
            row.subject.function.replace('|', "\\|")
        );
        for found in &row.found {
            let _ = write!(out, " {} |", cell(found.as_ref()));
        }
        out.push('\n');
    }
    out.push_str(
        "\nEach cell: the kit's minimal input of that class (seed 0, default budget, every `Deviation` accepted), then the model's answer and the crate's; `c{n}` stands for n copies of `c`.\n",
    );
    let mut readings = Vec::new();
    let mut defects = Vec::new();
    for row in rows {
        for (class, found) in CLASSES.iter().zip(&row.found) {
            let Some(d) = found else { continue };
            let line = |why: &str| {
                format!(
                    "- {} {}, {} {}: {why}.",
                    row.subject.package,
                    row.subject.version(),
                    class.name(),
                    code(&runs(d.input()))
                )
            };
            if let Some(why) = kit_defect(d) {
                defects.push(line(why));
            } else if let Some(why) = (row.subject.reading)(d) {
                readings.push(line(why));
            }
        }
    }
    out.push_str("\nDeliberate readings of the crates, not bugs:\n\n");
    if readings.is_empty() {
        out.push_str("- none among the divergences above.\n");
    }
    for line in readings {
        out.push_str(&line);
        out.push('\n');
    }
    out.push_str("\nKit defects, not the crates' (reported, not worked around):\n\n");
    if defects.is_empty() {
        out.push_str("- none among the divergences above.\n");
    }
    for line in defects {
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// The text between the markers of a document, without the marker lines; `None` when a
/// marker is missing.
#[must_use]
pub fn between_markers(document: &str) -> Option<String> {
    let mut lines = document.lines();
    lines.by_ref().find(|l| l.trim() == BEGIN)?;
    let mut inside = Vec::new();
    for line in lines {
        if line.trim() == END {
            let mut text = inside.join("\n");
            text.push('\n');
            return Some(text.trim_matches('\n').to_string() + "\n");
        }
        inside.push(line);
    }
    None
}

/// A line diff of `expected` (the document) against `actual` (a fresh run): `-` for a line
/// only in the document, `+` for one only in the run, by a longest common subsequence.
#[must_use]
pub fn diff(expected: &str, actual: &str) -> String {
    let a: Vec<&str> = expected.lines().collect();
    let b: Vec<&str> = actual.lines().collect();
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = String::new();
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            let _ = writeln!(out, "-{}", a[i]);
            i += 1;
        } else {
            let _ = writeln!(out, "+{}", b[j]);
            j += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_spans_survive_a_table() {
        assert_eq!(code("\"a|b\""), "`\"a\\|b\"`");
        assert_eq!(code("a`b"), "`` a`b ``");
    }

    #[test]
    fn long_runs_are_counted() {
        assert_eq!(runs("a.0000000000.b"), "a.0{10}.b");
        assert_eq!(runs("0000000"), "0000000");
    }

    #[test]
    fn the_markers_delimit_the_report() {
        let doc = format!("intro\n{BEGIN}\n\n| a |\n\nx\n{END}\nafter\n");
        assert_eq!(between_markers(&doc).as_deref(), Some("| a |\n\nx\n"));
        assert_eq!(between_markers("no markers"), None);
    }

    #[test]
    fn the_diff_names_each_changed_line() {
        assert_eq!(diff("a\nb\nc\n", "a\nc\nd\n"), "-b\n+d\n");
        assert_eq!(diff("same\n", "same\n"), "");
        assert_eq!(diff("x\n", "y\n"), "-x\n+y\n");
    }
}
