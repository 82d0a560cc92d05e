//! `ensure_crd`: install or update a CRD and wait until the API server serves it.

use std::time::Duration;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, PostParams};

use crate::client::ErrorExt;

/// Why [`ensure_crd`] gave up.
#[derive(Debug)]
pub enum EnsureCrdError {
    /// The API server refused a request (RBAC, validation, ...).
    Api(kube::Error),
    /// Watching the CRD for its condition failed.
    Watch(kube::runtime::wait::Error),
    /// The CRD was written, but not established in time; its conditions say why.
    NotEstablished {
        /// The CRD's name.
        name: String,
        /// How long was waited.
        waited: Duration,
        /// Its conditions when the wait ended, as `Type=Status (reason: message)`.
        conditions: Vec<String>,
    },
}

impl std::fmt::Display for EnsureCrdError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EnsureCrdError::Api(e) => write!(f, "installing the CRD: {e}"),
            EnsureCrdError::Watch(e) => write!(f, "waiting for the CRD to be established: {e}"),
            EnsureCrdError::NotEstablished { name, waited, conditions } => write!(
                f,
                "CRD {name} was not established after {:.1} s; conditions: {}",
                waited.as_secs_f64(),
                if conditions.is_empty() { "none yet".to_owned() } else { conditions.join(", ") }
            ),
        }
    }
}

impl std::error::Error for EnsureCrdError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            EnsureCrdError::Api(e) => Some(e),
            EnsureCrdError::Watch(e) => Some(e),
            EnsureCrdError::NotEstablished { .. } => None,
        }
    }
}

impl From<kube::Error> for EnsureCrdError {
    fn from(e: kube::Error) -> Self {
        EnsureCrdError::Api(e)
    }
}

fn json<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or_default()
}

/// Whether `current` says at least everything `desired` says.
fn holds(current: &serde_json::Value, desired: &serde_json::Value) -> bool {
    use serde_json::Value;
    match (current, desired) {
        (_, Value::Null) => true,
        (Value::Object(c), Value::Object(d)) => d.iter().all(|(k, v)| holds(c.get(k).unwrap_or(&Value::Null), v)),
        (Value::Array(c), Value::Array(d)) => c.len() == d.len() && c.iter().zip(d).all(|(c, d)| holds(c, d)),
        (c, d) => c == d,
    }
}

fn describe(crd: &CustomResourceDefinition) -> Vec<String> {
    let conditions = crd.status.as_ref().and_then(|s| s.conditions.clone()).unwrap_or_default();
    conditions
        .iter()
        .map(|c| {
            format!(
                "{}={} ({}: {})",
                c.type_,
                c.status,
                c.reason.as_deref().unwrap_or_default(),
                c.message.as_deref().unwrap_or_default()
            )
        })
        .collect()
}

/// Creates `crd`, or updates the one of its name when its spec, labels or annotations differ,
/// then waits until its `Established` condition is true, for at most `timeout`.
///
/// ```no_run
/// # async fn demo(client: kube::Client, crd: k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition) -> Result<(), Box<dyn std::error::Error>> {
/// kube_codegen_runtime::ensure_crd(&client, &crd, std::time::Duration::from_secs(30)).await?;
/// # Ok(()) }
/// ```
pub async fn ensure_crd(
    client: &kube::Client,
    crd: &CustomResourceDefinition,
    timeout: Duration,
) -> Result<CustomResourceDefinition, EnsureCrdError> {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let name = crd.metadata.name.clone().unwrap_or_default();
    // Tokio's clock, so a test on paused time waits no real time.
    let started = tokio::time::Instant::now();
    // Another writer may update it between the read and the write: read again, at most twice.
    for _ in 0..3 {
        match api.get_opt(&name).await? {
            None => match api.create(&PostParams::default(), crd).await {
                Ok(_) => break,
                Err(e) if e.is_already_exists() => continue,
                Err(e) => return Err(e.into()),
            },
            Some(current) => {
                // The server defaults what was left out (the conversion strategy, ...): the CRD
                // is as desired when everything the desired one says is there.
                let same = holds(&json(&current.spec), &json(&crd.spec))
                    && holds(&json(&current.metadata.labels), &json(&crd.metadata.labels))
                    && holds(&json(&current.metadata.annotations), &json(&crd.metadata.annotations));
                if same {
                    break;
                }
                let mut desired = current.clone();
                desired.spec = crd.spec.clone();
                desired.metadata.labels = crd.metadata.labels.clone();
                desired.metadata.annotations = crd.metadata.annotations.clone();
                match api.replace(&name, &PostParams::default(), &desired).await {
                    Ok(_) => break,
                    Err(e) if e.is_conflict() => continue,
                    Err(e) => return Err(e.into()),
                }
            }
        }
    }
    // kube-runtime's wait: a watch of this one CRD until its Established condition is true.
    let established =
        kube::runtime::wait::await_condition(api.clone(), &name, kube::runtime::wait::conditions::is_crd_established());
    match tokio::time::timeout_at(started + timeout, established).await {
        Ok(Ok(Some(current))) => Ok(current),
        Ok(Err(e)) => Err(EnsureCrdError::Watch(e)),
        // Deleted while waited for, or the time is up: say what its conditions were.
        Ok(Ok(None)) | Err(_) => {
            let conditions = api.get_opt(&name).await?.map(|c| describe(&c)).unwrap_or_default();
            Err(EnsureCrdError::NotEstablished { name, waited: started.elapsed(), conditions })
        }
    }
}
