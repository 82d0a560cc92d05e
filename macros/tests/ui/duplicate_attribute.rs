use kube_codegen_macros::CustomResource;

#[derive(CustomResource)]
#[kube(group = "example.com", version = "v1", kind = "Widget", kind = "Gadget")]
pub struct WidgetSpec {
    pub size: i32,
}

fn main() {}
