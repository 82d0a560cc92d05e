//! The generic half of the typed clients.
//!
//! A generated `DeploymentClient` holds a [`ResourceClient<Deployment>`](ResourceClient) and
//! exposes exactly the verbs and subresources the spec declares, each a one-line call into it.
//! Requests are built by `kube::core::Request` and sent by `kube::Client`, so they are the
//! requests `kube::Api` sends, and everything a `kube::Client` is built on (auth, the fake API
//! server) works unchanged.

use std::fmt::Debug;

use futures::StreamExt;
use kube::core::Request;
use serde::de::DeserializeOwned;

pub use either::Either;
pub use futures::AsyncBufRead;
pub use futures::stream::BoxStream;
pub use http;
/// JSON patches, for `Patch::Json`.
pub use json_patch;
pub use kube::api::{
    DeleteParams, EvictParams, GetParams, ListParams, LogParams, ObjectList, Patch, PatchParams, PostParams,
    WatchEvent, WatchParams,
};
pub use kube::core::PartialObjectMeta;
pub use kube::core::Status;
pub use kube::{Api, Client};
pub use serde::Serialize;

/// What every client method returns: kube's error type, which [`ErrorExt`] makes easy to ask.
pub type Result<T, E = kube::Error> = std::result::Result<T, E>;

/// How a server-side apply is sent: the field manager that will own what the configuration
/// sets (required), whether to take fields other managers own (`force`), and dry run.
///
/// ```
/// # use kube_codegen_runtime::client::ApplyParams;
/// let ap = ApplyParams::manager("my-controller").force();
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ApplyParams {
    /// The field manager: the name managedFields record as the owner.
    pub field_manager: String,
    /// Take fields other managers own instead of failing with a conflict.
    pub force: bool,
    /// Validate and answer without storing (`dryRun=All`).
    pub dry_run: bool,
}

impl ApplyParams {
    /// Applies as `field_manager`, without force.
    pub fn manager(field_manager: impl Into<String>) -> Self {
        ApplyParams { field_manager: field_manager.into(), force: false, dry_run: false }
    }

    /// Takes the fields other managers own (client-go's `Force: true`).
    #[must_use]
    pub fn force(mut self) -> Self {
        self.force = true;
        self
    }

    /// Validates without storing.
    #[must_use]
    pub fn dry_run(mut self) -> Self {
        self.dry_run = true;
        self
    }

    fn patch_params(&self) -> PatchParams {
        let pp = PatchParams::apply(&self.field_manager);
        let pp = if self.force { pp.force() } else { pp };
        if self.dry_run { pp.dry_run() } else { pp }
    }
}

/// The name of an apply configuration, checked before anything is sent: an apply needs a field
/// manager, and names its object by the configuration's `metadata.name`.
fn apply_target<A: Serialize>(config: &A, ap: &ApplyParams) -> Result<(String, serde_json::Value)> {
    let invalid = |message: &str| kube::Error::BuildRequest(kube::core::request::Error::Validation(message.to_owned()));
    if ap.field_manager.is_empty() {
        return Err(invalid("an apply needs a field manager: ApplyParams::manager(\"...\")"));
    }
    let value = serde_json::to_value(config).map_err(kube::Error::SerdeError)?;
    match value.pointer("/metadata/name").and_then(serde_json::Value::as_str) {
        Some(name) if !name.is_empty() => Ok((name.to_owned(), value)),
        _ => Err(invalid("an apply configuration needs metadata.name, which names the object it applies to")),
    }
}

/// The resource types a client can serve: statically typed, serde both ways.
pub trait Object: kube::Resource<DynamicType = ()> + Clone + Debug + Serialize + DeserializeOwned + 'static {}

impl<K> Object for K where K: kube::Resource<DynamicType = ()> + Clone + Debug + Serialize + DeserializeOwned + 'static {}

/// Every verb and subresource, for one resource type and one namespace (or none).
///
/// Generated clients wrap one and expose only what the spec declares; use it directly when a
/// resource's declared verbs do not matter to you.
pub struct ResourceClient<K> {
    api: kube::Api<K>,
    client: Client,
    request: Request,
}

impl<K: Clone> Clone for ResourceClient<K> {
    fn clone(&self) -> Self {
        ResourceClient { api: self.api.clone(), client: self.client.clone(), request: self.request.clone() }
    }
}

impl<K: Object> ResourceClient<K> {
    /// A client for objects in `namespace`.
    pub fn namespaced(client: Client, namespace: &str) -> Self
    where
        K: kube::Resource<Scope = kube::core::NamespaceResourceScope>,
    {
        let request = Request::new(K::url_path(&(), Some(namespace)));
        ResourceClient { api: kube::Api::namespaced(client.clone(), namespace), client, request }
    }

    /// A client for a cluster-scoped resource, or for a namespaced one across all namespaces.
    pub fn cluster(client: Client) -> Self {
        let request = Request::new(K::url_path(&(), None));
        ResourceClient { api: kube::Api::all(client.clone()), client, request }
    }

    /// The same requests through `kube::Api`.
    pub fn api(&self) -> &kube::Api<K> {
        &self.api
    }

    /// The `kube::Client` requests go through.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// `GET` one object.
    pub async fn get(&self, name: &str) -> Result<K> {
        self.api.get(name).await
    }

    /// `GET` one object, `None` when it does not exist.
    pub async fn get_opt(&self, name: &str) -> Result<Option<K>> {
        self.api.get_opt(name).await
    }

    /// `GET` the collection.
    pub async fn list(&self, lp: &ListParams) -> Result<ObjectList<K>> {
        self.api.list(lp).await
    }

    /// `GET` one object's metadata only (`PartialObjectMetadata`): no spec, data or status
    /// crosses the wire.
    pub async fn get_metadata(&self, name: &str) -> Result<PartialObjectMeta<K>> {
        self.api.get_metadata(name).await
    }

    /// `GET` the collection's metadata only (`PartialObjectMetadataList`).
    pub async fn list_metadata(&self, lp: &ListParams) -> Result<ObjectList<PartialObjectMeta<K>>> {
        self.api.list_metadata(lp).await
    }

    /// Watch the collection's metadata only from `version`.
    pub async fn watch_metadata(
        &self,
        wp: &WatchParams,
        version: &str,
    ) -> Result<BoxStream<'static, Result<WatchEvent<PartialObjectMeta<K>>>>> {
        Ok(self.api.watch_metadata(wp, version).await?.boxed())
    }

    /// Watch the collection from `version` (`"0"`: from any recent state).
    pub async fn watch(&self, wp: &WatchParams, version: &str) -> Result<BoxStream<'static, Result<WatchEvent<K>>>> {
        Ok(self.api.watch(wp, version).await?.boxed())
    }

    /// `POST` a new object.
    pub async fn create(&self, pp: &PostParams, data: &K) -> Result<K> {
        self.api.create(pp, data).await
    }

    /// `PUT` an object: kube's `replace`. A stale `resourceVersion` is a 409 Conflict.
    pub async fn update(&self, name: &str, pp: &PostParams, data: &K) -> Result<K> {
        self.api.replace(name, pp, data).await
    }

    /// `PATCH` an object (JSON, merge, strategic merge or server-side apply).
    pub async fn patch<P: Serialize + Debug>(&self, name: &str, pp: &PatchParams, patch: &Patch<P>) -> Result<K> {
        self.api.patch(name, pp, patch).await
    }

    /// Server-side apply of `config` (an apply configuration, or anything that serialises to
    /// the fields this manager means to own) to the object its `metadata.name` names, created
    /// if missing. A missing field manager or name is an error before any request is sent.
    pub async fn apply<A: Serialize>(&self, config: &A, ap: &ApplyParams) -> Result<K> {
        let (name, value) = apply_target(config, ap)?;
        self.api.patch(&name, &ap.patch_params(), &Patch::Apply(&value)).await
    }

    /// Server-side apply through a subresource (`status`, `scale`): the manager owns the
    /// fields it sets there. Checked as [`apply`](Self::apply) is.
    pub async fn apply_subresource<A: Serialize, S: DeserializeOwned>(
        &self,
        subresource: &str,
        config: &A,
        ap: &ApplyParams,
    ) -> Result<S> {
        let (name, value) = apply_target(config, ap)?;
        self.patch_subresource(subresource, &name, &ap.patch_params(), &Patch::Apply(&value)).await
    }

    /// `DELETE` an object: the object while finalizers hold it, else the server's `Status`.
    pub async fn delete(&self, name: &str, dp: &DeleteParams) -> Result<Either<K, Status>> {
        self.api.delete(name, dp).await
    }

    /// `DELETE` the selected objects of the collection.
    pub async fn delete_collection(&self, dp: &DeleteParams, lp: &ListParams) -> Result<Either<ObjectList<K>, Status>> {
        self.api.delete_collection(dp, lp).await
    }

    /// `GET` a subresource whose kind is `S`.
    pub async fn get_subresource<S: DeserializeOwned>(&self, subresource: &str, name: &str) -> Result<S> {
        let req = self.request.get_subresource(subresource, name).map_err(kube::Error::BuildRequest)?;
        self.client.request(req).await
    }

    /// `PUT` a subresource whose kind is `S`.
    pub async fn update_subresource<S: Serialize + DeserializeOwned>(
        &self,
        subresource: &str,
        name: &str,
        pp: &PostParams,
        data: &S,
    ) -> Result<S> {
        let body = serde_json::to_vec(data).map_err(kube::Error::SerdeError)?;
        let req = self.request.replace_subresource(subresource, name, pp, body).map_err(kube::Error::BuildRequest)?;
        self.client.request(req).await
    }

    /// `PATCH` a subresource whose kind is `S`.
    pub async fn patch_subresource<S: DeserializeOwned, P: Serialize + Debug>(
        &self,
        subresource: &str,
        name: &str,
        pp: &PatchParams,
        patch: &Patch<P>,
    ) -> Result<S> {
        let req = self.request.patch_subresource(subresource, name, pp, patch).map_err(kube::Error::BuildRequest)?;
        self.client.request(req).await
    }

    /// `POST` to a subresource: `I` goes up, `T` comes back.
    pub async fn create_subresource<I: Serialize, T: DeserializeOwned>(
        &self,
        subresource: &str,
        name: &str,
        pp: &PostParams,
        data: &I,
    ) -> Result<T> {
        let body = serde_json::to_vec(data).map_err(kube::Error::SerdeError)?;
        let req = self.request.create_subresource(subresource, name, pp, body).map_err(kube::Error::BuildRequest)?;
        self.client.request(req).await
    }

    /// The `log` subresource as text.
    pub async fn logs(&self, name: &str, lp: &LogParams) -> Result<String> {
        let req = self.request.logs(name, lp).map_err(kube::Error::BuildRequest)?;
        self.client.request_text(req).await
    }

    /// The `log` subresource as a stream of bytes (`follow` in `lp` keeps it open).
    pub async fn log_stream(&self, name: &str, lp: &LogParams) -> Result<impl AsyncBufRead + use<K>> {
        let req = self.request.logs(name, lp).map_err(kube::Error::BuildRequest)?;
        self.client.request_stream(req).await
    }

    /// `POST` an `Eviction` to the `eviction` subresource; the server answers with a `Status`.
    pub async fn evict(&self, name: &str, ep: &EvictParams) -> Result<Status> {
        let req = self.request.evict(name, ep).map_err(kube::Error::BuildRequest)?;
        self.client.request(req).await
    }

    /// Sends `request` through a connect subresource such as `proxy` (`pods/proxy`,
    /// `services/proxy`, `nodes/proxy`): its URI's path and query are appended to
    /// `<object>/<subresource>/`, its method, headers and body are kept. The response comes back
    /// as the target sent it, errors included.
    pub async fn connect(
        &self,
        subresource: &str,
        name: &str,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<kube::client::Body>> {
        let (mut parts, body) = request.into_parts();
        let tail = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("").trim_start_matches('/');
        let uri = format!("{}/{name}/{subresource}/{tail}", self.request.url_path);
        parts.uri = uri.parse().map_err(|e: http::uri::InvalidUri| {
            kube::Error::BuildRequest(kube::core::request::Error::Validation(format!("{subresource} path: {e}")))
        })?;
        self.client.send(http::Request::from_parts(parts, kube::client::Body::from(body))).await
    }
}

#[cfg(feature = "ws")]
impl<K: Object> ResourceClient<K> {
    /// Runs `command` in a container (`exec`), over kube's websocket support.
    pub async fn exec<I, T>(
        &self,
        name: &str,
        command: I,
        ap: &kube::api::AttachParams,
    ) -> Result<kube::api::AttachedProcess>
    where
        K: kube::api::Execute,
        I: IntoIterator<Item = T> + Debug,
        T: Into<String>,
    {
        self.api.exec(name, command, ap).await
    }

    /// Attaches to a running container (`attach`).
    pub async fn attach(&self, name: &str, ap: &kube::api::AttachParams) -> Result<kube::api::AttachedProcess>
    where
        K: kube::api::Attach,
    {
        self.api.attach(name, ap).await
    }

    /// Forwards `ports` of the object (`portforward`).
    pub async fn portforward(&self, name: &str, ports: &[u16]) -> Result<kube::api::Portforwarder>
    where
        K: kube::api::Portforward,
    {
        self.api.portforward(name, ports).await
    }
}

/// List and watch across all namespaces, for a namespaced resource whose spec has the
/// cluster-wide paths (`cs.core_v1().pods_all()`).
pub struct AllNamespaces<K>(ResourceClient<K>);

impl<K: Clone> Clone for AllNamespaces<K> {
    fn clone(&self) -> Self {
        AllNamespaces(self.0.clone())
    }
}

impl<K: Object> AllNamespaces<K> {
    /// A client for the objects of every namespace.
    pub fn new(client: Client) -> Self {
        AllNamespaces(ResourceClient::cluster(client))
    }

    /// `GET` the objects of every namespace.
    pub async fn list(&self, lp: &ListParams) -> Result<ObjectList<K>> {
        self.0.list(lp).await
    }

    /// Watch the objects of every namespace from `version`.
    pub async fn watch(&self, wp: &WatchParams, version: &str) -> Result<BoxStream<'static, Result<WatchEvent<K>>>> {
        self.0.watch(wp, version).await
    }

    /// `GET` the metadata of the objects of every namespace.
    pub async fn list_metadata(&self, lp: &ListParams) -> Result<ObjectList<PartialObjectMeta<K>>> {
        self.0.list_metadata(lp).await
    }

    /// Watch the metadata of the objects of every namespace from `version`.
    pub async fn watch_metadata(
        &self,
        wp: &WatchParams,
        version: &str,
    ) -> Result<BoxStream<'static, Result<WatchEvent<PartialObjectMeta<K>>>>> {
        self.0.watch_metadata(wp, version).await
    }

    /// The same requests through `kube::Api`.
    pub fn api(&self) -> &kube::Api<K> {
        self.0.api()
    }
}

/// Questions users ask of an error, answered from the server's `Status` where there is one
/// (client-go's `apierrors.IsNotFound` and friends).
pub trait ErrorExt {
    /// The `Status` the API server answered with, if the error is one.
    fn status(&self) -> Option<&Status>;

    /// 404 NotFound.
    fn is_not_found(&self) -> bool {
        self.status().is_some_and(|s| s.reason == "NotFound" || (s.reason.is_empty() && s.code == 404))
    }

    /// 409 AlreadyExists: a create of a name that is taken.
    fn is_already_exists(&self) -> bool {
        self.status().is_some_and(|s| s.reason == "AlreadyExists")
    }

    /// 409 Conflict: a write based on a stale `resourceVersion`, or an apply conflict.
    fn is_conflict(&self) -> bool {
        self.status().is_some_and(|s| s.reason == "Conflict" || (s.reason.is_empty() && s.code == 409))
    }

    /// 410 Gone: a watch or list from a `resourceVersion` that has been compacted.
    fn is_gone(&self) -> bool {
        self.status().is_some_and(|s| s.reason == "Expired" || s.reason == "Gone" || s.code == 410)
    }

    /// 422 Invalid: the object failed validation.
    fn is_invalid(&self) -> bool {
        self.status().is_some_and(|s| s.reason == "Invalid" || (s.reason.is_empty() && s.code == 422))
    }

    /// 403 Forbidden.
    fn is_forbidden(&self) -> bool {
        self.status().is_some_and(|s| s.reason == "Forbidden" || (s.reason.is_empty() && s.code == 403))
    }

    /// 401 Unauthorized.
    fn is_unauthorized(&self) -> bool {
        self.status().is_some_and(|s| s.reason == "Unauthorized" || (s.reason.is_empty() && s.code == 401))
    }

    /// 429 TooManyRequests: back off and retry.
    fn is_too_many_requests(&self) -> bool {
        self.status().is_some_and(|s| s.reason == "TooManyRequests" || s.code == 429)
    }

    /// 500 and above: the server failed, the request may succeed when retried.
    fn is_server_error(&self) -> bool {
        self.status().is_some_and(|s| s.code >= 500)
    }
}

impl ErrorExt for kube::Error {
    fn status(&self) -> Option<&Status> {
        match self {
            kube::Error::Api(status) => Some(status),
            _ => None,
        }
    }
}

/// A `Status` of the API server's shape, as a `kube::Error`: what listers return for a missing
/// object, so callers check `is_not_found` the same way for a cache and for the server.
pub fn status_error(code: u16, reason: &str, message: String) -> kube::Error {
    let mut status = Status::failure(&message, reason).with_code(code);
    status.message = message;
    kube::Error::Api(status.boxed())
}
