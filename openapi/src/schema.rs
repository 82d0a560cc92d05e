//! JSON Schema (the OpenAPI and CRD dialects Kubernetes uses) -> [`Schema`].
//!
//! The walk takes the parsed values by ownership, so strings move into the IR without copies.

use std::path::Path;
use std::sync::Arc;

use serde_json::{Map, Number, Value};

use crate::arena::Arena;
use crate::error::Error;
use crate::model::*;
use crate::pointer::{Pointer, escape, unescape};

/// Deeper schemas than this are refused; parsers already cap nesting at 128 levels, this keeps
/// the recursion bounded whatever produced the value.
const MAX_SCHEMA_DEPTH: usize = 100;

/// Where a walk is, and what it may refer to.
pub(crate) struct Ctx<'a> {
    pub file: &'a Arc<Path>,
    pub document: Option<usize>,
    pub ptr: Pointer,
    pub arena: &'a mut Arena,
    /// CRD schemas may not use `$ref`.
    pub allow_refs: bool,
}

impl Ctx<'_> {
    pub fn origin(&self) -> Origin {
        Origin { file: self.file.clone(), document: self.document, pointer: self.ptr.as_str().to_owned() }
    }

    pub fn err(&self, message: impl Into<String>) -> Error {
        Error::at(&self.origin(), message)
    }

    /// An error at `relative`, an already escaped pointer below the current place.
    pub fn err_at(&self, relative: &str, message: impl Into<String>) -> Error {
        let mut origin = self.origin();
        origin.pointer = format!("{}/{relative}", self.ptr.as_str());
        Error::at(&origin, message)
    }
}

/// The JSON type name of a value, for messages.
pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Converts one schema value.
pub(crate) fn convert(value: Value, cx: &mut Ctx, depth: usize) -> Result<Schema, Error> {
    if depth > MAX_SCHEMA_DEPTH {
        return Err(cx.err(format!("schema nested more than {MAX_SCHEMA_DEPTH} levels deep")));
    }
    let map = match value {
        Value::Object(m) => m,
        // JSON Schema allows `true` for "anything"; Kubernetes never writes it, but it is harmless.
        Value::Bool(true) => return Ok(Schema::any()),
        other => {
            return Err(cx.err(format!("expected a schema object, found {}", type_name(&other))));
        }
    };
    let mut s = Schema::default();
    let mut ty: Option<String> = None;
    let mut reference: Option<String> = None;
    let mut properties: Option<Map<String, Value>> = None;
    let mut required: Vec<String> = Vec::new();
    let mut items: Option<Value> = None;
    let mut additional: Option<Value> = None;
    let mut pattern_properties: Option<Map<String, Value>> = None;

    for (key, v) in map {
        match key.as_str() {
            "type" => match v {
                Value::String(t) => ty = Some(t),
                other => {
                    return Err(
                        cx.err_at("type", format!("expected `type` to be a string, found {}", type_name(&other)))
                    );
                }
            },
            "$ref" => match v {
                Value::String(r) => reference = Some(r),
                other => {
                    return Err(
                        cx.err_at("$ref", format!("expected `$ref` to be a string, found {}", type_name(&other)))
                    );
                }
            },
            "description" => s.description = Some(string(cx, &key, v)?),
            "title" => s.title = Some(string(cx, &key, v)?),
            "format" => s.format = Some(string(cx, &key, v)?),
            "pattern" => s.validation.pattern = Some(string(cx, &key, v)?),
            "default" => s.default = Some(v),
            "example" => s.example = Some(v),
            "nullable" => s.nullable = boolean(cx, &key, v)?,
            "enum" => match v {
                Value::Array(values) => s.enum_values = Some(values),
                other => {
                    return Err(
                        cx.err_at("enum", format!("expected `enum` to be an array, found {}", type_name(&other)))
                    );
                }
            },
            "properties" => match v {
                Value::Object(m) => properties = Some(m),
                other => {
                    return Err(cx.err_at(
                        "properties",
                        format!("expected `properties` to be an object, found {}", type_name(&other)),
                    ));
                }
            },
            "patternProperties" => match v {
                Value::Object(m) => pattern_properties = Some(m),
                other => {
                    return Err(cx.err_at(
                        &key,
                        format!("expected `patternProperties` to be an object, found {}", type_name(&other)),
                    ));
                }
            },
            "required" => required = strings(cx, &key, v)?,
            "items" => items = Some(v),
            "additionalProperties" => additional = Some(v),
            "maximum" => s.validation.maximum = Some(number(cx, &key, v)?),
            "minimum" => s.validation.minimum = Some(number(cx, &key, v)?),
            "multipleOf" => s.validation.multiple_of = Some(number(cx, &key, v)?),
            "exclusiveMaximum" => s.validation.exclusive_maximum = boolean(cx, &key, v)?,
            "exclusiveMinimum" => s.validation.exclusive_minimum = boolean(cx, &key, v)?,
            "maxLength" => s.validation.max_length = Some(count(cx, &key, v)?),
            "minLength" => s.validation.min_length = Some(count(cx, &key, v)?),
            "maxItems" => s.validation.max_items = Some(count(cx, &key, v)?),
            "minItems" => s.validation.min_items = Some(count(cx, &key, v)?),
            "maxProperties" => s.validation.max_properties = Some(count(cx, &key, v)?),
            "minProperties" => s.validation.min_properties = Some(count(cx, &key, v)?),
            "uniqueItems" => s.validation.unique_items = boolean(cx, &key, v)?,
            "allOf" => s.validation.all_of = schema_list(cx, &key, v, depth)?,
            "anyOf" => s.validation.any_of = schema_list(cx, &key, v, depth)?,
            "oneOf" => s.validation.one_of = schema_list(cx, &key, v, depth)?,
            "not" => {
                let mark = cx.ptr.push(&key);
                s.validation.not = Some(convert(v, cx, depth + 1)?);
                cx.ptr.truncate(mark);
            }
            k if k.starts_with("x-kubernetes-") => extension(cx, &key, v, &mut s.extensions)?,
            // Other keywords (`$schema`, `id`, `externalDocs`, `x-` vendor extensions, ...)
            // carry nothing a client needs.
            _ => {}
        }
    }

    if let Some(r) = reference {
        if !cx.allow_refs {
            return Err(cx.err_at("$ref", "`$ref` is not allowed in a CustomResourceDefinition schema"));
        }
        let name = ref_name(&r).ok_or_else(|| {
            cx.err_at(
                "$ref",
                format!("unsupported $ref `{r}`: expected a local reference to #/definitions/NAME or #/components/schemas/NAME"),
            )
        })?;
        let mut origin = cx.origin();
        origin.pointer = format!("{}/$ref", cx.ptr.as_str());
        s.ty = SchemaType::Ref(cx.arena.intern(&name, origin));
        return Ok(s);
    }

    s.ty = match ty.as_deref() {
        None if properties.is_some() || additional.is_some() => SchemaType::Object(ObjectSchema::default()),
        None if items.is_some() => SchemaType::Array(Box::new(Schema::any())),
        None => SchemaType::Any,
        Some("object") => SchemaType::Object(ObjectSchema::default()),
        Some("array") => SchemaType::Array(Box::new(Schema::any())),
        Some("string") => SchemaType::String,
        Some("integer") => SchemaType::Integer,
        Some("number") => SchemaType::Number,
        Some("boolean") => SchemaType::Boolean,
        Some(other) => {
            return Err(cx.err_at(
                "type",
                format!("unknown type `{other}`: expected one of object, array, string, integer, number, boolean"),
            ));
        }
    };

    match &mut s.ty {
        SchemaType::Object(object) => {
            if let Some(props) = properties {
                let mark = cx.ptr.push("properties");
                object.properties.reserve(props.len());
                for (name, v) in props {
                    let m = cx.ptr.push(&name);
                    let schema = convert(v, cx, depth + 1)?;
                    cx.ptr.truncate(m);
                    let required = required.contains(&name);
                    object.properties.push(Property { name, required, schema });
                }
                cx.ptr.truncate(mark);
            }
            if let Some(a) = additional {
                object.additional = match a {
                    Value::Bool(false) => Additional::None,
                    Value::Bool(true) => Additional::Any,
                    v => {
                        let mark = cx.ptr.push("additionalProperties");
                        let schema = convert(v, cx, depth + 1)?;
                        cx.ptr.truncate(mark);
                        Additional::Schema(Box::new(schema))
                    }
                };
            }
            if let Some(pp) = pattern_properties {
                let mark = cx.ptr.push("patternProperties");
                for (pattern, v) in pp {
                    let m = cx.ptr.push(&pattern);
                    let schema = convert(v, cx, depth + 1)?;
                    cx.ptr.truncate(m);
                    object.pattern_properties.push((pattern, schema));
                }
                cx.ptr.truncate(mark);
            }
        }
        SchemaType::Array(item) => {
            if let Some(v) = items {
                let mark = cx.ptr.push("items");
                **item = match v {
                    // Tuple form: Kubernetes never uses it; one schema per position is not a
                    // list type, so it is read as a list of anything.
                    Value::Array(_) => Schema::any(),
                    v => convert(v, cx, depth + 1)?,
                };
                cx.ptr.truncate(mark);
            }
        }
        _ => {}
    }
    if !matches!(s.ty, SchemaType::Object(_)) {
        // `required` without an object shape is a value rule: CRDs say "one of these fields"
        // with `anyOf: [{required: [a]}, {required: [b]}]`.
        s.validation.required = required;
    }
    Ok(s)
}

/// `#/definitions/NAME` or `#/components/schemas/NAME` -> `NAME`.
pub(crate) fn ref_name(r: &str) -> Option<String> {
    let name = r.strip_prefix("#/definitions/").or_else(|| r.strip_prefix("#/components/schemas/"))?;
    (!name.is_empty() && !name.contains('/')).then(|| unescape(name))
}

fn schema_list(cx: &mut Ctx, key: &str, v: Value, depth: usize) -> Result<Vec<Schema>, Error> {
    let Value::Array(items) = v else {
        return Err(cx.err_at(key, format!("expected `{key}` to be an array of schemas, found {}", type_name(&v))));
    };
    let mark = cx.ptr.push(key);
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let m = cx.ptr.push_index(i);
        out.push(convert(item, cx, depth + 1)?);
        cx.ptr.truncate(m);
    }
    cx.ptr.truncate(mark);
    Ok(out)
}

fn string(cx: &Ctx, key: &str, v: Value) -> Result<String, Error> {
    match v {
        Value::String(s) => Ok(s),
        other => Err(cx.err_at(key, format!("expected `{key}` to be a string, found {}", type_name(&other)))),
    }
}

fn boolean(cx: &Ctx, key: &str, v: Value) -> Result<bool, Error> {
    match v {
        Value::Bool(b) => Ok(b),
        other => Err(cx.err_at(key, format!("expected `{key}` to be a boolean, found {}", type_name(&other)))),
    }
}

fn number(cx: &Ctx, key: &str, v: Value) -> Result<Number, Error> {
    match v {
        Value::Number(n) => Ok(n),
        other => Err(cx.err_at(key, format!("expected `{key}` to be a number, found {}", type_name(&other)))),
    }
}

fn count(cx: &Ctx, key: &str, v: Value) -> Result<u64, Error> {
    match &v {
        Value::Number(n) => n
            .as_u64()
            .ok_or_else(|| cx.err_at(key, format!("expected `{key}` to be a non-negative integer, found {n}"))),
        other => {
            Err(cx.err_at(key, format!("expected `{key}` to be a non-negative integer, found {}", type_name(other))))
        }
    }
}

fn strings(cx: &Ctx, key: &str, v: Value) -> Result<Vec<String>, Error> {
    let Value::Array(items) = v else {
        return Err(cx.err_at(key, format!("expected `{key}` to be an array of strings, found {}", type_name(&v))));
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| match item {
            Value::String(s) => Ok(s),
            other => Err(cx.err_at(&format!("{key}/{i}"), format!("expected a string, found {}", type_name(&other)))),
        })
        .collect()
}

fn object(cx: &Ctx, key: &str, v: Value) -> Result<Map<String, Value>, Error> {
    match v {
        Value::Object(m) => Ok(m),
        other => Err(cx.err_at(key, format!("expected `{key}` to be an object, found {}", type_name(&other)))),
    }
}

/// Reads one `x-kubernetes-*` extension into `ext`.
fn extension(cx: &Ctx, key: &str, v: Value, ext: &mut Extensions) -> Result<(), Error> {
    match key {
        "x-kubernetes-int-or-string" => ext.int_or_string = boolean(cx, key, v)?,
        "x-kubernetes-preserve-unknown-fields" => ext.preserve_unknown_fields = boolean(cx, key, v)?,
        "x-kubernetes-embedded-resource" => ext.embedded_resource = boolean(cx, key, v)?,
        "x-kubernetes-list-type" => {
            ext.list_type = Some(match string(cx, key, v)?.as_str() {
                "atomic" => ListType::Atomic,
                "set" => ListType::Set,
                "map" => ListType::Map,
                other => {
                    return Err(cx.err_at(key, format!("unknown list type `{other}`: expected atomic, set or map")));
                }
            })
        }
        "x-kubernetes-list-map-keys" => ext.list_map_keys = strings(cx, key, v)?,
        "x-kubernetes-map-type" => {
            ext.map_type = Some(match string(cx, key, v)?.as_str() {
                "atomic" => MapType::Atomic,
                "granular" => MapType::Granular,
                other => {
                    return Err(cx.err_at(key, format!("unknown map type `{other}`: expected atomic or granular")));
                }
            })
        }
        "x-kubernetes-patch-strategy" => ext.patch_strategy = Some(string(cx, key, v)?),
        "x-kubernetes-patch-merge-key" => ext.patch_merge_key = Some(string(cx, key, v)?),
        "x-kubernetes-validations" => {
            let Value::Array(rules) = v else {
                return Err(
                    cx.err_at(key, format!("expected `{key}` to be an array of rules, found {}", type_name(&v)))
                );
            };
            for (i, rule) in rules.into_iter().enumerate() {
                let at = format!("{key}/{i}");
                let mut out = ValidationRule::default();
                let mut has_rule = false;
                for (k, v) in object(cx, &at, rule)? {
                    let at = format!("{at}/{}", escape(&k));
                    match k.as_str() {
                        "rule" => {
                            out.rule = string(cx, &at, v)?;
                            has_rule = true;
                        }
                        "message" => out.message = Some(string(cx, &at, v)?),
                        "messageExpression" => out.message_expression = Some(string(cx, &at, v)?),
                        "reason" => out.reason = Some(string(cx, &at, v)?),
                        "fieldPath" => out.field_path = Some(string(cx, &at, v)?),
                        "optionalOldSelf" => out.optional_old_self = Some(boolean(cx, &at, v)?),
                        _ => {}
                    }
                }
                if !has_rule {
                    return Err(cx.err_at(&at, "a validation rule needs a `rule`"));
                }
                ext.validations.push(out);
            }
        }
        "x-kubernetes-unions" => {
            let Value::Array(unions) = v else {
                return Err(cx.err_at(key, format!("expected `{key}` to be an array, found {}", type_name(&v))));
            };
            for (i, union) in unions.into_iter().enumerate() {
                let at = format!("{key}/{i}");
                let mut out = Union::default();
                for (k, v) in object(cx, &at, union)? {
                    let at = format!("{at}/{}", escape(&k));
                    match k.as_str() {
                        "discriminator" => out.discriminator = Some(string(cx, &at, v)?),
                        "fields-to-discriminateBy" => {
                            for (field, value) in object(cx, &at, v)? {
                                let value = string(cx, &format!("{at}/{}", escape(&field)), value)?;
                                out.fields_to_discriminate_by.insert(field, value);
                            }
                        }
                        _ => {}
                    }
                }
                ext.unions.push(out);
            }
        }
        _ => {
            ext.other.insert(key.to_owned(), v);
        }
    }
    Ok(())
}
