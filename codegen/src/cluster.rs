//! Reading what a live cluster serves: its OpenAPI v3 documents, its CRDs and its discovery,
//! as the same documents the file inputs would be, so a cluster and files give the same code.
//!
//! Custom resources come from the CRD objects themselves (`apiextensions.k8s.io/v1`), exactly
//! as a CRD file reads; every other group-version (built-in and aggregated APIs) from its
//! `/openapi/v3` document. Documents are cached by the hash the server's index gives them.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use futures::{StreamExt, TryStreamExt};
use kube::Client;
use serde_json::{Value, json};

use crate::Error;

/// Which cluster to read, and where to cache its documents.
#[derive(Clone, Debug, Default)]
pub struct Cluster {
    /// The kubeconfig file; `$KUBECONFIG` or `~/.kube/config` when `None`.
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context; its current context when `None`.
    pub context: Option<String>,
    /// Where OpenAPI documents are cached by their hash.
    pub cache: Cache,
}

/// Where fetched OpenAPI documents are kept between runs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Cache {
    /// `$XDG_CACHE_HOME/kube-codegen`, else `~/.cache/kube-codegen` (no cache without either).
    #[default]
    Default,
    /// This directory.
    Dir(PathBuf),
    /// Fetch every document every time.
    Off,
}

impl Cache {
    fn dir(&self) -> Option<PathBuf> {
        match self {
            Cache::Dir(dir) => Some(dir.clone()),
            Cache::Off => None,
            Cache::Default => std::env::var_os("XDG_CACHE_HOME")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").filter(|v| !v.is_empty()).map(|h| PathBuf::from(h).join(".cache")))
                .map(|d| d.join("kube-codegen")),
        }
    }
}

/// What a cluster serves, as documents for the reader.
#[derive(Debug)]
pub struct Fetched {
    /// The OpenAPI v3 documents and CRDs, each named by the URL it came from.
    pub documents: Vec<(PathBuf, Value)>,
    /// Group-versions discovery lists that publish no OpenAPI v3 document (an aggregated API
    /// whose server does not serve one): their resources cannot be generated.
    pub unpublished: Vec<String>,
}

impl Fetched {
    /// The model of these documents, as [`kube_codegen_openapi::read`] gives for files.
    pub fn model(self) -> Result<kube_codegen_openapi::Model, Error> {
        Ok(kube_codegen_openapi::read_values(self.documents)?)
    }
}

impl Cluster {
    /// Connects as the kubeconfig says and fetches what [`fetch`] does, blocking on a runtime of
    /// its own (for the CLI and build scripts; async code calls [`fetch`]).
    pub fn fetch_blocking(&self, only: &[String]) -> Result<Fetched, Error> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(Error::Setting(
                "Cluster::fetch_blocking was called inside a Tokio runtime; call kube_codegen::cluster::fetch(..).await there".into(),
            ));
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Setting(format!("cannot start a Tokio runtime: {e}")))?;
        runtime.block_on(async {
            let (client, server) = self.client().await?;
            fetch(&client, &server, only, self.cache.dir().as_deref()).await
        })
    }

    async fn client(&self) -> Result<(Client, String), Error> {
        let options = kube::config::KubeConfigOptions { context: self.context.clone(), ..Default::default() };
        let where_ = self.kubeconfig.as_ref().map_or_else(|| "the kubeconfig".to_owned(), |p| p.display().to_string());
        let config = match &self.kubeconfig {
            Some(path) => {
                let file = kube::config::Kubeconfig::read_from(path)
                    .map_err(|e| Error::Setting(format!("{}: {e}", path.display())))?;
                kube::Config::from_custom_kubeconfig(file, &options).await
            }
            None => kube::Config::from_kubeconfig(&options).await,
        }
        .map_err(|e| Error::Setting(format!("{where_}: {e}")))?;
        let server = config.cluster_url.to_string().trim_end_matches('/').to_owned();
        let client = Client::try_from(config).map_err(|e| cluster_error(&server, "", e.to_string()))?;
        Ok((client, server))
    }
}

fn cluster_error(server: &str, path: &str, message: String) -> Error {
    Error::Cluster { url: format!("{server}{path}"), message }
}

/// GETs `path` and parses it as JSON; errors name the server, the document and the cause.
async fn get_json(client: &Client, server: &str, path: &str, accept: Option<&str>) -> Result<Value, Error> {
    let mut request = http::Request::get(path);
    if let Some(accept) = accept {
        request = request.header(http::header::ACCEPT, accept);
    }
    let request = request.body(Vec::new()).map_err(|e| cluster_error(server, path, e.to_string()))?;
    let text = client.request_text(request).await.map_err(|e| {
        let message = match e {
            kube::Error::Api(status) => {
                let code =
                    http::StatusCode::from_u16(status.code).map_or_else(|_| status.code.to_string(), |c| c.to_string());
                match status.message.as_str() {
                    "" => code,
                    message => format!("{code}: {message}"),
                }
            }
            other => format!("cannot reach the API server: {}", error_chain(&other)),
        };
        cluster_error(server, path, message)
    })?;
    serde_json::from_str(&text).map_err(|e| cluster_error(server, path, format!("not JSON: {e}")))
}

/// An error with its causes, which is where a connection error says what happened.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// The API groups `only` can reach (`apps/v1` and `deployments.apps` name `apps`; `v1` and
/// `pods` the core group), or `None` for every group.
fn groups_of(only: &[String]) -> Option<BTreeSet<String>> {
    if only.is_empty() {
        return None;
    }
    let group = |entry: &str| -> String {
        match entry.split_once('/') {
            Some(("core", _)) => String::new(),
            Some((group, _)) => group.to_owned(),
            None => entry.split_once('.').map(|(_, g)| g.to_owned()).unwrap_or_default(),
        }
    };
    Some(only.iter().map(|e| group(e)).collect())
}

/// How many documents are fetched at once.
const CONCURRENT: usize = 8;

/// Fetches what `server` (the client's URL, for messages) serves: the CRDs of the groups
/// `only` reaches (all when empty) and the OpenAPI v3 documents of their other
/// group-versions, through `cache` when given. The model of the result is what reading the
/// same definitions from files gives.
pub async fn fetch(client: &Client, server: &str, only: &[String], cache: Option<&Path>) -> Result<Fetched, Error> {
    let wanted = groups_of(only);
    let wants = |group: &str| wanted.as_ref().is_none_or(|w| w.contains(group));
    let index_path = "/openapi/v3";
    let (index, crds, discovery) = futures::future::try_join3(
        get_json(client, server, index_path, None),
        list_crds(client, server),
        discovered(client, server),
    )
    .await?;
    let Some(paths) = index["paths"].as_object() else {
        return Err(cluster_error(server, index_path, "expected an object with `paths`".into()));
    };

    // Custom resources: the CRDs themselves. Their group-versions' v3 documents are the same
    // schemas in another form and are not read as well.
    let mut documents = Vec::new();
    let mut from_crds: BTreeSet<(String, String)> = BTreeSet::new();
    for mut crd in crds {
        let group = crd["spec"]["group"].as_str().unwrap_or_default().to_owned();
        let name = crd["metadata"]["name"].as_str().unwrap_or_default().to_owned();
        for version in crd["spec"]["versions"].as_array().into_iter().flatten() {
            if let Some(v) = version["name"].as_str() {
                from_crds.insert((group.clone(), v.to_owned()));
            }
        }
        if !wants(&group) {
            continue;
        }
        // Items of a list carry no kind; the reader knows a CRD by it.
        crd["apiVersion"] = json!("apiextensions.k8s.io/v1");
        crd["kind"] = json!("CustomResourceDefinition");
        let path = format!("{server}/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}");
        documents.push((PathBuf::from(path), crd));
    }

    // Every other group-version: its v3 document; and the documents of the API's other paths
    // (`version`, `api`, `apis/<group>`), whose types are the API's too, unless `only` narrows.
    let mut targets: Vec<(String, String)> = Vec::new();
    for (path, entry) in paths {
        match path.split('/').collect::<Vec<_>>().as_slice() {
            ["api", version] if from_crds.contains(&(String::new(), (*version).to_owned())) || !wants("") => continue,
            ["apis", group, version]
                if from_crds.contains(&((*group).to_owned(), (*version).to_owned())) || !wants(group) =>
            {
                continue;
            }
            ["api", _] | ["apis", _, _] => {}
            _ if wanted.is_some() => continue,
            _ => {}
        }
        let Some(url) = entry["serverRelativeURL"].as_str() else {
            return Err(cluster_error(
                server,
                index_path,
                format!("the entry of `{path}` has no `serverRelativeURL` string"),
            ));
        };
        targets.push((path.clone(), url.to_owned()));
    }
    let mut fetched: Vec<(String, Value)> = futures::stream::iter(targets)
        .map(|(path, url): (String, String)| async move {
            let document = cached_get(client, server, &url, cache).await?;
            Ok::<_, Error>((path, document))
        })
        .buffer_unordered(CONCURRENT)
        .try_collect()
        .await?;
    fetched.sort_by(|a, b| a.0.cmp(&b.0));
    let published: BTreeSet<String> = paths.keys().cloned().collect();
    for (path, document) in fetched {
        documents.push((PathBuf::from(format!("{server}/openapi/v3/{path}")), document));
    }

    let unpublished = discovery
        .into_iter()
        .filter(|(group, _)| wants(group))
        .filter(|(group, version)| {
            let path = if group.is_empty() { format!("api/{version}") } else { format!("apis/{group}/{version}") };
            !published.contains(&path) && !from_crds.contains(&(group.clone(), version.clone()))
        })
        .map(|(group, version)| if group.is_empty() { version } else { format!("{group}/{version}") })
        .collect();
    Ok(Fetched { documents, unpublished })
}

/// Every CRD, a page at a time.
async fn list_crds(client: &Client, server: &str) -> Result<Vec<Value>, Error> {
    let mut items = Vec::new();
    let mut token = String::new();
    loop {
        let mut path = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions?limit=250".to_owned();
        if !token.is_empty() {
            path.push_str("&continue=");
            path.extend(form_urlencoded::byte_serialize(token.as_bytes()));
        }
        let mut page = get_json(client, server, &path, None).await?;
        match page["items"].take() {
            Value::Array(page_items) => items.extend(page_items),
            Value::Null => {}
            _ => return Err(cluster_error(server, &path, "expected `items` to be an array".into())),
        }
        token = page["metadata"]["continue"].as_str().unwrap_or_default().to_owned();
        if token.is_empty() {
            return Ok(items);
        }
    }
}

/// The group-versions discovery lists (aggregated discovery, one request per `/api` and
/// `/apis`), as (group, version).
async fn discovered(client: &Client, server: &str) -> Result<Vec<(String, String)>, Error> {
    const ACCEPT: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json";
    let mut out = Vec::new();
    for root in ["/api", "/apis"] {
        let list = get_json(client, server, root, Some(ACCEPT)).await?;
        // A server without aggregated discovery answers the plain form: nothing to compare.
        if list["kind"] != "APIGroupDiscoveryList" {
            return Ok(Vec::new());
        }
        for group in list["items"].as_array().into_iter().flatten() {
            let name = group["metadata"]["name"].as_str().unwrap_or_default();
            for version in group["versions"].as_array().into_iter().flatten() {
                if let Some(v) = version["version"].as_str() {
                    out.push((name.to_owned(), v.to_owned()));
                }
            }
        }
    }
    Ok(out)
}

/// A document by its index URL; a URL with `hash=` is read from and written to `cache`.
async fn cached_get(client: &Client, server: &str, url: &str, cache: Option<&Path>) -> Result<Value, Error> {
    let hash = url.split_once('?').and_then(|(_, query)| {
        form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "hash").map(|(_, v)| v.into_owned())
    });
    let file = match (cache, hash) {
        (Some(dir), Some(hash)) if hash.chars().all(|c| c.is_ascii_alphanumeric()) => {
            let path = url.split('?').next().unwrap_or(url).trim_start_matches('/').replace('/', "__");
            Some(dir.join("openapi-v3").join(format!("{path}.{hash}.json")))
        }
        _ => None,
    };
    if let Some(file) = &file
        && let Ok(bytes) = std::fs::read(file)
        && let Ok(document) = serde_json::from_slice(&bytes)
    {
        return Ok(document);
    }
    let document = get_json(client, server, url, None).await?;
    if let Some(file) = &file {
        // A cache that cannot be written costs the next run a fetch, nothing more.
        let _ = write_atomically(file, &document);
    }
    Ok(document)
}

fn write_atomically(file: &Path, document: &Value) -> std::io::Result<()> {
    let dir = file.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let bytes = serde_json::to_vec(document).map_err(std::io::Error::other)?;
    let partial = file.with_extension(format!("partial.{}", std::process::id()));
    std::fs::write(&partial, bytes)?;
    std::fs::rename(&partial, file)
}
