//! The server's module graph has no cycles, and its layers point one way:
//! routes (and the operator's commands, `admin`) -> domain (`accounts`,
//! `sessions`, `throttle`) -> `store` -> `db`.
//!
//! The tool is this test: it reads every source file of `server/src`, takes
//! each `crate::<module>` a file names outside its unit tests, and checks
//! the graph of top-level modules. (cargo-modules does the same from
//! rust-analyzer's view, at the price of building rust-analyzer in CI.)

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Graph = BTreeMap<String, BTreeSet<String>>;

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file belongs to (`store/sessions.rs` -> `store`).
fn module_of(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).unwrap();
    let first = relative.components().next().unwrap();
    let name = first.as_os_str().to_string_lossy();
    name.trim_end_matches(".rs").to_owned()
}

/// The code of a file without its unit tests (which may reach anywhere).
fn production_code(text: &str) -> &str {
    match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => &text[..at],
        None => text,
    }
}

/// Every top-level module that `code` names as `crate::<module>`, including
/// inside `use crate::{a, b::c}` groups.
fn named_modules(code: &str) -> BTreeSet<String> {
    let mut named = BTreeSet::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let group = &group[..group.find('}').unwrap_or(group.len())];
            for item in group.split(',') {
                let name = ident(item.trim());
                if !name.is_empty() {
                    named.insert(name);
                }
            }
        } else {
            let name = ident(rest);
            if !name.is_empty() {
                named.insert(name);
            }
        }
    }
    named
}

fn graph() -> Graph {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut graph = Graph::new();
    for file in files {
        let module = module_of(&src, &file);
        let name = file.file_name().unwrap().to_string_lossy();
        if matches!(module.as_str(), "lib" | "main") || name == "tests.rs" || name == "testing.rs" {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let deps = graph.entry(module.clone()).or_default();
        for named in named_modules(production_code(&text)) {
            if named != module {
                deps.insert(named);
            }
        }
    }
    graph
}

/// A cycle through `start`, if any (depth-first).
fn cycle_from(graph: &Graph, start: &str) -> Option<Vec<String>> {
    fn walk(graph: &Graph, start: &str, path: &mut Vec<String>) -> bool {
        let here = path.last().unwrap().clone();
        for next in graph.get(&here).into_iter().flatten() {
            if next == start {
                path.push(next.clone());
                return true;
            }
            if !path.contains(next) {
                path.push(next.clone());
                if walk(graph, start, path) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    let mut path = vec![start.to_owned()];
    walk(graph, start, &mut path).then_some(path)
}

#[test]
fn the_modules_import_each_other_in_no_circle() {
    let graph = graph();
    let cycles: Vec<String> = graph
        .keys()
        .filter_map(|module| cycle_from(&graph, module))
        .map(|cycle| cycle.join(" -> "))
        .collect();
    assert!(
        cycles.is_empty(),
        "import circles:\n{}\n\ngraph: {graph:#?}",
        cycles.join("\n")
    );
}

#[test]
fn the_layers_point_one_way() {
    let graph = graph();
    // The reading sees the edges that must be there.
    for (module, dep) in [
        ("routes", "accounts"),
        ("accounts", "sessions"),
        ("sessions", "store"),
        ("store", "db"),
        ("signing_keys", "store"),
    ] {
        assert!(
            graph[module].contains(dep),
            "{module} -> {dep} not seen: {graph:#?}"
        );
    }
    let never: &[(&str, &[&str])] = &[
        (
            "db",
            &[
                "store",
                "sessions",
                "accounts",
                "routes",
                "audit",
                "cache",
                "state",
                "throttle",
                "signing_keys",
            ],
        ),
        (
            "store",
            &[
                "sessions",
                "accounts",
                "routes",
                "audit",
                "cache",
                "state",
                "throttle",
                "signing_keys",
            ],
        ),
        ("sessions", &["routes", "accounts", "openapi"]),
        ("accounts", &["routes", "openapi"]),
        ("throttle", &["routes", "accounts", "sessions"]),
        // The keys' life is a domain of its own: it serves the routes (the
        // key set) and the sessions (signing), never the other way round.
        (
            "signing_keys",
            &["routes", "accounts", "sessions", "openapi"],
        ),
        // Counting sits below everything that counts (the audit trail, the
        // sessions, mail, hashing, the pool): it reads the database pool and
        // nothing else of the server.
        (
            "metrics",
            &[
                "routes",
                "accounts",
                "sessions",
                "audit",
                "store",
                "state",
                "auth",
                "mail",
                "cache",
                "throttle",
                "signing_keys",
            ],
        ),
        (
            "auth",
            &[
                "routes",
                "state",
                "store",
                "sessions",
                "accounts",
                "signing_keys",
            ],
        ),
    ];
    // The operator's commands sit on top, beside routes: nothing imports
    // them, and they do not go through HTTP.
    for (module, deps) in &graph {
        assert!(
            module == "admin" || !deps.contains("admin"),
            "{module} imports admin: {deps:?}"
        );
    }
    assert!(
        graph
            .get("admin")
            .is_some_and(|deps| deps.contains("accounts")
                && deps.contains("store")
                && !deps.contains("routes")),
        "admin -> accounts, store, and not routes: {graph:#?}"
    );
    for (module, forbidden) in never {
        let deps = graph.get(*module).cloned().unwrap_or_default();
        for name in *forbidden {
            assert!(!deps.contains(*name), "{module} imports {name}: {deps:?}");
        }
    }
}
