//! The apply configurations' types: for each resource and every type reachable from it, a
//! struct whose fields are all optional, made from the schema whatever the type mode (in
//! `--types map` the objects are k8s-openapi's, which has no apply types). They share the
//! type space's modules and names; enums are the objects' own where the object type has one
//! for the same schema place, else their strings or integers, as k8s-openapi's fields are.

use std::collections::{BTreeMap, HashMap};

use kube_codegen_openapi::{Model, Resource, SchemaType, Scope, TypeId};

use super::{
    Apply, ApplyRoot, Cx, ItemKind, ModPath, OBJECT_META, Shape, Ty, TypeSpace, VALUE, WELL_KNOWN, def_module,
    deprecation_note, enum_of, k8s_openapi_path, pointer_of,
};
use crate::rust_names::type_ident;

/// Where apply configurations of definitions go: as the definitions' own types would.
pub(super) struct Placement<'m> {
    pub model: &'m Model,
    pub modules: &'m BTreeMap<String, String>,
    pub packages: &'m HashMap<String, ModPath>,
    pub roots: &'m HashMap<TypeId, &'m Resource>,
}

/// Names an apply configuration's field (and so its setter) must not take: its constructor,
/// its extractors, and the methods of the traits it implements, which a setter of the same
/// name would hide (`FooApply::default()` would call a setter called `default`).
pub(super) const RESERVED: &[&str] = &[
    "new",
    "extract",
    "extract_status",
    "default",
    "clone",
    "clone_from",
    "eq",
    "ne",
    "fmt",
    "serialize",
    "deserialize",
];

impl TypeSpace {
    /// Adds the apply configuration of every resource whose type is an object, and of every
    /// type reachable from one.
    pub(super) fn add_apply(&mut self, placement: &Placement, names: &crate::naming::Names) {
        for r in &placement.model.resources {
            let Some(t) = r.ty else { continue };
            let def = placement.model.types.get(t);
            if self.apply_defs.contains_key(&t) || !matches!(def.schema.ty, SchemaType::Object(_)) {
                continue;
            }
            let Some(object) = self.defs.get(&t).cloned() else { continue };
            let module = super::gv_module(placement.modules, &r.group, &r.version);
            // The resource's apply name is reserved with its client's: taken as it is.
            let id = self.push(module.clone(), names.of(r).apply);
            self.apply_defs.insert(t, Ty::Local(id));
            self.apply_roots.insert(t, id);
            let base = type_ident(def.short_name(), "Type");
            let mut cx = Cx { module, pointer: pointer_of(def), apply: Some(placement) };
            let mut s = self.struct_def(&mut cx, &def.schema, &base, Shape::Resource);
            s.apply = Some(Apply::Resource(Box::new(ApplyRoot {
                object,
                namespaced: r.scope == Scope::Namespaced,
                status: r.subresources.iter().any(|s| s.name == "status"),
                deprecated: deprecation_note(r),
            })));
            // Introduced as what it configures (emit_types), not by the object's description.
            self.items[id].kind = ItemKind::Struct(s);
        }
    }

    /// How apply configurations refer to the definition `id`, made on first use.
    pub(super) fn apply_def(&mut self, placement: &Placement, id: TypeId) -> Ty {
        if let Some(ty) = self.apply_defs.get(&id) {
            return ty.clone();
        }
        let def = placement.model.types.get(id);
        if def.name == "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta" {
            return Ty::Extern(self.meta_apply.clone());
        }
        if WELL_KNOWN.contains(&def.name.as_str()) {
            return Ty::Extern(k8s_openapi_path(&def.name));
        }
        let module = def_module(def, placement.roots, placement.modules, placement.packages);
        let base = type_ident(def.short_name(), "Type");
        let mut cx = Cx { module: module.clone(), pointer: pointer_of(def), apply: Some(placement) };
        if !matches!(def.schema.ty, SchemaType::Object(_)) {
            // A definition that is not an object needs no item: its fields use what it is.
            // Until then it reads as a JSON value, should it refer to itself.
            self.apply_defs.insert(id, Ty::Extern(VALUE.into()));
            let ty = match enum_of(&def.schema) {
                Some(e) => match self.defs.get(&id) {
                    Some(Ty::Local(item)) if matches!(self.items[*item].kind, ItemKind::Enum(_)) => Ty::Local(*item),
                    _ => primitive(e.integer),
                },
                None => self.ty_of(&mut cx, &def.schema, &base),
            };
            self.apply_defs.insert(id, ty.clone());
            return ty;
        }
        let item = self.reserve(module, &format!("{base}Apply"), None);
        self.apply_defs.insert(id, Ty::Local(item));
        let s = self.struct_def(&mut cx, &def.schema, &base, Shape::Plain);
        self.items[item].docs = def.schema.description.clone();
        self.items[item].kind = ItemKind::Struct(s);
        Ty::Local(item)
    }

    /// The enum an apply configuration's field at `pointer` has: the object's, when its type
    /// has one for the same place.
    pub(super) fn apply_enum(&self, pointer: &str, integer: bool) -> Ty {
        match self.enum_at.get(pointer) {
            Some(item) => Ty::Local(*item),
            None => primitive(integer),
        }
    }

    /// The type of an object's `metadata`, or of its apply configuration's.
    pub(super) fn metadata_ty(&self, apply: bool) -> Ty {
        Ty::Extern(if apply { self.meta_apply.clone() } else { OBJECT_META.into() })
    }

    /// The apply configuration of a resource's type, if it has one.
    pub fn apply_of(&self, id: TypeId) -> Option<super::ItemId> {
        self.apply_roots.get(&id).copied()
    }

    /// Adds an item under a name already reserved for it.
    fn push(&mut self, module: ModPath, name: String) -> super::ItemId {
        self.names.entry(module.clone()).or_default().insert(name.clone());
        self.items.push(super::Item {
            module,
            name,
            docs: None,
            rename_note: None,
            kind: ItemKind::Alias(Ty::Extern(VALUE.into())),
        });
        self.items.len() - 1
    }
}

/// What an enum is on the wire, for a field whose object type has no enum.
fn primitive(integer: bool) -> Ty {
    Ty::Extern(if integer { "i64" } else { "String" }.into())
}
