//! One client that scales any resource with a `scale` subresource (client-go's `scale`
//! package): discovery finds the resource, its scope and its `scale` subresource; reads and
//! writes go to `autoscaling/v1` `Scale`. A resource without `scale` is refused before any
//! request to it.
//!
//! ```no_run
//! # async fn run(client: kube::Client) -> Result<(), Box<dyn std::error::Error>> {
//! use kube_codegen_runtime::scale::ScaleClient;
//!
//! let widgets = ScaleClient::for_resource(client.clone(), "widgets.example.com").await?;
//! widgets.set_replicas(Some("default"), "w1", 3).await?;
//! let deployments = ScaleClient::for_kind(client, &kube::core::GroupVersionKind::gvk("apps", "v1", "Deployment")).await?;
//! let scale = deployments.get(Some("default"), "web").await?;
//! # let _ = scale; Ok(()) }
//! ```

use k8s_openapi::api::autoscaling::v1::Scale;
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use kube::core::{ApiResource, DynamicObject, GroupVersionKind};
use kube::discovery::{ApiCapabilities, Discovery, Scope};

/// Why a scale client could not be made, or a request not sent.
#[derive(Debug, thiserror::Error)]
pub enum ScaleError {
    /// Discovery failed (the server's answer, or no answer).
    #[error("discovering {what}: {source}")]
    Discovery {
        /// The kind or resource looked for.
        what: String,
        /// What went wrong.
        #[source]
        source: kube::Error,
    },
    /// The server serves no such kind or resource.
    #[error("the server has no resource {0}")]
    NotFound(String),
    /// The resource has no `scale` subresource: nothing was sent.
    #[error("{0} has no scale subresource")]
    NoScale(String),
    /// Its `scale` subresource is not `autoscaling/v1` `Scale`, the only form this client reads.
    #[error("the scale subresource of {resource} is {found}, not autoscaling/v1 Scale")]
    UnsupportedScale {
        /// The resource.
        resource: String,
        /// The group/version and kind discovery gave.
        found: String,
    },
    /// The resource is namespaced and no namespace was given, or cluster-scoped and one was.
    #[error("{resource} is {scope}: {why}")]
    Scope {
        /// The resource.
        resource: String,
        /// `namespaced` or `cluster-scoped`.
        scope: &'static str,
        /// What was wrong with the namespace given.
        why: &'static str,
    },
    /// The request was sent and failed.
    #[error(transparent)]
    Api(#[from] kube::Error),
}

/// The scale subresource of one resource, found through discovery.
#[derive(Clone)]
pub struct ScaleClient {
    client: kube::Client,
    resource: ApiResource,
    namespaced: bool,
}

impl std::fmt::Debug for ScaleClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScaleClient").field("resource", &self.resource).field("namespaced", &self.namespaced).finish()
    }
}

impl ScaleClient {
    /// The scale client of the resource serving `gvk` (one request: the group-version's
    /// resource list).
    pub async fn for_kind(client: kube::Client, gvk: &GroupVersionKind) -> Result<ScaleClient, ScaleError> {
        let what = format!("{}/{} {}", gvk.group, gvk.version, gvk.kind);
        let (resource, caps) = match kube::discovery::pinned_kind(&client, gvk).await {
            Ok(found) => found,
            Err(kube::Error::Discovery(_)) => return Err(ScaleError::NotFound(what)),
            Err(kube::Error::Api(s)) if s.code == 404 => return Err(ScaleError::NotFound(what)),
            Err(source) => return Err(ScaleError::Discovery { what, source }),
        };
        ScaleClient::found(client, resource, &caps)
    }

    /// The scale client of a resource named as kubectl takes it: `deployments`,
    /// `deployments.apps`, `deployments.v1.apps`, `widgets.example.com`. Without a group,
    /// the core group is searched first, then the others in discovery's order.
    pub async fn for_resource(client: kube::Client, name: &str) -> Result<ScaleClient, ScaleError> {
        let (plural, version, group) = match name.split_once('.') {
            None => (name, None, None),
            Some((plural, rest)) => match rest.split_once('.') {
                // `deployments.v1.apps`: a version is a DNS label starting `v` and a digit.
                Some((v, group))
                    if v.strip_prefix('v').is_some_and(|n| n.starts_with(|c: char| c.is_ascii_digit())) =>
                {
                    (plural, Some(v), Some(group))
                }
                _ => (plural, None, Some(rest)),
            },
        };
        let discovery = match group {
            Some(group) => Discovery::new(client.clone()).filter(&[group]),
            None => Discovery::new(client.clone()),
        };
        let discovery =
            discovery.run().await.map_err(|source| ScaleError::Discovery { what: name.to_owned(), source })?;
        let mut groups: Vec<_> = discovery.groups().collect();
        // The core group first, as kubectl resolves a bare resource name.
        groups.sort_by_key(|g| !g.name().is_empty());
        for g in groups {
            let versions: Vec<&str> = match version {
                Some(v) => vec![v],
                None => std::iter::once(g.preferred_version_or_latest()).chain(g.versions()).collect(),
            };
            for v in versions {
                if let Some((resource, caps)) = g.versioned_resources(v).into_iter().find(|(r, _)| r.plural == plural) {
                    return ScaleClient::found(client, resource, &caps);
                }
            }
        }
        Err(ScaleError::NotFound(name.to_owned()))
    }

    fn found(client: kube::Client, resource: ApiResource, caps: &ApiCapabilities) -> Result<ScaleClient, ScaleError> {
        let name = display(&resource);
        let Some((scale, _)) = caps.subresources.iter().find(|(s, _)| s.plural == "scale") else {
            return Err(ScaleError::NoScale(name));
        };
        // A subresource's group and version are its response kind's (`autoscaling/v1`);
        // discovery may leave them empty, meaning the parent's.
        let group =
            if scale.group.is_empty() && scale.version.is_empty() { "autoscaling" } else { scale.group.as_str() };
        let version = if scale.version.is_empty() { "v1" } else { scale.version.as_str() };
        if (group, version, scale.kind.as_str()) != ("autoscaling", "v1", "Scale") {
            return Err(ScaleError::UnsupportedScale {
                resource: name,
                found: format!("{}/{} {}", scale.group, scale.version, scale.kind),
            });
        }
        Ok(ScaleClient { client, resource, namespaced: caps.scope == Scope::Namespaced })
    }

    /// The resource this client scales.
    pub fn resource(&self) -> &ApiResource {
        &self.resource
    }

    fn api(&self, namespace: Option<&str>) -> Result<Api<DynamicObject>, ScaleError> {
        let scope_error = |why| ScaleError::Scope {
            resource: display(&self.resource),
            scope: if self.namespaced { "namespaced" } else { "cluster-scoped" },
            why,
        };
        match (self.namespaced, namespace) {
            (true, Some(ns)) => Ok(Api::namespaced_with(self.client.clone(), ns, &self.resource)),
            (true, None) => Err(scope_error("a namespace is needed")),
            (false, None) => Ok(Api::all_with(self.client.clone(), &self.resource)),
            (false, Some(_)) => Err(scope_error("it takes no namespace")),
        }
    }

    /// The object's `Scale`: desired and observed replicas, and the selector.
    pub async fn get(&self, namespace: Option<&str>, name: &str) -> Result<Scale, ScaleError> {
        Ok(self.api(namespace)?.get_scale(name).await?)
    }

    /// Replaces the object's `Scale` (its `resourceVersion`, when set, guards the write).
    pub async fn update(
        &self,
        namespace: Option<&str>,
        name: &str,
        scale: &Scale,
        params: &PostParams,
    ) -> Result<Scale, ScaleError> {
        Ok(self.api(namespace)?.replace_scale(name, params, scale).await?)
    }

    /// Patches the object's `Scale` with any patch type.
    pub async fn patch<P: serde::Serialize + std::fmt::Debug>(
        &self,
        namespace: Option<&str>,
        name: &str,
        params: &PatchParams,
        patch: &Patch<P>,
    ) -> Result<Scale, ScaleError> {
        Ok(self.api(namespace)?.patch_scale(name, params, patch).await?)
    }

    /// Applies `spec.replicas` server-side as `field_manager` (`force` takes the field from
    /// another manager).
    pub async fn apply(
        &self,
        namespace: Option<&str>,
        name: &str,
        replicas: i32,
        field_manager: &str,
        force: bool,
    ) -> Result<Scale, ScaleError> {
        let body = serde_json::json!({
            "apiVersion": "autoscaling/v1",
            "kind": "Scale",
            "metadata": {"name": name},
            "spec": {"replicas": replicas},
        });
        let mut params = PatchParams::apply(field_manager);
        params.force = force;
        self.patch(namespace, name, &params, &Patch::Apply(body)).await
    }

    /// Sets `spec.replicas` with a merge patch, as `kubectl scale` does.
    pub async fn set_replicas(&self, namespace: Option<&str>, name: &str, replicas: i32) -> Result<Scale, ScaleError> {
        let patch = serde_json::json!({"spec": {"replicas": replicas}});
        self.patch(namespace, name, &PatchParams::default(), &Patch::Merge(patch)).await
    }
}

/// `deployments.apps/v1`, `pods/v1`.
fn display(resource: &ApiResource) -> String {
    if resource.group.is_empty() {
        format!("{}/{}", resource.plural, resource.version)
    } else {
        format!("{}.{}/{}", resource.plural, resource.group, resource.version)
    }
}
