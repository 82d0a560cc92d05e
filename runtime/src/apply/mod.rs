//! Server-side apply configurations: typed partial objects in which every field is optional
//! and only what the caller sets is sent, so a field manager owns exactly the fields it means
//! to (a full struct would send every required field and every `Default`).
//!
//! Generated and derived resources get a `<Kind>Apply` type made by [`apply!`](macro@crate::apply)
//! for the resource and for every type reachable from it; the metadata they share is
//! [`ObjectMetaApply`], and a `scale` subresource is applied with [`ScaleApply`].
//! [`extract`] reads back, from a live object, the configuration one manager applied.

#[doc(hidden)]
pub mod __serde;
mod extract;

pub use extract::{ExtractError, extract};

/// An apply configuration of a resource: what applying it returns is `Object`, whose
/// `apiVersion` and `kind` it writes.
pub trait ApplyConfiguration: serde::Serialize + serde::de::DeserializeOwned {
    /// The resource the configuration is applied to.
    type Object: k8s_openapi::Resource;
}

/// A hand-written type with an apply configuration of its own, made by `#[derive(Apply)]`
/// (runtime feature `derive`): a derived configuration's `#[apply(nested)]` field of this type
/// holds `Apply` instead of the whole value.
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no apply configuration",
    note = "derive `kube_codegen_runtime::Apply` on it, or drop `#[apply(nested)]` to apply it whole"
)]
pub trait ApplyType {
    /// The type's apply configuration.
    type Apply;
}

/// An apply configuration's struct: `Serialize` and `Deserialize` (every field optional, none
/// written unless set), a chainable setter per field, `Default` (nothing set), and `Debug`,
/// `PartialEq` and `Eq` by the JSON it sends (the struct derives only `Clone`: derived impls
/// cost as much compile time as all the rest).
///
/// Each field is listed with its JSON name, its value type and its mode: `value` (the field is
/// `Option<T>`; the setter takes anything `Into<T>`), `exact` (the same, but the setter takes
/// a `T`: for numbers, booleans and nested configurations, where a conversion adds nothing and
/// a generic setter costs more to compile), `list` (`Option<Vec<T>>`; the setter appends
/// items) or `map` (`Option<BTreeMap<String, T>>`; the setter inserts entries).
/// `[Object, Namespaced | Cluster, extract_status = "status", ...]` after the name makes it a
/// resource's configuration: `new` with the object's identity, `extract`, one extract method
/// per subresource listed, and [`ApplyConfiguration`]. `keep FIELD` names a map that holds the
/// fields the schema does not name.
///
/// ```
/// #[derive(Clone)]
/// struct PortApply {
///     name: Option<String>,
///     hosts: Option<Vec<String>>,
///     port: Option<i32>,
/// }
/// kube_codegen_runtime::apply! {
///     PortApply {
///         "hosts" => hosts: String [list],
///         "name" => name: String [value],
///         "port" => port: i32 [exact],
///     }
/// }
/// let port = PortApply::default().name("http");
/// assert_eq!(serde_json::to_string(&port).unwrap(), r#"{"name":"http"}"#);
/// let port = port.hosts(["a", "b"]).hosts(["c"]);
/// assert_eq!(port.hosts.as_deref().unwrap().len(), 3);
/// assert_eq!(format!("{port:?}"), r#"PortApply {"hosts":["a","b","c"],"name":"http"}"#);
/// assert_eq!(port, PortApply::default().hosts(["a", "b", "c"]).name("http"));
/// assert_eq!(serde_json::to_string(&port.port(8080)).unwrap(), r#"{"hosts":["a","b","c"],"name":"http","port":8080}"#);
/// ```
#[macro_export]
macro_rules! apply {
    (
        $name:ident $([$object:ty, $scope:ident $(, $method:ident = $sub:literal)* $(,)?])? {
            $($json:literal => $field:ident: $ty:ty [$mode:ident],)*
        }
        $(keep $other:ident)?
    ) => {
        impl $crate::apply::__serde::Fields for $name {
            // Inline: built where a configuration is (de)serialised, not in every crate that
            // defines configurations, as generic code would be.
            #[inline]
            fn each(&self, f: &mut dyn ::core::ops::FnMut(&str, &dyn $crate::apply::__serde::Erased)) {
                $($crate::apply::__serde::identity::<$object>(f);)?
                $crate::apply::__serde::put(f, &[$(($json, &self.$field as &dyn $crate::apply::__serde::Slot),)*]);
                $(for (key, value) in &self.$other {
                    f(key, value);
                })?
            }
            #[inline]
            fn set<'de>(
                &mut self,
                key: &str,
                value: &mut dyn $crate::apply::__serde::ErasedDeserializer<'de>,
            ) -> ::core::result::Result<(), $crate::apply::__serde::Error> {
                match key {
                    $($json => $crate::apply::__serde::set(&mut self.$field, value),)*
                    _ => $crate::__apply_unknown!(key, value $(, keep self.$other)? $(, identity $object)?),
                }
            }
        }
        impl $crate::__private::serde::Serialize for $name {
            fn serialize<S: $crate::__private::serde::Serializer>(&self, serializer: S) -> ::core::result::Result<S::Ok, S::Error> {
                $crate::apply::__serde::serialize(self, serializer)
            }
        }
        impl<'de> $crate::__private::serde::Deserialize<'de> for $name {
            fn deserialize<D: $crate::__private::serde::Deserializer<'de>>(deserializer: D) -> ::core::result::Result<Self, D::Error> {
                $crate::apply::__serde::deserialize(deserializer)
            }
        }
        // Inline, as `Fields` is: built only where used.
        impl ::core::fmt::Debug for $name {
            #[inline]
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                $crate::apply::__serde::debug(self, f)
            }
        }
        impl ::core::cmp::PartialEq for $name {
            #[inline]
            fn eq(&self, other: &Self) -> bool {
                $crate::apply::__serde::eq(self, other)
            }
        }
        impl ::core::cmp::Eq for $name {}
        impl ::core::default::Default for $name {
            // `None` for each field rather than a derive's `Default::default()`, which is a
            // trait call per field to compile.
            #[inline]
            fn default() -> Self {
                Self {
                    $($field: ::core::option::Option::None,)*
                    $($other: ::core::default::Default::default(),)?
                }
            }
        }
        impl $name {
            $($crate::__apply_setter!($mode $field $json $ty);)*
        }
        $($crate::__apply_resource!($name $object, $scope $(, $method = $sub)*);)?
    };
}

/// A field an apply configuration does not name: skipped, kept where the schema says so, and
/// `apiVersion`/`kind` checked against a resource's.
#[doc(hidden)]
#[macro_export]
macro_rules! __apply_unknown {
    ($key:ident, $value:ident) => {
        $crate::apply::__serde::skip($value)
    };
    ($key:ident, $value:ident, identity $object:ty) => {
        $crate::apply::__serde::check_identity::<$object>($key, $value)
    };
    ($key:ident, $value:ident, keep $($other:ident).+) => {
        $crate::apply::__serde::keep(&mut $($other).+, $key, $value)
    };
    ($key:ident, $value:ident, keep $($other:ident).+, identity $object:ty) => {
        match $key {
            "apiVersion" | "kind" => $crate::apply::__serde::check_identity::<$object>($key, $value),
            _ => $crate::apply::__serde::keep(&mut $($other).+, $key, $value),
        }
    };
}

/// An apply configuration's setter in each mode.
#[doc(hidden)]
#[macro_export]
macro_rules! __apply_setter {
    (value $field:ident $json:literal $ty:ty) => {
        #[doc = concat!("Sets `", $json, "`.")]
        pub fn $field(mut self, value: impl ::core::convert::Into<$ty>) -> Self {
            self.$field = ::core::option::Option::Some(value.into());
            self
        }
    };
    (exact $field:ident $json:literal $ty:ty) => {
        #[doc = concat!("Sets `", $json, "`.")]
        #[inline]
        pub fn $field(mut self, value: $ty) -> Self {
            self.$field = ::core::option::Option::Some(value);
            self
        }
    };
    (list $field:ident $json:literal $ty:ty) => {
        #[doc = concat!("Appends `items` to `", $json, "`.")]
        pub fn $field<V: ::core::convert::Into<$ty>>(
            mut self,
            items: impl ::core::iter::IntoIterator<Item = V>,
        ) -> Self {
            $crate::apply::__serde::extend_list(&mut self.$field, items);
            self
        }
    };
    (map $field:ident $json:literal $ty:ty) => {
        #[doc = concat!("Inserts `entries` into `", $json, "`.")]
        pub fn $field<K: ::core::convert::Into<::std::string::String>, V: ::core::convert::Into<$ty>>(
            mut self,
            entries: impl ::core::iter::IntoIterator<Item = (K, V)>,
        ) -> Self {
            $crate::apply::__serde::extend_map(&mut self.$field, entries);
            self
        }
    };
}

/// What a resource's apply configuration has beyond its fields.
#[doc(hidden)]
#[macro_export]
macro_rules! __apply_resource {
    ($name:ident $object:ty, Namespaced $(, $method:ident = $sub:literal)*) => {
        impl $name {
            /// The configuration of the object `name` in `namespace`, with nothing else set.
            pub fn new(name: impl ::core::convert::Into<::std::string::String>, namespace: impl ::core::convert::Into<::std::string::String>) -> Self {
                <Self as ::core::default::Default>::default()
                    .metadata($crate::apply::ObjectMetaApply::default().name(name).namespace(namespace))
            }
        }
        $crate::__apply_resource!(@common $name $object $(, $method = $sub)*);
    };
    ($name:ident $object:ty, Cluster $(, $method:ident = $sub:literal)*) => {
        impl $name {
            /// The configuration of the object `name`, with nothing else set.
            pub fn new(name: impl ::core::convert::Into<::std::string::String>) -> Self {
                <Self as ::core::default::Default>::default().metadata($crate::apply::ObjectMetaApply::default().name(name))
            }
        }
        $crate::__apply_resource!(@common $name $object $(, $method = $sub)*);
    };
    (@common $name:ident $object:ty $(, $method:ident = $sub:literal)*) => {
        impl $name {
            /// The configuration `manager` applied to `object`: exactly the fields its apply
            /// owns (by the object's `managedFields`), with the object's name and namespace.
            #[inline]
            pub fn extract(object: &$object, manager: &str) -> ::core::result::Result<Self, $crate::apply::ExtractError> {
                $crate::apply::extract(object, manager, ::core::option::Option::None)
            }
            $(
                #[doc = concat!("[`extract`](Self::extract) of what `manager` applied through the `", $sub, "` subresource.")]
                #[inline]
                pub fn $method(object: &$object, manager: &str) -> ::core::result::Result<Self, $crate::apply::ExtractError> {
                    $crate::apply::extract(object, manager, ::core::option::Option::Some($sub))
                }
            )*
        }
        impl $crate::apply::ApplyConfiguration for $name {
            type Object = $object;
        }
    };
}

/// The apply configuration of an object's metadata: what a client may set (`name`,
/// `namespace`, labels, annotations, owners, finalizers) and the optimistic-concurrency
/// `resourceVersion`; the fields only the server writes are left out.
#[derive(Clone)]
pub struct ObjectMetaApply {
    /// Unstructured key-value data for tools.
    pub annotations: Option<std::collections::BTreeMap<String, String>>,
    /// Finalizers that must be empty before the object is deleted.
    pub finalizers: Option<Vec<String>>,
    /// A prefix the server completes to a unique name on create.
    pub generate_name: Option<String>,
    /// Labels, which selectors match.
    pub labels: Option<std::collections::BTreeMap<String, String>>,
    /// The object's name, unique in its namespace.
    pub name: Option<String>,
    /// The namespace, for namespaced objects.
    pub namespace: Option<String>,
    /// Objects this one depends on (by `uid`), for garbage collection.
    pub owner_references: Option<Vec<OwnerReferenceApply>>,
    /// When set, the apply succeeds only if the object is still at this version.
    pub resource_version: Option<String>,
    /// When set, the apply succeeds only for the object with this `uid`.
    pub uid: Option<String>,
}

crate::apply! {
    ObjectMetaApply {
        "annotations" => annotations: String [map],
        "finalizers" => finalizers: String [list],
        "generateName" => generate_name: String [value],
        "labels" => labels: String [map],
        "name" => name: String [value],
        "namespace" => namespace: String [value],
        "ownerReferences" => owner_references: OwnerReferenceApply [list],
        "resourceVersion" => resource_version: String [value],
        "uid" => uid: String [value],
    }
}

/// The apply configuration of an owner reference (`metadata.ownerReferences`, a list keyed by
/// `uid`).
#[derive(Clone)]
pub struct OwnerReferenceApply {
    /// The owner's API version.
    pub api_version: Option<String>,
    /// Whether the owner cannot be deleted in the foreground before this object.
    pub block_owner_deletion: Option<bool>,
    /// Whether the owner is the managing controller.
    pub controller: Option<bool>,
    /// The owner's kind.
    pub kind: Option<String>,
    /// The owner's name.
    pub name: Option<String>,
    /// The owner's uid.
    pub uid: Option<String>,
}

crate::apply! {
    OwnerReferenceApply {
        "apiVersion" => api_version: String [value],
        "blockOwnerDeletion" => block_owner_deletion: bool [exact],
        "controller" => controller: bool [exact],
        "kind" => kind: String [value],
        "name" => name: String [value],
        "uid" => uid: String [value],
    }
}

impl OwnerReferenceApply {
    /// A reference to `owner`, a resource with a name and a uid, as its controller: what an
    /// operator sets on the objects it creates.
    pub fn controller_of<K: k8s_openapi::Resource + k8s_openapi::Metadata<Ty = ObjectMeta>>(owner: &K) -> Self {
        let meta = owner.metadata();
        OwnerReferenceApply {
            api_version: Some(K::API_VERSION.to_owned()),
            kind: Some(K::KIND.to_owned()),
            name: meta.name.clone(),
            uid: meta.uid.clone(),
            controller: Some(true),
            block_owner_deletion: Some(true),
        }
    }
}

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

/// The apply configuration of a `scale` subresource (`autoscaling/v1` `Scale`): the desired
/// replicas. The object it names is the scaled resource; the client it goes through knows the
/// namespace.
#[derive(Clone)]
pub struct ScaleApply {
    /// The scaled object's metadata; its name is required.
    pub metadata: Option<ObjectMetaApply>,
    /// The desired state.
    pub spec: Option<ScaleSpecApply>,
}

crate::apply! {
    ScaleApply [k8s_openapi::api::autoscaling::v1::Scale, Cluster] {
        "metadata" => metadata: ObjectMetaApply [exact],
        "spec" => spec: ScaleSpecApply [exact],
    }
}

impl ScaleApply {
    /// `replicas` for the object `name`.
    pub fn replicas(name: impl Into<String>, replicas: i32) -> Self {
        ScaleApply::new(name).spec(ScaleSpecApply::default().replicas(replicas))
    }
}

/// The desired state of a `Scale`.
#[derive(Clone)]
pub struct ScaleSpecApply {
    /// The desired number of replicas.
    pub replicas: Option<i32>,
}

crate::apply! {
    ScaleSpecApply {
        "replicas" => replicas: i32 [exact],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_is_set_is_written() {
        let meta = ObjectMetaApply::default().name("web").labels([("app", "web")]).finalizers(Vec::<String>::new());
        let json = serde_json::to_value(&meta).unwrap();
        // An explicitly empty list is sent: the caller set it, and applying it means "none".
        assert_eq!(json, serde_json::json!({"name": "web", "labels": {"app": "web"}, "finalizers": []}));
        let scale = ScaleApply::replicas("web", 3);
        assert_eq!(
            serde_json::to_value(&scale).unwrap(),
            serde_json::json!({"apiVersion": "autoscaling/v1", "kind": "Scale", "metadata": {"name": "web"}, "spec": {"replicas": 3}})
        );
        let back: ScaleApply = serde_json::from_value(serde_json::to_value(&scale).unwrap()).unwrap();
        assert_eq!(back, scale);
        let wrong = serde_json::json!({"apiVersion": "apps/v1", "kind": "Scale"});
        assert!(serde_json::from_value::<ScaleApply>(wrong).is_err(), "another kind's identity is refused");
    }
}
