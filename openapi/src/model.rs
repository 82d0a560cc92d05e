//! The intermediate representation every emitter reads: resources and an arena of types.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use serde::Serialize;
use serde_json::{Number, Value};

/// Everything read from the inputs: the API resources and the named types they use.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Model {
    /// Resources sorted by (group, version, plural), each unique on that key.
    pub resources: Vec<Resource>,
    /// The named types; resources and schemas point into it with [`TypeId`]s.
    pub types: Types,
}

impl Model {
    /// The resource with this group, version and plural, if any.
    pub fn resource(&self, group: &str, version: &str, plural: &str) -> Option<&Resource> {
        self.resources
            .binary_search_by(|r| {
                (r.group.as_str(), r.version.as_str(), r.plural.as_str()).cmp(&(group, version, plural))
            })
            .ok()
            .map(|i| &self.resources[i])
    }
}

/// Index of a type in [`Types`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct TypeId(pub(crate) u32);

impl TypeId {
    /// The position of the type in the arena.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// The arena of named types, in a deterministic order (sorted by name).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Types {
    pub(crate) defs: Vec<TypeDef>,
    pub(crate) by_name: BTreeMap<String, TypeId>,
}

impl Types {
    /// The type behind an id.
    pub fn get(&self, id: TypeId) -> &TypeDef {
        &self.defs[id.index()]
    }

    /// The type with this definition name (`io.k8s.api.core.v1.Pod`), if any.
    pub fn by_name(&self, name: &str) -> Option<TypeId> {
        self.by_name.get(name).copied()
    }

    /// All types with their ids, in arena order.
    pub fn iter(&self) -> impl Iterator<Item = &TypeDef> {
        self.defs.iter()
    }

    /// How many types there are.
    pub fn len(&self) -> usize {
        self.defs.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.defs.is_empty()
    }
}

/// A named schema: an OpenAPI definition, or the root schema of one CRD version.
#[derive(Clone, Debug, PartialEq)]
pub struct TypeDef {
    /// Its own id.
    pub id: TypeId,
    /// The definition name. OpenAPI documents give it (`io.k8s.api.apps.v1.Deployment`); a CRD
    /// version gets the name the API server publishes for it, the group reversed
    /// (`io.cert-manager.v1.Certificate`).
    pub name: String,
    /// The group-version-kinds this type is the object of (`x-kubernetes-group-version-kind`).
    pub gvks: Vec<Gvk>,
    /// The schema.
    pub schema: Schema,
    /// Where it was defined.
    pub origin: Origin,
}

impl TypeDef {
    /// The last dot-separated part of the name: `Deployment` for `io.k8s.api.apps.v1.Deployment`.
    pub fn short_name(&self) -> &str {
        self.name.rsplit('.').next().unwrap_or(&self.name)
    }
}

/// A group, version and kind.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Gvk {
    /// API group; `""` is the core group.
    pub group: String,
    /// API version.
    pub version: String,
    /// Kind.
    pub kind: String,
}

/// Where something came from: a file, the document in it, and a JSON pointer. Two models
/// compare equal only when their parts came from the same places; the reader compares
/// definitions read twice without their origins ([`Resource::same_definition`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// The input file.
    pub file: Arc<Path>,
    /// The 0-based document index in a multi-document YAML file.
    pub document: Option<usize>,
    /// RFC 6901 JSON pointer inside the document.
    pub pointer: String,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(d) = self.document {
            write!(f, " (document {})", d + 1)?;
        }
        if !self.pointer.is_empty() {
            write!(f, " at {}", self.pointer)?;
        }
        Ok(())
    }
}

/// Namespaced or cluster-scoped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Scope {
    /// Objects live in a namespace.
    Namespaced,
    /// Objects are cluster-wide.
    Cluster,
}

/// A set of the Kubernetes API verbs.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Verbs(u8);

impl Verbs {
    /// `get`
    pub const GET: Verbs = Verbs(1);
    /// `list`
    pub const LIST: Verbs = Verbs(1 << 1);
    /// `watch`
    pub const WATCH: Verbs = Verbs(1 << 2);
    /// `create`
    pub const CREATE: Verbs = Verbs(1 << 3);
    /// `update`
    pub const UPDATE: Verbs = Verbs(1 << 4);
    /// `patch`
    pub const PATCH: Verbs = Verbs(1 << 5);
    /// `delete`
    pub const DELETE: Verbs = Verbs(1 << 6);
    /// `deletecollection`
    pub const DELETECOLLECTION: Verbs = Verbs(1 << 7);
    /// All eight.
    pub const ALL: Verbs = Verbs(0xff);

    /// Every verb with its name, in alphabetical order of the names.
    const NAMED: [(Verbs, &'static str); 8] = [
        (Verbs::CREATE, "create"),
        (Verbs::DELETE, "delete"),
        (Verbs::DELETECOLLECTION, "deletecollection"),
        (Verbs::GET, "get"),
        (Verbs::LIST, "list"),
        (Verbs::PATCH, "patch"),
        (Verbs::UPDATE, "update"),
        (Verbs::WATCH, "watch"),
    ];

    /// The empty set.
    pub const fn empty() -> Verbs {
        Verbs(0)
    }

    /// Whether every verb of `other` is in `self`.
    pub const fn contains(self, other: Verbs) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The set without the verbs of `other`.
    pub const fn without(self, other: Verbs) -> Verbs {
        Verbs(self.0 & !other.0)
    }

    /// Adds the verbs of `other`.
    pub fn insert(&mut self, other: Verbs) {
        self.0 |= other.0;
    }

    /// The verb with this name.
    pub fn from_name(name: &str) -> Option<Verbs> {
        Self::NAMED.iter().find(|(_, n)| *n == name).map(|(v, _)| *v)
    }

    /// The names of the verbs in the set, sorted.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        Self::NAMED.into_iter().filter(move |(v, _)| self.contains(*v)).map(|(_, n)| n)
    }
}

impl std::ops::BitOr for Verbs {
    type Output = Verbs;
    fn bitor(self, rhs: Verbs) -> Verbs {
        Verbs(self.0 | rhs.0)
    }
}

impl fmt::Debug for Verbs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.names()).finish()
    }
}

impl Serialize for Verbs {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.names())
    }
}

/// One served API resource: a group, version and plural with its verbs.
#[derive(Clone, Debug, PartialEq)]
pub struct Resource {
    /// API group; `""` is the core group.
    pub group: String,
    /// API version.
    pub version: String,
    /// The kind of its objects.
    pub kind: String,
    /// The REST plural (`deployments`).
    pub plural: String,
    /// The singular name, where the input gives one.
    pub singular: Option<String>,
    /// Short names (`deploy`).
    pub short_names: Vec<String>,
    /// Categories (`all`).
    pub categories: Vec<String>,
    /// The kind of its lists (`DeploymentList`), where the input gives or defines one.
    pub list_kind: Option<String>,
    /// Namespaced or cluster-scoped.
    pub scope: Scope,
    /// Whether a namespaced resource can also be listed and watched across all namespaces.
    pub all_namespaces: bool,
    /// Verbs on the resource itself.
    pub verbs: Verbs,
    /// Subresources, sorted by name.
    pub subresources: Vec<Subresource>,
    /// The type of its objects, where the input defines one.
    pub ty: Option<TypeId>,
    /// Whether the version is deprecated (CRDs).
    pub deprecated: bool,
    /// The warning the server sends for a deprecated version (CRDs).
    pub deprecation_warning: Option<String>,
    /// Served by a CustomResourceDefinition (strategic merge patches do not apply to it).
    pub custom: bool,
    /// The fields a field selector may name besides `metadata.name` and `metadata.namespace`
    /// (a CRD version's `selectableFields`, as `spec.color`).
    pub selectable_fields: Vec<String>,
    /// Whether this is the storage version (CRDs).
    pub storage: bool,
    /// Where it was defined.
    pub origin: Origin,
}

impl Resource {
    /// Whether `other` defines the same resource, wherever either was read from: reading one
    /// definition twice (a CRD in two folders) is not a conflict.
    pub fn same_definition(&self, other: &Resource) -> bool {
        let mut other = other.clone();
        other.origin = self.origin.clone();
        *self == other
    }
}

/// A subresource such as `status`, `scale` or `pods/log`.
#[derive(Clone, Debug, PartialEq)]
pub struct Subresource {
    /// Its path segment.
    pub name: String,
    /// The kind it reads and writes.
    pub kind: Gvk,
    /// Its verbs.
    pub verbs: Verbs,
    /// For a CRD's `scale`: where the replica counts and selector live.
    pub scale: Option<ScalePaths>,
    /// A `connect` subresource (`exec`, `attach`, `portforward`, `proxy`): its verbs are HTTP
    /// methods of a stream or proxy, not reads and writes of `kind`.
    pub connect: bool,
}

/// The JSON paths a CRD's scale subresource maps.
#[derive(Clone, Debug, PartialEq)]
pub struct ScalePaths {
    /// `specReplicasPath`
    pub spec_replicas: String,
    /// `statusReplicasPath`
    pub status_replicas: String,
    /// `labelSelectorPath`
    pub label_selector: Option<String>,
}

/// One schema node. Nested anonymous schemas stay inline; named ones are [`SchemaType::Ref`]s.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Schema {
    /// The shape of the value.
    pub ty: SchemaType,
    /// `description`
    pub description: Option<String>,
    /// `title`
    pub title: Option<String>,
    /// `format` (`int32`, `date-time`, `byte`, ...).
    pub format: Option<String>,
    /// `default`
    pub default: Option<Value>,
    /// `example`
    pub example: Option<Value>,
    /// `nullable`
    pub nullable: bool,
    /// `enum`: the allowed values, in input order.
    pub enum_values: Option<Vec<Value>>,
    /// Value constraints that do not change the shape.
    pub validation: Box<Validation>,
    /// The `x-kubernetes-*` extensions.
    pub extensions: Box<Extensions>,
}

impl Schema {
    /// A schema that accepts anything.
    pub fn any() -> Schema {
        Schema::default()
    }
}

/// The shape of a value.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum SchemaType {
    /// No `type`: any JSON value.
    #[default]
    Any,
    /// A named type.
    Ref(TypeId),
    /// `type: object`
    Object(ObjectSchema),
    /// `type: array` with its `items`.
    Array(Box<Schema>),
    /// `type: string`
    String,
    /// `type: integer`
    Integer,
    /// `type: number`
    Number,
    /// `type: boolean`
    Boolean,
    /// `x-kubernetes-int-or-string: true`
    IntOrString,
}

/// The properties of an object schema.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ObjectSchema {
    /// Properties sorted by JSON name.
    pub properties: Vec<Property>,
    /// `additionalProperties`
    pub additional: Additional,
    /// `patternProperties`, sorted by pattern.
    pub pattern_properties: Vec<(String, Schema)>,
}

/// One property of an object.
#[derive(Clone, Debug, PartialEq)]
pub struct Property {
    /// The JSON name, verbatim.
    pub name: String,
    /// Whether it is in the object's `required` list.
    pub required: bool,
    /// Its schema.
    pub schema: Schema,
}

/// What an object allows besides its named properties.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Additional {
    /// Nothing is said (or `additionalProperties: false`).
    #[default]
    None,
    /// `additionalProperties: true`: any value.
    Any,
    /// `additionalProperties: {schema}`: a map with these values.
    Schema(Box<Schema>),
}

/// Value validations: they restrict values but never change their shape.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Validation {
    /// `maximum`
    pub maximum: Option<Number>,
    /// `exclusiveMaximum`
    pub exclusive_maximum: bool,
    /// `minimum`
    pub minimum: Option<Number>,
    /// `exclusiveMinimum`
    pub exclusive_minimum: bool,
    /// `multipleOf`
    pub multiple_of: Option<Number>,
    /// `maxLength`
    pub max_length: Option<u64>,
    /// `minLength`
    pub min_length: Option<u64>,
    /// `pattern`
    pub pattern: Option<String>,
    /// `maxItems`
    pub max_items: Option<u64>,
    /// `minItems`
    pub min_items: Option<u64>,
    /// `uniqueItems`
    pub unique_items: bool,
    /// `maxProperties`
    pub max_properties: Option<u64>,
    /// `minProperties`
    pub min_properties: Option<u64>,
    /// `required` on a schema without an object shape (inside `anyOf` and friends).
    pub required: Vec<String>,
    /// `allOf`, where it constrains rather than names a type (CRDs use it for value rules).
    pub all_of: Vec<Schema>,
    /// `anyOf`, likewise (`anyOf: [{required: [a]}, {required: [b]}]`).
    pub any_of: Vec<Schema>,
    /// `oneOf`, likewise.
    pub one_of: Vec<Schema>,
    /// `not`
    pub not: Option<Schema>,
}

/// The `x-kubernetes-*` extensions of a schema.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Extensions {
    /// `x-kubernetes-int-or-string`
    pub int_or_string: bool,
    /// `x-kubernetes-preserve-unknown-fields`
    pub preserve_unknown_fields: bool,
    /// `x-kubernetes-embedded-resource`: the value is a whole Kubernetes object.
    pub embedded_resource: bool,
    /// `x-kubernetes-list-type`
    pub list_type: Option<ListType>,
    /// `x-kubernetes-list-map-keys`
    pub list_map_keys: Vec<String>,
    /// `x-kubernetes-map-type`
    pub map_type: Option<MapType>,
    /// `x-kubernetes-validations`: CEL rules.
    pub validations: Vec<ValidationRule>,
    /// `x-kubernetes-patch-strategy` (`merge`, `retainKeys`, `merge,retainKeys`).
    pub patch_strategy: Option<String>,
    /// `x-kubernetes-patch-merge-key`
    pub patch_merge_key: Option<String>,
    /// `x-kubernetes-unions`
    pub unions: Vec<Union>,
    /// Any other `x-kubernetes-*` extension, kept verbatim so newer specs lose nothing.
    pub other: BTreeMap<String, Value>,
}

/// `x-kubernetes-list-type`
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListType {
    /// The list is replaced whole.
    Atomic,
    /// Items are unique scalars, merged as a set.
    Set,
    /// Items are objects keyed by `x-kubernetes-list-map-keys`.
    Map,
}

/// `x-kubernetes-map-type`
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapType {
    /// The map is replaced whole.
    Atomic,
    /// Each key is owned separately.
    Granular,
}

/// One `x-kubernetes-validations` rule.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ValidationRule {
    /// The CEL expression.
    pub rule: String,
    /// `message`
    pub message: Option<String>,
    /// `messageExpression`
    pub message_expression: Option<String>,
    /// `reason`
    pub reason: Option<String>,
    /// `fieldPath`
    pub field_path: Option<String>,
    /// `optionalOldSelf`
    pub optional_old_self: Option<bool>,
}

/// One `x-kubernetes-unions` entry.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Union {
    /// `discriminator`
    pub discriminator: Option<String>,
    /// `fields-to-discriminateBy`: field name -> discriminator value.
    pub fields_to_discriminate_by: BTreeMap<String, String>,
}
