//! Saved views: `[views]` of the config file, chosen with `v`, shown in the header, and refused
//! at startup (before the terminal is touched) when one is invalid.

use crate::support::tui as tui_support;

use std::process::Command;

use callscope::app::state::Overlay;
use callscope::app::{Effect, IoEffect, update};
use callscope::domain::Filter;
use crossterm::event::KeyCode;
use tui_support::*;

#[test]
fn a_saved_view_filters_the_list_and_names_itself_in_the_header() {
    let mut s = state(140, 40);
    let table: toml::Table = toml::from_str(
        r#"
        handoffs = "handoff voice"
        slow = { latency_above = 2.0, status = "new" }
        "#,
    )
    .unwrap();
    s.views = Filter::views(&table).unwrap().into_iter().collect();
    started_with(&mut s, page(0..30, None, true));
    update(&mut s, key('v'));
    assert_eq!(s.overlay, Overlay::ViewPicker { sel: 0 });
    let screen = render(&s);
    assert!(screen.contains("all conversations (no filter)"), "{screen}");
    assert!(screen.contains("handoffs — voice · handoff"), "{screen}");
    assert!(screen.contains("slow — >2.0s latency · unreviewed"), "{screen}");
    // `2` picks the first saved view: the list reloads under its filter.
    let fx = update(&mut s, key('2'));
    assert_eq!(s.overlay, Overlay::None);
    assert_eq!(s.view_name.as_deref(), Some("handoffs"));
    let filter = fx
        .iter()
        .find_map(|e| match e {
            Effect::Io(IoEffect::FetchPage { filter, query, .. }) => {
                assert_eq!(query.channels, ["VOICE-SIP"], "the server filters the channel");
                filter.clone()
            }
            _ => None,
        })
        .expect("a reload with the view's filter");
    assert_eq!(filter.filter, Filter::parse("voice handoff").unwrap());
    assert!(
        render(&s)
            .lines()
            .next()
            .unwrap()
            .contains("filter: view handoffs: voice · handoff")
    );
    // `v` again opens on the current view; Enter on the first entry clears the filter.
    update(&mut s, key('v'));
    assert_eq!(s.overlay, Overlay::ViewPicker { sel: 1 });
    update(&mut s, key('k'));
    let fx = update(&mut s, code(KeyCode::Enter));
    assert!(s.filter.is_empty() && s.view_name.is_none());
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::Io(IoEffect::FetchPage { filter: None, .. })))
    );
    assert!(!render(&s).lines().next().unwrap().contains("filter:"));
}

#[test]
fn an_invalid_view_is_refused_at_startup_with_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config/callscope");
    std::fs::create_dir_all(&cfg).unwrap();
    std::fs::write(cfg.join("config.toml"), "[views]\nmine = \"voice handof\"\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_callscope"))
        .args(["demo", "--new-call-every", "0"])
        .env("XDG_CONFIG_HOME", dir.path().join("config"))
        .env("XDG_DATA_HOME", dir.path().join("data"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("invalid [views]"), "{err}");
    assert!(err.contains("mine") && err.contains("handof"), "{err}");
}
