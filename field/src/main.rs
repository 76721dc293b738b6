//! `misdirect-field`: runs misdirect's test kit against other crates' host handling and
//! prints the field report, a Markdown table (see `docs/field-report.md`).
//!
//! `cargo run --release --manifest-path field/Cargo.toml` prints the report;
//! `... -- --check docs/field-report.md` exits 1 with a diff when the report between the
//! document's markers is not what a fresh run prints.

use std::process::ExitCode;

use misdirect_field::report::{self, BEGIN, END};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let check = match args.as_slice() {
        [] => None,
        [flag, path] if flag == "--check" => Some(path.clone()),
        _ => {
            eprintln!("usage: misdirect-field [--check docs/field-report.md]");
            return ExitCode::from(2);
        }
    };
    // Read the document first, so that a wrong path fails before the run.
    let document = match &check {
        Some(path) => match std::fs::read_to_string(path) {
            Ok(text) => Some(text),
            Err(e) => {
                eprintln!("{path}: {e}");
                return ExitCode::from(2);
            }
        },
        None => None,
    };
    let subjects = misdirect_field::subjects();
    let rows: Vec<_> = subjects.iter().map(report::run).collect();
    let fresh = report::render(&rows);
    let (Some(path), Some(document)) = (check, document) else {
        print!("{fresh}");
        return ExitCode::SUCCESS;
    };
    let Some(recorded) = report::between_markers(&document) else {
        eprintln!("{path}: no report between the lines {BEGIN} and {END}");
        return ExitCode::from(1);
    };
    if recorded == fresh {
        println!("{path}: the report is what a fresh run prints");
        ExitCode::SUCCESS
    } else {
        eprintln!(
            "{path}: the report between the markers differs from a fresh run (- the document, + the run):"
        );
        eprint!("{}", report::diff(&recorded, &fresh));
        eprintln!(
            "regenerate it: cargo run --release --manifest-path field/Cargo.toml, and paste the output between the markers"
        );
        ExitCode::from(1)
    }
}
