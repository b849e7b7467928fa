//! The README's keys table is the keymap table: every action, its default keys and its help
//! text, in order. A new or changed binding fails here until the README says the same.

use callscope::app::Action;

fn expected_rows() -> Vec<String> {
    Action::ALL
        .iter()
        .map(|a| {
            let keys: Vec<String> = a.default_keys().iter().map(|k| format!("`{k}`")).collect();
            format!("| {} | {} (`{}`) |", keys.join(" "), a.description(), a.name())
        })
        .collect()
}

#[test]
fn readme_keys_table_matches_the_keymap() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let rows: Vec<String> = readme
        .lines()
        .skip_while(|l| !l.starts_with("| keys | action"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(str::to_string)
        .collect();
    let want = expected_rows();
    assert_eq!(
        rows,
        want,
        "README keys table out of date; the rows should be:\n{}",
        want.join("\n")
    );
}
