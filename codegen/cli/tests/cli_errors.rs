//! Bad input through the CLI: one clear message naming the file and the place, exit status 2,
//! nothing on stdout, never a panic.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A CRD with one served version; `extra` is spliced into its root schema.
fn crd(name: &str, extra: &str) -> String {
    format!(
        "apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: {name}s.example.com
spec:
  group: example.com
  scope: Namespaced
  names:
    kind: Thing
    plural: {name}s
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
{extra}"
    )
}

/// A swagger document with the given definitions (JSON object members).
fn swagger(definitions: &str) -> String {
    format!(
        r#"{{"swagger": "2.0", "info": {{"title": "t", "version": "1"}}, "paths": {{}}, "definitions": {{{definitions}}}}}"#
    )
}

struct Case {
    name: &'static str,
    /// Files to create: (relative path, contents).
    files: Vec<(&'static str, Vec<u8>)>,
    /// Arguments after `list`, relative to the case directory.
    args: Vec<&'static str>,
    /// Substrings the message must contain (file names, pointers, what was expected).
    expect: Vec<&'static str>,
}

fn case(name: &'static str, file: &'static str, contents: impl Into<Vec<u8>>, expect: &[&'static str]) -> Case {
    Case { name, files: vec![(file, contents.into())], args: vec![file], expect: expect.to_vec() }
}

fn cases() -> Vec<Case> {
    let deep_json = "[".repeat(10_000) + &"]".repeat(10_000);
    let deep_yaml: String = (0..10_000).map(|i| format!("{}a:\n", " ".repeat(i))).collect();
    let mut lol = String::from("a: &a [x,x,x,x,x,x,x,x,x]\n");
    for (prev, name) in ["a", "b", "c", "d", "e", "f", "g", "h"].windows(2).map(|w| (w[0], w[1])) {
        lol.push_str(&format!(
            "{name}: &{name} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"
        ));
    }
    vec![
        case("invalid JSON", "bad.json", "{\n  \"swagger\": \"2.0\",\n  \"paths\": {\n}", &["bad.json:4:", "EOF"]),
        case("invalid YAML", "bad.yaml", "a: [1, 2\nb: 3\n", &["bad.yaml:2:", "invalid YAML"]),
        case(
            "duplicate YAML key",
            "dup.yaml",
            crd("thing", "").replace("scope: Namespaced", "scope: Namespaced\n  scope: Cluster"),
            &["dup.yaml:", "duplicate"],
        ),
        case(
            "properties not an object",
            "s.json",
            swagger(r#""A": {"type": "object", "properties": "nope"}"#),
            &["s.json at /definitions/A/properties", "expected `properties` to be an object, found a string"],
        ),
        case(
            "required not an array",
            "s.json",
            swagger(r#""A": {"type": "object", "required": "name"}"#),
            &["/definitions/A/required", "array of strings"],
        ),
        case(
            "dangling $ref",
            "s.json",
            swagger(r##""A": {"type": "object", "properties": {"b": {"$ref": "#/definitions/Missing"}}}"##),
            &["/definitions/A/properties/b/$ref", "`Missing`, which no input defines"],
        ),
        case(
            "$ref cycle without progress",
            "s.json",
            swagger(r##""A": {"$ref": "#/definitions/B"}, "B": {"$ref": "#/definitions/A"}"##),
            &["/definitions/A", "cycle", "A -> B -> A"],
        ),
        case("self $ref", "s.json", swagger(r##""A": {"$ref": "#/definitions/A"}"##), &["/definitions/A", "A -> A"]),
        case(
            "remote $ref",
            "s.json",
            swagger(r##""A": {"$ref": "other.json#/definitions/B"}"##),
            &["/definitions/A/$ref", "unsupported $ref"],
        ),
        case(
            "unknown type",
            "s.json",
            swagger(r#""A": {"type": "object", "properties": {"x": {"type": "text"}}}"#),
            &["/definitions/A/properties/x/type", "unknown type `text`"],
        ),
        case(
            "type not a string",
            "s.json",
            swagger(r#""A": {"type": ["string", "null"]}"#),
            &["/definitions/A/type", "found an array"],
        ),
        case(
            "negative maxLength",
            "s.json",
            swagger(r#""A": {"type": "string", "maxLength": -1}"#),
            &["/definitions/A/maxLength", "non-negative"],
        ),
        case(
            "unknown list type",
            "s.json",
            swagger(r#""A": {"type": "array", "x-kubernetes-list-type": "bag"}"#),
            &["/definitions/A/x-kubernetes-list-type", "expected atomic, set or map"],
        ),
        case(
            "validation without rule",
            "c.yaml",
            crd("thing", "          x-kubernetes-validations:\n            - message: no rule here\n"),
            &["/spec/versions/0/schema/openAPIV3Schema/x-kubernetes-validations/0", "needs a `rule`"],
        ),
        case(
            "CRD without plural",
            "c.yaml",
            crd("thing", "").replace("    plural: things\n", ""),
            &["c.yaml at /spec/names/plural", "missing required string `plural`"],
        ),
        case(
            "CRD unknown scope",
            "c.yaml",
            crd("thing", "").replace("Namespaced", "Global"),
            &["/spec/scope", "unknown scope `Global`"],
        ),
        case(
            "CRD versions not an array",
            "c.yaml",
            crd("thing", "").split("  versions:").next().unwrap().to_owned() + "  versions: v1\n",
            &["/spec/versions", "needs a `spec.versions` array"],
        ),
        case(
            "CRD served not a boolean",
            "c.yaml",
            crd("thing", "").replace("served: true", "served: maybe"),
            &["/spec/versions/0/served", "boolean"],
        ),
        case(
            "CRD name mismatch",
            "c.yaml",
            crd("thing", "").replace("name: things.example.com", "name: stuff.example.com"),
            &["/metadata/name", "`things.example.com`"],
        ),
        case(
            "CRD with $ref",
            "c.yaml",
            crd("thing", "          properties:\n            a: {$ref: '#/definitions/X'}\n"),
            &["/spec/versions/0/schema/openAPIV3Schema/properties/a/$ref", "not allowed"],
        ),
        case(
            "CRD v1beta1",
            "c.yaml",
            crd("thing", "").replace("apiextensions.k8s.io/v1", "apiextensions.k8s.io/v1beta1"),
            &["c.yaml at /apiVersion", "v1beta1"],
        ),
        case(
            "CRD version twice",
            "c.yaml",
            crd("thing", "") + "    - name: v1\n      served: true\n      storage: false\n",
            &["/spec/versions/1/name", "listed twice"],
        ),
        case(
            "CRD in a List, bad item",
            "l.yaml",
            "apiVersion: v1\nkind: List\nitems:\n  - apiVersion: apiextensions.k8s.io/v1\n    kind: CustomResourceDefinition\n    metadata: {name: x.example.com}\n",
            &["l.yaml at /items/0/spec", "needs a `spec` object"],
        ),
        case(
            "not an input",
            "d.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n",
            &["d.yaml at the document root", "found apps/v1 Deployment"],
        ),
        case("scalar document", "s.yaml", "just some words\n", &["s.yaml at the document root", "found a string"]),
        case(
            "second document bad",
            "m.yaml",
            crd("thing", "") + "---\nkind: Secret\napiVersion: v1\n",
            &["m.yaml (document 2)", "v1 Secret"],
        ),
        case(
            "unknown action",
            "p.json",
            r#"{"swagger": "2.0", "paths": {"/api/v1/pods": {"get": {"x-kubernetes-action": "fetch"}}}}"#,
            &["p.json at /paths/~1api~1v1~1pods/get/x-kubernetes-action", "unknown x-kubernetes-action `fetch`"],
        ),
        case(
            "operation not an object",
            "p.json",
            r#"{"swagger": "2.0", "paths": {"/api/v1/pods": {"get": 3}}}"#,
            &["/paths/~1api~1v1~1pods/get", "operation object"],
        ),
        case(
            "kind cannot be told",
            "p.json",
            r#"{"swagger": "2.0", "paths": {"/api/v1/pods": {"get": {}}}}"#,
            &["/paths/~1api~1v1~1pods", "cannot tell the kind of `pods`"],
        ),
        case("nesting 10,000 deep (JSON)", "deep.json", deep_json, &["deep.json:1:", "recursion limit"]),
        case("nesting 10,000 deep (YAML)", "deep.yaml", deep_yaml, &["deep.yaml:129:", "invalid YAML"]),
        case("alias bomb", "lol.yaml", lol, &["lol.yaml:", "invalid YAML", "budget"]),
        case("empty file", "empty.yaml", "", &["empty.yaml: the file is empty"]),
        case("whitespace only", "blank.json", "  \n\n", &["blank.json: the file is empty"]),
        case("not UTF-8", "latin1.yaml", b"description: caf\xe9\n".to_vec(), &["latin1.yaml:1:17", "not UTF-8"]),
        case("List without items", "l.json", r#"{"kind":"List"}"#, &["l.json at /items", "a `List` without `items`"]),
        case(
            "List whose items is a string",
            "l.yaml",
            "apiVersion: v1\nkind: List\nitems: nope\n",
            &["l.yaml at /items", "`items` is a string, not an array"],
        ),
        case(
            "List whose items is an object",
            "l.json",
            r#"{"kind":"List","items":{"a":1}}"#,
            &["l.json at /items", "`items` is an object, not an array"],
        ),
        case(
            "List of a List with a bad item",
            "l.json",
            r#"{"kind":"List","items":[{"kind":"List","items":[3]}]}"#,
            &["l.json at /items/0/items/0", "found a number"],
        ),
        case(
            "CRD kind not a string",
            "c.yaml",
            crd("thing", "").replace("kind: Thing", "kind: [Thing]"),
            &["c.yaml at /spec/names/kind", "string"],
        ),
        case(
            "CRD spec not an object",
            "c.yaml",
            crd("thing", "").split("spec:").next().unwrap().to_owned() + "spec: 3\n",
            &["c.yaml at /spec", "`spec` object"],
        ),
        case(
            "CRD version name not a string",
            "c.yaml",
            crd("thing", "").replace("- name: v1", "- name: 1"),
            &["c.yaml at /spec/versions/0/name", "string"],
        ),
        case(
            "CRD schema not an object",
            "c.yaml",
            crd("thing", "").replace("openAPIV3Schema:\n          type: object\n", "openAPIV3Schema: 7\n"),
            &["c.yaml at /spec/versions/0/schema/openAPIV3Schema", "object"],
        ),
        case(
            "CRD properties a list",
            "c.yaml",
            crd("thing", "          properties: [a, b]\n"),
            &["/spec/versions/0/schema/openAPIV3Schema/properties", "expected `properties` to be an object"],
        ),
        case(
            "CRD enum not an array",
            "c.yaml",
            crd("thing", "          properties:\n            mode: {type: string, enum: fast}\n"),
            &["/spec/versions/0/schema/openAPIV3Schema/properties/mode/enum", "array"],
        ),
        case(
            "swagger definitions an array",
            "s.json",
            r#"{"swagger": "2.0", "paths": {}, "definitions": [1, 2]}"#,
            &["s.json at /definitions", "object"],
        ),
        case(
            "swagger paths an array",
            "s.json",
            r#"{"swagger": "2.0", "paths": [1]}"#,
            &["s.json at /paths", "object"],
        ),
        case(
            "GVK extension not a list of objects",
            "p.json",
            r#"{"swagger": "2.0", "paths": {"/api/v1/pods": {"get": {"x-kubernetes-action": "list", "x-kubernetes-group-version-kind": "v1/Pod"}}}}"#,
            &["/paths/~1api~1v1~1pods/get/x-kubernetes-group-version-kind", "object"],
        ),
        case(
            "$ref not a string",
            "s.json",
            swagger(r#""A": {"type": "object", "properties": {"b": {"$ref": 7}}}"#),
            &["/definitions/A/properties/b/$ref", "string"],
        ),
        Case {
            name: "same resource twice, different schemas",
            files: vec![
                (
                    "a/thing.yaml",
                    crd("thing", "          properties:\n            spec: {type: object}\n").into_bytes(),
                ),
                (
                    "b/thing.yaml",
                    crd("thing", "          properties:\n            spec: {type: string}\n").into_bytes(),
                ),
            ],
            args: vec!["a", "b"],
            expect: vec!["b/thing.yaml at /spec/versions/0/schema/openAPIV3Schema", "a/thing.yaml", "defined again"],
        },
        Case {
            name: "empty directory",
            files: vec![("empty/.keep", Vec::new())],
            args: vec!["empty"],
            expect: vec!["empty: directory has no .yaml, .yml or .json files"],
        },
        Case {
            name: "directory of other manifests",
            files: vec![("manifests/deploy.yaml", b"apiVersion: apps/v1\nkind: Deployment\n".to_vec())],
            args: vec!["manifests"],
            expect: vec!["manifests: no OpenAPI document or CustomResourceDefinition found"],
        },
        Case {
            name: "missing file",
            files: vec![],
            args: vec!["nope.yaml"],
            expect: vec!["nope.yaml: no such file or directory"],
        },
    ]
}

fn run(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_kube-codegen"))
        .arg("list")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run kube-codegen")
}

/// `generate` of the same inputs into `out` (beside them), which must stay unwritten.
fn run_generate(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_kube-codegen"))
        .arg("generate")
        .args(args)
        .args(["--out", "out"])
        .current_dir(dir)
        .output()
        .expect("run kube-codegen")
}

#[test]
fn every_bad_input_gets_one_clear_message_and_status_2() {
    let cases = cases();
    assert!(cases.len() >= 40, "{} bad inputs", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let dir = tempfile::tempdir().unwrap();
        for (path, contents) in &case.files {
            let path: PathBuf = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, contents).unwrap();
        }
        for mode in ["list", "list --json", "generate"] {
            let mut args = case.args.clone();
            if mode == "list --json" {
                args.insert(0, "--json");
            }
            let out = if mode == "generate" { run_generate(dir.path(), &args) } else { run(dir.path(), &args) };
            let stderr = String::from_utf8_lossy(&out.stderr);
            let problems: Vec<String> = [
                (out.status.code() != Some(2)).then(|| format!("exit status {:?}", out.status.code())),
                (!out.stdout.is_empty()).then(|| "wrote to stdout".to_owned()),
                (stderr.lines().count() != 1).then(|| "not exactly one line".to_owned()),
                (!stderr.starts_with("error: ")).then(|| "no `error: ` prefix".to_owned()),
                stderr.contains("panicked").then(|| "panicked".to_owned()),
                dir.path().join("out").exists().then(|| "wrote output".to_owned()),
            ]
            .into_iter()
            .flatten()
            .chain(case.expect.iter().filter(|e| !stderr.contains(*e)).map(|e| format!("missing {e:?}")))
            .collect();
            if !problems.is_empty() {
                failures.push(format!("{} ({mode}): {}\n    stderr: {stderr}", case.name, problems.join(", ")));
            }
        }
    }
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

#[test]
fn usage_errors_exit_2_too() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("<INPUT>"));
}

#[cfg(unix)]
#[test]
fn a_symlink_loop_is_an_error_not_a_stack_overflow() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("crds/a")).unwrap();
    std::os::unix::fs::symlink("..", dir.path().join("crds/a/up")).unwrap();
    let out = run(dir.path(), &["crds"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.starts_with("error: crds/a/up: ") && stderr.contains("loop"), "{stderr}");
}
