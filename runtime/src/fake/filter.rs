//! Label and field selectors of lists and watches, as the API server reads them.

use std::collections::HashMap;

use serde_json::Value;

/// Label and field selectors of a list or watch.
#[derive(Clone, Default)]
pub(super) struct Filter {
    labels: Vec<Requirement>,
    fields: Vec<(String, bool, String)>,
}

#[derive(Clone)]
enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

impl Filter {
    pub(super) fn new(query: &HashMap<String, String>) -> Result<Filter, String> {
        let mut filter = Filter::default();
        if let Some(s) = query.get("labelSelector") {
            filter.labels = parse_labels(s)?;
        }
        if let Some(s) = query.get("fieldSelector") {
            for term in s.split(',').filter(|t| !t.is_empty()) {
                let (field, equal, value) = if let Some((f, v)) = term.split_once("!=") {
                    (f, false, v)
                } else if let Some((f, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
                    (f, true, v)
                } else {
                    return Err(format!("invalid field selector: {term}"));
                };
                if field != "metadata.name" && field != "metadata.namespace" {
                    return Err(format!("field label not supported: {field}"));
                }
                filter.fields.push((field.to_owned(), equal, value.to_owned()));
            }
        }
        Ok(filter)
    }

    pub(super) fn matches(&self, object: &Value) -> bool {
        let labels = &object["metadata"]["labels"];
        let label = |k: &str| labels.get(k).and_then(Value::as_str);
        let labels_ok = self.labels.iter().all(|r| match r {
            Requirement::Equals(k, v) => label(k) == Some(v),
            Requirement::NotEquals(k, v) => label(k) != Some(v),
            Requirement::In(k, vs) => label(k).is_some_and(|l| vs.iter().any(|v| v == l)),
            Requirement::NotIn(k, vs) => label(k).is_none_or(|l| vs.iter().all(|v| v != l)),
            Requirement::Exists(k) => label(k).is_some(),
            Requirement::NotExists(k) => label(k).is_none(),
        });
        labels_ok
            && self.fields.iter().all(|(field, equal, value)| {
                let actual = match field.as_str() {
                    "metadata.name" => object["metadata"]["name"].as_str(),
                    _ => object["metadata"]["namespace"].as_str(),
                }
                .unwrap_or("");
                (actual == value) == *equal
            })
    }
}

/// Parses a label selector: `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`.
fn parse_labels(s: &str) -> Result<Vec<Requirement>, String> {
    let mut terms = Vec::new();
    let mut depth = 0;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                terms.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    terms.push(&s[start..]);
    let set = |v: &str| -> Result<Vec<String>, String> {
        let v = v.trim();
        let inner =
            v.strip_prefix('(').and_then(|v| v.strip_suffix(')')).ok_or(format!("expected (values), found {v}"))?;
        Ok(inner.split(',').map(|x| x.trim().to_owned()).filter(|x| !x.is_empty()).collect())
    };
    terms
        .into_iter()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| {
            if let Some((k, v)) = t.split_once("!=") {
                Ok(Requirement::NotEquals(k.trim().into(), v.trim().into()))
            } else if let Some((k, v)) = t.split_once("==").or_else(|| t.split_once('=')) {
                Ok(Requirement::Equals(k.trim().into(), v.trim().into()))
            } else if let Some((k, v)) = t.split_once(" notin ") {
                Ok(Requirement::NotIn(k.trim().into(), set(v)?))
            } else if let Some((k, v)) = t.split_once(" in ") {
                Ok(Requirement::In(k.trim().into(), set(v)?))
            } else if let Some(k) = t.strip_prefix('!') {
                Ok(Requirement::NotExists(k.trim().into()))
            } else if t.chars().all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c)) {
                Ok(Requirement::Exists(t.into()))
            } else {
                Err(format!("invalid label selector: {t}"))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn label_selectors_parse_and_match() {
        let reqs = parse_labels("app=web,tier!=db,env in (prod, staging),!legacy,team,zone notin (a)").unwrap();
        let filter = Filter { labels: reqs, fields: vec![] };
        let ok = json!({"metadata": {"labels": {"app": "web", "tier": "fe", "env": "prod", "team": "x", "zone": "b"}}});
        assert!(filter.matches(&ok));
        let legacy = json!({"metadata": {"labels": {"app": "web", "env": "prod", "team": "x", "legacy": "1"}}});
        assert!(!filter.matches(&legacy));
        assert!(parse_labels("a in b").is_err());
    }
}
