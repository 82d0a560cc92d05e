//! What lands in the IR, on small inputs written for these tests.

use std::path::{Path, PathBuf};

use kube_codegen_openapi::*;
use serde_json::json;

fn read_str(text: &str) -> Result<Model, Error> {
    read_bytes(Path::new("input.yaml"), text.as_bytes())
}

/// The widgets and gadgets CRDs of the example inputs.
fn widgets() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../generated-example/inputs/widgets.yaml")
}

fn root<'m>(m: &'m Model, name: &str) -> &'m Schema {
    &m.types.get(m.types.by_name(name).unwrap_or_else(|| panic!("no type {name}"))).schema
}

fn prop<'s>(s: &'s Schema, name: &str) -> &'s Schema {
    let SchemaType::Object(o) = &s.ty else { panic!("not an object: {s:?}") };
    &o.properties.iter().find(|p| p.name == name).unwrap_or_else(|| panic!("no property {name}")).schema
}

#[test]
fn crd_versions_are_resources_with_their_schema_features() {
    let m = read(&[widgets()]).unwrap();
    let keys: Vec<_> = m.resources.iter().map(|r| (r.version.as_str(), r.plural.as_str())).collect();
    // v1alpha1 is not served, so it is not a resource.
    assert_eq!(keys, [("v1", "gadgets"), ("v1", "widgets"), ("v1beta1", "widgets")]);

    let w = m.resource("example.kube-codegen.dev", "v1", "widgets").unwrap();
    assert_eq!(w.kind, "Widget");
    assert_eq!(w.scope, Scope::Namespaced);
    assert_eq!(w.verbs, Verbs::ALL);
    assert_eq!(w.short_names, ["wdg"]);
    assert_eq!(w.categories, ["all", "examples"]);
    assert_eq!(w.singular.as_deref(), Some("widget"));
    assert_eq!(w.list_kind.as_deref(), Some("WidgetList"));
    assert!(w.storage && !w.deprecated);
    let scale = &w.subresources[0];
    assert_eq!(
        (scale.name.as_str(), scale.kind.kind.as_str(), scale.kind.group.as_str()),
        ("scale", "Scale", "autoscaling")
    );
    assert_eq!(scale.scale.as_ref().unwrap().label_selector.as_deref(), Some(".status.selector"));
    assert_eq!(w.subresources[1].kind.kind, "Widget");

    let beta = m.resource("example.kube-codegen.dev", "v1beta1", "widgets").unwrap();
    assert!(beta.deprecated && beta.deprecation_warning.is_some() && beta.subresources.is_empty());
    let gadget = m.resource("example.kube-codegen.dev", "v1", "gadgets").unwrap();
    assert_eq!((gadget.scope, gadget.list_kind.as_deref()), (Scope::Cluster, Some("GadgetList")));

    let ty = m.types.get(w.ty.unwrap());
    assert_eq!(ty.name, "dev.kube-codegen.example.v1.Widget");
    assert_eq!(ty.gvks[0].kind, "Widget");
    let spec = prop(&ty.schema, "spec");
    assert_eq!(spec.extensions.validations[0].message.as_deref(), Some("only large widgets scale past ten"));
    let size = prop(spec, "size");
    assert_eq!(size.enum_values.as_deref(), Some(&[json!("Small"), json!("Medium"), json!("Large")][..]));
    assert_eq!(size.default, Some(json!("Medium")));
    let SchemaType::Object(o) = &spec.ty else { unreachable!() };
    assert!(o.properties.iter().find(|p| p.name == "size").unwrap().required);
    assert!(!o.properties.iter().find(|p| p.name == "replicas").unwrap().required);
    let replicas = prop(spec, "replicas");
    assert_eq!((replicas.ty.clone(), replicas.format.as_deref()), (SchemaType::Integer, Some("int32")));
    assert_eq!(replicas.validation.minimum, Some(0.into()));
    // int-or-string is its own shape; the restating anyOf is gone.
    let port = prop(spec, "port");
    assert_eq!(port.ty, SchemaType::IntOrString);
    assert!(port.validation.any_of.is_empty());
    let labels = prop(spec, "labels");
    let SchemaType::Object(lo) = &labels.ty else { panic!() };
    assert!(matches!(&lo.additional, Additional::Schema(s) if s.ty == SchemaType::String));
    assert_eq!(labels.extensions.map_type, Some(MapType::Granular));
    let ports = prop(spec, "ports");
    assert_eq!(ports.extensions.list_type, Some(ListType::Map));
    assert_eq!(ports.extensions.list_map_keys, ["name"]);
    let SchemaType::Array(item) = &ports.ty else { panic!() };
    assert_eq!(prop(item, "name").validation.max_length, Some(63));
    assert!(prop(spec, "config").extensions.preserve_unknown_fields);
    let template = prop(spec, "template");
    assert!(template.extensions.embedded_resource && template.extensions.preserve_unknown_fields);
    assert_eq!(prop(spec, "secretData").format.as_deref(), Some("byte"));
    assert!(prop(spec, "expires").nullable);
    let one = prop(spec, "oneSource");
    assert_eq!(one.validation.one_of.len(), 2);
    assert_eq!(one.validation.one_of[0].validation.required, ["url"]);
    let mode = prop(prop(root(&m, "dev.kube-codegen.example.v1.Gadget"), "spec"), "mode");
    assert_eq!(mode.enum_values.as_deref(), Some(&[json!(0), json!(1), json!(2)][..]));
}

const SWAGGER: &str = r##"{
  "swagger": "2.0",
  "info": {"title": "t", "version": "unversioned"},
  "paths": {
    "/apis/example.com/v1/namespaces/{namespace}/things": {
      "get": {"x-kubernetes-action": "list", "x-kubernetes-group-version-kind": {"group": "example.com", "version": "v1", "kind": "Thing"}},
      "post": {"x-kubernetes-action": "post", "x-kubernetes-group-version-kind": {"group": "example.com", "version": "v1", "kind": "Thing"}}
    },
    "/apis/example.com/v1/things": {
      "get": {"x-kubernetes-action": "list", "x-kubernetes-group-version-kind": {"group": "example.com", "version": "v1", "kind": "Thing"}}
    },
    "/apis/example.com/v1/namespaces/{namespace}/things/{name}": {
      "parameters": [{"$ref": "#/parameters/name"}],
      "get": {"x-kubernetes-action": "get", "x-kubernetes-group-version-kind": {"group": "example.com", "version": "v1", "kind": "Thing"}},
      "head": {"x-kubernetes-action": "connect", "x-kubernetes-group-version-kind": {"group": "example.com", "version": "v1", "kind": "Thing"}}
    },
    "/apis/example.com/v1/namespaces/{namespace}/things/{name}/exec": {
      "get": {"x-kubernetes-action": "connect", "x-kubernetes-group-version-kind": {"group": "example.com", "version": "v1", "kind": "ThingExecOptions"}},
      "post": {"x-kubernetes-action": "connect", "x-kubernetes-group-version-kind": {"group": "example.com", "version": "v1", "kind": "ThingExecOptions"}}
    },
    "/apis/example.com/v1/watch/namespaces/{namespace}/things/{name}": {
      "get": {"x-kubernetes-action": "watch", "x-kubernetes-group-version-kind": {"group": "example.com", "version": "v1", "kind": "Thing"}}
    },
    "/apis/example.com/v1/ghosts/{name}/status": {
      "get": {"x-kubernetes-action": "get", "x-kubernetes-group-version-kind": {"group": "example.com", "version": "v1", "kind": "Ghost"}}
    },
    "/apis/example.com/v1/": {"get": {"operationId": "getAPIResources"}},
    "/version/": {"get": {"operationId": "getCodeVersion"}}
  },
  "definitions": {
    "com.example.v1.Thing": {
      "description": "A thing.",
      "type": "object",
      "required": ["spec"],
      "x-kubernetes-group-version-kind": [{"group": "example.com", "version": "v1", "kind": "Thing"}],
      "properties": {
        "metadata": {"$ref": "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "description": "Standard metadata."},
        "spec": {"$ref": "#/definitions/com.example.v1.Props"},
        "tags": {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set",
                 "x-kubernetes-patch-strategy": "merge", "x-kubernetes-patch-merge-key": "name"},
        "extra": {"x-kubernetes-future-extension": {"a": 1}, "type": "string"}
      },
      "x-kubernetes-unions": [{"discriminator": "type", "fields-to-discriminateBy": {"a": "A"}}]
    },
    "com.example.v1.ThingList": {
      "type": "object",
      "x-kubernetes-group-version-kind": [{"group": "example.com", "version": "v1", "kind": "ThingList"}],
      "properties": {"items": {"type": "array", "items": {"$ref": "#/definitions/com.example.v1.Thing"}}}
    },
    "com.example.v1.Props": {
      "type": "object",
      "properties": {
        "not": {"$ref": "#/definitions/com.example.v1.Props"},
        "anyOf": {"type": "array", "items": {"$ref": "#/definitions/com.example.v1.Props"}}
      }
    },
    "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta": {"type": "object", "properties": {"name": {"type": "string"}}}
  }
}"##;

#[test]
fn swagger_paths_give_verbs_scope_and_subresources() {
    let m = read_str(SWAGGER).unwrap();
    // `ghosts` is only seen through a subresource path: not a resource.
    assert_eq!(m.resources.len(), 1);
    let r = &m.resources[0];
    assert_eq!(
        (r.group.as_str(), r.version.as_str(), r.kind.as_str(), r.plural.as_str()),
        ("example.com", "v1", "Thing", "things")
    );
    assert_eq!(r.scope, Scope::Namespaced);
    assert!(r.all_namespaces);
    // HEAD connect maps to no verb; the /watch/ path gives watch.
    assert_eq!(r.verbs.names().collect::<Vec<_>>(), ["create", "get", "list", "watch"]);
    assert_eq!(r.subresources.len(), 1);
    assert_eq!(r.subresources[0].name, "exec");
    assert_eq!(r.subresources[0].kind.kind, "ThingExecOptions");
    assert_eq!(r.subresources[0].verbs.names().collect::<Vec<_>>(), ["create", "get"]);
    assert_eq!(r.list_kind.as_deref(), Some("ThingList"));
    assert_eq!(m.types.get(r.ty.unwrap()).name, "com.example.v1.Thing");
}

#[test]
fn swagger_schemas_keep_refs_cycles_and_extensions() {
    let m = read_str(SWAGGER).unwrap();
    let thing = m.types.get(m.types.by_name("com.example.v1.Thing").unwrap());
    assert_eq!(thing.short_name(), "Thing");
    assert_eq!(thing.schema.description.as_deref(), Some("A thing."));
    assert_eq!(thing.schema.extensions.unions[0].fields_to_discriminate_by["a"], "A");
    let meta = prop(&thing.schema, "metadata");
    assert_eq!(meta.ty, SchemaType::Ref(m.types.by_name("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta").unwrap()));
    assert_eq!(meta.description.as_deref(), Some("Standard metadata."));
    let tags = prop(&thing.schema, "tags");
    assert_eq!(tags.extensions.list_type, Some(ListType::Set));
    assert_eq!(tags.extensions.patch_strategy.as_deref(), Some("merge"));
    assert_eq!(tags.extensions.patch_merge_key.as_deref(), Some("name"));
    assert_eq!(prop(&thing.schema, "extra").extensions.other["x-kubernetes-future-extension"], json!({"a": 1}));
    // A type that contains itself through a property is fine: the ref is an id.
    let props = m.types.by_name("com.example.v1.Props").unwrap();
    assert_eq!(prop(&m.types.get(props).schema, "not").ty, SchemaType::Ref(props));
}

const V3: &str = r##"{
  "openapi": "3.0.0",
  "info": {"title": "t", "version": "unversioned"},
  "paths": {
    "/apis/example.com/v1/gizmos": {
      "get": {"responses": {"200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/com.example.v1.GizmoList"}}}}}},
      "post": {"responses": {"201": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/com.example.v1.Gizmo"}}}}}},
      "delete": {"responses": {"200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.Status"}}}}}}
    },
    "/apis/example.com/v1/gizmos/{name}": {
      "get": {"responses": {"200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/com.example.v1.Gizmo"}}}}}},
      "put": {"responses": {"200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/com.example.v1.Gizmo"}}}}}},
      "delete": {"responses": {"200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.Status"}}}}}}
    },
    "/apis/example.com/v1/watch/gizmos": {"get": {}},
    "/apis/example.com/v1/gizmos/{name}/scale": {
      "get": {"responses": {"200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/io.k8s.api.autoscaling.v1.Scale"}}}}}},
      "patch": {"responses": {"200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/io.k8s.api.autoscaling.v1.Scale"}}}}}}
    }
  },
  "components": {"schemas": {
    "com.example.v1.Gizmo": {
      "type": "object",
      "x-kubernetes-group-version-kind": [{"group": "example.com", "version": "v1", "kind": "Gizmo"}],
      "properties": {"spec": {"allOf": [{"$ref": "#/components/schemas/com.example.v1.GizmoSpec"}], "default": {}, "description": "The spec."}}
    },
    "com.example.v1.GizmoSpec": {"type": "object", "properties": {"size": {"type": "integer", "format": "int64"}}},
    "com.example.v1.GizmoList": {
      "type": "object",
      "x-kubernetes-group-version-kind": [{"group": "example.com", "version": "v1", "kind": "GizmoList"}],
      "properties": {"items": {"type": "array", "items": {"allOf": [{"$ref": "#/components/schemas/com.example.v1.Gizmo"}]}}}
    },
    "io.k8s.api.autoscaling.v1.Scale": {
      "type": "object",
      "x-kubernetes-group-version-kind": [{"group": "autoscaling", "version": "v1", "kind": "Scale"}]
    },
    "io.k8s.apimachinery.pkg.apis.meta.v1.Status": {
      "type": "object",
      "x-kubernetes-group-version-kind": [{"group": "", "version": "v1", "kind": "Status"}]
    }
  }}
}"##;

#[test]
fn v3_without_extensions_infers_verbs_and_kinds() {
    let m = read_str(V3).unwrap();
    assert_eq!(m.resources.len(), 1);
    let r = &m.resources[0];
    assert_eq!((r.kind.as_str(), r.scope), ("Gizmo", Scope::Cluster));
    assert_eq!(r.verbs, Verbs::ALL.without(Verbs::PATCH));
    assert_eq!(r.subresources[0].name, "scale");
    assert_eq!((r.subresources[0].kind.group.as_str(), r.subresources[0].kind.kind.as_str()), ("autoscaling", "Scale"));
    assert_eq!(r.subresources[0].verbs.names().collect::<Vec<_>>(), ["get", "patch"]);
    assert_eq!(r.list_kind.as_deref(), Some("GizmoList"));
    // `allOf: [{$ref}]` beside a default and description is a reference.
    let gizmo = &m.types.get(r.ty.unwrap()).schema;
    let spec = prop(gizmo, "spec");
    assert_eq!(spec.ty, SchemaType::Ref(m.types.by_name("com.example.v1.GizmoSpec").unwrap()));
    assert_eq!((spec.description.as_deref(), spec.default.clone()), (Some("The spec."), Some(json!({}))));
    assert!(spec.validation.all_of.is_empty());
}

#[test]
fn lists_multi_documents_and_skipped_manifests() {
    let dir = tempfile::tempdir().unwrap();
    let crd = std::fs::read_to_string(widgets()).unwrap();
    let (widgets_doc, _gadgets) = crd.split_once("\n---\n").unwrap();
    let indent = |doc: &str| doc.lines().map(|l| format!("    {l}\n")).collect::<String>();
    let list = format!("apiVersion: v1\nkind: List\nitems:\n  -\n{}", indent(widgets_doc));
    std::fs::create_dir(dir.path().join("nested")).unwrap();
    std::fs::write(dir.path().join("nested/list.yaml"), list).unwrap();
    std::fs::write(dir.path().join("gadgets.json"), gadgets_json().to_string()).unwrap();
    std::fs::write(
        dir.path().join("kustomization.yaml"),
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("README.md"), "not an input").unwrap();
    let m = read(&[dir.path()]).unwrap();
    assert_eq!(m.resources.len(), 3);
    // Reading the same definitions twice merges them.
    let twice = read(&[dir.path(), &widgets()]).unwrap();
    assert_eq!(twice, m);
}

/// The gadgets CRD of the example inputs, as JSON.
fn gadgets_json() -> serde_json::Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "gadgets.example.kube-codegen.dev"},
        "spec": {
            "group": "example.kube-codegen.dev",
            "scope": "Cluster",
            "names": {"kind": "Gadget", "plural": "gadgets"},
            "versions": [{
                "name": "v1", "served": true, "storage": true,
                "subresources": {"status": {}},
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"},
                    "spec": {"type": "object", "properties": {
                        "widgetRef": {"type": "object", "properties": {"name": {"type": "string"}, "namespace": {"type": "string"}}},
                        "mode": {"type": "integer", "enum": [0, 1, 2]}
                    }},
                    "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}
                }}}
            }]
        }
    })
}
