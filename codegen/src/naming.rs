//! The names the generated code gives each API group, resource and group-version: the group
//! modules (DESIGN.md, "Vocabulary"), the `<Kind>Client`, `<Kind>Lister`, `<Kind>Informer` and
//! `<Kind>ApplyConfiguration` types, the accessor methods, and the group-version client and
//! informer types. Every emitter asks here, so a name is made once, from sanitised input, and is
//! the same in the CLI, build.rs and the derive.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use kube_codegen_openapi::{Model, Resource};

use crate::rust_names::{field_ident, pascal, snake, type_ident, unique, words};

/// A module below the generated root, as its path segments (`["apps", "v1"]`).
pub type ModPath = Vec<String>;

/// The Rust module of an API group-version.
pub fn gv_module(modules: &BTreeMap<String, String>, group: &str, version: &str) -> ModPath {
    let group = modules.get(group).cloned().unwrap_or_else(|| snake_ident(group));
    vec![group, snake_ident(version)]
}

/// The Rust module name of every API group that has a resource or a kind in the model: the
/// first DNS label in snake_case, the whole group where two groups share a first label, `core`
/// for the core group; `aliases` win over both.
pub fn group_modules(model: &Model, aliases: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut groups: Vec<&str> = model.resources.iter().map(|r| r.group.as_str()).collect();
    for def in model.types.iter() {
        groups.extend(def.gvks.iter().map(|g| g.group.as_str()));
    }
    groups.sort_unstable();
    groups.dedup();
    modules_of_groups(&groups, aliases)
}

/// `text` as a snake_case identifier: lower case, `-` and `.` become `_`, never a keyword,
/// never starting with a digit.
pub fn snake_ident(text: &str) -> String {
    let mut out: String =
        text.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert_str(0, "g_");
    }
    if crate::rust_names::KEYWORDS.contains(&out.as_str()) {
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
fn modules_of_groups(groups: &[&str], aliases: &BTreeMap<String, String>) -> BTreeMap<String, String> {
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

/// The per-resource names of one resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceNames {
    /// The Kind as a Rust type name (`fooBar` -> `FooBar`, `Foo-Bar` -> `FooBar`), numbered
    /// when two kinds of a group-version would share it.
    pub prefix: String,
    /// `<prefix>Client`.
    pub client: String,
    /// `<prefix>Lister`.
    pub lister: String,
    /// `<prefix>Informer`.
    pub informer: String,
    /// `<prefix>Apply`: the resource's apply configuration.
    pub apply: String,
    /// The accessor on the group-version client and informers (`config_maps`).
    pub accessor: String,
}

impl ResourceNames {
    /// The names of a resource on its own (the derive's case: one resource, nothing to share
    /// a module with).
    pub fn of(resource: &Resource) -> ResourceNames {
        ResourceNames::with(type_ident(&resource.kind, "Resource"), accessor(&resource.kind, &resource.plural))
    }

    fn with(prefix: String, accessor: String) -> ResourceNames {
        ResourceNames {
            client: format!("{prefix}Client"),
            lister: format!("{prefix}Lister"),
            informer: format!("{prefix}Informer"),
            apply: format!("{prefix}Apply"),
            prefix,
            accessor,
        }
    }

    /// The metadata-only informer's accessor (`config_maps_metadata`).
    pub fn metadata_accessor(&self) -> String {
        format!("{}_metadata", self.accessor)
    }

    /// Every type name these take in their module.
    pub fn types(&self) -> [&str; 4] {
        [&self.client, &self.lister, &self.informer, &self.apply]
    }
}

/// The names of every resource of a model, unique within each group-version module.
#[derive(Debug, Default)]
pub struct Names {
    by_resource: HashMap<(String, String, String), ResourceNames>,
    modules: BTreeMap<String, String>,
}

impl Names {
    /// Names every resource of `model`, whose groups are the modules `modules` says.
    pub fn new(model: &Model, modules: &BTreeMap<String, String>) -> Names {
        let mut prefixes: HashMap<ModPath, BTreeSet<String>> = HashMap::new();
        let mut accessors: HashMap<ModPath, BTreeSet<String>> = HashMap::new();
        let mut by_resource = HashMap::new();
        // Resources come sorted by (group, version, plural): numbering is deterministic.
        for r in &model.resources {
            let module = gv_module(modules, &r.group, &r.version);
            let own = ResourceNames::of(r);
            let taken = prefixes.entry(module.clone()).or_default();
            let prefix = unique(&own.prefix, |n| taken.contains(n));
            taken.insert(prefix.clone());
            let taken = accessors.entry(module).or_default();
            // Each accessor also takes `<accessor>_all` (clients) and `<accessor>_metadata`
            // (informers): no other resource's accessor may be one of them.
            let derived = |n: &str| [format!("{n}_all"), format!("{n}_metadata")];
            let accessor = unique(&own.accessor, |n| taken.contains(n) || derived(n).iter().any(|d| taken.contains(d)));
            taken.insert(accessor.clone());
            taken.extend(derived(&accessor));
            by_resource.insert(key(r), ResourceNames::with(prefix, accessor));
        }
        Names { by_resource, modules: modules.clone() }
    }

    /// The names of `resource`, which must be one of the model's (any other gets its own).
    pub fn of(&self, resource: &Resource) -> ResourceNames {
        self.by_resource.get(&key(resource)).cloned().unwrap_or_else(|| ResourceNames::of(resource))
    }

    /// The names the generated clients, listers, informers and apply configurations take in
    /// each group-version module, reserved before types are named so that a nested type never
    /// takes one (and types are named the same whatever is emitted).
    pub fn reserved(&self, model: &Model) -> Vec<(ModPath, String)> {
        let mut out = Vec::new();
        for r in &model.resources {
            let module = gv_module(&self.modules, &r.group, &r.version);
            let names = self.of(r);
            out.extend(names.types().iter().map(|n| (module.clone(), n.to_string())));
            out.push((module.clone(), gv_client_name(&module)));
            out.push((module.clone(), gv_informers_name(&module)));
        }
        out
    }
}

fn key(r: &Resource) -> (String, String, String) {
    (r.group.clone(), r.version.clone(), r.plural.clone())
}

/// `AppsV1Client` for `apps::v1`.
pub fn gv_client_name(module: &ModPath) -> String {
    format!("{}Client", module.iter().map(|m| pascal(m)).collect::<String>())
}

/// `AppsV1Informers` for `apps::v1`.
pub fn gv_informers_name(module: &ModPath) -> String {
    format!("{}Informers", module.iter().map(|m| pascal(m)).collect::<String>())
}

/// `apps_v1` for `apps::v1` (`type_v1` for `type_::v1`).
pub fn gv_accessor(module: &ModPath) -> String {
    field_ident(&module.iter().map(|m| m.trim_end_matches('_')).collect::<Vec<_>>().join("_"))
}

/// The accessor of a resource: its REST plural split at the Kind's word boundaries
/// (`configmaps` of `ConfigMap` -> `config_maps`); the plural in snake case when it does not
/// begin with the Kind's words. Always a valid field-like identifier (`my-widgets` ->
/// `my_widgets`).
pub fn accessor(kind: &str, plural: &str) -> String {
    let words: Vec<String> = words(kind).iter().map(|w| w.to_ascii_lowercase()).collect();
    let mut rest = plural;
    let mut parts = Vec::new();
    for (i, w) in words.iter().enumerate() {
        if i + 1 == words.len() {
            break;
        }
        match rest.strip_prefix(w.as_str()) {
            Some(r) if !r.is_empty() => {
                parts.push(w.clone());
                rest = r;
            }
            _ => return field_ident(&snake(plural)),
        }
    }
    parts.push(rest.to_owned());
    field_ident(&parts.join("_"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_label_unless_shared() {
        let groups =
            ["", "apps", "cert-manager.io", "gateway.networking.k8s.io", "networking.k8s.io", "networking.istio.io"];
        let m = modules_of_groups(&groups, &BTreeMap::new());
        assert_eq!(m[""], "core");
        assert_eq!(m["apps"], "apps");
        assert_eq!(m["cert-manager.io"], "cert_manager");
        assert_eq!(m["gateway.networking.k8s.io"], "gateway");
        assert_eq!(m["networking.k8s.io"], "networking_k8s_io");
        assert_eq!(m["networking.istio.io"], "networking_istio_io");
    }

    #[test]
    fn core_label_collides_with_the_core_group() {
        let m = modules_of_groups(&["", "core.oam.dev"], &BTreeMap::new());
        assert_eq!((m[""].as_str(), m["core.oam.dev"].as_str()), ("core", "core_oam_dev"));
    }

    #[test]
    fn aliases_win_and_keywords_are_escaped() {
        let aliases = BTreeMap::from([("apps".to_owned(), "workloads".to_owned())]);
        let m = modules_of_groups(&["apps", "type.example.com", "3scale.net"], &aliases);
        assert_eq!(m["apps"], "workloads");
        assert_eq!(m["type.example.com"], "type_");
        assert_eq!(m["3scale.net"], "g_3scale");
    }

    #[test]
    fn accessors_split_the_plural_at_the_kinds_words() {
        assert_eq!(accessor("ConfigMap", "configmaps"), "config_maps");
        assert_eq!(accessor("NetworkPolicy", "networkpolicies"), "network_policies");
        assert_eq!(accessor("HTTPRoute", "httproutes"), "http_routes");
        assert_eq!(accessor("Endpoints", "endpoints"), "endpoints");
        assert_eq!(accessor("Pod", "pods"), "pods");
        assert_eq!(accessor("CustomResourceDefinition", "customresourcedefinitions"), "custom_resource_definitions");
        assert_eq!(accessor("APIService", "apiservices"), "api_services");
        assert_eq!(accessor("Widget", "gizmos"), "gizmos");
        assert_eq!(accessor("BigThing", "thingies"), "thingies");
    }

    #[test]
    fn accessors_of_odd_plurals_are_identifiers() {
        assert_eq!(accessor("MyWidget", "my-widgets"), "my_widgets");
        assert_eq!(accessor("Foo-Bar", "foo-bars"), "foo_bars");
        assert_eq!(accessor("X", "3things"), "field_3things");
    }
}
