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
                    // Resources with fields of their own to select by keep the older message.
                    if !selectable.is_empty() {
                        return Err(format!("field label not supported: {field}"));
                    }
                    let known: Vec<String> = ["metadata.name", "metadata.namespace"]
                        .into_iter()
                        .chain(selectable.iter().map(String::as_str))
                        .map(|f| format!("\"{f}\""))
                        .collect();
                    return Err(format!("\"{field}\" is not a known field selector: only {}", known.join(", ")));
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

/// A token of a label selector, as apimachinery's lexer reads one.
#[derive(Clone, Debug, PartialEq)]
enum Token {
    Identifier(String),
    Not,
    NotEquals,
    Equals,
    DoubleEquals,
    Greater,
    Less,
    Open,
    Close,
    Comma,
    In,
    NotIn,
    End,
}

impl Token {
    /// How an error message quotes it.
    fn literal(&self) -> &str {
        match self {
            Token::Identifier(s) => s,
            Token::Not => "!",
            Token::NotEquals => "!=",
            Token::Equals => "=",
            Token::DoubleEquals => "==",
            Token::Greater => ">",
            Token::Less => "<",
            Token::Open => "(",
            Token::Close => ")",
            Token::Comma => ",",
            Token::In => "in",
            Token::NotIn => "notin",
            Token::End => "",
        }
    }
}

fn lex(s: &str) -> Vec<Token> {
    let special = |c: char| "!=<>(),".contains(c);
    let mut tokens = Vec::new();
    let mut chars = s.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        if special(c) {
            chars.next();
            let token = match (c, chars.peek()) {
                ('!', Some('=')) => Token::NotEquals,
                ('=', Some('=')) => Token::DoubleEquals,
                ('!', _) => Token::Not,
                ('=', _) => Token::Equals,
                ('>', _) => Token::Greater,
                ('<', _) => Token::Less,
                ('(', _) => Token::Open,
                (')', _) => Token::Close,
                _ => Token::Comma,
            };
            if matches!(token, Token::NotEquals | Token::DoubleEquals) {
                chars.next();
            }
            tokens.push(token);
            continue;
        }
        let mut word = String::new();
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() || special(c) {
                break;
            }
            word.push(c);
            chars.next();
        }
        tokens.push(match word.as_str() {
            "in" => Token::In,
            "notin" => Token::NotIn,
            _ => Token::Identifier(word),
        });
    }
    tokens.push(Token::End);
    tokens
}

/// Parses a label selector as the API server does (`a=b`, `a==b`, `a!=b`, `a in (x,y)`,
/// `a notin (x)`, `a`, `!a`), refusing what it refuses with its messages. `a>1` and `a<1`
/// parse there but have no `Expression` in kube-core: they are refused here.
fn parse_labels(s: &str) -> Result<Vec<Expression>, String> {
    let tokens = lex(s);
    let mut at = 0;
    let mut next = || {
        let token = tokens.get(at).cloned().unwrap_or(Token::End);
        at += 1;
        token
    };
    let found = |t: &Token, expected: &str| {
        format!("unable to parse requirement: found '{}', expected: {expected}", t.literal())
    };
    let mut out = Vec::new();
    let mut token = next();
    if token == Token::End {
        return Ok(out);
    }
    loop {
        let negated = token == Token::Not;
        if negated {
            token = next();
        }
        let Token::Identifier(key) = token else { return Err(found(&token, "identifier")) };
        let mut after = next();
        let expression = match after {
            Token::End | Token::Comma if negated => Expression::DoesNotExist(key),
            Token::End | Token::Comma => Expression::Exists(key),
            _ if negated => return Err(found(&after, "',' or 'end of string'")),
            Token::Equals | Token::DoubleEquals | Token::NotEquals => {
                let equal = after != Token::NotEquals;
                let value = match next() {
                    Token::Identifier(v) => {
                        after = next();
                        v
                    }
                    t @ (Token::End | Token::Comma) => {
                        after = t;
                        String::new()
                    }
                    t => return Err(found(&t, "identifier")),
                };
                if equal { Expression::Equal(key, value) } else { Expression::NotEqual(key, value) }
            }
            op @ (Token::In | Token::NotIn) => {
                let open = next();
                if open != Token::Open {
                    return Err(format!("unable to parse requirement: found '{}', expected:'('", open.literal()));
                }
                let mut values = BTreeSet::new();
                loop {
                    match next() {
                        Token::Identifier(v) => {
                            values.insert(v);
                        }
                        Token::Close => break,
                        Token::Comma => {}
                        t => return Err(found(&t, "',', or identifier")),
                    }
                }
                after = next();
                if op == Token::In { Expression::In(key, values) } else { Expression::NotIn(key, values) }
            }
            Token::Greater | Token::Less => return Err(format!("{} is not supported by this server", after.literal())),
            ref t => return Err(found(t, "!=, ==, =, in, notin, gt, lt")),
        };
        out.push(expression);
        match after {
            Token::End => return Ok(out),
            Token::Comma => token = next(),
            t => return Err(found(&t, "',' or 'end of string'")),
        }
    }
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
