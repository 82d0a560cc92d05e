//! The rules an object's name must follow, by resource, worded as the API server words a
//! broken one: a DNS subdomain (RFC 1123) for most resources, custom ones included; an RFC 1123
//! label for namespaces and services.

use super::responses::Cause;

const SUBDOMAIN: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

fn alnum(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

/// `[a-z0-9]([-a-z0-9]*[a-z0-9])?`
fn is_label(s: &str) -> bool {
    !s.is_empty() && s.starts_with(alnum) && s.ends_with(alnum) && s.chars().all(|c| alnum(c) || c == '-')
}

/// The causes `name` gives for a resource of `group`/`plural`; none when it is valid.
pub(super) fn check(group: &str, plural: &str, name: &str) -> Vec<Cause> {
    let field = || "metadata.name".to_owned();
    let invalid = |why: &str| (field(), "FieldValueInvalid", format!("Invalid value: {name:?}: {why}"));
    let mut causes = Vec::new();
    let (max, ok, rule) = match (group, plural) {
        // A label says a dot is what is wrong, when there is one.
        ("", "namespaces" | "services") if name.contains('.') => (63, false, "must not contain dots"),
        ("", "namespaces" | "services") => (63, is_label(name), LABEL),
        _ => (253, name.split('.').all(is_label), SUBDOMAIN),
    };
    if name.len() > max {
        causes.push(invalid(&format!("must be no more than {max} characters")));
    }
    if !ok {
        causes.push(invalid(rule));
    }
    causes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_their_resources_rules() {
        assert!(check("", "configmaps", "a.b-c").is_empty());
        assert_eq!(check("", "configmaps", "Not_Valid").len(), 1);
        assert_eq!(check("", "configmaps", "a..b").len(), 1);
        assert_eq!(check("", "namespaces", "a.b")[0].2, "Invalid value: \"a.b\": must not contain dots");
        assert!(check("", "services", "1abc").is_empty());
        assert_eq!(check("x.io", "widgets", "a%b").len(), 1);
        let long = "a".repeat(254);
        assert_eq!(check("", "configmaps", &long).len(), 1);
        let long = "a".repeat(64);
        assert_eq!(
            check("", "namespaces", &long)[0].2,
            format!("Invalid value: \"{long}\": must be no more than 63 characters")
        );
    }
}
