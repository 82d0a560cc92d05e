//! Narrowing a model to some resources and exactly the types they need.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::*;

impl Model {
    /// The resources `only` names, and exactly the types their objects reach.
    ///
    /// Each entry is a group-version (`apps/v1`; the core group is `v1` or `core/v1`) or a
    /// resource as `plural.group` (`deployments.apps`, `certificates.cert-manager.io`; a core
    /// resource is its plural alone, `pods`). An entry that matches nothing is an error, so a
    /// typo is not a silently empty output.
    pub fn select<S: AsRef<str>>(&self, only: &[S]) -> Result<Model, String> {
        let mut keep = vec![false; self.resources.len()];
        for entry in only {
            let entry = entry.as_ref();
            let matches = |r: &Resource| match entry.split_once('/') {
                Some((group, version)) => {
                    let group = if group == "core" { "" } else { group };
                    r.group == group && r.version == version
                }
                None if !entry.contains('.')
                    && looks_like_version(entry)
                    && self.resources.iter().all(|r| r.plural != entry) =>
                {
                    r.group.is_empty() && r.version == entry
                }
                None => {
                    let (plural, group) = entry.split_once('.').unwrap_or((entry, ""));
                    r.plural == plural && r.group == group
                }
            };
            let mut any = false;
            for (k, r) in keep.iter_mut().zip(&self.resources) {
                if matches(r) {
                    *k = true;
                    any = true;
                }
            }
            if !any {
                return Err(format!(
                    "`{entry}` matches no resource: expected a group-version (`apps/v1`) or a resource (`deployments.apps`, `pods`)"
                ));
            }
        }
        let resources: Vec<Resource> =
            self.resources.iter().zip(&keep).filter(|(_, k)| **k).map(|(r, _)| r.clone()).collect();

        // Every type the kept resources reach, through any schema position.
        let mut reached = BTreeSet::new();
        let mut stack: Vec<TypeId> = resources.iter().filter_map(|r| r.ty).collect();
        // And the kinds their subresources read and write (`Scale`, `Eviction`), which their
        // clients name.
        for s in resources.iter().flat_map(|r| &r.subresources).filter(|s| !s.connect) {
            stack.extend(self.types.iter().filter(|d| d.gvks.contains(&s.kind)).map(|d| d.id));
        }
        while let Some(id) = stack.pop() {
            if reached.insert(id) {
                refs(&self.types.get(id).schema, &mut stack);
            }
        }
        let mut remap = BTreeMap::new();
        let mut types = Types::default();
        for def in self.types.iter().filter(|d| reached.contains(&d.id)) {
            let id = TypeId(types.defs.len() as u32);
            remap.insert(def.id, id);
            types.by_name.insert(def.name.clone(), id);
            types.defs.push(TypeDef { id, ..def.clone() });
        }
        for def in &mut types.defs {
            remap_refs(&mut def.schema, &remap);
        }
        let resources = resources.into_iter().map(|r| Resource { ty: r.ty.map(|t| remap[&t]), ..r }).collect();
        Ok(Model { resources, types })
    }
}

fn looks_like_version(s: &str) -> bool {
    s.starts_with('v') && s[1..].starts_with(|c: char| c.is_ascii_digit())
}

/// Every schema nested in `s`, `s` included.
fn each<'a>(s: &'a Schema, f: &mut impl FnMut(&'a Schema)) {
    f(s);
    match &s.ty {
        SchemaType::Object(o) => {
            for p in &o.properties {
                each(&p.schema, f);
            }
            if let Additional::Schema(a) = &o.additional {
                each(a, f);
            }
            for (_, p) in &o.pattern_properties {
                each(p, f);
            }
        }
        SchemaType::Array(items) => each(items, f),
        _ => {}
    }
    let v = &*s.validation;
    for sub in v.all_of.iter().chain(&v.any_of).chain(&v.one_of).chain(v.not.as_ref()) {
        each(sub, f);
    }
}

fn refs(s: &Schema, out: &mut Vec<TypeId>) {
    each(s, &mut |s| {
        if let SchemaType::Ref(id) = s.ty {
            out.push(id);
        }
    });
}

fn remap_refs(s: &mut Schema, remap: &BTreeMap<TypeId, TypeId>) {
    crate::fixups::walk(s, &mut |s| {
        if let SchemaType::Ref(id) = &mut s.ty {
            *id = remap[id];
        }
    });
}

#[cfg(test)]
mod tests {
    fn swagger() -> crate::Model {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/corpus/openapi/v2/swagger-v1.36.0.json");
        crate::read(&[path]).unwrap()
    }

    #[test]
    fn a_resource_brings_exactly_its_types() {
        let m = swagger().select(&["deployments.apps"]).unwrap();
        assert_eq!(m.resources.len(), 1);
        let names: Vec<&str> = m.types.iter().map(|d| d.name.as_str()).collect();
        assert!(names.contains(&"io.k8s.api.apps.v1.Deployment") && names.contains(&"io.k8s.api.core.v1.PodSpec"));
        assert!(!names.contains(&"io.k8s.api.apps.v1.StatefulSet") && !names.contains(&"io.k8s.api.batch.v1.Job"));
        // Every reference points inside the selection.
        for def in m.types.iter() {
            super::each(&def.schema, &mut |s| {
                if let crate::SchemaType::Ref(id) = s.ty {
                    assert!(id.index() < m.types.len());
                }
            });
        }
    }

    #[test]
    fn group_versions_core_and_typos() {
        let full = swagger();
        assert_eq!(full.select(&["apps/v1"]).unwrap().resources.len(), 5);
        let core = full.select(&["v1"]).unwrap();
        assert!(core.resources.iter().all(|r| r.group.is_empty()) && core.resources.len() > 10);
        assert_eq!(full.select(&["pods"]).unwrap().resources[0].kind, "Pod");
        assert_eq!(full.select(&["core/v1"]).unwrap().resources.len(), core.resources.len());
        let err = full.select(&["deployment.apps"]).unwrap_err();
        assert!(err.contains("`deployment.apps` matches no resource"), "{err}");
    }
}
