//! How a generated struct reads and writes itself: [`object!`](crate::object) gives it
//! `Serialize` and `Deserialize` from a list of its fields. The expansion is what serde_derive
//! would write for a JSON object, minus what an object never needs (a field-identifier enum,
//! sequence access), so generated code compiles fast and no proc macro runs.

/// `Serialize` and `Deserialize` for a generated struct.
///
/// Each field is listed with its JSON name, its type and its mode: `required`, `optional`
/// (`Option<T>`, not written when `None`), or `list` (required, but `null` or absent reads as
/// empty, because Go writes a nil slice or map as `null`). `[resource]` after the name writes
/// `apiVersion` and `kind` from the type's `k8s_openapi::Resource` constants; `keep FIELD`
/// names a map that holds the fields the schema does not name.
///
/// ```
/// #[derive(Debug, PartialEq)]
/// struct Port {
///     name: String,
///     number: Option<i32>,
/// }
/// kube_codegen_runtime::object! {
///     Port {
///         "name" => name: String [required],
///         "number" => number: Option<i32> [optional],
///     }
/// }
/// let port: Port = serde_json::from_str(r#"{"name": "http", "extra": 1}"#).unwrap();
/// assert_eq!(port, Port { name: "http".into(), number: None });
/// assert_eq!(serde_json::to_string(&port).unwrap(), r#"{"name":"http"}"#);
/// ```
#[macro_export]
macro_rules! object {
    ($name:ident {}) => {
        impl $crate::__private::serde::Serialize for $name {
            fn serialize<S: $crate::__private::serde::Serializer>(&self, serializer: S) -> ::core::result::Result<S::Ok, S::Error> {
                $crate::__private::serde::ser::SerializeMap::end(serializer.serialize_map(Some(0))?)
            }
        }
        impl<'de> $crate::__private::serde::Deserialize<'de> for $name {
            fn deserialize<D: $crate::__private::serde::Deserializer<'de>>(deserializer: D) -> ::core::result::Result<Self, D::Error> {
                <$crate::__private::serde::de::IgnoredAny as $crate::__private::serde::Deserialize>::deserialize(
                    deserializer,
                )?;
                ::core::result::Result::Ok($name {})
            }
        }
    };
    ($name:ident [resource] { $($fields:tt)* } $(keep $other:ident)?) => {
        $crate::__object_impl! { $name [$name] { $($fields)* } $(keep $other)? }
    };
    ($name:ident { $($fields:tt)* } $(keep $other:ident)?) => {
        $crate::__object_impl! { $name [] { $($fields)* } $(keep $other)? }
    };
}

/// [`object!`](crate::object)'s serde impls; `[T]` writes and checks `apiVersion` and `kind`
/// from `T`'s `k8s_openapi::Resource` constants (the type itself, or for an apply
/// configuration the object it configures).
#[doc(hidden)]
#[macro_export]
macro_rules! __object_impl {
    (
        $name:ident [$($identity:ty)?] {
            $($json:literal => $field:ident: $ty:ty [$mode:ident],)*
        }
        $(keep $other:ident)?
    ) => {
        impl $crate::__private::serde::Serialize for $name {
            fn serialize<S: $crate::__private::serde::Serializer>(&self, serializer: S) -> ::core::result::Result<S::Ok, S::Error> {
                use $crate::__private::serde::ser::SerializeMap;
                let mut map = serializer.serialize_map(None)?;
                $($crate::__private::resource::write_type::<$identity, _>(&mut map)?;)?
                $($crate::__private::$mode::write(&mut map, $json, &self.$field)?;)*
                $(for (key, value) in &self.$other { map.serialize_entry(key, value)?; })?
                map.end()
            }
        }
        impl<'de> $crate::__private::serde::Deserialize<'de> for $name {
            fn deserialize<D: $crate::__private::serde::Deserializer<'de>>(deserializer: D) -> ::core::result::Result<Self, D::Error> {
                struct Visitor;
                impl<'de> $crate::__private::serde::de::Visitor<'de> for Visitor {
                    type Value = $name;
                    fn expecting(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                        f.write_str(concat!("a ", stringify!($name), " object"))
                    }
                    // Slots are named after their fields, whatever the schema calls them.
                    #[allow(clippy::disallowed_names)]
                    fn visit_map<A: $crate::__private::serde::de::MapAccess<'de>>(self, mut map: A) -> ::core::result::Result<$name, A::Error> {
                        $(let mut $field: $crate::__private::$mode::Slot<$ty> = ::core::default::Default::default();)*
                        $(let mut $other = ::std::collections::BTreeMap::new();)?
                        while let ::core::option::Option::Some(key) = map.next_key::<$crate::__private::Key<'de>>()? {
                            match key.as_str() {
                                $($json => $crate::__private::$mode::read(&mut $field, $json, &mut map)?,)*
                                _ => $crate::__object_unknown!(map, key $(, keep $other)? $(, identity $identity)?),
                            }
                        }
                        ::core::result::Result::Ok($name {
                            $($field: $crate::__private::$mode::finish($field, $json)?,)*
                            $($other,)?
                        })
                    }
                }
                deserializer.deserialize_map(Visitor)
            }
        }
    };
}

/// A field [`object!`](crate::object) does not know: skipped, or kept where the schema says so.
#[doc(hidden)]
#[macro_export]
macro_rules! __object_unknown {
    ($map:ident, $key:ident) => {
        $map.next_value::<$crate::__private::serde::de::IgnoredAny>().map(drop)?
    };
    ($map:ident, $key:ident, identity $identity:ty) => {
        if !$crate::__private::resource::check_type::<$identity, _>(&$key, &mut $map)? {
            $map.next_value::<$crate::__private::serde::de::IgnoredAny>().map(drop)?
        }
    };
    ($map:ident, $key:ident, keep $other:ident) => {
        $crate::__private::keep(&mut $other, $key, &mut $map)?
    };
    ($map:ident, $key:ident, keep $other:ident, identity $identity:ty) => {
        if !$crate::__private::resource::check_type::<$identity, _>(&$key, &mut $map)? {
            $crate::__private::keep(&mut $other, $key, &mut $map)?
        }
    };
}

/// What the macros expand to; not an API.
#[doc(hidden)]
pub mod __private {
    #[cfg(feature = "derive")]
    pub use crate::derive_support as derive;
    pub use k8s_openapi;
    #[cfg(feature = "derive")]
    pub use kube_core;
    #[cfg(feature = "derive")]
    pub use schemars;
    pub use serde;
    pub use serde_json;

    /// The scope type a `resource!` names.
    #[macro_export]
    #[doc(hidden)]
    macro_rules! __scope {
        (Namespaced) => {
            $crate::__private::k8s_openapi::NamespaceResourceScope
        };
        (Cluster) => {
            $crate::__private::k8s_openapi::ClusterResourceScope
        };
    }
    pub use __scope as scope;

    /// A field that must be there.
    pub mod required {
        /// What `visit_map` holds while reading.
        pub type Slot<T> = Option<T>;

        /// Writes the field.
        pub fn write<M: serde::ser::SerializeMap, T: serde::Serialize>(
            map: &mut M,
            key: &'static str,
            value: &T,
        ) -> Result<(), M::Error> {
            map.serialize_entry(key, value)
        }

        /// Reads the field's value; a second one is an error.
        pub fn read<'de, A: serde::de::MapAccess<'de>, T: serde::Deserialize<'de>>(
            slot: &mut Option<T>,
            key: &'static str,
            map: &mut A,
        ) -> Result<(), A::Error> {
            if slot.is_some() {
                return Err(<A::Error as serde::de::Error>::duplicate_field(key));
            }
            *slot = Some(map.next_value()?);
            Ok(())
        }

        /// The field, or a missing-field error.
        pub fn finish<T, E: serde::de::Error>(slot: Option<T>, key: &'static str) -> Result<T, E> {
            slot.ok_or_else(|| E::missing_field(key))
        }
    }

    /// A field that may be absent: `None` is not written.
    pub mod optional {
        /// What `visit_map` holds while reading: whether the field was seen, and the field's
        /// own `Option`.
        pub type Slot<T> = (bool, T);

        /// Writes the field when it is set.
        pub fn write<M: serde::ser::SerializeMap, T: serde::Serialize>(
            map: &mut M,
            key: &'static str,
            value: &Option<T>,
        ) -> Result<(), M::Error> {
            match value {
                Some(value) => map.serialize_entry(key, value),
                None => Ok(()),
            }
        }

        /// Reads the field's value; `null` is `None`; a second one is an error.
        pub fn read<'de, A: serde::de::MapAccess<'de>, T: serde::Deserialize<'de>>(
            slot: &mut (bool, Option<T>),
            key: &'static str,
            map: &mut A,
        ) -> Result<(), A::Error> {
            if slot.0 {
                return Err(<A::Error as serde::de::Error>::duplicate_field(key));
            }
            *slot = (true, map.next_value()?);
            Ok(())
        }

        /// The field as read.
        pub fn finish<T, E>(slot: (bool, Option<T>), _key: &'static str) -> Result<Option<T>, E> {
            Ok(slot.1)
        }
    }

    /// A required list or map: Go writes a nil one as `null`, which reads as empty.
    pub mod list {
        pub use super::required::write;

        /// What `visit_map` holds while reading: whether the field was seen, and its value.
        pub type Slot<T> = (bool, Option<T>);

        /// Reads the field's value; `null` leaves it empty; a second one is an error.
        pub fn read<'de, A: serde::de::MapAccess<'de>, T: serde::Deserialize<'de>>(
            slot: &mut (bool, Option<T>),
            key: &'static str,
            map: &mut A,
        ) -> Result<(), A::Error> {
            if slot.0 {
                return Err(<A::Error as serde::de::Error>::duplicate_field(key));
            }
            *slot = (true, map.next_value()?);
            Ok(())
        }

        /// The field, or empty.
        pub fn finish<T: Default, E>(slot: (bool, Option<T>), _key: &'static str) -> Result<T, E> {
            Ok(slot.1.unwrap_or_default())
        }
    }

    /// What a resource writes before its fields.
    pub mod resource {
        /// Writes `apiVersion` and `kind` from the type's constants.
        pub fn write_type<K: k8s_openapi::Resource, M: serde::ser::SerializeMap>(map: &mut M) -> Result<(), M::Error> {
            map.serialize_entry("apiVersion", K::API_VERSION)?;
            map.serialize_entry("kind", K::KIND)
        }

        /// Reads a field the struct does not name; `apiVersion` and `kind`, where present,
        /// must be the type's (as k8s-openapi's own types check): a `v1beta1` object is not a
        /// `v1` one.
        pub fn check_type<'de, K: k8s_openapi::Resource, A: serde::de::MapAccess<'de>>(
            key: &super::Key<'de>,
            map: &mut A,
        ) -> Result<bool, A::Error> {
            let expected = match key.as_str() {
                "apiVersion" => K::API_VERSION,
                "kind" => K::KIND,
                _ => return Ok(false),
            };
            let value: super::Key<'de> = map.next_value()?;
            if value.as_str() != expected {
                return Err(<A::Error as serde::de::Error>::invalid_value(
                    serde::de::Unexpected::Str(value.as_str()),
                    &expected,
                ));
            }
            Ok(true)
        }
    }

    /// Keeps a field the schema does not name; a second one of the same name is an error.
    pub fn keep<'de, A: serde::de::MapAccess<'de>>(
        other: &mut std::collections::BTreeMap<String, serde_json::Value>,
        key: Key<'de>,
        map: &mut A,
    ) -> Result<(), A::Error> {
        let value = map.next_value()?;
        match other.entry(key.into_string()) {
            std::collections::btree_map::Entry::Occupied(e) => {
                Err(<A::Error as serde::de::Error>::custom(format_args!("duplicate field `{}`", e.key())))
            }
            std::collections::btree_map::Entry::Vacant(e) => {
                e.insert(value);
                Ok(())
            }
        }
    }

    /// An object key, borrowed from the input where the format allows.
    pub enum Key<'de> {
        /// Borrowed from the input.
        Borrowed(&'de str),
        /// Copied, where the input had escapes or is not held in memory.
        Owned(String),
    }

    impl Key<'_> {
        /// The key.
        pub fn as_str(&self) -> &str {
            match self {
                Key::Borrowed(s) => s,
                Key::Owned(s) => s,
            }
        }

        /// The key, owned.
        pub fn into_string(self) -> String {
            match self {
                Key::Borrowed(s) => s.to_owned(),
                Key::Owned(s) => s,
            }
        }
    }

    impl<'de> serde::Deserialize<'de> for Key<'de> {
        fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            struct Visitor;
            impl<'de> serde::de::Visitor<'de> for Visitor {
                type Value = Key<'de>;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("a field name")
                }
                fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                    Ok(Key::Borrowed(v))
                }
                fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                    Ok(Key::Owned(v.to_owned()))
                }
                fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Key<'de>, E> {
                    Ok(Key::Owned(v))
                }
            }
            deserializer.deserialize_str(Visitor)
        }
    }
}

/// `as_str`, `Serialize` and `Deserialize` for a generated string enum whose last variant is
/// `Other(String)`: values the schema does not list are kept, not refused.
///
/// ```
/// #[derive(Debug, PartialEq)]
/// enum Protocol {
///     Tcp,
///     Udp,
///     Other(String),
/// }
/// kube_codegen_runtime::string_enum! {
///     Protocol {
///         Tcp = "TCP",
///         Udp = "UDP",
///     }
/// }
/// assert_eq!(serde_json::from_str::<Protocol>(r#""SCTP""#).unwrap(), Protocol::Other("SCTP".into()));
/// assert_eq!(Protocol::Tcp.as_str(), "TCP");
/// ```
#[macro_export]
macro_rules! string_enum {
    ($name:ident { $($variant:ident = $value:literal,)* }) => {
        impl $name {
            /// The value as the API writes it.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $value,)*
                    Self::Other(other) => other,
                }
            }
        }
        impl $crate::__private::serde::Serialize for $name {
            fn serialize<S: $crate::__private::serde::Serializer>(&self, serializer: S) -> ::core::result::Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }
        impl<'de> $crate::__private::serde::Deserialize<'de> for $name {
            fn deserialize<D: $crate::__private::serde::Deserializer<'de>>(deserializer: D) -> ::core::result::Result<Self, D::Error> {
                let value = <$crate::__private::Key<'de> as $crate::__private::serde::Deserialize>::deserialize(deserializer)?;
                ::core::result::Result::Ok(match value.as_str() {
                    $($value => Self::$variant,)*
                    _ => Self::Other(value.into_string()),
                })
            }
        }
    };
}

/// `as_i64`, `Serialize` and `Deserialize` for a generated integer enum whose last variant is
/// `Other(i64)`.
///
/// ```
/// #[derive(Debug, PartialEq)]
/// enum Level {
///     Minus1,
///     V0,
///     Other(i64),
/// }
/// kube_codegen_runtime::int_enum! {
///     Level {
///         Minus1 = -1,
///         V0 = 0,
///     }
/// }
/// assert_eq!(serde_json::from_str::<Level>("-1").unwrap(), Level::Minus1);
/// assert_eq!(serde_json::to_string(&Level::Other(7)).unwrap(), "7");
/// ```
#[macro_export]
macro_rules! int_enum {
    ($name:ident { $($variant:ident = $value:literal,)* }) => {
        impl $name {
            /// The value as the API writes it.
            pub fn as_i64(&self) -> i64 {
                match self {
                    $(Self::$variant => $value,)*
                    Self::Other(other) => *other,
                }
            }
        }
        impl $crate::__private::serde::Serialize for $name {
            fn serialize<S: $crate::__private::serde::Serializer>(&self, serializer: S) -> ::core::result::Result<S::Ok, S::Error> {
                serializer.serialize_i64(self.as_i64())
            }
        }
        impl<'de> $crate::__private::serde::Deserialize<'de> for $name {
            fn deserialize<D: $crate::__private::serde::Deserializer<'de>>(deserializer: D) -> ::core::result::Result<Self, D::Error> {
                let value = <i64 as $crate::__private::serde::Deserialize>::deserialize(deserializer)?;
                ::core::result::Result::Ok(match value {
                    $($value => Self::$variant,)*
                    other => Self::Other(other),
                })
            }
        }
    };
}

/// What a generated or derived resource type says of how the API serves it, beyond
/// k8s-openapi's `Resource`: whether it is a custom resource, its subresources, the fields a
/// field selector may name and how its lists merge. The in-memory API server serves it from
/// this (`ApiServer::register_generated`), as a real server serves the CRD or API it came from.
pub trait ResourceSchema: k8s_openapi::Resource {
    /// Served by a CRD: strategic merge patches are refused.
    const CUSTOM: bool;
    /// It has a `status` subresource.
    const STATUS: bool;
    /// Its `scale` subresource, if it has one.
    const SCALE: Option<ScalePaths>;
    /// Fields a field selector may name besides `metadata.name` and `metadata.namespace`.
    const SELECTABLE: &'static [&'static str];
    /// Its schema reduced to what says how lists and maps merge: `properties`, `items`,
    /// `additionalProperties` and the `x-kubernetes-list-type`, `-list-map-keys`, `-map-type`,
    /// `-patch-merge-key` and `-patch-strategy` extensions; `None` when nothing in it says.
    fn list_schema() -> Option<serde_json::Value>;
}

/// Where a `scale` subresource reads and writes, as JSON paths (`.spec.replicas`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScalePaths {
    /// `specReplicasPath`
    pub spec_replicas: &'static str,
    /// `statusReplicasPath`
    pub status_replicas: &'static str,
    /// `labelSelectorPath`
    pub label_selector: Option<&'static str>,
}

/// The first of its arguments, or the default after `;`.
#[doc(hidden)]
#[macro_export]
macro_rules! __or {
    ($value:expr ; $default:expr) => {
        $value
    };
    (; $default:expr) => {
        $default
    };
}

/// A `resource!`'s list schema: its JSON, the derived CRD's, or none.
#[doc(hidden)]
#[macro_export]
macro_rules! __list_schema {
    ($json:literal ;) => {
        $crate::__private::serde_json::from_str($json).ok()
    };
    (; crd) => {
        $crate::__private::derive::list_schema::<Self>()
    };
    (;) => {
        ::core::option::Option::None
    };
}

/// k8s-openapi's `Resource`, `ListableResource` and `Metadata` for a generated resource type
/// with a `metadata: ObjectMeta` field, so `kube::Api<K>` and kube-runtime take it, and
/// [`ResourceSchema`] from the optional fields after `list_kind` (`custom`, `status`,
/// `scale`, `selectable`, `lists`).
///
/// ```
/// #[derive(Default)]
/// struct Widget {
///     metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
/// }
/// kube_codegen_runtime::resource! {
///     Widget {
///         api_version: "example.com/v1",
///         group: "example.com",
///         version: "v1",
///         kind: "Widget",
///         plural: "widgets",
///         scope: Namespaced,
///         list_kind: "WidgetList",
///     }
/// }
/// assert_eq!(<Widget as k8s_openapi::Resource>::API_VERSION, "example.com/v1");
/// ```
#[macro_export]
macro_rules! resource {
    (
        $name:ident {
            api_version: $api_version:literal,
            group: $group:literal,
            version: $version:literal,
            kind: $kind:literal,
            plural: $plural:literal,
            scope: $scope:ident,
            $(list_kind: $list:literal,)?
            $(custom: $custom:literal,)?
            $(status: $status:literal,)?
            $(scale: ($spec_replicas:literal, $status_replicas:literal $(, $selector:literal)?),)?
            $(selectable: [$($field:literal),* $(,)?],)?
            $(lists: $lists:literal,)?
            $(derived: $derived:ident,)?
        }
    ) => {
        impl $crate::ResourceSchema for $name {
            const CUSTOM: bool = $crate::__or!($($custom)? ; false);
            const STATUS: bool = $crate::__or!($($status)? ; false);
            const SCALE: ::core::option::Option<$crate::ScalePaths> = $crate::__or!(
                $(::core::option::Option::Some($crate::ScalePaths {
                    spec_replicas: $spec_replicas,
                    status_replicas: $status_replicas,
                    label_selector: $crate::__or!($(::core::option::Option::Some($selector))? ; ::core::option::Option::None),
                }))? ;
                ::core::option::Option::None
            );
            const SELECTABLE: &'static [&'static str] = &[$($($field),*)?];
            fn list_schema() -> ::core::option::Option<$crate::__private::serde_json::Value> {
                $crate::__list_schema!($($lists)? ; $($derived)?)
            }
        }
        impl $crate::__private::k8s_openapi::Resource for $name {
            const API_VERSION: &'static str = $api_version;
            const GROUP: &'static str = $group;
            const KIND: &'static str = $kind;
            const VERSION: &'static str = $version;
            const URL_PATH_SEGMENT: &'static str = $plural;
            type Scope = $crate::__private::scope!($scope);
        }
        $(
            impl $crate::__private::k8s_openapi::ListableResource for $name {
                const LIST_KIND: &'static str = $list;
            }
        )?
        impl $crate::__private::k8s_openapi::Metadata for $name {
            type Ty = $crate::__private::k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
            fn metadata(&self) -> &Self::Ty {
                &self.metadata
            }
            fn metadata_mut(&mut self) -> &mut Self::Ty {
                &mut self.metadata
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    #[derive(Debug, PartialEq)]
    struct Widget {
        metadata: ObjectMeta,
        replicas: Option<i32>,
        ports: Vec<i32>,
        other: std::collections::BTreeMap<String, serde_json::Value>,
    }
    crate::resource! {
        Widget {
            api_version: "example.com/v1",
            group: "example.com",
            version: "v1",
            kind: "Widget",
            plural: "widgets",
            scope: Namespaced,
        }
    }
    crate::object! {
        Widget [resource] {
            "metadata" => metadata: ObjectMeta [required],
            "replicas" => replicas: Option<i32> [optional],
            "ports" => ports: Vec<i32> [list],
        }
        keep other
    }

    fn read(json: &str) -> Result<Widget, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    #[test]
    fn identity_is_checked_where_present() {
        let ok = read(r#"{"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {}, "x": 1}"#).unwrap();
        assert_eq!(ok.other.len(), 1, "apiVersion and kind are not kept as unknown fields");
        assert!(read(r#"{"metadata": {}}"#).is_ok(), "absent apiVersion and kind are fine");
        let err = read(r#"{"apiVersion": "example.com/v1beta1", "kind": "Widget", "metadata": {}}"#).unwrap_err();
        assert!(err.contains("example.com/v1beta1") && err.contains("expected example.com/v1"), "{err}");
        let err = read(r#"{"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {}}"#).unwrap_err();
        assert!(err.contains("Gadget"), "{err}");
    }

    #[test]
    fn duplicate_keys_are_errors() {
        for json in [
            r#"{"metadata": {}, "metadata": {}}"#,
            r#"{"metadata": {}, "replicas": 1, "replicas": 2}"#,
            r#"{"metadata": {}, "replicas": null, "replicas": 2}"#,
            r#"{"metadata": {}, "ports": null, "ports": [1]}"#,
            r#"{"metadata": {}, "x": 1, "x": 2}"#,
        ] {
            let err = read(json).unwrap_err();
            assert!(err.contains("duplicate field"), "{json}: {err}");
        }
    }
}
