//! `kube-codegen list`: the resources of a model, as JSON or as a table.

use kube_codegen_openapi::{Model, Resource, Scope};
use serde::Serialize;

/// One row of `list --json`.
#[derive(Serialize)]
struct Row<'a> {
    group: &'a str,
    version: &'a str,
    kind: &'a str,
    plural: &'a str,
    namespaced: bool,
    verbs: kube_codegen_openapi::Verbs,
    subresources: Vec<SubRow<'a>>,
}

#[derive(Serialize)]
struct SubRow<'a> {
    name: &'a str,
    kind: &'a str,
    verbs: kube_codegen_openapi::Verbs,
}

fn row(r: &Resource) -> Row<'_> {
    Row {
        group: &r.group,
        version: &r.version,
        kind: &r.kind,
        plural: &r.plural,
        namespaced: r.scope == Scope::Namespaced,
        verbs: r.verbs,
        subresources: r
            .subresources
            .iter()
            .map(|s| SubRow { name: &s.name, kind: &s.kind.kind, verbs: s.verbs })
            .collect(),
    }
}

/// The resources as a pretty-printed JSON array, sorted by (group, version, plural), with a
/// trailing newline.
pub fn json(model: &Model) -> String {
    let rows: Vec<Row> = model.resources.iter().map(row).collect();
    let mut out = serde_json::to_string_pretty(&rows).expect("rows serialise");
    out.push('\n');
    out
}

/// The resources as an aligned text table, one line each.
pub fn table(model: &Model) -> String {
    let header = ["GROUP/VERSION", "KIND", "PLURAL", "SCOPE", "VERBS", "SUBRESOURCES"].map(String::from);
    let mut rows = vec![header];
    for r in &model.resources {
        let gv = if r.group.is_empty() { r.version.clone() } else { format!("{}/{}", r.group, r.version) };
        let verbs = if r.verbs == kube_codegen_openapi::Verbs::ALL {
            "all".to_owned()
        } else {
            r.verbs.names().collect::<Vec<_>>().join(",")
        };
        let subs = r.subresources.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(",");
        let scope = match r.scope {
            Scope::Namespaced => "Namespaced",
            Scope::Cluster => "Cluster",
        };
        rows.push([gv, r.kind.clone(), r.plural.clone(), scope.to_owned(), verbs, subs]);
    }
    let mut widths = [0usize; 6];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in &rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<w$}  ", w = widths[i]));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    let groups: std::collections::BTreeSet<(&str, &str)> =
        model.resources.iter().map(|r| (r.group.as_str(), r.version.as_str())).collect();
    let subs: usize = model.resources.iter().map(|r| r.subresources.len()).sum();
    out.push_str(&format!(
        "\n{} resources in {} group-versions, {} subresources\n",
        model.resources.len(),
        groups.len(),
        subs
    ));
    out
}
