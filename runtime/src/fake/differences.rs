//! The fake's known differences from a real API server, as data: the differential harness
//! (`runtime/tests/differential.rs`) and the two-backend suite name an entry wherever the fake
//! answers otherwise, and fail on a difference no entry names. One macro writes both the list
//! and its documentation, so the two cannot drift apart.

/// What part of the API a difference is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Area {
    /// Controllers the API server runs beside itself: garbage collection, namespaces.
    Controllers,
    /// Admission and validation beyond the OpenAPI schema: RBAC, quota, CEL rules.
    Validation,
    /// Server-side apply, strategic merge and field ownership.
    Apply,
    /// Lists: versions, snapshots, pagination.
    Lists,
    /// Watches: the watch cache, bookmarks, resumption.
    Watch,
    /// Discovery documents.
    Discovery,
    /// The OpenAPI documents.
    OpenApi,
    /// Encodings and media types: protobuf, CBOR, YAML, `Table`.
    ContentTypes,
    /// Subresources and verbs not served.
    Subresources,
    /// Custom resources: CRD versions, conversion.
    CustomResources,
}

/// One way the fake answers otherwise than kube-apiserver v1.36.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KnownDifference {
    /// A short stable name that tests refer to.
    pub key: &'static str,
    /// What part of the API it is in.
    pub area: Area,
    /// What differs, and why it is accepted.
    pub what: &'static str,
}

impl KnownDifference {
    /// The entry named `key`, if there is one.
    pub fn find(key: &str) -> Option<&'static KnownDifference> {
        KNOWN_DIFFERENCES.iter().find(|d| d.key == key)
    }
}

macro_rules! known_differences {
    ($($(#[doc = $doc:literal])+ $key:literal in $area:ident;)+) => {
        /// Every known way the in-memory API server differs from a real one (kube-apiserver
        /// v1.36). Where the fake differs, a test written against it can pass where a cluster
        /// would fail; anything not here is a bug in the fake. The differential harness sends
        /// the same requests to both and fails on a difference this list does not name, or on
        /// an entry it names that no longer differs.
        ///
        $(
            #[doc = concat!("- `", $key, "` (", stringify!($area), "):")]
            $(#[doc = concat!("  ", $doc)])+
        )+
        pub const KNOWN_DIFFERENCES: &[KnownDifference] = &[
            $(KnownDifference { key: $key, area: Area::$area, what: concat!($($doc, "\n"),+) },)+
        ];
    };
}

known_differences! {
    /// No controllers and no garbage collector: a Deployment makes no ReplicaSet, a Job's
    /// status stays empty, a deleted owner leaves its dependents, a deleted namespace leaves
    /// its objects.
    "no-controllers" in Controllers;
    /// No admission beyond schemas: no RBAC (every request is allowed unless a reactor says
    /// otherwise), no quota, limit ranges, pod security or webhooks.
    "no-admission" in Validation;
    /// Built-in objects are validated by their schema's types only: the real server's
    /// hand-written validation of built-in kinds (name formats, label syntax, required fields
    /// of a Pod) is not run, so an invalid built-in object is stored.
    "builtin-validation" in Validation;
    /// CRD `x-kubernetes-validations` (CEL) rules are evaluated with the `cel` crate, its
    /// strings and lists extensions, regular expressions, durations and `isIP`; a rule calling
    /// another function of the Kubernetes CEL library (`url`, `cidr`, `ip`, `quantity`,
    /// `format`, `semver`, authorization) is skipped with a warning. `oldSelf` is not bound
    /// inside list items (their rules run as on a create), rules are not type-checked against
    /// the schema when a CRD is created, and no cost budget is enforced.
    "cel" in Validation;
    /// Strategic merge and server-side apply of k8s-openapi's types (registered with
    /// `register`) key lists by a table of the Kubernetes API's merge keys by field name
    /// (`containers` by `name`, `ports` by `containerPort` or `port`, `conditions` by
    /// `type`, ...), not by each type's schema; a list the table does not name is atomic. CRDs
    /// and generated or derived types use their schema's list and map types and merge keys.
    "builtin-list-semantics" in Apply;
    /// Writes through `status` and `scale` are owned per subresource in `managedFields`;
    /// writes through the core API's other subresources (`ephemeralcontainers`, `resize`,
    /// `approval`, `finalize`, `binding`) are recorded as writes of the main resource.
    "subresource-ownership" in Apply;
    /// `resourceVersion` and `resourceVersionMatch` on a list are ignored: a list reads the
    /// latest state (a paginated list does read one snapshot).
    "list-latest" in Lists;
    /// No watch cache: a watch from a version before `ApiServer::compact` is always 410. The
    /// real server answers watches from its watch cache, which refuses an old version only
    /// once its event window (100 to 102,400 events, grown while events are fresh) has moved
    /// past it, and before that replays the objects it holds as `ADDED`.
    "watch-cache-window" in Watch;
    /// CRD versions convert by `None` only: objects change `apiVersion` and nothing else;
    /// conversion webhooks are not called.
    "crd-conversion" in CustomResources;
    /// Discovery lists only what is registered or installed as a CRD, not every built-in
    /// resource of v1.36, and the aggregated discovery document
    /// (`application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList`) is not
    /// served: clients fall back to the legacy documents, as they do with older servers.
    "discovery-registered-only" in Discovery;
    /// JSON only: a request that accepts protobuf, CBOR or YAML gets JSON when it also accepts
    /// JSON, else 406; a body in protobuf or CBOR is refused with 415, so kubectl's typed
    /// commands (`create configmap`, `create deployment`, ...), which send protobuf, fail; a
    /// `Table` is never made (the list comes back as it is).
    "json-only" in ContentTypes;
    /// OpenAPI is what it is given: `/openapi/v2` and `/openapi/v3` hold the installed CRDs and
    /// what `ApiServer::load_openapi` loaded; a type registered with `register` adds nothing.
    /// A document asked with a stale `?hash=` is answered with the current one (the real
    /// server redirects), and the CRDs' v2 definitions are their v3 schemas unchanged (the
    /// real server drops what v2 cannot say, as `nullable`). The v3 documents of a loaded
    /// Swagger 2.0 specification are converted from it, so they lack what only the real
    /// server's v3 documents say (the `default: ""` of a map of strings' values).
    "openapi-as-loaded" in OpenApi;
    /// `shardSelector` (KEP-5866, the `ShardedListAndWatch` gate) is ignored, as a server
    /// without the gate ignores it: lists and watches are not filtered and carry no
    /// `shardInfo`, and a malformed selector is not refused (kube-apiserver v1.36.3 answers it
    /// with a 500, `invalid shard selector: <why>`; the fake will give that 500 too when it
    /// serves shard selectors).
    "shard-selector" in Lists;
    /// Connect subresources are not served: `exec`, `attach`, `portforward` and `proxy`
    /// answer 404.
    "no-connect" in Subresources;
    /// `PartialObjectMetadata` on reads only: get, list and watch asked
    /// `as=PartialObjectMetadata(List)` answer with metadata only; a write asked so is
    /// answered with the whole object, which decodes into the same `PartialObjectMeta`.
    "metadata-reads-only" in ContentTypes;
}
