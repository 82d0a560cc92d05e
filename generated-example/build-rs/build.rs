//! Generates the example CRDs' types into OUT_DIR.

fn main() -> Result<(), kube_codegen::Error> {
    kube_codegen::Builder::new()
        .input("../inputs/widgets.yaml")
        .input("../inputs/edge-cases.yaml")
        .only(["widgets.example.kube-codegen.dev", "edge.kube-codegen.dev/v1"])
        // The crate re-exports the runtime; generated code names it through the re-export.
        .runtime_path("crate::runtime")
        .write()?;
    Ok(())
}
