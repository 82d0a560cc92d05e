//! The types generated from every CRD in the corpus compile with `#![deny(warnings)]`, and
//! the corpus's example objects round-trip through them.

use std::path::PathBuf;

use kube_codegen::Settings;
use kube_codegen_tests::{Harness, corpus, instances, roundtrip};

#[test]
fn corpus_crds_compile_and_instances_round_trip() {
    let settings = Settings::default();
    let crds = kube_codegen_openapi::read(&[corpus().join("crds")]).unwrap();
    assert_eq!(crds.resources.len(), 111);
    let all = kube_codegen::generate(&crds, &settings).unwrap();
    // Each variant file alone, as its own module tree, in the same crate: one compile.
    let mut variants = Vec::new();
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(corpus().join("crds-variants")).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    for (i, file) in files.iter().enumerate() {
        let model = kube_codegen_openapi::read(std::slice::from_ref(file)).unwrap();
        variants.push((format!("variant{i}"), kube_codegen::generate(&model, &settings).unwrap()));
    }
    let mut modules: Vec<(&str, &kube_codegen::Files)> = vec![("crds", &all)];
    modules.extend(variants.iter().map(|(n, f)| (n.as_str(), f)));
    let harness = Harness::new("generated_crds", &modules);
    let paths = kube_codegen::type_paths(&crds, &settings);
    let apply = kube_codegen::apply_paths(&crds, &settings);
    harness.bin("roundtrip", &roundtrip::source(&roundtrip::arms(&crds, &paths, &apply, "crds")));
    let objects = harness.path().join("instances.json");
    std::fs::write(&objects, serde_json::to_string(&instances()).unwrap()).unwrap();

    let report = harness.cargo(&["run", "--quiet", "--bin", "roundtrip", "--", objects.to_str().unwrap()]);
    let failed: Vec<&str> = report.lines().filter(|l| l.starts_with("FAIL")).collect();
    let ok = report.lines().filter(|l| l.starts_with("ok")).count();
    assert!(failed.is_empty(), "{} objects failed to round-trip:\n{}", failed.len(), failed.join("\n"));
    // Every object whose kind was generated was checked; the others (core kinds, providers
    // whose CRDs are not in the corpus) were not generated.
    let generated: Vec<String> =
        crds.resources.iter().map(|r| format!("skip {}/{} {} ", r.group, r.version, r.kind)).collect();
    let wrongly_skipped: Vec<&str> =
        report.lines().filter(|l| generated.iter().any(|g| l.starts_with(g.as_str()))).collect();
    assert!(wrongly_skipped.is_empty(), "generated kinds were not checked: {wrongly_skipped:?}");
    assert!(ok >= 30, "only {ok} objects were checked:\n{report}");
    eprintln!("{ok} objects round-tripped");
}
