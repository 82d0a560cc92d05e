//! Label and field selectors of lists and watches, as the API server reads them.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use kube::core::{Expression, Selector, SelectorExt};

use serde_json::Value;

/// Label and field selectors of a list or watch. Labels match through kube-core's `Selector`,
/// the matcher the listers use, so the fake and the cache agree on what a selector selects;
/// kube-core does not parse the string form, which is done here.
#[derive(Clone, Default)]
pub(super) struct Filter {
    labels: Selector,
    fields: Vec<(String, bool, String)>,
}

/// The fields Kubernetes registers as selectable, besides `metadata.name` and
/// `metadata.namespace`, by (group, plural).
pub(super) fn builtin_fields(group: &str, plural: &str) -> &'static [&'static str] {
    match (group, plural) {
        ("", "pods") => &[
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.phase",
            "status.podIP",
            "status.nominatedNodeName",
        ],
        ("", "events") => &[
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
        ],
        ("events.k8s.io", "events") => &[
            "regarding.kind",
            "regarding.namespace",
            "regarding.name",
            "regarding.uid",
            "regarding.apiVersion",
            "regarding.resourceVersion",
            "regarding.fieldPath",
            "reason",
            "reportingController",
            "type",
        ],
        ("", "secrets") => &["type"],
        ("", "namespaces") => &["status.phase"],
        ("", "nodes") => &["spec.unschedulable"],
        ("", "replicationcontrollers") => &["status.replicas"],
        ("", "services") => &["spec.clusterIP", "spec.type"],
        ("apps", "replicasets") => &["status.replicas"],
        ("batch", "jobs") => &["status.successful"],
        ("certificates.k8s.io", "certificatesigningrequests") => &["spec.signerName"],
        _ => &[],
    }
}

/// The value of a dotted field as a field selector compares it: strings as they are, other
/// scalars as JSON writes them, absent as empty.
fn field_value(object: &Value, field: &str) -> String {
    let value = field.split('.').fold(object, |v, part| &v[part]);
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

impl Filter {
    /// The selectors of a request; `selectable` are the fields besides `metadata.name` and
    /// `metadata.namespace` the resource lets a field selector name (anything else is an
    /// error, as the real server's 400).
    pub(super) fn new(query: &HashMap<String, String>, selectable: &[String]) -> Result<Filter, String> {
        let mut filter = Filter::default();
        if let Some(s) = query.get("labelSelector") {
            filter.labels = parse_labels(s)?.into_iter().collect();
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
                if field != "metadata.name" && field != "metadata.namespace" && !selectable.iter().any(|f| f == field) {
                    return Err(format!("field label not supported: {field}"));
                }
                filter.fields.push((field.to_owned(), equal, value.to_owned()));
            }
        }
        Ok(filter)
    }

    pub(super) fn matches(&self, object: &Value) -> bool {
        let labels: BTreeMap<String, String> = object["metadata"]["labels"]
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
            .collect();
        let labels_ok = self.labels.matches(&labels);
        labels_ok && self.fields.iter().all(|(field, equal, value)| (field_value(object, field) == *value) == *equal)
    }
}

/// Parses a label selector: `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`.
fn parse_labels(s: &str) -> Result<Vec<Expression>, String> {
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
    let set = |v: &str| -> Result<BTreeSet<String>, String> {
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
                Ok(Expression::NotEqual(k.trim().into(), v.trim().into()))
            } else if let Some((k, v)) = t.split_once("==").or_else(|| t.split_once('=')) {
                Ok(Expression::Equal(k.trim().into(), v.trim().into()))
            } else if let Some((k, v)) = t.split_once(" notin ") {
                Ok(Expression::NotIn(k.trim().into(), set(v)?))
            } else if let Some((k, v)) = t.split_once(" in ") {
                Ok(Expression::In(k.trim().into(), set(v)?))
            } else if let Some(k) = t.strip_prefix('!') {
                Ok(Expression::DoesNotExist(k.trim().into()))
            } else if t.chars().all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c)) {
                Ok(Expression::Exists(t.into()))
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
        let filter = Filter { labels: reqs.into_iter().collect(), fields: vec![] };
        let ok = json!({"metadata": {"labels": {"app": "web", "tier": "fe", "env": "prod", "team": "x", "zone": "b"}}});
        assert!(filter.matches(&ok));
        let legacy = json!({"metadata": {"labels": {"app": "web", "env": "prod", "team": "x", "legacy": "1"}}});
        assert!(!filter.matches(&legacy));
        assert!(parse_labels("a in b").is_err());
    }
}
