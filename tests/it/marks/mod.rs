//! Integration tests: marks.
mod history_tui;
mod merge;
mod push;
mod scores;

use std::path::Path;

use callscope::domain::{ConversationKey, Origin};

use crate::support::{callscope_in, text};

/// A call of the origin the marks files carry.
fn live(id: &str) -> ConversationKey {
    Origin::new("ws-demo", "PROJECT-demo", "live").key(id)
}

/// `marks export` of the store `db` to `file` through the binary; the file as JSON.
fn export(h: &Path, db: &Path, file: &Path) -> serde_json::Value {
    let out = callscope_in(
        h,
        &[
            "marks",
            "export",
            "--store",
            db.to_str().unwrap(),
            "--out",
            file.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap()
}

/// `marks import` of `file` into the store `db` through the binary (`--dry-run` when
/// `dry_run`): the lines it printed and its summary, the last line.
fn import(h: &Path, file: &Path, db: &Path, dry_run: bool) -> (Vec<String>, String) {
    let mut args = vec![
        "marks",
        "import",
        file.to_str().unwrap(),
        "--store",
        db.to_str().unwrap(),
    ];
    if dry_run {
        args.push("--dry-run");
    }
    let out = callscope_in(h, &args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let mut lines: Vec<String> = text(&out.stdout).lines().map(String::from).collect();
    let summary = lines.pop().expect("a summary line");
    (lines, summary)
}
