//! What apiextensions does with a custom resource's `openAPIV3Schema` on every write: prune
//! the fields the schema does not name (unless it preserves unknown fields), apply `default`s,
//! and reject what does not validate with a 422 whose causes name each field, worded as the
//! real server words them.

use serde_json::{Value, json};

/// One validation failure: the field (`spec.replicas`), the cause's reason and message.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Cause {
    pub field: String,
    pub reason: &'static str,
    pub message: String,
}

/// Prunes, defaults and validates `object` (the whole resource) against `schema`, then
/// evaluates its CEL rules if it is valid otherwise (`old` is the object before an update).
pub(super) fn admit(object: &mut Value, old: Option<&Value>, schema: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    // apiVersion, kind and metadata are the server's; the schema speaks for the rest.
    let Value::Object(fields) = object else { return causes };
    for (key, value) in fields.iter_mut() {
        if matches!(key.as_str(), "apiVersion" | "kind" | "metadata") {
            continue;
        }
        if let Some(sub) = schema["properties"].get(key) {
            walk(value, sub, key, &mut causes);
        }
    }
    if !preserves(schema) {
        fields.retain(|k, _| {
            matches!(k.as_str(), "apiVersion" | "kind" | "metadata") || schema["properties"].get(k).is_some()
        });
    }
    default_missing(fields, schema);
    if causes.is_empty() {
        return super::cel::validate(object, old, schema);
    }
    // CEL rules run only on an object that is valid otherwise, and the server says so.
    if has_rules(schema) {
        causes.push(Cause {
            field: "<nil>".into(),
            reason: "FieldValueInvalid",
            message: "Invalid value: null: some validation rules were not checked because the object was invalid; correct the existing errors to complete validation".into(),
        });
    }
    causes
}

/// Whether a schema has `x-kubernetes-validations` rules anywhere.
fn has_rules(schema: &Value) -> bool {
    match schema {
        Value::Object(m) => m.contains_key("x-kubernetes-validations") || m.values().any(has_rules),
        Value::Array(items) => items.iter().any(has_rules),
        _ => false,
    }
}

fn preserves(schema: &Value) -> bool {
    schema["x-kubernetes-preserve-unknown-fields"] == json!(true)
}

fn default_missing(fields: &mut serde_json::Map<String, Value>, schema: &Value) {
    if let Some(properties) = schema["properties"].as_object() {
        for (k, sub) in properties {
            if let Some(default) = sub.get("default")
                && !fields.contains_key(k)
            {
                fields.insert(k.clone(), default.clone());
            }
        }
    }
}

/// A JSON value's type as OpenAPI and the server's messages name it.
pub(super) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn walk(value: &mut Value, schema: &Value, path: &str, causes: &mut Vec<Cause>) {
    if value.is_null() && schema["nullable"] == json!(true) {
        return;
    }
    let actual = type_name(value);
    let expected: Option<&str> = if schema["x-kubernetes-int-or-string"] == json!(true) {
        (!matches!(actual, "integer" | "string")).then_some("integer,string")
    } else {
        match schema["type"].as_str() {
            Some("number") if matches!(actual, "integer" | "number") => None,
            Some(t) if t != actual => Some(t),
            _ => None,
        }
    };
    if let Some(expected) = expected {
        causes.push(Cause {
            field: path.to_owned(),
            reason: "FieldValueTypeInvalid",
            message: format!("Invalid value: \"{actual}\": {path} in body must be of type {expected}: \"{actual}\""),
        });
    }
    if let Some(allowed) = schema["enum"].as_array()
        && !allowed.contains(value)
    {
        // Go quotes every allowed value, numbers too.
        let list: Vec<String> = allowed
            .iter()
            .map(|v| match v {
                Value::String(_) => v.to_string(),
                other => format!("\"{other}\""),
            })
            .collect();
        causes.push(Cause {
            field: path.to_owned(),
            reason: "FieldValueNotSupported",
            message: format!("Unsupported value: {value}: supported values: {}", list.join(", ")),
        });
    }
    // A value of the wrong type is checked against its enum, and nothing else.
    if expected.is_some() {
        return;
    }
    if let Some(n) = value.as_f64() {
        let bound = |key: &str| schema.get(key).and_then(Value::as_f64);
        let exclusive = |key: &str| schema[key] == json!(true);
        let shown =
            |b: f64| json!(b).as_f64().filter(|b| b.fract() == 0.0).map_or(b.to_string(), |b| format!("{}", b as i64));
        let broken = match (bound("minimum"), bound("maximum")) {
            (Some(min), _) if n < min || (n == min && exclusive("exclusiveMinimum")) => {
                Some(if exclusive("exclusiveMinimum") {
                    format!("should be greater than {}", shown(min))
                } else {
                    format!("should be greater than or equal to {}", shown(min))
                })
            }
            (_, Some(max)) if n > max || (n == max && exclusive("exclusiveMaximum")) => {
                Some(if exclusive("exclusiveMaximum") {
                    format!("should be less than {}", shown(max))
                } else {
                    format!("should be less than or equal to {}", shown(max))
                })
            }
            _ => None,
        };
        if let Some(broken) = broken {
            causes.push(Cause {
                field: path.to_owned(),
                reason: "FieldValueInvalid",
                message: format!("Invalid value: {value}: {path} in body {broken}"),
            });
        }
    }
    if let (Some(max), Value::String(s)) = (schema.get("maxLength").and_then(Value::as_u64), &*value)
        && s.len() as u64 > max
    {
        causes.push(Cause {
            field: path.to_owned(),
            reason: "FieldValueTooLong",
            message: format!("Too long: may not be more than {max} bytes"),
        });
    }
    if let (Some(min), Value::String(s)) = (schema.get("minLength").and_then(Value::as_u64), &*value)
        && (s.chars().count() as u64) < min
    {
        causes.push(Cause {
            field: path.to_owned(),
            reason: "FieldValueInvalid",
            message: format!("Invalid value: {value}: {path} in body should be at least {min} chars long"),
        });
    }
    if let (Some(max), Value::Array(items)) = (schema.get("maxItems").and_then(Value::as_u64), &*value)
        && items.len() as u64 > max
    {
        causes.push(Cause {
            field: path.to_owned(),
            reason: "FieldValueTooMany",
            message: format!(
                "Too many: {}: must have at most {max} item{}",
                items.len(),
                if max == 1 { "" } else { "s" }
            ),
        });
    }
    match value {
        Value::Object(fields) => {
            for required in schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str) {
                if !fields.contains_key(required) && schema["properties"][required].get("default").is_none() {
                    causes.push(Cause {
                        field: format!("{path}.{required}"),
                        reason: "FieldValueRequired",
                        message: "Required value".into(),
                    });
                }
            }
            let additional = schema.get("additionalProperties").filter(|a| a.is_object());
            for (k, v) in fields.iter_mut() {
                let sub = schema["properties"].get(k).or(additional);
                if let Some(sub) = sub {
                    walk(v, sub, &format!("{path}.{k}"), causes);
                }
            }
            let named = schema.get("properties").is_some() || additional.is_some();
            if !preserves(schema) && named {
                fields.retain(|k, _| schema["properties"].get(k).is_some() || additional.is_some());
            }
            default_missing(fields, schema);
        }
        Value::Array(items) => {
            if let Some(sub) = schema.get("items") {
                for (i, item) in items.iter_mut().enumerate() {
                    walk(item, sub, &format!("{path}[{i}]"), causes);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prunes_defaults_and_validates_as_apiextensions() {
        let schema = json!({"type": "object", "properties": {"spec": {"type": "object", "required": ["size"], "properties": {
            "size": {"type": "string", "enum": ["S", "L"]},
            "port": {"x-kubernetes-int-or-string": true},
            "replicas": {"type": "integer", "default": 1},
            "tags": {"type": "array", "items": {"type": "string"}},
            "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
        }}}});
        let mut ok = json!({"apiVersion": "x/v1", "kind": "W", "metadata": {"name": "w"}, "spec": {
            "size": "S", "port": "http", "unknown": 1, "free": {"anything": true}}, "extra": 2});
        assert!(admit(&mut ok, None, &schema).is_empty());
        assert_eq!(
            ok,
            json!({"apiVersion": "x/v1", "kind": "W", "metadata": {"name": "w"}, "spec": {
            "size": "S", "port": "http", "replicas": 1, "free": {"anything": true}}})
        );
        let mut bad = json!({"spec": {"port": true, "tags": [1], "size": "M"}});
        let mut causes = admit(&mut bad, None, &schema);
        causes.sort_by(|a, b| a.field.cmp(&b.field));
        let fields: Vec<(&str, &str)> = causes.iter().map(|c| (c.field.as_str(), c.reason)).collect();
        assert_eq!(
            fields,
            [
                ("spec.port", "FieldValueTypeInvalid"),
                ("spec.size", "FieldValueNotSupported"),
                ("spec.tags[0]", "FieldValueTypeInvalid"),
            ]
        );
        assert_eq!(
            causes[0].message,
            "Invalid value: \"boolean\": spec.port in body must be of type integer,string: \"boolean\""
        );
        let mut missing = json!({"spec": {}});
        assert_eq!(admit(&mut missing, None, &schema)[0].message, "Required value");
    }
}
