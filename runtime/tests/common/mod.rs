//! Helpers the informer tests share.

#![allow(dead_code)]

use std::time::Duration;

use k8s_openapi::api::core::v1::{ConfigMap, Pod, Secret};
use kube::api::{Api, PostParams};
use kube::core::ObjectMeta;
use kube_codegen_runtime::fake::ApiServer;

/// A ConfigMap called `name`.
pub fn cm(name: &str) -> ConfigMap {
    ConfigMap { metadata: ObjectMeta { name: Some(name.into()), ..Default::default() }, ..Default::default() }
}

/// Waits (10 ms steps, 15 s at most) until `check` holds; a failure names `what`.
pub async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..1500 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}

/// A factory on `server`; with `KUBE_CODEGEN_SKIP_MANAGED_FIELDS=1` one that decodes objects
/// without their managedFields, so CI runs every informer test on both decoding paths.
pub fn factory(server: &ApiServer) -> kube_codegen_runtime::informer::SharedInformerFactory {
    let factory = kube_codegen_runtime::informer::SharedInformerFactory::new(server.client());
    if std::env::var_os("KUBE_CODEGEN_SKIP_MANAGED_FIELDS").is_some_and(|v| v == "1") {
        factory.skip_managed_fields()
    } else {
        factory
    }
}

/// A server with ConfigMaps, Pods and Secrets, and the ConfigMaps of namespace `ns`.
pub fn setup() -> (ApiServer, Api<ConfigMap>) {
    let server = ApiServer::new();
    server.register::<ConfigMap>().register::<Pod>().register::<Secret>();
    let api = Api::namespaced(server.client(), "ns");
    (server, api)
}

/// Creates ConfigMaps with these names.
pub async fn create(api: &Api<ConfigMap>, names: &[&str]) {
    for n in names {
        api.create(&PostParams::default(), &cm(n)).await.unwrap();
    }
}
