//! A CRD's `x-kubernetes-validations` rules, evaluated as apiextensions evaluates them: with
//! the `cel` crate, the standard library and the Kubernetes extensions CRD rules use (strings,
//! lists, regular expressions, durations, `isIP`), each rule with `self` bound to the value its
//! schema node validates and `oldSelf` to that value before an update. A rule failing is a
//! cause worded as the real server words it.

use std::sync::{Arc, OnceLock};

use serde_json::Value;

use super::schema::{Cause, type_name};

/// The environment rules compile and run in: built once, shared by every rule.
fn env() -> &'static Arc<cel::Env> {
    static ENV: OnceLock<Arc<cel::Env>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = cel::Env::stdlib();
        // Both only declare functions of their own: they cannot clash with the standard
        // library's, so a failure here is none of the input's doing.
        let _ = env.add_extension(cel::extensions::strings);
        let _ = env.add_extension(cel::extensions::lists);
        Arc::new(env)
    })
}

/// The causes `object`'s rules give (`old` is the object before an update). Rules on values
/// an update left as they were are not evaluated again (validation ratcheting), unless they
/// compare with `oldSelf`.
pub(super) fn validate(object: &Value, old: Option<&Value>, schema: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    walk(object, old, schema, "", &mut causes);
    causes
}

fn walk(value: &Value, old: Option<&Value>, schema: &Value, path: &str, causes: &mut Vec<Cause>) {
    for rule in schema["x-kubernetes-validations"].as_array().into_iter().flatten() {
        check(rule, value, old, path, causes);
    }
    match value {
        Value::Object(fields) => {
            let additional = schema.get("additionalProperties").filter(|a| a.is_object());
            for (key, child) in fields {
                if path.is_empty() && matches!(key.as_str(), "apiVersion" | "kind" | "metadata") {
                    continue;
                }
                let (sub, child_path) = match (schema["properties"].get(key), additional) {
                    (Some(sub), _) if path.is_empty() => (sub, key.clone()),
                    (Some(sub), _) => (sub, format!("{path}.{key}")),
                    (None, Some(sub)) => (sub, format!("{path}[{key}]")),
                    (None, None) => continue,
                };
                walk(child, old.and_then(|o| o.get(key)), sub, &child_path, causes);
            }
        }
        Value::Array(items) => {
            if let Some(sub) = schema.get("items") {
                // Items are not matched with the old list's: `oldSelf` rules on items are not
                // evaluated (see the fake's known differences).
                for (i, item) in items.iter().enumerate() {
                    walk(item, None, sub, &format!("{path}[{i}]"), causes);
                }
            }
        }
        _ => {}
    }
}

fn check(rule: &Value, value: &Value, old: Option<&Value>, path: &str, causes: &mut Vec<Cause>) {
    let Some(text) = rule["rule"].as_str() else { return };
    let transition = text.contains("oldSelf");
    match old {
        // A transition rule is evaluated on updates only.
        None if transition => return,
        // Ratcheting: an unchanged value is not validated again.
        Some(old) if !transition && old == value => return,
        _ => {}
    }
    let env = env();
    let program = match env.compile(text) {
        Ok(program) => program,
        Err(e) => {
            tracing::warn!(rule = text, "the fake cannot compile this x-kubernetes-validations rule, so skips it: {e}");
            return;
        }
    };
    let mut context = cel::Context::with_env(Arc::clone(env));
    let _ = context.add_function("isIP", |s: Arc<String>| s.parse::<std::net::IpAddr>().is_ok());
    let bind = |context: &mut cel::Context, name: &str, v: &Value| match cel::to_value(v) {
        Ok(v) => {
            context.add_variable_from_value(name, v);
            true
        }
        Err(_) => false,
    };
    if !bind(&mut context, "self", value) || old.is_some_and(|o| !bind(&mut context, "oldSelf", o)) {
        return;
    }
    let field = match (path, rule["fieldPath"].as_str()) {
        ("", None) => "<nil>".to_owned(),
        ("", Some(sub)) => sub.trim_start_matches('.').to_owned(),
        (path, Some(sub)) => format!("{path}{sub}"),
        (path, None) => path.to_owned(),
    };
    let message = || -> String {
        let expression = rule["messageExpression"].as_str().and_then(|e| env.compile(e).ok());
        if let Some(Ok(cel::Value::String(said))) = expression.map(|p| p.execute(&context)) {
            return said.to_string();
        }
        match rule["message"].as_str() {
            Some(m) => m.to_owned(),
            None => format!("failed rule: {text}"),
        }
    };
    let cause = |reason: &'static str, message: String| Cause { field: field.clone(), reason, message };
    match program.execute(&context) {
        Ok(cel::Value::Bool(true)) => {}
        Ok(cel::Value::Bool(false)) => {
            let said = message();
            causes.push(match rule["reason"].as_str() {
                Some("FieldValueForbidden") => cause("FieldValueForbidden", format!("Forbidden: {said}")),
                Some("FieldValueRequired") => cause("FieldValueRequired", format!("Required value: {said}")),
                Some("FieldValueDuplicate") => cause("FieldValueDuplicate", format!("Duplicate value: {said}")),
                // Objects and lists are not shown, scalars are.
                _ if value.is_object() || value.is_array() => {
                    cause("FieldValueInvalid", format!("Invalid value: {said}"))
                }
                _ => cause("FieldValueInvalid", format!("Invalid value: {value}: {said}")),
            });
        }
        Err(cel::ExecutionError::UndeclaredReference(name)) if !matches!(name.as_str(), "self" | "oldSelf") => {
            tracing::warn!(rule = text, "the fake lacks the CEL function `{name}`, so skips this rule");
        }
        outcome => {
            let error = match outcome {
                Err(cel::ExecutionError::NoSuchKey(key)) => format!("no such key: {key}"),
                Err(e) => e.to_string(),
                Ok(other) => format!("rule did not evaluate to a boolean: {other:?}"),
            };
            let about = rule["message"].as_str().unwrap_or(text);
            causes.push(cause(
                "FieldValueInvalid",
                format!("Invalid value: \"{}\": {error} evaluating rule: {about}", type_name(value)),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn schema() -> Value {
        json!({"type": "object", "properties": {"spec": {"type": "object",
        "x-kubernetes-validations": [
            {"rule": "self.low <= self.high", "message": "low must not exceed high"},
            {"rule": "self.name.lowerAscii() == self.name", "reason": "FieldValueForbidden", "message": "lower case only"},
        ],
        "properties": {
            "low": {"type": "integer"}, "high": {"type": "integer"}, "name": {"type": "string"},
            "address": {"type": "string", "x-kubernetes-validations": [{"rule": "isIP(self)"}]},
            "fixed": {"type": "string", "x-kubernetes-validations": [{"rule": "self == oldSelf", "message": "immutable"}]},
            "limits": {"type": "object", "x-kubernetes-validations": [{"rule": "self.max > 0"}]},
        }}}})
    }

    #[test]
    fn rules_pass_fail_and_err_as_the_server_words_them() {
        let ok = json!({"spec": {"low": 1, "high": 2, "name": "a", "address": "10.0.0.1", "fixed": "x"}});
        assert!(validate(&ok, None, &schema()).is_empty());

        let bad = json!({"spec": {"low": 3, "high": 2, "name": "A", "address": "nowhere", "limits": {}}});
        let mut said: Vec<(String, &str, String)> =
            validate(&bad, None, &schema()).into_iter().map(|c| (c.field, c.reason, c.message)).collect();
        said.sort();
        assert_eq!(
            said,
            [
                ("spec".to_owned(), "FieldValueForbidden", "Forbidden: lower case only".to_owned()),
                ("spec".to_owned(), "FieldValueInvalid", "Invalid value: low must not exceed high".to_owned()),
                (
                    "spec.address".to_owned(),
                    "FieldValueInvalid",
                    "Invalid value: \"nowhere\": failed rule: isIP(self)".to_owned()
                ),
                (
                    "spec.limits".to_owned(),
                    "FieldValueInvalid",
                    "Invalid value: \"object\": no such key: max evaluating rule: self.max > 0".to_owned()
                ),
            ]
        );
    }

    /// Every rule of the ~90 CRDs of well-known projects in the shared corpus compiles here, so
    /// the fake evaluates them rather than skipping them.
    #[test]
    fn every_rule_of_the_corpus_crds_compiles() {
        fn rules(v: &Value, out: &mut Vec<String>) {
            match v {
                Value::Object(m) => {
                    for r in m.get("x-kubernetes-validations").and_then(Value::as_array).into_iter().flatten() {
                        out.extend(r["rule"].as_str().map(str::to_owned));
                    }
                    m.values().for_each(|v| rules(v, out));
                }
                Value::Array(items) => items.iter().for_each(|v| rules(v, out)),
                _ => {}
            }
        }
        let dir = std::env::var_os("KUBE_CODEGEN_CORPUS")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus"))
            .join("crds");
        let mut found = Vec::new();
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            for doc in serde_saphyr::from_multiple::<Value>(&text).unwrap_or_default() {
                rules(&doc, &mut found);
            }
        }
        assert!(found.len() > 300, "only {} rules found in {}", found.len(), dir.display());
        let failing: Vec<&String> = found.iter().filter(|r| env().compile(r).is_err()).collect();
        assert!(failing.is_empty(), "{} of {} rules do not compile: {failing:?}", failing.len(), found.len());
    }

    #[test]
    fn transition_rules_run_on_updates_and_unchanged_values_ratchet() {
        let old = json!({"spec": {"low": 3, "high": 2, "name": "a", "fixed": "x"}});
        let changed = json!({"spec": {"low": 3, "high": 2, "name": "a", "fixed": "y"}});
        let causes = validate(&changed, Some(&old), &schema());
        // `fixed` changed: its transition rule fails; `spec` changed too, so its rules run.
        let fields: Vec<&str> = causes.iter().map(|c| c.field.as_str()).collect();
        assert!(fields.contains(&"spec.fixed") && fields.contains(&"spec"), "{causes:?}");
        // Nothing changed: the invalid `low` is left alone, as the real server ratchets.
        assert!(validate(&old, Some(&old), &schema()).is_empty());
    }
}
