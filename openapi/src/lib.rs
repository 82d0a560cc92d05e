//! Reads Kubernetes API descriptions into the kube-codegen IR.
//!
//! Inputs, recognised by content: Kubernetes OpenAPI v2 (`swagger.json`), OpenAPI v3 group
//! documents (`/openapi/v3/apis/<group>/<version>`), and `apiextensions.k8s.io/v1`
//! CustomResourceDefinitions in YAML 1.2 or JSON (several documents per file, `kind: List`).
//! They become one [`Model`]: the served [`Resource`]s and an arena of named [`TypeDef`]s.
//!
//! ```
//! // `read(&["crds/"])` reads files and folders; `read_bytes` one document in memory.
//! let crd = br#"{"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
//!   "metadata": {"name": "widgets.example.com"},
//!   "spec": {"group": "example.com", "scope": "Namespaced",
//!     "names": {"kind": "Widget", "plural": "widgets"},
//!     "versions": [{"name": "v1", "served": true, "storage": true,
//!       "schema": {"openAPIV3Schema": {"type": "object"}}}]}}"#;
//! let model = kube_codegen_openapi::read_bytes(std::path::Path::new("widgets.json"), crd)?;
//! let widgets = &model.resources[0];
//! assert_eq!((widgets.group.as_str(), widgets.version.as_str(), widgets.plural.as_str()), ("example.com", "v1", "widgets"));
//! # Ok::<(), kube_codegen_openapi::Error>(())
//! ```
//!
//! Every error names the file and the JSON pointer (or line and column) of the problem.

mod arena;
mod crd;
mod error;
mod fixups;
mod model;
mod openapi_doc;
mod pointer;
mod read;
mod schema;
mod select;
mod source;

pub use crd::definition_name;
pub use error::{Error, Location};
pub use model::*;
pub use read::{input_files, read, read_bytes, read_values};
