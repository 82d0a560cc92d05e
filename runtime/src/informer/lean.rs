//! Decoding objects without their `metadata.managedFields`: the entries are skipped in the JSON
//! as it is read (serde's `IgnoredAny`), never allocated. An informer that would drop them
//! anyway (`drop_managed_fields`) spends most of its decoding on them otherwise: each entry's
//! `fieldsV1` becomes a `serde_json::Value` tree, often larger than the rest of the object.
//!
//! `Lean<K>` is `K` decoded that way. kube's watcher runs on `Api<Lean<K>>` unchanged (the
//! type delegates `Resource` to `K`), so paging, bookmarks, relists and backoff are kube's.
//! `LeanMeta<K>` is the same for a metadata informer's `PartialObjectMeta<K>`.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use kube::core::{ObjectMeta, PartialObjectMeta, TypeMeta};
use serde::de::value::{BorrowedStrDeserializer, StringDeserializer};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, forward_to_deserialize_any};

/// `K`, decoded with its `metadata.managedFields` skipped, the way `How` says: through `K`'s own
/// `Deserialize` and a filter ([`Filtered`]), or by a reader of its own ([`ByField`]).
#[derive(Clone, Debug)]
pub(crate) struct Lean<K, How = Filtered>(pub K, pub PhantomData<How>);

/// Decoding through `K`'s own `Deserialize`, with a filter between it and the JSON.
#[derive(Clone, Debug)]
pub(crate) enum Filtered {}

/// Decoding `PartialObjectMeta<K>` field by field, managedFields skipped (see [`LeanMeta`]).
#[derive(Clone, Debug)]
pub(crate) enum ByField {}

/// Decoding `PartialObjectMeta<K>` field by field, managedFields kept (see [`WholeMeta`]).
#[derive(Clone, Debug)]
pub(crate) enum ByFieldWhole {}

impl<'de, K: Deserialize<'de>> Deserialize<'de> for Lean<K> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        K::deserialize(Skip { inner: deserializer, level: Level::Object }).map(|k| Lean(k, PhantomData))
    }
}

impl<K: kube::Resource, How> kube::Resource for Lean<K, How> {
    type DynamicType = K::DynamicType;
    type Scope = K::Scope;

    fn kind(dt: &Self::DynamicType) -> Cow<'_, str> {
        K::kind(dt)
    }
    fn group(dt: &Self::DynamicType) -> Cow<'_, str> {
        K::group(dt)
    }
    fn version(dt: &Self::DynamicType) -> Cow<'_, str> {
        K::version(dt)
    }
    fn api_version(dt: &Self::DynamicType) -> Cow<'_, str> {
        K::api_version(dt)
    }
    fn plural(dt: &Self::DynamicType) -> Cow<'_, str> {
        K::plural(dt)
    }
    fn metadata_api() -> bool {
        K::metadata_api()
    }
    fn url_path(dt: &Self::DynamicType, namespace: Option<&str>) -> String {
        K::url_path(dt, namespace)
    }
    fn meta(&self) -> &kube::core::ObjectMeta {
        self.0.meta()
    }
    fn meta_mut(&mut self) -> &mut kube::core::ObjectMeta {
        self.0.meta_mut()
    }
}

/// `PartialObjectMeta<K>`, decoded with its `metadata.managedFields` skipped and read field by
/// field: kube-core's derive flattens an `Option<TypeMeta>` into it, which buffers each
/// object's `apiVersion` and `kind` as serde `Content` and decodes them again: about 30% of
/// decoding a metadata list. The result is what `Lean<PartialObjectMeta<K>>` gives.
pub(crate) type LeanMeta<K> = Lean<PartialObjectMeta<K>, ByField>;

/// [`LeanMeta`] with the managedFields kept: the same reader, for a factory that keeps them
/// (`keep_metadata_managed_fields`); `Lean` only in name.
pub(crate) type WholeMeta<K> = Lean<PartialObjectMeta<K>, ByFieldWhole>;

impl<'de, K> Deserialize<'de> for LeanMeta<K> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(MetaVisitor::<K, true>(PhantomData)).map(|m| Lean(m, PhantomData))
    }
}

impl<'de, K> Deserialize<'de> for WholeMeta<K> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(MetaVisitor::<K, false>(PhantomData)).map(|m| Lean(m, PhantomData))
    }
}

/// Reads a `PartialObjectMeta<K>`, its managedFields skipped when `SKIP`.
struct MetaVisitor<K, const SKIP: bool>(PhantomData<K>);

impl<'de, K, const SKIP: bool> Visitor<'de> for MetaVisitor<K, SKIP> {
    type Value = PartialObjectMeta<K>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("struct PartialObjectMeta")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        // As the derive's flattened `Option<TypeMeta>` does: both names as strings, each once,
        // or no `types` at all (never an error).
        let (mut api_version, mut kind) = (TypeField::Missing, TypeField::Missing);
        let mut metadata = None;
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            match &*key {
                "apiVersion" => api_version = api_version.then(map.next_value()?),
                "kind" => kind = kind.then(map.next_value()?),
                "metadata" if metadata.is_some() => return Err(de::Error::duplicate_field("metadata")),
                "metadata" if SKIP => {
                    metadata = Some(map.next_value_seed(MetadataSeed(PhantomData::<ObjectMeta>))?);
                }
                "metadata" => metadata = Some(map.next_value::<ObjectMeta>()?),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let types = match (api_version, kind) {
            (TypeField::Once(api_version), TypeField::Once(kind)) => Some(TypeMeta { api_version, kind }),
            _ => None,
        };
        Ok(PartialObjectMeta { types, metadata: metadata.unwrap_or_default(), _phantom: PhantomData })
    }
}

/// `apiVersion` or `kind` as read so far.
enum TypeField {
    Missing,
    Once(String),
    /// Given twice, or not as a string.
    Unusable,
}

impl TypeField {
    fn then(self, value: serde_json::Value) -> TypeField {
        match (self, value) {
            (TypeField::Missing, serde_json::Value::String(s)) => TypeField::Once(s),
            _ => TypeField::Unusable,
        }
    }
}

/// Where in the object a map is: the object itself, or its `metadata`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    Object,
    Metadata,
}

/// A deserializer that hands out maps which skip what `level` says.
struct Skip<D> {
    inner: D,
    level: Level,
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Skip<D> {
    type Error = D::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.inner.deserialize_any(Wrap { visitor, level: self.level })
    }
    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.inner.deserialize_map(Wrap { visitor, level: self.level })
    }
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.inner.deserialize_struct(name, fields, Wrap { visitor, level: self.level })
    }
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.inner.deserialize_option(Wrap { visitor, level: self.level })
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct newtype_struct seq tuple
        tuple_struct enum identifier ignored_any
    }
}

/// A visitor whose maps skip what `level` says; everything else reaches `visitor` as it is.
struct Wrap<V> {
    visitor: V,
    level: Level,
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Wrap<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.visitor.expecting(f)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.visitor.visit_map(Filter { map, level: self.level, metadata_next: false })
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        self.visitor.visit_some(Skip { inner: d, level: self.level })
    }
    fn visit_none<E: de::Error>(self) -> Result<V::Value, E> {
        self.visitor.visit_none()
    }
    fn visit_unit<E: de::Error>(self) -> Result<V::Value, E> {
        self.visitor.visit_unit()
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<V::Value, E> {
        self.visitor.visit_bool(v)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<V::Value, E> {
        self.visitor.visit_i64(v)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<V::Value, E> {
        self.visitor.visit_u64(v)
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<V::Value, E> {
        self.visitor.visit_i128(v)
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<V::Value, E> {
        self.visitor.visit_u128(v)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<V::Value, E> {
        self.visitor.visit_f64(v)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<V::Value, E> {
        self.visitor.visit_str(v)
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<V::Value, E> {
        self.visitor.visit_borrowed_str(v)
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<V::Value, E> {
        self.visitor.visit_string(v)
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<V::Value, E> {
        self.visitor.visit_bytes(v)
    }
    fn visit_borrowed_bytes<E: de::Error>(self, v: &'de [u8]) -> Result<V::Value, E> {
        self.visitor.visit_borrowed_bytes(v)
    }
    fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<V::Value, E> {
        self.visitor.visit_byte_buf(v)
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        self.visitor.visit_seq(seq)
    }
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        self.visitor.visit_newtype_struct(d)
    }
    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<V::Value, A::Error> {
        self.visitor.visit_enum(data)
    }
}

/// A map that drops `managedFields` from `metadata`, and hands `metadata` itself on through a
/// filter of its own.
struct Filter<A> {
    map: A,
    level: Level,
    /// The key just handed out was the object's `metadata`.
    metadata_next: bool,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Filter<A> {
    type Error = A::Error;

    fn next_key_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<Option<S::Value>, A::Error> {
        loop {
            let Some(Key(key)) = self.map.next_key::<Key<'de>>()? else { return Ok(None) };
            if self.level == Level::Metadata && key == "managedFields" {
                self.map.next_value::<IgnoredAny>()?;
                continue;
            }
            self.metadata_next = self.level == Level::Object && key == "metadata";
            return match key {
                Cow::Borrowed(k) => seed.deserialize(BorrowedStrDeserializer::new(k)),
                Cow::Owned(k) => seed.deserialize(StringDeserializer::new(k)),
            }
            .map(Some);
        }
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, A::Error> {
        if std::mem::take(&mut self.metadata_next) {
            self.map.next_value_seed(MetadataSeed(seed))
        } else {
            self.map.next_value_seed(seed)
        }
    }

    fn size_hint(&self) -> Option<usize> {
        self.map.size_hint()
    }
}

/// The object's `metadata`, read through a filter that drops `managedFields`.
struct MetadataSeed<S>(S);

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for MetadataSeed<S> {
    type Value = S::Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<S::Value, D::Error> {
        self.0.deserialize(Skip { inner: d, level: Level::Metadata })
    }
}

/// A map key, borrowed from the input where it can be.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor<'de>(PhantomData<&'de ()>);
        impl<'de> Visitor<'de> for KeyVisitor<'de> {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        d.deserialize_str(KeyVisitor(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ConfigMap;
    use kube::core::PartialObjectMeta;

    const OBJECT: &str = r#"{
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {
            "name": "web", "namespace": "prod", "labels": {"app": "web"},
            "managedFields": [{"manager": "kubectl", "operation": "Apply", "fieldsType": "FieldsV1",
                "fieldsV1": {"f:data": {"f:k": {}}, "f:metadata": {"f:managedFields": {}}}}],
            "annotations": {"managedFields": "an annotation is not the field"}
        },
        "data": {"k": "v", "managedFields": "nor is a data key"}
    }"#;

    #[test]
    fn decodes_everything_but_managed_fields() {
        let Lean(cm, _) = serde_json::from_str::<Lean<ConfigMap>>(OBJECT).unwrap();
        let mut expected: ConfigMap = serde_json::from_str(OBJECT).unwrap();
        assert!(expected.metadata.managed_fields.is_some());
        expected.metadata.managed_fields = None;
        assert_eq!(cm, expected);
    }

    #[test]
    fn works_for_partial_metadata_and_lists_and_errors_like_the_plain_decode() {
        let Lean(meta, _) = serde_json::from_str::<Lean<PartialObjectMeta<ConfigMap>>>(OBJECT).unwrap();
        assert_eq!(meta.metadata.name.as_deref(), Some("web"));
        assert!(meta.metadata.managed_fields.is_none());
        let list = format!(r#"{{"metadata": {{}}, "items": [{OBJECT}, {OBJECT}]}}"#);
        let list: kube::core::ObjectList<Lean<ConfigMap>> = serde_json::from_str(&list).unwrap();
        assert!(list.items.iter().all(|Lean(cm, _)| cm.metadata.managed_fields.is_none() && cm.data.is_some()));
        // Malformed input fails as it would without the filter.
        let bad = OBJECT.replace(r#""name": "web""#, r#""name": 7"#);
        let plain = serde_json::from_str::<ConfigMap>(&bad).unwrap_err().to_string();
        let lean = serde_json::from_str::<Lean<ConfigMap>>(&bad).unwrap_err().to_string();
        assert_eq!(lean, plain);
    }

    /// What kube-core's derive makes of `json` with managedFields dropped, against `LeanMeta`:
    /// the same JSON, or the same error.
    fn both(json: &str) -> (Result<serde_json::Value, String>, Result<serde_json::Value, String>) {
        let derived = serde_json::from_str::<Lean<PartialObjectMeta<ConfigMap>>>(json)
            .map(|Lean(m, _)| serde_json::to_value(m).unwrap())
            .map_err(|e| e.to_string());
        let lean = serde_json::from_str::<LeanMeta<ConfigMap>>(json)
            .map(|Lean(m, _)| serde_json::to_value(m).unwrap())
            .map_err(|e| e.to_string());
        (derived, lean)
    }

    #[test]
    fn partial_metadata_read_field_by_field_is_what_the_derive_reads() {
        let cases = [
            OBJECT.to_owned(),
            // The kinds a server sends for metadata, and objects without them, or with one.
            r#"{"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": {"name": "a"}}"#
                .to_owned(),
            r#"{"metadata": {"name": "a", "labels": {"x": "y"}}, "spec": {"a": [1, 2]}}"#.to_owned(),
            r#"{"kind": "ConfigMap", "metadata": {"name": "a"}}"#.to_owned(),
            r#"{"apiVersion": "v1", "kind": "ConfigMap"}"#.to_owned(),
            // Type fields the derive gives up on without an error.
            r#"{"apiVersion": 5, "kind": "ConfigMap", "metadata": {}}"#.to_owned(),
            r#"{"apiVersion": "v1", "apiVersion": "v2", "kind": "ConfigMap", "metadata": {}}"#.to_owned(),
            // Errors.
            OBJECT.replace(r#""name": "web""#, r#""name": 7"#),
            r#"{"apiVersion": "v1", "kind": "ConfigMap", "metadata": null}"#.to_owned(),
            r#"{"metadata": {"name": "a"}, "metadata": {"name": "b"}}"#.to_owned(),
            r#"[1, 2]"#.to_owned(),
        ];
        for json in &cases {
            let (derived, lean) = both(json);
            assert_eq!(lean, derived, "{json}");
            // Kept, they are what the derive reads of the whole metadata.
            let derived = serde_json::from_str::<PartialObjectMeta<ConfigMap>>(json)
                .map(|m| serde_json::to_value(m).unwrap())
                .map_err(|e| e.to_string());
            let whole = serde_json::from_str::<WholeMeta<ConfigMap>>(json)
                .map(|Lean(m, _)| serde_json::to_value(m).unwrap())
                .map_err(|e| e.to_string());
            assert_eq!(whole, derived, "{json}");
        }
        let Lean(kept, _) = serde_json::from_str::<WholeMeta<ConfigMap>>(&cases[0]).unwrap();
        assert!(kept.metadata.managed_fields.is_some_and(|m| m.len() == 1));
        let (derived, _) = both(&cases[0]);
        let derived = derived.unwrap();
        assert_eq!(derived["metadata"]["name"], "web");
        assert!(derived["metadata"].get("managedFields").is_none());
    }
}
