//! The README's key table is the keymap's: every action has its row, with its name, its
//! description and exactly its default keys.

use callscope::app::keymap::KeyChord;
use callscope::app::{Action, KeyMap};

#[test]
fn readme_key_table_matches_the_keymap() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let km = KeyMap::default();
    for &action in Action::ALL {
        let suffix = format!(" (`{}`) |", action.name());
        let row = readme
            .lines()
            .find(|l| l.starts_with("| `") && l.ends_with(&suffix))
            .unwrap_or_else(|| panic!("README has no key row for `{}`", action.name()));
        assert!(
            row.contains(action.description()),
            "README row for `{}` does not say {:?}: {row}",
            action.name(),
            action.description()
        );
        let keys_cell = row.trim_start_matches('|').split(" | ").next().unwrap();
        let keys: Vec<KeyChord> = keys_cell
            .split('`')
            .skip(1)
            .step_by(2)
            .map(|k| KeyChord::parse(k).unwrap_or_else(|| panic!("README key {k:?} does not parse")))
            .collect();
        assert_eq!(keys, km.keys(action), "README keys of `{}`: {row}", action.name());
    }
}
