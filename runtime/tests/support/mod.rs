//! What the suites that compare the fake with a real API server share: names unique to a run,
//! a fake that serves what kube-apiserver v1.36 serves to them, and the real server's client.
// Each test binary uses part of this module.
#![allow(dead_code)]

use std::path::PathBuf;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Pod, Secret, Service};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube_codegen_runtime::fake::ApiServer;

/// A short random suffix for names: the clock's nanoseconds mixed with the process id.
pub fn suffix() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
    let mixed = (nanos as u64) ^ (u64::from(std::process::id()) << 40);
    format!("{:08x}", mixed.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32)
}

/// The shared corpus (`KUBE_CODEGEN_CORPUS`, else `../shared/corpus` beside the repository).
pub fn corpus() -> PathBuf {
    std::env::var_os("KUBE_CODEGEN_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus"))
}

/// A fake serving the built-in resources these suites use, with the v1.36 specification
/// loaded, so its OpenAPI documents are those of the real server's API.
pub fn like_kube_apiserver() -> ApiServer {
    let server = ApiServer::new();
    server
        .register::<Namespace>()
        .register::<ConfigMap>()
        .register::<Secret>()
        .register::<Pod>()
        .register::<Service>()
        .register::<Deployment>()
        .register::<Lease>()
        .register::<CustomResourceDefinition>();
    let swagger = std::fs::read(corpus().join("openapi/v2/swagger-v1.36.0.json")).unwrap();
    server.load_openapi(serde_json::from_slice(&swagger).unwrap()).unwrap();
    server
}

/// A client of the real server `KUBE_CODEGEN_E2E_KUBECONFIG` names, if it names one.
pub async fn real_client() -> Option<kube::Client> {
    let path = std::env::var_os("KUBE_CODEGEN_E2E_KUBECONFIG")?;
    let kubeconfig = kube::config::Kubeconfig::read_from(&path).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default()).await.unwrap();
    Some(kube::Client::try_from(config).unwrap())
}
