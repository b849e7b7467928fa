//! The module graph, read from the source: every `crate::x` path (in `use` items, grouped
//! `use crate::{a, b}` items and inline paths) of non-test code makes an edge from the file's
//! module to `x`. Fails on a cycle between top-level modules; prints the edges inside `src/app`
//! and its cycles (asserted once [`APP_MUST_BE_ACYCLIC`] is switched on).
//!
//! Plain text reading, no parser: comments are skipped, every `#[cfg(test)]` item is left out
//! (a test module by its braces, wherever it sits), and a `use` line marked `// old path` (a
//! re-export kept while other branches still use a moved item) makes no edge. Inside the app,
//! `super::x`, grouped `super::{x, y}` and `crate::app::{x, y}` paths count, and a name the
//! app re-exports (`crate::app::State`) counts as the module it comes from.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Switch on when the app's own cycle is broken (issue 13): then `src/app` must be acyclic too.
const APP_MUST_BE_ACYCLIC: bool = true;

type Graph = BTreeMap<String, BTreeSet<String>>;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// `src/app/update.rs` → `["app", "update"]`; `src/app/mod.rs` → `["app"]`; `src/lib.rs` → `[]`.
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib" | "main")) {
        parts.pop();
    }
    parts
}

/// The code of a file that the library builds outside tests: comments and every
/// `#[cfg(test)]` item left out.
fn code(text: &str) -> String {
    let lines = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("//") && !l.contains("// old path"))
        .map(|l| l.split(" // ").next().unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n");
    without_test_items(&lines)
}

/// Drops each item after a `#[cfg(test)]`: up to its `;`, or to the brace closing its body.
fn without_test_items(code: &str) -> String {
    let mut out = String::new();
    let mut rest = code;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let item = &rest[at + "#[cfg(test)]".len()..];
        let mut depth = 0usize;
        let mut end = item.len();
        for (i, c) in item.char_indices() {
            match c {
                ';' if depth == 0 => {
                    end = i + 1;
                    break;
                }
                '{' => depth += 1,
                '}' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        end = i + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        rest = &item[end..];
    }
    out.push_str(rest);
    out
}

/// The names of a grouped path's top level: `{a::{b, c}, d as e}` → `a`, `d`.
fn group_items(group: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0;
    let mut item = String::new();
    for c in group.chars() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                out.push(split_path(&item).0);
                item.clear();
                continue;
            }
            _ => {}
        }
        if depth == 0 && c != '}' {
            item.push(c);
        }
    }
    out.push(split_path(&item).0);
    out.retain(|m| !m.is_empty());
    out
}

/// The first segment after every `crate::` with the second, and the items of grouped
/// `use crate::{…}` (top level of the braces only: `use crate::{a::{b, c}, d}` names `a` and
/// `d`); `crate::app::{x, y}` gives `app` twice, with `x` and with `y`.
fn crate_paths(code: &str) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().last();
        rest = &rest[at + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
            continue; // `$crate::`, `callscope_crate::`, …
        }
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut item = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        out.push(split_path(&item));
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                if depth == 0 && c != '}' {
                    item.push(c);
                }
            }
            out.push(split_path(&item));
        } else {
            let (first, second) = split_path(rest);
            let after = rest.trim_start()[first.len()..].strip_prefix("::{");
            match after {
                Some(group) if second.is_none() => {
                    out.extend(group_items(group).into_iter().map(|g| (first.clone(), Some(g))));
                }
                _ => out.push((first, second)),
            }
        }
    }
    out.retain(|(m, _)| !m.is_empty());
    out
}

/// The siblings a file inside the app names as `super::x` or `super::{x, y}`.
fn super_paths(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, _) in code.match_indices("super::") {
        let rest = &code[i + "super::".len()..];
        match rest.strip_prefix('{') {
            Some(group) => out.extend(group_items(group)),
            None => out.push(split_path(rest).0),
        }
    }
    out.retain(|m| !m.is_empty() && m != "super");
    out
}

/// The names a root module re-exports: `pub use keymap::{Action, KeyMap};` in
/// `src/app/mod.rs` maps `Action` to `keymap`.
fn reexports(mod_rs: &str) -> BTreeMap<String, String> {
    let mut alias = BTreeMap::new();
    for line in code(mod_rs).lines() {
        let Some(rest) = line.trim().strip_prefix("pub use ") else {
            continue;
        };
        let Some((module, names)) = rest.trim_end_matches(';').split_once("::") else {
            continue;
        };
        for name in names.trim_matches(|c| c == '{' || c == '}').split(',') {
            alias.insert(name.trim().to_string(), module.trim().to_string());
        }
    }
    alias
}

/// `app::update::select …` → `("app", Some("update"))`.
fn split_path(s: &str) -> (String, Option<String>) {
    let ident = |s: &str| -> String { s.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect() };
    let s = s.trim_start();
    let first = ident(s);
    let second = s[first.len()..].strip_prefix("::").map(ident).filter(|x| !x.is_empty());
    (first, second)
}

struct Graphs {
    top: Graph,
    app: Graph,
}

fn graphs() -> Graphs {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let top_modules: BTreeSet<String> = files
        .iter()
        .filter_map(|f| module_path(&src, f).first().cloned())
        .collect();
    // `pub use domain::{duration, timerange};` in lib.rs: `crate::duration` is the domain's.
    let alias = reexports(&std::fs::read_to_string(src.join("lib.rs")).unwrap());
    let app_alias = reexports(&std::fs::read_to_string(src.join("app").join("mod.rs")).unwrap());
    // A sibling module, or a name re-exported by the app's root; anything else (a type) is no edge.
    let app_module = |name: &str| -> Option<String> {
        match app_alias.get(name) {
            Some(m) => Some(m.clone()),
            None => name
                .chars()
                .next()
                .is_some_and(char::is_lowercase)
                .then(|| name.to_string()),
        }
    };
    let mut top = Graph::new();
    let mut app = Graph::new();
    for file in &files {
        let path = module_path(&src, file);
        let Some(from) = path.first() else { continue };
        if path.len() == 1 && file.ends_with("main.rs") {
            continue;
        }
        let text = std::fs::read_to_string(file).unwrap();
        let code = code(&text);
        let local = |to: &str, graph: &mut Graph, from: &str| {
            if to != from {
                graph.entry(from.to_string()).or_default().insert(to.to_string());
            }
        };
        for (to, sub) in crate_paths(&code) {
            let to = alias.get(&to).cloned().unwrap_or(to);
            if top_modules.contains(&to) {
                local(&to, &mut top, from);
            }
            if let (true, Some(inner), Some(sub)) = (from == "app" && to == "app", path.get(1), sub)
                && let Some(sub) = app_module(&sub)
            {
                local(&sub, &mut app, inner);
            }
        }
        // Inside the app, sibling modules are also reached as `super::x`.
        if let (true, Some(inner)) = (from == "app", path.get(1)) {
            for to in super_paths(&code) {
                if let Some(to) = app_module(&to) {
                    local(&to, &mut app, inner);
                }
            }
        }
    }
    Graphs { top, app }
}

/// Every elementary cycle's node set, found as strongly connected components (Tarjan's) of
/// more than one node: each is listed as a sorted path of its members.
fn cycles(g: &Graph) -> Vec<Vec<String>> {
    struct T<'g> {
        g: &'g Graph,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on: BTreeSet<&'g str>,
        next: usize,
        out: Vec<Vec<String>>,
    }
    impl<'g> T<'g> {
        fn visit(&mut self, v: &'g str) {
            self.index.insert(v, self.next);
            self.low.insert(v, self.next);
            self.next += 1;
            self.stack.push(v);
            self.on.insert(v);
            for w in self.g.get(v).into_iter().flatten() {
                let w = w.as_str();
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let l = self.low[w].min(self.low[v]);
                    self.low.insert(v, l);
                } else if self.on.contains(w) {
                    let l = self.index[w].min(self.low[v]);
                    self.low.insert(v, l);
                }
            }
            if self.low[v] == self.index[v] {
                let mut comp = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on.remove(w);
                    comp.push(w.to_string());
                    if w == v {
                        break;
                    }
                }
                if comp.len() > 1 {
                    comp.sort();
                    self.out.push(comp);
                }
            }
        }
    }
    let mut t = T {
        g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in g.keys() {
        if !t.index.contains_key(v.as_str()) {
            t.visit(v);
        }
    }
    t.out.sort();
    t.out
}

fn show(g: &Graph) -> String {
    g.iter()
        .map(|(from, to)| format!("  {from} -> {}", to.iter().cloned().collect::<Vec<_>>().join(" ")))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn top_level_modules_have_no_cycle() {
    let g = graphs();
    println!("top-level edges:\n{}", show(&g.top));
    let found = cycles(&g.top);
    assert!(
        found.is_empty(),
        "modules that import each other (directly or round a circle): {found:?}\n{}",
        show(&g.top)
    );
}

#[test]
fn the_app_modules_edges_and_cycles() {
    let g = graphs();
    let found = cycles(&g.app);
    let mutual: Vec<(&String, &String)> = g
        .app
        .iter()
        .flat_map(|(a, to)| to.iter().map(move |b| (a, b)))
        .filter(|(a, b)| a < b && g.app.get(*b).is_some_and(|back| back.contains(*a)))
        .collect();
    println!(
        "src/app edges:\n{}\nsrc/app cycles (strongly connected): {found:?}\nsrc/app pairs importing each other: {mutual:?}",
        show(&g.app)
    );
    assert!(g.app.contains_key("update"), "the reader finds the app's modules");
    if APP_MUST_BE_ACYCLIC {
        assert!(found.is_empty(), "src/app cycles: {found:?}");
        // `update` only dispatches: the features it calls never call back into it.
        let into_update: Vec<&String> = g
            .app
            .iter()
            .filter(|(_, to)| to.contains("update"))
            .map(|(m, _)| m)
            .collect();
        assert!(into_update.is_empty(), "modules importing update: {into_update:?}");
    }
}

/// The checker itself: a circle is found, a chain is not, and the reader sees every form of path.
#[test]
fn the_checker_finds_circles_and_reads_paths() {
    let g: Graph = [("a", vec!["b"]), ("b", vec!["c"]), ("c", vec!["a"]), ("d", vec!["a"])]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.into_iter().map(String::from).collect()))
        .collect();
    assert_eq!(cycles(&g), [["a", "b", "c"]]);
    let chain: Graph = [("a", vec!["b"]), ("b", vec!["c"])]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.into_iter().map(String::from).collect()))
        .collect();
    assert!(cycles(&chain).is_empty());
    let text = "use crate::{api::{A, B}, store};\nlet x = crate::ui::draw();\n// use crate::tui;\n\
                pub use crate::standin::x; // old path\nmacro_rules! m { () => { $crate::output::x } }\n\
                #[cfg(test)]\nmod tests { use crate::doctor; }";
    let got: Vec<String> = crate_paths(&code(text)).into_iter().map(|(m, _)| m).collect();
    assert_eq!(got, ["api", "store", "ui"]);
    assert_eq!(split_path("app::update::select"), ("app".into(), Some("update".into())));
    // Grouped app paths, `super::` paths in both forms, and test items anywhere in a file.
    let text = "use crate::app::{list::select, state::State};\nuse super::{detail_view, review::{self, x}};\n\
                #[cfg(test)]\nmod tests { use super::update; }\nfn f() { super::pages::on_page(); }\n\
                #[cfg(test)]\nuse super::actions;";
    let code = code(text);
    let app: Vec<(String, Option<String>)> = crate_paths(&code);
    assert_eq!(
        app,
        [
            ("app".into(), Some("list".into())),
            ("app".into(), Some("state".into()))
        ]
    );
    assert_eq!(super_paths(&code), ["detail_view", "review", "pages"]);
}
