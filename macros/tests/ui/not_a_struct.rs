use kube_codegen_macros::CustomResource;

#[derive(CustomResource)]
#[kube(group = "example.com", version = "v1", kind = "Widget")]
pub enum WidgetSpec {
    Small,
    Large,
}

fn main() {}
