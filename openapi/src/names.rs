//! Rust module names for API groups (DESIGN.md, "Vocabulary").

use std::collections::{BTreeMap, HashMap};

/// Rust keywords that cannot name a module, even as raw identifiers in every position.
const KEYWORDS: &[&str] = &[
    "as", "async", "await", "box", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern", "false",
    "fn", "for", "gen", "if", "impl", "in", "let", "loop", "macro", "match", "mod", "move", "mut", "priv", "pub",
    "ref", "return", "self", "static", "struct", "super", "trait", "true", "try", "type", "typeof", "unsafe",
    "unsized", "use", "virtual", "where", "while", "yield", "abstract", "become", "do", "final", "override",
];

/// `text` as a snake_case identifier: lower case, `-` and `.` become `_`, never a keyword,
/// never starting with a digit.
pub fn snake_ident(text: &str) -> String {
    let mut out: String =
        text.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert_str(0, "g_");
    }
    if KEYWORDS.contains(&out.as_str()) {
        out.push('_');
    }
    out
}

/// Crates generated code names by path from the root of the generated tree (`std::ops`,
/// `serde_json::Value`): a group module of that name at the root would shadow them, so such a
/// group is named in full (`std.example.com` -> `std_example_com`).
const CRATE_NAMES: &[&str] = &["std", "alloc", "serde", "serde_json", "k8s_openapi", "kube_codegen_runtime"];

/// The module of each group: `core` for `""`, the first DNS label where it is unique among
/// `groups`, the whole group where two share it; `aliases` override.
pub(crate) fn group_modules(groups: &[&str], aliases: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let label = |g: &str| {
        if g.is_empty() { "core".to_owned() } else { snake_ident(g.split('.').next().unwrap_or(g)) }
    };
    let mut users: HashMap<String, usize> = HashMap::new();
    for g in groups {
        *users.entry(label(g)).or_default() += 1;
    }
    groups
        .iter()
        .map(|&g| {
            let module = match aliases.get(g) {
                Some(alias) => alias.clone(),
                None if g.is_empty() => "core".to_owned(),
                None if users.get(&label(g)).copied().unwrap_or(0) > 1 || CRATE_NAMES.contains(&label(g).as_str()) => {
                    snake_ident(g)
                }
                None => label(g),
            };
            (g.to_owned(), module)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_label_unless_shared() {
        let groups =
            ["", "apps", "cert-manager.io", "gateway.networking.k8s.io", "networking.k8s.io", "networking.istio.io"];
        let m = group_modules(&groups, &BTreeMap::new());
        assert_eq!(m[""], "core");
        assert_eq!(m["apps"], "apps");
        assert_eq!(m["cert-manager.io"], "cert_manager");
        assert_eq!(m["gateway.networking.k8s.io"], "gateway");
        assert_eq!(m["networking.k8s.io"], "networking_k8s_io");
        assert_eq!(m["networking.istio.io"], "networking_istio_io");
    }

    #[test]
    fn core_label_collides_with_the_core_group() {
        let m = group_modules(&["", "core.oam.dev"], &BTreeMap::new());
        assert_eq!((m[""].as_str(), m["core.oam.dev"].as_str()), ("core", "core_oam_dev"));
    }

    #[test]
    fn aliases_win_and_keywords_are_escaped() {
        let aliases = BTreeMap::from([("apps".to_owned(), "workloads".to_owned())]);
        let m = group_modules(&["apps", "type.example.com", "3scale.net"], &aliases);
        assert_eq!(m["apps"], "workloads");
        assert_eq!(m["type.example.com"], "type_");
        assert_eq!(m["3scale.net"], "g_3scale");
    }
}
