use kube_codegen_macros::CustomResource;

#[derive(CustomResource)]
#[kube(namespaced)]
pub struct WidgetSpec {
    pub size: i32,
}

fn main() {}
