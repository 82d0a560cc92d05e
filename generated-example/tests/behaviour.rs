//! What a user of generated types relies on.

use generated_example::edge_cases::edge::v1 as edge;
use generated_example::mini_api::tree::v1 as tree;
use generated_example::widgets::example::v1 as widgets;
use k8s_openapi::{ListableResource, Metadata, Resource};
use serde_json::json;

fn widget_json() -> serde_json::Value {
    json!({
        "apiVersion": "example.kube-codegen.dev/v1",
        "kind": "Widget",
        "metadata": {"name": "w", "namespace": "ns"},
        "spec": {
            "size": "Large",
            "replicas": 3,
            "port": "http",
            "labels": {"a": "b"},
            "ports": [{"name": "http", "number": 80}],
            "config": {"anything": [1, 2]},
            "template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"x": 1}},
            "secretData": "aGVsbG8=",
            "expires": "2026-11-26T10:00:00Z"
        },
        "status": {"replicas": 3, "conditions": [{"type": "Ready", "status": "True"}]}
    })
}

#[test]
fn resources_carry_their_api_facts() {
    assert_eq!(widgets::Widget::API_VERSION, "example.kube-codegen.dev/v1");
    assert_eq!(widgets::Widget::URL_PATH_SEGMENT, "widgets");
    assert_eq!(widgets::Widget::LIST_KIND, "WidgetList");
    fn namespaced<K: Resource<Scope = k8s_openapi::NamespaceResourceScope>>() {}
    fn cluster<K: Resource<Scope = k8s_openapi::ClusterResourceScope>>() {}
    namespaced::<widgets::Widget>();
    cluster::<widgets::Gadget>();
    cluster::<tree::Tree>();
    let mut w = widgets::Widget::default();
    w.metadata_mut().name = Some("w".into());
    assert_eq!(w.metadata().name.as_deref(), Some("w"));
}

#[test]
fn kube_takes_them_as_resources() {
    // kube's blanket `Resource` impl is what `kube::Api<K>` and kube_runtime's watcher build on.
    use kube_core::Resource as KubeResource;
    assert_eq!(widgets::Widget::url_path(&(), Some("ns")), "/apis/example.kube-codegen.dev/v1/namespaces/ns/widgets");
    assert_eq!(widgets::Gadget::url_path(&(), None), "/apis/example.kube-codegen.dev/v1/gadgets");
    assert_eq!(tree::Tree::kind(&()), "Tree");
    let mut w = widgets::Widget::default();
    w.meta_mut().name = Some("w".into());
    assert_eq!(w.meta().name.as_deref(), Some("w"));
    fn namespaced<K: kube_core::Resource<Scope = kube_core::NamespaceResourceScope, DynamicType = ()>>() {}
    namespaced::<widgets::Widget>();
}

#[test]
fn objects_round_trip_and_write_their_type() {
    let w: widgets::Widget = serde_json::from_value(widget_json()).unwrap();
    let spec = w.spec.as_ref().unwrap();
    assert_eq!(spec.size, widgets::WidgetSpecSize::Large);
    assert_eq!(spec.replicas, Some(3));
    assert_eq!(spec.secret_data.as_ref().unwrap().0, b"hello");
    let template = spec.template.as_ref().unwrap();
    assert_eq!(template.kind.as_deref(), Some("Pod"));
    assert_eq!(template.other_fields["spec"], json!({"x": 1}));
    assert_eq!(serde_json::to_value(&w).unwrap(), widget_json());
    // A default-built resource still says what it is.
    let fresh = serde_json::to_value(widgets::Gadget::default()).unwrap();
    assert_eq!(fresh, json!({"apiVersion": "example.kube-codegen.dev/v1", "kind": "Gadget", "metadata": {}}));
}

#[test]
fn unknown_enum_values_survive() {
    let mut v = widget_json();
    v["spec"]["size"] = json!("Huge");
    let w: widgets::Widget = serde_json::from_value(v.clone()).unwrap();
    assert_eq!(w.spec.as_ref().unwrap().size, widgets::WidgetSpecSize::Other("Huge".into()));
    assert_eq!(serde_json::to_value(&w).unwrap(), v);
    let mode: widgets::GadgetSpecMode = serde_json::from_value(json!(7)).unwrap();
    assert_eq!((mode, mode.as_i64()), (widgets::GadgetSpecMode::Other(7), 7));
    let p: edge::OdditySpecProtocol = serde_json::from_value(json!("self")).unwrap();
    assert_eq!(p.as_str(), "self");
}

#[test]
fn defaults_come_from_the_schema() {
    assert_eq!(widgets::WidgetSpecSize::default(), widgets::WidgetSpecSize::Medium);
    assert_eq!(widgets::WidgetSpec::default().size, widgets::WidgetSpecSize::Medium);
    assert_eq!(edge::OdditySpecProtocol::default(), edge::OdditySpecProtocol::TCP);
}

#[test]
fn required_fields_are_required_and_nil_lists_are_empty() {
    let err = serde_json::from_value::<widgets::WidgetSpecPorts>(json!({"number": 1})).unwrap_err();
    assert!(err.to_string().contains("missing field `name`"), "{err}");
    let list: tree::TreeList = serde_json::from_value(json!({"items": null})).unwrap();
    assert!(list.items.is_empty());
}

#[test]
fn unknown_fields_are_kept_only_where_the_schema_says() {
    let v = json!({"known": "k", "extra": {"deep": true}});
    let kept: edge::OdditySpecPartlyKnown = serde_json::from_value(v.clone()).unwrap();
    assert_eq!(serde_json::to_value(&kept).unwrap(), v);
    let dropped: widgets::WidgetSpecPorts = serde_json::from_value(json!({"name": "a", "extra": 1})).unwrap();
    assert_eq!(serde_json::to_value(&dropped).unwrap(), json!({"name": "a"}));
}

#[test]
fn recursive_types_nest() {
    let v =
        json!({"name": "root", "firstChild": {"name": "a", "firstChild": {"name": "b"}}, "children": [{"name": "c"}]});
    let node: tree::Node = serde_json::from_value(v.clone()).unwrap();
    assert_eq!(node.first_child.as_ref().unwrap().first_child.as_ref().unwrap().name, "b");
    assert_eq!(serde_json::to_value(&node).unwrap(), v);
}

#[test]
fn awkward_names_map_back_to_their_json() {
    let v = json!({"type": "t", "match": "m", "self": true, "crate": 1, "": "e", "-": "d", "$ref": "r",
                   "x-foo": "x", "3d": false, "foo": {"bar": {"deep": "1"}}, "fooBar": {"other": "2"}, "Foo": "F"});
    let spec: edge::OdditySpec = serde_json::from_value(v.clone()).unwrap();
    assert_eq!((spec.r#type.as_str(), spec.r#match.as_str(), spec.self_, spec.crate_), ("t", "m", Some(true), Some(1)));
    assert_eq!(
        (spec.field.as_deref(), spec.field2.as_deref(), spec.r#ref.as_deref()),
        (Some("e"), Some("d"), Some("r"))
    );
    assert_eq!(spec.foo2.as_deref(), Some("F"));
    assert_eq!(spec.foo_bar.as_ref().unwrap().other.as_deref(), Some("2"));
    assert_eq!(serde_json::to_value(&spec).unwrap(), v);
}

#[test]
fn yaml_manifests_read_into_generated_types() {
    let yaml = "apiVersion: example.kube-codegen.dev/v1\nkind: Gadget\nmetadata:\n  name: g\nspec:\n  mode: 2\n  widgetRef: {name: w, namespace: ns}\n";
    let g: widgets::Gadget = serde_saphyr::from_str(yaml).unwrap();
    assert_eq!(g.spec.as_ref().unwrap().mode, Some(widgets::GadgetSpecMode::V2));
    assert_eq!(g.spec.unwrap().widget_ref.unwrap().namespace.as_deref(), Some("ns"));
}

#[test]
fn descriptions_never_become_code() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/edge_cases/edge");
    let mut texts = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        texts.push(std::fs::read_to_string(entry.unwrap().path()).unwrap());
    }
    let hits: Vec<&str> =
        texts.iter().flat_map(|t| t.lines()).filter(|l| l.contains("fn main(){}") || l.contains("*/")).collect();
    assert!(!hits.is_empty(), "the adversarial description is missing");
    assert!(hits.iter().all(|l| l.trim_start().starts_with("///")), "description text outside a doc comment: {hits:?}");
}

#[test]
fn nested_types_whose_fields_allow_it_are_eq_and_hash() {
    // Strings, integers and maps of them: usable as set members and map keys, as k8s-openapi's
    // simple types are.
    let ports: std::collections::HashSet<widgets::WidgetSpecPorts> = serde_json::from_value(json!([
        {"name": "http", "number": 80},
        {"name": "http", "number": 80},
        {"name": "grpc", "number": 9000}
    ]))
    .unwrap();
    assert_eq!(ports.len(), 2);
    let source = widgets::WidgetSpecOneSource { path: Some("/a".into()), url: None };
    let mut counts = std::collections::HashMap::new();
    *counts.entry(source.clone()).or_insert(0) += 1;
    *counts.entry(source).or_insert(0) += 1;
    assert_eq!(counts.into_values().collect::<Vec<_>>(), [2]);
}
