use kube_codegen_macros::CustomResource;

#[derive(CustomResource)]
#[kube(
    group = "example.com",
    version = "v1",
    kind = "Widget",
    scale(spec_replicas_path = ".spec.replicas", status_replicas_path = ".status.replicas")
)]
pub struct WidgetSpec {
    pub replicas: i32,
}

fn main() {}
