//! The serde impls of apply configurations, written once. Every configuration's own code is
//! two non-generic functions (its fields: a list and a `match`) and one-line trait impls; the
//! per-field (de)serialisation goes through `dyn` (erased-serde), so nothing is
//! monomorphised per configuration and per serializer. Apply configurations are small and
//! written once per reconcile, so the dynamic calls cost nothing that matters; what this saves
//! is compile time: they more than doubled a crate's when each had derive-style impls
//! (BENCHMARKS.md, "Compile cost of apply configurations").

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{DeserializeSeed, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serializer};

pub use erased_serde::{Deserializer as ErasedDeserializer, Error, Serialize as Erased};

use crate::object::__private::Key;

/// What `apply!` implements for a configuration: its fields, set ones in order, and a field
/// by name.
pub trait Fields: Default {
    /// The type's name, for error messages: its last path segment. (Read from the type rather
    /// than a constant in every configuration, which is one more item to compile in each.)
    fn name() -> &'static str {
        let path = std::any::type_name::<Self>();
        path.rsplit("::").next().unwrap_or(path)
    }
    /// Calls `f` with each field that is set, by its JSON name.
    fn each(&self, f: &mut dyn FnMut(&str, &dyn Erased));
    /// Reads the field `key` from `value`.
    fn set<'de>(&mut self, key: &str, value: &mut dyn ErasedDeserializer<'de>) -> Result<(), Error>;
}

/// `Debug` of a configuration: its name and the JSON it sends (`{:#?}` pretty-prints it).
pub fn debug<T: Fields + serde::Serialize>(value: &T, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let json = if f.alternate() { serde_json::to_string_pretty(value) } else { serde_json::to_string(value) };
    write!(f, "{} {}", T::name(), json.map_err(|_| fmt::Error)?)
}

/// `PartialEq` of configurations: the same JSON is sent. (JSON has no NaN, so this is an
/// equivalence, and `Eq` holds.)
pub fn eq<T: serde::Serialize>(a: &T, b: &T) -> bool {
    serde_json::to_value(a).ok() == serde_json::to_value(b).ok()
}

/// A configuration's field as `each` lists it: set or not.
pub trait Slot {
    /// The value, when the field is set.
    fn get(&self) -> Option<&dyn Erased>;
}

impl<T: serde::Serialize> Slot for Option<T> {
    fn get(&self) -> Option<&dyn Erased> {
        self.as_ref().map(|value| value as &dyn Erased)
    }
}

/// A configuration's `each`: `f` is called with each field that is set. One call with a list
/// of the fields costs less to compile, in every crate that defines configurations, than a
/// call or an `if let` per field.
pub fn put(f: &mut dyn FnMut(&str, &dyn Erased), fields: &[(&str, &dyn Slot)]) {
    for (key, slot) in fields {
        if let Some(value) = slot.get() {
            f(key, value);
        }
    }
}

/// A list setter's work, written once rather than as an iterator chain in every setter.
pub fn extend_list<T, V: Into<T>>(list: &mut Option<Vec<T>>, items: impl IntoIterator<Item = V>) {
    list.get_or_insert_with(Vec::new).extend(items.into_iter().map(Into::into));
}

/// A map setter's work, written once rather than as a closure in every setter.
pub fn extend_map<T, K: Into<String>, V: Into<T>>(
    map: &mut Option<BTreeMap<String, T>>,
    entries: impl IntoIterator<Item = (K, V)>,
) {
    map.get_or_insert_with(BTreeMap::new).extend(entries.into_iter().map(|(k, v)| (k.into(), v.into())));
}

/// Writes a resource's `apiVersion` and `kind`.
pub fn identity<K: k8s_openapi::Resource>(f: &mut dyn FnMut(&str, &dyn Erased)) {
    f("apiVersion", &K::API_VERSION);
    f("kind", &K::KIND);
}

/// Serialises a configuration as a map of its set fields.
pub fn serialize<T: Fields, S: Serializer>(value: &T, serializer: S) -> Result<S::Ok, S::Error> {
    let mut map = serializer.serialize_map(None)?;
    let mut failed = None;
    value.each(&mut |key, field| {
        if failed.is_none()
            && let Err(e) = map.serialize_entry(key, field)
        {
            failed = Some(e);
        }
    });
    match failed {
        Some(e) => Err(e),
        None => map.end(),
    }
}

/// Deserialises a configuration from a map; fields it does not name are skipped (or kept).
pub fn deserialize<'de, T: Fields, D: Deserializer<'de>>(deserializer: D) -> Result<T, D::Error> {
    struct Object<T>(PhantomData<T>);
    impl<'de, T: Fields> Visitor<'de> for Object<T> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "a {} object", T::name())
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<T, A::Error> {
            let mut out = T::default();
            while let Some(key) = map.next_key::<Key<'de>>()? {
                map.next_value_seed(Field { out: &mut out, key: key.as_str() })?;
            }
            Ok(out)
        }
    }
    deserializer.deserialize_map(Object(PhantomData))
}

/// One field's value, read into the configuration.
struct Field<'a, T> {
    out: &'a mut T,
    key: &'a str,
}

impl<'de, T: Fields> DeserializeSeed<'de> for Field<'_, T> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        let mut erased = <dyn ErasedDeserializer>::erase(deserializer);
        self.out.set(self.key, &mut erased).map_err(serde::de::Error::custom)
    }
}

/// Reads a field; `null` leaves it unset.
pub fn set<'de, T: Deserialize<'de>>(
    slot: &mut Option<T>,
    value: &mut dyn ErasedDeserializer<'de>,
) -> Result<(), Error> {
    *slot = erased_serde::deserialize::<Option<T>>(value)?;
    Ok(())
}

/// Skips a field the configuration does not name.
pub fn skip<'de>(value: &mut dyn ErasedDeserializer<'de>) -> Result<(), Error> {
    erased_serde::deserialize::<serde::de::IgnoredAny>(value).map(drop)
}

/// Keeps a field the schema does not name.
pub fn keep<'de>(
    other: &mut BTreeMap<String, serde_json::Value>,
    key: &str,
    value: &mut dyn ErasedDeserializer<'de>,
) -> Result<(), Error> {
    other.insert(key.to_owned(), erased_serde::deserialize(value)?);
    Ok(())
}

/// `apiVersion` and `kind`, where present, must be the resource's (a `v1beta1` object is not
/// a `v1` configuration); other unknown fields are skipped.
pub fn check_identity<'de, K: k8s_openapi::Resource>(
    key: &str,
    value: &mut dyn ErasedDeserializer<'de>,
) -> Result<(), Error> {
    let expected = match key {
        "apiVersion" => K::API_VERSION,
        "kind" => K::KIND,
        _ => return skip(value),
    };
    let found: Key<'de> = erased_serde::deserialize(value)?;
    if found.as_str() != expected {
        return Err(serde::de::Error::invalid_value(serde::de::Unexpected::Str(found.as_str()), &expected));
    }
    Ok(())
}
