//! Finding input files and parsing them (JSON or YAML 1.2, one or many documents) into values.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

use crate::error::Error;

/// serde_json's own nesting limit; YAML gets the same so both formats accept the same inputs.
#[cfg(feature = "yaml")]
const MAX_DEPTH: usize = 128;

/// Stack for the YAML parser thread.
#[cfg(feature = "yaml")]
const YAML_STACK: usize = 32 << 20;

/// One parsed document of an input file.
#[derive(Debug)]
pub(crate) struct Document {
    pub file: Arc<Path>,
    /// Index within a multi-document YAML file; `None` for a single-document file.
    pub index: Option<usize>,
    pub value: Value,
    /// Named on the command line (an unrecognised document is an error), rather than found
    /// in a directory walk (where manifests of other kinds are skipped).
    pub explicit: bool,
}

/// Every input file with the index of the argument it came from, in a deterministic order:
/// arguments in order, directories walked sorted.
pub(crate) fn files(inputs: &[PathBuf]) -> Result<Vec<(PathBuf, usize)>, Error> {
    let mut out = Vec::new();
    for (index, input) in inputs.iter().enumerate() {
        let meta = std::fs::metadata(input).map_err(|e| Error::file(input, io_message(&e)))?;
        if meta.is_dir() {
            let before = out.len();
            walk(input, index, &mut out)?;
            if out.len() == before {
                return Err(Error::file(input, "directory has no .yaml, .yml or .json files"));
            }
        } else {
            out.push((input.clone(), index));
        }
    }
    Ok(out)
}

/// The input files under `dir`, sorted by name at each level, hidden entries skipped. walkdir
/// follows symlinked folders as the user would expect and stops a symlink loop with an error,
/// where a hand-written walk recursed until the stack ran out.
fn walk(dir: &Path, index: usize, out: &mut Vec<(PathBuf, usize)>) -> Result<(), Error> {
    let hidden = |e: &walkdir::DirEntry| e.depth() > 0 && e.file_name().to_str().is_some_and(|n| n.starts_with('.'));
    let entries = walkdir::WalkDir::new(dir).follow_links(true).sort_by_file_name().into_iter();
    for entry in entries.filter_entry(|e| !hidden(e)) {
        let entry = entry.map_err(|e| {
            let at = e.path().unwrap_or(dir).to_owned();
            let message = match e.io_error() {
                Some(io) => io_message(io),
                None => format!("cannot walk: {e}"),
            };
            Error::file(&at, message)
        })?;
        let is_input = matches!(entry.path().extension().and_then(|e| e.to_str()), Some("yaml" | "yml" | "json"));
        if entry.file_type().is_file() && is_input {
            out.push((entry.into_path(), index));
        }
    }
    Ok(())
}

fn io_message(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_owned(),
        _ => format!("cannot read: {e}"),
    }
}

/// Reads and parses one file into its documents.
pub(crate) fn parse_file(path: &Path, explicit: bool) -> Result<Vec<Document>, Error> {
    let bytes = std::fs::read(path).map_err(|e| Error::file(path, io_message(&e)))?;
    let file: Arc<Path> = Arc::from(path);
    let values = parse_bytes(path, &bytes)?;
    let single = values.len() == 1;
    Ok(values
        .into_iter()
        .enumerate()
        .map(|(i, value)| Document { file: file.clone(), index: (!single).then_some(i), value, explicit })
        .collect())
}

/// Parses JSON (when the text starts with `{` or `[`) or multi-document YAML.
/// Empty YAML documents (`---` with nothing after it) are dropped.
pub(crate) fn parse_bytes(path: &Path, bytes: &[u8]) -> Result<Vec<Value>, Error> {
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let (line, column) = line_column(&bytes[..e.valid_up_to()]);
            return Err(Error::line(path, line, column, "the file is not UTF-8 text"));
        }
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let first = text.trim_start();
    if first.is_empty() {
        return Err(Error::file(path, "the file is empty; expected an OpenAPI document or a CustomResourceDefinition"));
    }
    if first.starts_with('{') || first.starts_with('[') {
        return match serde_json::from_str::<Value>(text) {
            Ok(v) => Ok(vec![v]),
            Err(e) => Err(Error::line(path, e.line() as u64, e.column() as u64, json_message(&e))),
        };
    }
    parse_yaml_documents(path, text)
}

/// Multi-document YAML, on a thread with room for deep documents.
#[cfg(feature = "yaml")]
fn parse_yaml_documents(path: &Path, text: &str) -> Result<Vec<Value>, Error> {
    // The YAML deserializer recurses a few KiB of stack per nesting level in debug builds:
    // give it a stack that holds MAX_DEPTH levels whatever thread the caller is on.
    let parsed = std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("yaml".into())
            .stack_size(YAML_STACK)
            .spawn_scoped(scope, || parse_yaml(path, text))
            .map(|handle| handle.join())
    });
    match parsed {
        Ok(Ok(result)) => result,
        Ok(Err(_)) => Err(Error::file(path, "the YAML parser failed on this file")),
        Err(e) => Err(Error::file(path, format!("cannot start the YAML parser: {e}"))),
    }
}

/// Without the `yaml` feature (the derive, which reads only the JSON it writes), YAML input
/// is an error that says what to turn on.
#[cfg(not(feature = "yaml"))]
fn parse_yaml_documents(path: &Path, _text: &str) -> Result<Vec<Value>, Error> {
    Err(Error::file(path, "reading YAML needs kube-codegen-openapi's `yaml` feature; this input is not JSON"))
}

#[cfg(feature = "yaml")]
fn parse_yaml(path: &Path, text: &str) -> Result<Vec<Value>, Error> {
    let mut options = serde_saphyr::Options::default();
    // YAML 1.2 core schema: `yes`/`on` are strings, as the API server reads them.
    options.strict_booleans = true;
    options.with_snippet = false;
    if let Some(budget) = options.budget.as_mut() {
        budget.max_depth = MAX_DEPTH;
    }
    match serde_saphyr::from_multiple_with_options::<Value>(text, options) {
        Ok(docs) => Ok(docs.into_iter().filter(|d| !d.is_null()).collect()),
        Err(e) => Err(yaml_error(path, &e)),
    }
}

fn json_message(e: &serde_json::Error) -> String {
    let full = e.to_string();
    // serde_json appends " at line L column C"; the location is reported separately.
    match full.rfind(" at line ") {
        Some(i) => full[..i].to_owned(),
        None => full,
    }
}

#[cfg(feature = "yaml")]
fn yaml_error(path: &Path, e: &serde_saphyr::Error) -> Error {
    let text = e.without_snippet().to_string();
    let text = text.strip_prefix("error: ").unwrap_or(&text);
    // The message starts with "line L column C: " when the location is known.
    let message = match text.split_once(": ") {
        Some((head, rest)) if head.starts_with("line ") => rest,
        _ => text,
    };
    let message = message.lines().next().unwrap_or(message).trim().to_owned();
    let message = format!("invalid YAML: {message}");
    match e.location() {
        Some(loc) if loc.line() > 0 => Error::line(path, loc.line(), loc.column(), message),
        _ => Error::file(path, message),
    }
}

/// The 1-based line and column just after `prefix`.
fn line_column(prefix: &[u8]) -> (u64, u64) {
    let line = prefix.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
    let start = prefix.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let column = String::from_utf8_lossy(&prefix[start..]).chars().count() as u64 + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<Value>, Error> {
        parse_bytes(Path::new("t.yaml"), text.as_bytes())
    }

    #[test]
    fn yaml_1_2_scalars() {
        let v = parse("a: =\nb: yes\nc: on\nd: true\ne: 3\nf: \"x\"\n").unwrap();
        assert_eq!(v[0], serde_json::json!({"a": "=", "b": "yes", "c": "on", "d": true, "e": 3, "f": "x"}));
    }

    #[test]
    fn multi_document_drops_empty_ones() {
        let v = parse("---\na: 1\n---\n---\nb: 2\n").unwrap();
        assert_eq!(v, vec![serde_json::json!({"a": 1}), serde_json::json!({"b": 2})]);
    }

    #[test]
    fn json_errors_have_line_and_column() {
        let e = parse_bytes(Path::new("x.json"), b"{\n  \"a\": [1,\n}").unwrap_err();
        assert_eq!(e.location, crate::Location::Line { line: 3, column: 1 });
        assert!(e.message.contains("expected value"), "{}", e.message);
    }

    #[test]
    fn yaml_errors_have_line_and_column() {
        let e = parse("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(matches!(e.location, crate::Location::Line { line: 2, .. }), "{e}");
        assert!(e.message.starts_with("invalid YAML: "), "{e}");
    }

    #[test]
    fn non_utf8_points_at_the_byte() {
        let e = parse_bytes(Path::new("x.yaml"), b"a: 1\nb: \xff\n").unwrap_err();
        assert_eq!(e.location, crate::Location::Line { line: 2, column: 4 });
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = "[".repeat(10_000) + &"]".repeat(10_000);
        assert!(parse_bytes(Path::new("x.json"), deep.as_bytes()).is_err());
        let deep_yaml: String = (0..10_000).map(|i| format!("{}a:\n", " ".repeat(i))).collect();
        assert!(parse(&deep_yaml).is_err());
        let flow = "a: ".to_owned() + &"[".repeat(10_000);
        assert!(parse(&flow).is_err());
    }
}
