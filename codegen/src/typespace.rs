//! The Rust type space: where every IR type lives, what it is called, and what each schema
//! becomes. Emitters read it; it never prints code.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use kube_codegen_openapi::{Additional, Gvk, Model, Resource, Schema, SchemaType, Scope, TypeDef, TypeId};

use crate::rust_names::{Prelude, field_ident, ident, pascal, type_ident, unique};
use crate::settings::{Settings, TypeMode};

pub use crate::naming::{ModPath, gv_module};

mod apply;

/// A Rust type expression, rendered relative to the module that uses it.
#[derive(Clone, Debug, PartialEq)]
pub enum Ty {
    /// An item of the generated code.
    Local(ItemId),
    /// A path in another crate (`k8s_openapi::...::Time`, `String`, `i64`).
    Extern(String),
    /// `Vec<T>`
    Vec(Box<Ty>),
    /// `BTreeMap<String, T>`
    Map(Box<Ty>),
    /// `Option<T>`
    Option(Box<Ty>),
    /// `Box<T>`
    Boxed(Box<Ty>),
}

const VALUE: &str = "serde_json::Value";
const OBJECT_META: &str = "k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta";
const TIME: &str = "k8s_openapi::apimachinery::pkg::apis::meta::v1::Time";
const MICRO_TIME: &str = "k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime";
const INT_OR_STRING: &str = "k8s_openapi::apimachinery::pkg::util::intstr::IntOrString";
const QUANTITY: &str = "k8s_openapi::apimachinery::pkg::api::resource::Quantity";
const BYTE_STRING: &str = "k8s_openapi::ByteString";
const CONDITION: &str = "k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition";
const LABEL_SELECTOR: &str = "k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector";
const OBJECT_REFERENCE: &str = "k8s_openapi::api::core::v1::ObjectReference";

/// Definitions that stay k8s-openapi's even when everything else is generated: their wire
/// formats are hand-written there (timestamps, quantities, int-or-string, raw objects), and
/// kube's `Resource` trait names k8s-openapi's `ObjectMeta`.
const WELL_KNOWN: &[&str] = &[
    "io.k8s.apimachinery.pkg.apis.meta.v1.Time",
    "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime",
    "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
    "io.k8s.apimachinery.pkg.api.resource.Quantity",
    "io.k8s.apimachinery.pkg.util.intstr.IntOrString",
    "io.k8s.apimachinery.pkg.runtime.RawExtension",
];

/// Extern types that implement `Default`.
const EXTERN_DEFAULTS: &[&str] = &[
    "String",
    "i32",
    "i64",
    "f64",
    "bool",
    VALUE,
    OBJECT_META,
    INT_OR_STRING,
    QUANTITY,
    BYTE_STRING,
    LABEL_SELECTOR,
    OBJECT_REFERENCE,
];

/// Extern types that implement `Eq` (k8s-openapi's timestamps and byte strings do; its
/// structs and `Quantity` do not), and of those, the ones that implement `Hash`.
const EXTERN_EQ: &[&str] = &["String", "i32", "i64", "bool", VALUE, TIME, MICRO_TIME, INT_OR_STRING, BYTE_STRING];
/// `serde_json::Value` is `Hash` only from serde_json 1.0.128 on, and generated crates ask
/// for any 1.x; k8s-openapi's `Eq` types are not `Hash`.
const EXTERN_HASH: &[&str] = &["String", "i32", "i64", "bool"];

/// Index of an [`Item`].
pub type ItemId = usize;

/// One generated item.
#[derive(Debug)]
pub struct Item {
    pub module: ModPath,
    pub name: String,
    pub docs: Option<String>,
    /// Why the item has a suffixed name, for a comment beside it.
    pub rename_note: Option<String>,
    pub kind: ItemKind,
}

#[derive(Debug)]
pub enum ItemKind {
    Struct(StructDef),
    Enum(EnumDef),
    /// `pub type Name = T;` for a definition that is not an object.
    Alias(Ty),
    /// `pub use path as Name;` for a resource whose type lives elsewhere.
    ReExport(String),
}

#[derive(Debug, Default)]
pub struct StructDef {
    pub fields: Vec<Field>,
    /// `x-kubernetes-preserve-unknown-fields` beside properties: the field that keeps the
    /// fields the schema does not name.
    pub unknown_fields: Option<String>,
    /// Set when this is the object type of a resource.
    pub resource: Option<Box<ResourceInfo>>,
    /// Whether `Default` can be derived.
    pub default: bool,
    /// Whether every field is `Eq`, so the struct derives it.
    pub eq: bool,
    /// Whether every field is `Hash`, so the struct derives it.
    pub hash: bool,
    /// Set when this is an apply configuration (every field optional, written by the
    /// runtime's `apply!`), and for a resource's, what it configures.
    pub apply: Option<Apply>,
}

/// What an apply configuration's struct is.
#[derive(Debug)]
pub enum Apply {
    /// The configuration of a nested object.
    Nested,
    /// The configuration of a resource.
    Resource(Box<ApplyRoot>),
}

/// What a resource's apply configuration configures.
#[derive(Debug)]
pub struct ApplyRoot {
    /// The resource's object type.
    pub object: Ty,
    pub namespaced: bool,
    /// Has a `status` subresource: `extract_status`.
    pub status: bool,
    /// Why the version is deprecated, when it is.
    pub deprecated: Option<String>,
}

#[derive(Debug)]
pub struct Field {
    pub json: String,
    pub ident: String,
    pub ty: Ty,
    /// Not required (or nullable): `Option<T>`, skipped when `None`.
    pub optional: bool,
    pub docs: Option<String>,
    /// The schema's `default` for a required scalar field, which `Default` then uses.
    pub default: Option<serde_json::Value>,
}

#[derive(Debug)]
pub struct EnumDef {
    pub variants: Vec<Variant>,
    /// Integer values (`i64` catch-all) rather than strings.
    pub integer: bool,
    /// The variant the schema's `default` names.
    pub default: Option<usize>,
}

#[derive(Debug)]
pub struct Variant {
    pub ident: String,
    pub value: serde_json::Value,
}

/// What a root type needs to implement the k8s-openapi resource traits.
#[derive(Debug, Clone)]
pub struct ResourceInfo {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub plural: String,
    pub namespaced: bool,
    pub list_kind: Option<String>,
    /// Served by a CRD.
    pub custom: bool,
    /// Has a `status` subresource.
    pub status: bool,
    /// The `scale` subresource's spec and status replica paths and selector path.
    pub scale: Option<(String, String, Option<String>)>,
    /// Fields a field selector may name.
    pub selectable: Vec<String>,
    /// The schema reduced to its list semantics, as JSON.
    pub lists: Option<String>,
    /// Why the version is deprecated, when it is.
    pub deprecated: Option<String>,
}

/// The note of a deprecated resource version: the CRD's `deprecationWarning`, or what the API
/// server says when there is none.
pub fn deprecation_note(r: &Resource) -> Option<String> {
    r.deprecated.then(|| {
        r.deprecation_warning.clone().unwrap_or_else(|| {
            let gv = if r.group.is_empty() { r.version.clone() } else { format!("{}/{}", r.group, r.version) };
            format!("{gv} {} is deprecated", r.kind)
        })
    })
}

/// The whole type space.
#[derive(Debug, Default)]
pub struct TypeSpace {
    pub items: Vec<Item>,
    /// Names used per module, so new names stay unique.
    names: HashMap<ModPath, BTreeSet<String>>,
    /// Some module has a type named like a prelude type generated code writes.
    shadows_prelude: bool,
    /// How each IR type is referred to.
    defs: HashMap<TypeId, Ty>,
    /// Per module, the paths its `use` imports: path as written without the import -> the
    /// name it is written by.
    imports: HashMap<ModPath, BTreeMap<String, String>>,
    /// The enum items, by the schema place (`file#pointer`) they were made from, so the apply
    /// configuration of the same place uses the same enum.
    enum_at: HashMap<String, ItemId>,
    /// How apply configurations refer to each IR type.
    apply_defs: HashMap<TypeId, Ty>,
    /// The apply configuration of each resource's type.
    apply_roots: HashMap<TypeId, ItemId>,
    /// The runtime's `ObjectMetaApply`, as a path.
    meta_apply: String,
}

/// How a map field is written without an import.
pub const MAP: &str = "std::collections::BTreeMap";

impl TypeSpace {
    /// Builds the type space of a model.
    pub fn build(model: &Model, settings: &Settings, names: &crate::naming::Names) -> TypeSpace {
        let modules = crate::naming::group_modules(model, &settings.group_aliases);
        let mut ts = TypeSpace::default();
        let roots: HashMap<TypeId, &Resource> = model.resources.iter().filter_map(|r| r.ty.map(|t| (t, r))).collect();
        let packages = package_modules(model, &modules);
        for (module, name) in names.reserved(model) {
            ts.names.entry(module).or_default().insert(name);
        }

        // Place every definition first, so references resolve in any order.
        let mut local = Vec::new();
        let mut defs: Vec<&TypeDef> = model.types.iter().collect();
        defs.sort_by(|a, b| a.name.cmp(&b.name));
        for def in &defs {
            if let Some(path) = settings.extern_types.get(&def.name) {
                ts.defs.insert(def.id, Ty::Extern(path.clone()));
            } else if WELL_KNOWN.contains(&def.name.as_str())
                || (settings.types == TypeMode::MapK8sOpenapi && is_k8s_openapi(&def.name))
            {
                ts.defs.insert(def.id, Ty::Extern(k8s_openapi_path(&def.name)));
            } else {
                let module = def_module(def, &roots, &modules, &packages);
                let name = type_ident(def.short_name(), "Type");
                let id = ts.reserve(module, &name, None);
                ts.defs.insert(def.id, Ty::Local(id));
                local.push((*def, id));
            }
        }
        let mut lists = crate::list_schema::Reducer::new(model);
        for (def, id) in local {
            let resource = roots.get(&def.id).map(|r| resource_info(r, &mut lists));
            ts.items[id].docs = def.schema.description.clone();
            ts.items[id].kind = ts.def_kind(def, id, resource);
        }
        if settings.emit.contains(&crate::settings::Artifact::Apply) {
            let placement = apply::Placement { model, modules: &modules, packages: &packages, roots: &roots };
            ts.meta_apply = format!("{}::apply::ObjectMetaApply", settings.runtime_path.trim_start_matches("::"));
            ts.add_apply(&placement, names);
        }
        // Resources whose type lives elsewhere are re-exported where their group-version is.
        for r in &model.resources {
            let Some(Ty::Extern(path)) = r.ty.and_then(|t| ts.defs.get(&t)).cloned() else { continue };
            let module = gv_module(&modules, &r.group, &r.version);
            if !ts.names.get(&module).is_some_and(|n| n.contains(&r.kind)) {
                let id = ts.reserve(module, &r.kind, None);
                ts.items[id].kind = ItemKind::ReExport(path);
            }
        }
        ts.shadows_prelude = ts.names.values().any(crate::rust_names::shadows_prelude);
        ts.box_cycles();
        ts.compute_defaults();
        ts.compute_eq_hash();
        ts.compute_imports();
        if !settings.docs {
            ts.drop_descriptions();
        }
        ts
    }

    /// Forgets the schemas' descriptions.
    fn drop_descriptions(&mut self) {
        for item in &mut self.items {
            item.docs = None;
            if let ItemKind::Struct(s) = &mut item.kind {
                for f in &mut s.fields {
                    f.docs = None;
                }
            }
        }
    }

    /// The path apply configurations name the runtime's `ObjectMetaApply` by.
    pub fn meta_apply(&self) -> &str {
        &self.meta_apply
    }

    /// How generated code refers to an IR type, if it is a named one.
    pub fn def_ty(&self, id: TypeId) -> Option<Ty> {
        self.defs.get(&id).cloned()
    }

    /// The name under which `module` re-exports the extern type at `path`, if it does.
    pub fn reexport_in(&self, module: &ModPath, path: &str) -> Option<&str> {
        self.items
            .iter()
            .find(|i| &i.module == module && matches!(&i.kind, ItemKind::ReExport(p) if p == path))
            .map(|i| i.name.as_str())
    }

    /// The path of an IR type: `core::v1::Pod` from the generated root, or an extern path.
    pub fn path_of(&self, id: TypeId) -> Option<String> {
        match self.defs.get(&id)? {
            Ty::Local(item) => Some(self.item_path(*item)),
            Ty::Extern(path) => Some(path.clone()),
            _ => None,
        }
    }

    /// The path of an item from the generated root: `core::v1::Pod`.
    pub fn item_path(&self, id: ItemId) -> String {
        let item = &self.items[id];
        item.module.iter().chain([&item.name]).cloned().collect::<Vec<_>>().join("::")
    }

    /// The name `module` writes `path` by, when it imports it.
    pub fn imported(&self, module: &ModPath, path: &str) -> Option<&str> {
        self.imports.get(module)?.get(path).map(String::as_str)
    }

    /// The `use` lines of `module`, sorted: crates' paths, then relative ones; names from one
    /// module share a line (`use k8s_openapi::...::v1::{ObjectMeta, Time};`).
    pub fn use_lines(&self, module: &ModPath) -> Vec<String> {
        let Some(imports) = self.imports.get(module) else { return Vec::new() };
        let mut parents: BTreeMap<(bool, &str), Vec<&str>> = BTreeMap::new();
        for path in imports.keys() {
            let (parent, name) = path.rsplit_once("::").unwrap_or(("", path));
            parents.entry((parent.starts_with("super"), parent)).or_default().push(name);
        }
        parents
            .into_iter()
            .map(|((_, parent), names)| match names.as_slice() {
                [one] => format!("use {parent}::{one};"),
                many => format!("use {parent}::{{{}}};", many.join(", ")),
            })
            .collect()
    }

    /// Item `id` as `from` writes it without imports: its name in the same module, else a
    /// path through `super`.
    pub fn local_path(&self, from: &ModPath, id: ItemId) -> String {
        let to = &self.items[id];
        let common = from.iter().zip(&to.module).take_while(|(a, b)| a == b).count();
        let mut parts: Vec<String> = (common..from.len()).map(|_| "super".to_owned()).collect();
        parts.extend(to.module[common..].iter().map(|m| ident(m).to_string()));
        parts.push(ident(&to.name).to_string());
        parts.join("::")
    }

    /// Each module imports the types of other modules and crates its items name by a path,
    /// so fields read `Option<ObjectMeta>`: every such name that one path alone has in the
    /// module, that no item or reserved name of the module takes, and that is a type's name
    /// (not `serde_json::Value`, whose `Value` would say less than its path).
    fn compute_imports(&mut self) {
        let mut candidates: HashMap<ModPath, BTreeMap<String, BTreeSet<String>>> = HashMap::new();
        for item in &self.items {
            let mut found = Vec::new();
            match &item.kind {
                ItemKind::Struct(s) => {
                    for f in &s.fields {
                        self.importable(&item.module, &f.ty, &mut found);
                    }
                    if s.unknown_fields.is_some() {
                        found.push((MAP.to_owned(), "BTreeMap".to_owned()));
                    }
                }
                ItemKind::Alias(ty) => self.importable(&item.module, ty, &mut found),
                ItemKind::Enum(_) | ItemKind::ReExport(_) => {}
            }
            let module = candidates.entry(item.module.clone()).or_default();
            for (path, name) in found {
                module.entry(name).or_default().insert(path);
            }
        }
        for (module, names) in candidates {
            let imports: BTreeMap<String, String> = names
                .into_iter()
                .filter(|(name, paths)| {
                    paths.len() == 1
                        && name.starts_with(|c: char| c.is_ascii_uppercase())
                        && !self.defines(&module, name)
                        && !crate::rust_names::is_prelude(name)
                })
                .filter_map(|(name, paths)| Some((paths.into_iter().next()?, name)))
                .collect();
            if !imports.is_empty() {
                self.imports.insert(module, imports);
            }
        }
    }

    /// The paths in `ty`, as `from` writes them without imports, and their last segments.
    fn importable(&self, from: &ModPath, ty: &Ty, out: &mut Vec<(String, String)>) {
        match ty {
            Ty::Local(id) if self.items[*id].module != *from => {
                out.push((self.local_path(from, *id), ident(&self.items[*id].name).to_string()));
            }
            Ty::Local(_) => {}
            Ty::Extern(path) if path.contains("::") && path != VALUE => {
                let written = extern_path(path);
                let name = written.rsplit("::").next().unwrap_or_default().to_owned();
                out.push((written, name));
            }
            Ty::Extern(_) => {}
            Ty::Map(inner) => {
                out.push((MAP.to_owned(), "BTreeMap".to_owned()));
                self.importable(from, inner, out);
            }
            Ty::Vec(inner) | Ty::Option(inner) | Ty::Boxed(inner) => self.importable(from, inner, out),
        }
    }

    /// Whether `module` has an item (or a reserved name) called `name`.
    pub fn defines(&self, module: &ModPath, name: &str) -> bool {
        self.names.get(module).is_some_and(|names| names.contains(name))
    }

    /// How `module` writes the prelude's names.
    pub fn prelude(&self, module: &ModPath) -> Prelude {
        // Asked for every field: most modules shadow nothing, and are answered without a lookup.
        if !self.shadows_prelude {
            return Prelude::default();
        }
        Prelude::new(|n| self.defines(module, n))
    }

    fn reserve(&mut self, module: ModPath, name: &str, taken_note: Option<&str>) -> ItemId {
        let names = self.names.entry(module.clone()).or_default();
        let unique_name = unique(name, |n| names.contains(n));
        let rename_note = (unique_name != name).then(|| match taken_note {
            Some(place) => {
                format!("Named `{unique_name}` because `{name}` is taken; this type is the schema at {place}.")
            }
            None => format!("Named `{unique_name}` because another type in this module is called `{name}`."),
        });
        names.insert(unique_name.clone());
        self.items.push(Item {
            module,
            name: unique_name,
            docs: None,
            rename_note,
            kind: ItemKind::Alias(Ty::Extern(VALUE.into())),
        });
        self.items.len() - 1
    }

    /// The item a named definition becomes.
    fn def_kind(&mut self, def: &TypeDef, id: ItemId, resource: Option<ResourceInfo>) -> ItemKind {
        let name = self.items[id].name.clone();
        let module = self.items[id].module.clone();
        let mut cx = Cx { module, pointer: pointer_of(def), apply: None };
        match &def.schema.ty {
            SchemaType::Object(_) => {
                let shape = if resource.is_some() { Shape::Resource } else { Shape::Plain };
                let mut s = self.struct_def(&mut cx, &def.schema, &name, shape);
                s.resource = resource.map(Box::new);
                ItemKind::Struct(s)
            }
            _ => match enum_of(&def.schema) {
                Some(e) => {
                    self.enum_at.insert(cx.pointer.clone(), id);
                    ItemKind::Enum(e)
                }
                None => ItemKind::Alias(self.ty_of(&mut cx, &def.schema, &name)),
            },
        }
    }

    fn struct_def(&mut self, cx: &mut Cx, schema: &Schema, name: &str, shape: Shape) -> StructDef {
        let apply = cx.apply.is_some();
        // An apply configuration's setters are named after its fields: none may take the name
        // of its constructor or extractors, or of a trait method its type has.
        let taken = |n: &str| apply && apply::RESERVED.contains(&n);
        let root = shape == Shape::Resource;
        let embedded = shape == Shape::Embedded;
        let empty = kube_codegen_openapi::ObjectSchema::default();
        let object = match &schema.ty {
            SchemaType::Object(o) => o,
            _ => &empty,
        };
        let mut fields = Vec::with_capacity(object.properties.len());
        // A property already spelled as its field (`foo`) keeps that name over one that only
        // maps to it (`Foo`); the others get suffixes in property order.
        let mut idents: BTreeSet<String> =
            object.properties.iter().map(|p| p.name.clone()).filter(|n| field_ident(n) == *n && !taken(n)).collect();
        for p in &object.properties {
            // A resource's apiVersion and kind are its trait constants, not fields.
            if root && (p.name == "apiVersion" || p.name == "kind") {
                continue;
            }
            let ident = if field_ident(&p.name) == p.name && !taken(&p.name) {
                p.name.clone()
            } else {
                let ident = unique(&field_ident(&p.name), |n| idents.contains(n) || taken(n));
                idents.insert(ident.clone());
                ident
            };
            let child = format!("{name}{}", pascal(&p.name));
            let pointer_len = cx.pointer.len();
            cx.pointer.push_str("/properties/");
            cx.pointer.push_str(&p.name);
            let ty = if (root || embedded) && p.name == "metadata" {
                self.metadata_ty(apply)
            } else {
                self.ty_of(cx, &p.schema, &child)
            };
            cx.pointer.truncate(pointer_len);
            let always_there = root && p.name == "metadata";
            let optional = apply || ((!p.required || p.schema.nullable) && !always_there);
            let default = p.schema.default.clone().filter(|d| !optional && scalar_default(&ty, d));
            fields.push(Field {
                json: p.name.clone(),
                ident,
                ty,
                optional,
                docs: p.schema.description.clone(),
                default,
            });
        }
        // Every object of a resource has metadata, whether its schema says so or not; an
        // embedded object is a whole Kubernetes object, with its type and metadata.
        let mut implied = Vec::new();
        if root || embedded {
            implied.push(("metadata", self.metadata_ty(apply), "Standard object metadata."));
        }
        if embedded {
            implied.push(("apiVersion", Ty::Extern("String".into()), "The API version of the embedded object."));
            implied.push(("kind", Ty::Extern("String".into()), "The kind of the embedded object."));
        }
        for (json, ty, docs) in implied {
            if !fields.iter().any(|f| f.json == json) {
                let ident = unique(&field_ident(json), |n| idents.contains(n) || taken(n));
                idents.insert(ident.clone());
                let docs = Some(docs.to_owned());
                fields.push(Field { json: json.into(), ident, ty, optional: embedded || apply, docs, default: None });
            }
        }
        fields.sort_by(|a, b| a.json.cmp(&b.json));
        // Unknown fields beside named ones are kept in a flattened map whose name must not
        // collide with a property's.
        let unknown_fields =
            schema.extensions.preserve_unknown_fields.then(|| unique("other_fields", |n| idents.contains(n)));
        // Apply configurations are built and sent, not used as keys: no `Hash` to compile.
        let apply = apply.then_some(Apply::Nested);
        StructDef { fields, unknown_fields, resource: None, default: true, eq: true, hash: apply.is_none(), apply }
    }

    /// The Rust type of a schema in a field or item position; nested objects and enums
    /// become items named `name`.
    fn ty_of(&mut self, cx: &mut Cx, schema: &Schema, name: &str) -> Ty {
        match &schema.ty {
            SchemaType::Ref(id) => match cx.apply {
                Some(placement) => self.apply_def(placement, *id),
                None => self.defs.get(id).cloned().unwrap_or_else(|| Ty::Extern(VALUE.into())),
            },
            SchemaType::IntOrString => {
                if schema.validation.pattern.as_deref().is_some_and(is_quantity_pattern) {
                    Ty::Extern(QUANTITY.into())
                } else {
                    Ty::Extern(INT_OR_STRING.into())
                }
            }
            SchemaType::String => match schema.format.as_deref() {
                _ if enum_of(schema).is_some() => self.nested_enum(cx, schema, name),
                Some("date-time") => Ty::Extern(TIME.into()),
                Some("byte") => Ty::Extern(BYTE_STRING.into()),
                Some("int-or-string") => Ty::Extern(INT_OR_STRING.into()),
                _ => Ty::Extern("String".into()),
            },
            SchemaType::Integer if enum_of(schema).is_some() => self.nested_enum(cx, schema, name),
            SchemaType::Integer => match schema.format.as_deref() {
                Some("int32") => Ty::Extern("i32".into()),
                _ => Ty::Extern("i64".into()),
            },
            SchemaType::Number => Ty::Extern("f64".into()),
            SchemaType::Boolean => Ty::Extern("bool".into()),
            SchemaType::Any => Ty::Extern(VALUE.into()),
            SchemaType::Array(items) => Ty::Vec(Box::new(self.element(cx, items, "/items", name))),
            SchemaType::Object(_) if schema.extensions.embedded_resource => {
                self.nested_struct(cx, schema, name, Shape::Embedded)
            }
            SchemaType::Object(object) => {
                // An apply configuration of a well-known shape is made from its schema like
                // any other: k8s-openapi has no apply types.
                if let Some(known) = well_known(schema).filter(|_| cx.apply.is_none()) {
                    return Ty::Extern(known.into());
                }
                if object.properties.is_empty() {
                    return match &object.additional {
                        Additional::Schema(values) => {
                            Ty::Map(Box::new(self.element(cx, values, "/additionalProperties", name)))
                        }
                        _ if schema.extensions.preserve_unknown_fields => Ty::Extern(VALUE.into()),
                        _ => Ty::Map(Box::new(Ty::Extern(VALUE.into()))),
                    };
                }
                self.nested_struct(cx, schema, name, Shape::Plain)
            }
        }
    }

    fn nested_struct(&mut self, cx: &mut Cx, schema: &Schema, name: &str, shape: Shape) -> Ty {
        // An apply configuration is named after the type it configures; its nested types
        // after that type's nested names.
        let (id, base) = if cx.apply.is_some() {
            (self.reserve(cx.module.clone(), &format!("{name}Apply"), Some(&cx.pointer)), name.to_owned())
        } else {
            let id = self.reserve(cx.module.clone(), name, Some(&cx.pointer));
            (id, self.items[id].name.clone())
        };
        let s = self.struct_def(cx, schema, &base, shape);
        self.items[id].docs = schema.description.clone();
        self.items[id].kind = ItemKind::Struct(s);
        Ty::Local(id)
    }

    /// The type of a list item or map value at `at` below the current schema; a nullable one
    /// is an `Option`.
    fn element(&mut self, cx: &mut Cx, schema: &Schema, at: &str, name: &str) -> Ty {
        let len = cx.pointer.len();
        cx.pointer.push_str(at);
        let ty = self.ty_of(cx, schema, name);
        cx.pointer.truncate(len);
        if schema.nullable { Ty::Option(Box::new(ty)) } else { ty }
    }

    fn nested_enum(&mut self, cx: &Cx, schema: &Schema, name: &str) -> Ty {
        let Some(def) = enum_of(schema) else { return Ty::Extern(VALUE.into()) };
        if cx.apply.is_some() {
            return self.apply_enum(&cx.pointer, def.integer);
        }
        let id = self.reserve(cx.module.clone(), name, Some(&cx.pointer));
        self.enum_at.insert(cx.pointer.clone(), id);
        self.items[id].docs = schema.description.clone();
        self.items[id].kind = ItemKind::Enum(def);
        Ty::Local(id)
    }

    /// Boxes every field whose type leads back to the struct that holds it without passing
    /// through a `Vec` or map (which already allocate).
    fn box_cycles(&mut self) {
        let direct = |ty: &Ty| -> Option<ItemId> {
            match ty {
                Ty::Local(id) => Some(*id),
                Ty::Option(inner) | Ty::Boxed(inner) => match &**inner {
                    Ty::Local(id) => Some(*id),
                    _ => None,
                },
                _ => None,
            }
        };
        let edges: Vec<Vec<ItemId>> = self
            .items
            .iter()
            .map(|item| match &item.kind {
                ItemKind::Struct(s) => s.fields.iter().filter_map(|f| direct(&f.ty)).collect(),
                ItemKind::Alias(ty) => direct(ty).into_iter().collect(),
                _ => Vec::new(),
            })
            .collect();
        let reaches = |from: ItemId, to: ItemId| -> bool {
            let mut stack = vec![from];
            let mut seen = BTreeSet::new();
            while let Some(n) = stack.pop() {
                if n == to {
                    return true;
                }
                if seen.insert(n) {
                    stack.extend(&edges[n]);
                }
            }
            false
        };
        for id in 0..self.items.len() {
            let targets: Vec<(usize, ItemId)> = match &self.items[id].kind {
                ItemKind::Struct(s) => {
                    s.fields.iter().enumerate().filter_map(|(i, f)| direct(&f.ty).map(|t| (i, t))).collect()
                }
                _ => continue,
            };
            for (i, target) in targets {
                if reaches(target, id) {
                    let ItemKind::Struct(s) = &mut self.items[id].kind else { unreachable!() };
                    let ty = std::mem::replace(&mut s.fields[i].ty, Ty::Extern(String::new()));
                    s.fields[i].ty = match ty {
                        Ty::Option(inner) => Ty::Option(Box::new(Ty::Boxed(inner))),
                        other => Ty::Boxed(Box::new(other)),
                    };
                }
            }
        }
    }

    /// Which structs can derive `Default`: the greatest fixed point of "every required field's
    /// type has a default".
    fn compute_defaults(&mut self) {
        loop {
            let mut changed = false;
            for id in 0..self.items.len() {
                let ItemKind::Struct(s) = &self.items[id].kind else { continue };
                if !s.default {
                    continue;
                }
                let ok = s.fields.iter().all(|f| f.optional || f.default.is_some() || self.has_default(&f.ty));
                if !ok {
                    let ItemKind::Struct(s) = &mut self.items[id].kind else { unreachable!() };
                    s.default = false;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
    }

    /// Which structs can derive `Eq` and `Hash`: those whose fields all implement them, found
    /// as the greatest fixpoint, so a recursive type that only refers to itself keeps them.
    fn compute_eq_hash(&mut self) {
        loop {
            let mut changed = false;
            for id in 0..self.items.len() {
                let ItemKind::Struct(s) = &self.items[id].kind else { continue };
                let value = Ty::Extern(VALUE.into());
                let mut types = s.fields.iter().map(|f| &f.ty).chain(s.unknown_fields.as_ref().map(|_| &value));
                let eq = s.eq && types.clone().all(|t| self.implements(t, EXTERN_EQ, false));
                let hash = s.hash && eq && types.all(|t| self.implements(t, EXTERN_HASH, true));
                if let ItemKind::Struct(s) = &mut self.items[id].kind
                    && (s.eq, s.hash) != (eq, hash)
                {
                    (s.eq, s.hash) = (eq, hash);
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
    }

    /// Whether a type implements `Eq` (`hash` false, externs from `externs`) or `Hash`, as
    /// currently known.
    fn implements(&self, ty: &Ty, externs: &[&str], hash: bool) -> bool {
        match ty {
            Ty::Vec(inner) | Ty::Map(inner) | Ty::Option(inner) | Ty::Boxed(inner) => {
                self.implements(inner, externs, hash)
            }
            Ty::Extern(path) => externs.contains(&path.as_str()),
            Ty::Local(id) => match &self.items[*id].kind {
                ItemKind::Struct(s) => {
                    if hash {
                        s.hash
                    } else {
                        s.eq
                    }
                }
                ItemKind::Enum(_) => true,
                ItemKind::Alias(t) => self.implements(t, externs, hash),
                ItemKind::ReExport(_) => false,
            },
        }
    }

    /// Whether a type implements `Default` (as currently known).
    pub fn has_default(&self, ty: &Ty) -> bool {
        match ty {
            Ty::Vec(_) | Ty::Map(_) | Ty::Option(_) => true,
            Ty::Boxed(inner) => self.has_default(inner),
            Ty::Extern(path) => EXTERN_DEFAULTS.contains(&path.as_str()),
            Ty::Local(id) => match &self.items[*id].kind {
                ItemKind::Struct(s) => s.default,
                ItemKind::Enum(e) => e.default.is_some(),
                ItemKind::Alias(t) => self.has_default(t),
                ItemKind::ReExport(_) => false,
            },
        }
    }
}

/// An extern path as Rust writes it, every segment an identifier.
pub fn extern_path(path: &str) -> String {
    // A leading `crate`, `self` or `super` is a path's root (a runtime re-exported as
    // `crate::runtime`), not a name to escape.
    let roots = |(i, s): (usize, &str)| i == 0 && matches!(s, "crate" | "self" | "super");
    path.split("::")
        .enumerate()
        .map(|(i, s)| if roots((i, s)) { s.to_owned() } else { ident(s).to_string() })
        .collect::<Vec<_>>()
        .join("::")
}

/// What kind of object a struct is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// A nested object.
    Plain,
    /// The object type of a resource: `apiVersion` and `kind` are constants, `metadata` is
    /// always there.
    Resource,
    /// `x-kubernetes-embedded-resource`: a whole Kubernetes object inside another.
    Embedded,
}

/// Whether a schema default can be written as a literal of this field type (and differs
/// from what `Default` gives anyway).
fn scalar_default(ty: &Ty, default: &serde_json::Value) -> bool {
    let zero = matches!(default, serde_json::Value::Bool(false))
        || default.as_str() == Some("")
        || default.as_f64() == Some(0.0);
    if zero {
        return false;
    }
    match ty {
        Ty::Extern(t) => match t.as_str() {
            "String" => default.is_string(),
            "bool" => default.is_boolean(),
            "i32" => default.as_i64().is_some_and(|v| i32::try_from(v).is_ok()),
            "i64" => default.as_i64().is_some(),
            "f64" => default.is_number(),
            _ => false,
        },
        _ => false,
    }
}

/// Where a walk is: the module new items go to, the schema's place for rename notes, and
/// whether it makes apply configurations (and where their definitions go).
struct Cx<'p> {
    module: ModPath,
    pointer: String,
    apply: Option<&'p apply::Placement<'p>>,
}

/// A definition's schema place, for rename notes: the file without its directory, so output
/// does not depend on how the input path was written.
fn pointer_of(def: &TypeDef) -> String {
    let file = def.origin.file.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
    format!("{file}#{}", def.origin.pointer)
}

/// The module of a definition's type: its resource's group-version, its one kind's, or its
/// package's.
fn def_module(
    def: &TypeDef,
    roots: &HashMap<TypeId, &Resource>,
    modules: &BTreeMap<String, String>,
    packages: &HashMap<String, ModPath>,
) -> ModPath {
    match (roots.get(&def.id), def.gvks.as_slice()) {
        (Some(r), _) => gv_module(modules, &r.group, &r.version),
        (None, [gvk]) => gv_module(modules, &gvk.group, &gvk.version),
        _ => packages.get(package(&def.name)).cloned().unwrap_or_else(|| path_module(&def.name)),
    }
}

fn resource_info(r: &Resource, lists: &mut crate::list_schema::Reducer) -> ResourceInfo {
    let scale = r.subresources.iter().find(|s| s.name == "scale").map(|s| match &s.scale {
        Some(p) => (p.spec_replicas.clone(), p.status_replicas.clone(), p.label_selector.clone()),
        // The built-in workloads' scale: replicas in spec and status, the selector from spec.
        None => (".spec.replicas".to_owned(), ".status.replicas".to_owned(), None),
    });
    ResourceInfo {
        group: r.group.clone(),
        version: r.version.clone(),
        kind: r.kind.clone(),
        plural: r.plural.clone(),
        namespaced: r.scope == Scope::Namespaced,
        list_kind: r.list_kind.clone(),
        custom: r.custom,
        status: r.subresources.iter().any(|s| s.name == "status"),
        scale,
        selectable: r.selectable_fields.clone(),
        lists: r.ty.and_then(|t| lists.of(t)),
        deprecated: deprecation_note(r),
    }
}

/// The enum a schema's `enum` values make, when they are all strings or all integers.
fn enum_of(schema: &Schema) -> Option<EnumDef> {
    let values: Vec<&serde_json::Value> = schema.enum_values.as_ref()?.iter().filter(|v| !v.is_null()).collect();
    if values.is_empty() {
        return None;
    }
    let integer = match schema.ty {
        SchemaType::String if values.iter().all(|v| v.is_string()) => false,
        SchemaType::Integer if values.iter().all(|v| v.as_i64().is_some()) => true,
        _ => return None,
    };
    let mut variants: Vec<Variant> = Vec::new();
    for v in values {
        if variants.iter().any(|x| x.value == *v) {
            continue;
        }
        let base = match v {
            serde_json::Value::String(s) => type_ident(s, "Empty"),
            other => {
                let n = other.as_i64().expect("checked");
                if n < 0 { format!("Minus{}", n.unsigned_abs()) } else { format!("V{n}") }
            }
        };
        // `Other` is the catch-all.
        let ident = unique(&base, |c| c == "Other" || c == "Self" || variants.iter().any(|x| x.ident == c));
        variants.push(Variant { ident, value: v.clone() });
    }
    let default = schema.default.as_ref().and_then(|d| variants.iter().position(|v| v.value == *d));
    Some(EnumDef { variants, integer, default })
}

/// A well-known apimachinery type whose schema this is, by its property names.
fn well_known(schema: &Schema) -> Option<&'static str> {
    let SchemaType::Object(o) = &schema.ty else { return None };
    let names: Vec<&str> = o.properties.iter().map(|p| p.name.as_str()).collect();
    let required: Vec<&str> = o.properties.iter().filter(|p| p.required).map(|p| p.name.as_str()).collect();
    let prop = |n: &str| o.properties.iter().find(|p| p.name == n).map(|p| &p.schema);
    match names.as_slice() {
        ["lastTransitionTime", "message", "observedGeneration", "reason", "status", "type"]
            if required == ["lastTransitionTime", "message", "reason", "status", "type"]
                && prop("lastTransitionTime").is_some_and(|s| s.format.as_deref() == Some("date-time")) =>
        {
            Some(CONDITION)
        }
        ["matchExpressions", "matchLabels"] if required.is_empty() => {
            let exprs = prop("matchExpressions")?;
            let SchemaType::Array(item) = &exprs.ty else { return None };
            let SchemaType::Object(io) = &item.ty else { return None };
            let inner: Vec<&str> = io.properties.iter().map(|p| p.name.as_str()).collect();
            (inner == ["key", "operator", "values"]).then_some(LABEL_SELECTOR)
        }
        ["apiVersion", "fieldPath", "kind", "name", "namespace", "resourceVersion", "uid"] if required.is_empty() => {
            Some(OBJECT_REFERENCE)
        }
        _ => None,
    }
}

/// Whether a pattern is the one apimachinery writes for `resource.Quantity`.
fn is_quantity_pattern(pattern: &str) -> bool {
    pattern.starts_with(r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)")
}

/// Whether k8s-openapi has this definition: Kubernetes' own packages, not CRDs whose group
/// happens to end in `k8s.io` (`io.k8s.networking.gateway.v1.HTTPRoute`).
fn is_k8s_openapi(name: &str) -> bool {
    ["io.k8s.api.", "io.k8s.apimachinery.", "io.k8s.apiextensions-apiserver.", "io.k8s.kube-aggregator."]
        .iter()
        .any(|p| name.starts_with(p))
}

/// `io.k8s.api.core.v1.Pod` -> `k8s_openapi::api::core::v1::Pod`.
pub fn k8s_openapi_path(name: &str) -> String {
    let rest = name.strip_prefix("io.k8s.").unwrap_or(name);
    let mut out = String::from("k8s_openapi");
    for part in rest.split('.') {
        out.push_str("::");
        out.push_str(&part.replace('-', "_"));
    }
    out
}

/// The package of a definition name: everything before the last dot.
fn package(name: &str) -> &str {
    name.rsplit_once('.').map_or("", |(p, _)| p)
}

/// A module from a definition's package when no group-version claims it:
/// `io.k8s.apimachinery.pkg.apis.meta.v1.Time` -> `apimachinery::pkg::apis::meta::v1`.
fn path_module(name: &str) -> ModPath {
    let p = package(name);
    let p = p.strip_prefix("io.k8s.").unwrap_or(p);
    p.split('.').filter(|s| !s.is_empty()).map(crate::naming::snake_ident).collect()
}

/// Packages whose group-version kinds all agree on one group-version live in its module.
fn package_modules(model: &Model, modules: &BTreeMap<String, String>) -> HashMap<String, ModPath> {
    let mut seen: HashMap<&str, BTreeSet<(&str, &str)>> = HashMap::new();
    for def in model.types.iter() {
        let entry = seen.entry(package(&def.name)).or_default();
        for Gvk { group, version, .. } in &def.gvks {
            entry.insert((group, version));
        }
    }
    seen.into_iter()
        .filter_map(|(p, gvs)| {
            let mut it = gvs.into_iter();
            match (it.next(), it.next()) {
                (Some((g, v)), None) => Some((p.to_owned(), gv_module(modules, g, v))),
                _ => None,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn k8s_paths() {
        assert_eq!(k8s_openapi_path("io.k8s.api.core.v1.Pod"), "k8s_openapi::api::core::v1::Pod");
        assert_eq!(
            k8s_openapi_path("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSON"),
            "k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::JSON"
        );
        assert_eq!(
            path_module("io.k8s.apimachinery.pkg.apis.meta.v1.Time"),
            ["apimachinery", "pkg", "apis", "meta", "v1"]
        );
    }
}
