//! CRDs the API server accepts but that stretch every name: hyphenated plurals, lower-case and
//! hyphenated kinds, kinds named like Rust's prelude or keywords, property and enum names that
//! collide once made Rust. Each goes through the CLI alone (exit 0, nothing on stderr), and all
//! the generated trees compile together in one crate with `#![deny(warnings)]`.

use std::process::Command;

use kube_codegen_tests::{CrateDir, harness_target, lock_file, workspace, write_if_changed};

/// A CRD: `group`, `kind`, `plural`, the version list (YAML, indented for `versions:`).
fn crd(group: &str, kind: &str, plural: &str, versions: &str) -> String {
    format!(
        "apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: {plural}.{group}
spec:
  group: {group}
  scope: Namespaced
  names:
    kind: {kind}
    plural: {plural}
  versions:
{versions}"
    )
}

/// One served version `v1` with `spec` properties (YAML, indented for `properties:` of `spec`)
/// and a status and scale subresource.
fn v1(spec: &str) -> String {
    format!(
        "    - name: v1
      served: true
      storage: true
      subresources:
        status: {{}}
        scale:
          specReplicasPath: .spec.replicas
          statusReplicasPath: .status.replicas
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
                replicas: {{type: integer}}
{spec}
            status:
              type: object
              properties:
                replicas: {{type: integer}}
"
    )
}

fn simple(group: &str, kind: &str, plural: &str) -> String {
    crd(group, kind, plural, &v1(""))
}

/// Names generated code writes without a path: the prelude's types and traits, the types its
/// modules import, serde's and std's names it derives or calls, and Rust's primitive types.
const STD_NAMED_KINDS: &[&str] = &[
    "String",
    "Vec",
    "Box",
    "Option",
    "Result",
    "Some",
    "None",
    "Ok",
    "Err",
    "Default",
    "Clone",
    "Debug",
    "PartialEq",
    "Eq",
    "Hash",
    "Into",
    "From",
    "IntoIterator",
    "Iterator",
    "ToString",
    "ToOwned",
    "Send",
    "Sync",
    "Sized",
    "Drop",
    "Fn",
    "BTreeMap",
    "HashMap",
    "Arc",
    "Cow",
    "Value",
    "Map",
    "ObjectMeta",
    "ListMeta",
    "Time",
    "MicroTime",
    "Quantity",
    "IntOrString",
    "ByteString",
    "Condition",
    "LabelSelector",
    "ObjectMetaApply",
    "Serialize",
    "Deserialize",
    "Serializer",
    "Deserializer",
    "Resource",
    "Metadata",
    "ListableResource",
    "bool",
    "str",
    "i32",
    "i64",
    "f64",
    "u8",
    "char",
];

/// `spec` properties of every primitive and container type a CRD can give.
const EVERY_TYPE: &str = "                text: {type: string}
                count: {type: integer}
                small: {type: integer, format: int32}
                ratio: {type: number}
                flag: {type: boolean}
                when: {type: string, format: date-time}
                blob: {type: string, format: byte}
                port: {x-kubernetes-int-or-string: true}
                size: {anyOf: [{type: integer}, {type: string}], x-kubernetes-int-or-string: true}
                anything: {x-kubernetes-preserve-unknown-fields: true}
                free: {type: object, x-kubernetes-preserve-unknown-fields: true}
                embedded: {type: object, x-kubernetes-embedded-resource: true, x-kubernetes-preserve-unknown-fields: true}
                names: {type: array, items: {type: string}}
                numbers: {type: array, items: {type: integer}}
                grid: {type: array, items: {type: array, items: {type: number}}}
                set: {type: array, x-kubernetes-list-type: set, items: {type: string}}
                keyed:
                  type: array
                  x-kubernetes-list-type: map
                  x-kubernetes-list-map-keys: [name]
                  items: {type: object, required: [name], properties: {name: {type: string}, value: {type: integer}}}
                labels: {type: object, additionalProperties: {type: string}}
                counts: {type: object, additionalProperties: {type: integer}}
                nested: {type: object, properties: {a: {type: string}, b: {type: array, items: {type: boolean}}}}
                nestedMap: {type: object, additionalProperties: {type: object, properties: {c: {type: string}}}}
                mode: {type: string, enum: [On, Off]}
                level: {type: integer, enum: [1, 2]}
                optional: {type: string, nullable: true}
                defaulted: {type: string, default: x}";

/// (file name, contents): each is legal for the API server.
fn odd_crds() -> Vec<(String, String)> {
    let mut out: Vec<(&str, String)> = vec![
        ("hyphen-plural", simple("hyphen.example.com", "MyWidget", "my-widgets")),
        ("lower-kind", simple("lower.example.com", "fooBar", "foobars")),
        ("hyphen-kind", simple("hyphenkind.example.com", "Foo-Bar", "foo-bars")),
        ("kind-option", simple("option.example.com", "Option", "options")),
        ("kind-result", simple("result.example.com", "Result", "results")),
        ("kind-string", simple("string.example.com", "String", "strings")),
        ("kind-box", simple("box.example.com", "Box", "boxes")),
        ("kind-vec", simple("vec.example.com", "Vec", "vecs")),
        ("kind-self", simple("self.example.com", "Self", "selves")),
        ("kind-type", simple("type.example.com", "type", "type")),
        ("kind-some", simple("some.example.com", "Some", "somes")),
        ("kind-default", simple("default.example.com", "Default", "defaults")),
        ("digit-group", simple("3scale.example.com", "Tenant", "tenants")),
        ("group-std", simple("std.example.com", "Widget", "widgets")),
        ("group-rt", simple("rt.example.com", "Client", "clients")),
        (
            "colliding-properties",
            crd(
                "props.example.com",
                "Props",
                "props",
                &v1("                foo-bar: {type: string}
                foo_bar: {type: integer}
                fooBar: {type: boolean}
                type: {type: string}
                self: {type: string}
                Self: {type: string}
                1st: {type: string}
                _: {type: string}
                \"-\": {type: string}
                \"$ref\": {type: string}
                nested-thing: {type: object, properties: {a: {type: string}}}
                nestedThing: {type: object, properties: {b: {type: string}}}
                option: {type: object, properties: {c: {type: string}}}"),
            ),
        ),
        (
            "odd-enums",
            crd(
                "enums.example.com",
                "Enums",
                "enums",
                &v1("                mode:
                  type: string
                  enum: [\"\", \"-\", \"a b\", Other, \"1\", self, foo-bar, foo_bar, None, Some]
                level:
                  type: integer
                  enum: [0, 1, -1]"),
            ),
        ),
        (
            "two-kinds-one-name",
            format!(
                "{}---\n{}",
                simple("same.example.com", "FooBar", "foobars"),
                simple("same.example.com", "Foo-Bar", "foo-bars")
            ),
        ),
        (
            "kind-like-nested-type",
            format!(
                "{}---\n{}",
                simple("nested.example.com", "Widget", "widgets"),
                simple("nested.example.com", "WidgetSpec", "widgetspecs")
            ),
        ),
        (
            "keyword-versions",
            crd(
                "versions.example.com",
                "Thing",
                "things",
                &format!(
                    "{}{}",
                    v1(""),
                    "    - name: v2beta3
      served: true
      storage: false
      schema:
        openAPIV3Schema:
          type: object
          x-kubernetes-preserve-unknown-fields: true
"
                ),
            ),
        ),
        ("plural-keyword", simple("kw.example.com", "Fn", "fn")),
        (
            // Kinds named like the types generated modules import: those keep their paths.
            "kinds-like-imports",
            ["ObjectMeta", "Time", "BTreeMap", "IntOrString"]
                .iter()
                .map(|kind| {
                    crd(
                        "imports.example.com",
                        kind,
                        &format!("{}s", kind.to_lowercase()),
                        &v1("                when: {type: string, format: date-time}
                labels: {type: object, additionalProperties: {type: string}}
                port: {x-kubernetes-int-or-string: true}
                ratio: {type: number}
                pairs: {type: array, items: {type: object, properties: {a: {type: string}, b: {type: number}}}}
                anything: {x-kubernetes-preserve-unknown-fields: true}"),
                    )
                })
                .collect::<Vec<_>>()
                .join("---\n"),
        ),
        (
            "deprecated-version",
            crd(
                "old.example.com",
                "Old",
                "olds",
                &v1("").replace("storage: true", "storage: true\n      deprecated: true"),
            ),
        ),
        ("kind-prelude-more", simple("more.example.com", "Vec-Box", "vec-boxes")),
        (
            // Kinds named like every type generated code names without a path (the prelude,
            // what its modules import, Rust's primitives), all in one module, each with a
            // property of every primitive and container type.
            "kinds-like-std-types",
            STD_NAMED_KINDS
                .iter()
                .map(|kind| crd("std-named.example.com", kind, &format!("{}s", kind.to_lowercase()), &v1(EVERY_TYPE)))
                .collect::<Vec<_>>()
                .join("---\n"),
        ),
    ];
    out.sort_by(|a, b| a.0.cmp(b.0));
    out.into_iter().map(|(n, c)| (n.to_owned(), c)).collect()
}

#[test]
fn odd_but_legal_crds_generate_code_that_builds_with_deny_warnings() {
    let crds = odd_crds();
    assert!(crds.len() >= 20, "{} odd CRDs", crds.len());
    let dir = CrateDir::new("cli_odd_inputs");
    let src = dir.path().join("src");
    let mut lib = String::from("//! Odd CRDs.\n#![deny(warnings)]\n\n");
    let mut failures = Vec::new();
    for (i, (name, text)) in crds.iter().enumerate() {
        let input = dir.path().join(format!("{name}.yaml"));
        std::fs::write(&input, text).unwrap();
        let module = format!("case{i}");
        let out = Command::new(env!("CARGO_BIN_EXE_kube-codegen"))
            .args(["generate", input.to_str().unwrap(), "--out", src.join(&module).to_str().unwrap()])
            .output()
            .unwrap();
        if !out.status.success() || !out.stderr.is_empty() {
            failures.push(format!("{name}: {:?} {}", out.status.code(), String::from_utf8_lossy(&out.stderr)));
        }
        lib.push_str(&format!("/// {name}\n#[allow(missing_docs)]\npub mod {module};\n"));
    }
    assert!(failures.is_empty(), "generate failed:\n{}", failures.join("\n"));
    write_if_changed(&src.join("lib.rs"), &lib);
    let runtime = workspace().join("runtime");
    write_if_changed(
        &dir.path().join("Cargo.toml"),
        &format!(
            "[package]\nname = \"odd\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
             [dependencies]\nk8s-openapi = {{ version = \"0.29\", features = [\"v1_36\"] }}\n\
             kube-codegen-runtime = {{ path = {runtime:?} }}\nserde_json = \"1\"\n\n\
             [profile.dev]\ndebug = 0\n\n[workspace]\n"
        ),
    );
    write_if_changed(&dir.path().join("Cargo.lock"), &lock_file());
    let target = harness_target();
    let out = Command::new(env!("CARGO"))
        .args(["build", "--quiet"])
        .current_dir(dir.path())
        .env("CARGO_TARGET_DIR", target)
        .env_remove("RUSTFLAGS")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the generated crate does not build ({}):\n{}",
        dir.path().display(),
        String::from_utf8_lossy(&out.stderr)
    );
}
