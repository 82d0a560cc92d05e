//! Reads Kubernetes API descriptions into the kube-codegen IR.
//!
//! Inputs, recognised by content: Kubernetes OpenAPI v2 (`swagger.json`), OpenAPI v3 group
//! documents (`/openapi/v3/apis/<group>/<version>`), and `apiextensions.k8s.io/v1`
//! CustomResourceDefinitions in YAML 1.2 or JSON (several documents per file, `kind: List`).
//! They become one [`Model`]: the served [`Resource`]s and an arena of named [`TypeDef`]s.
//!
//! ```no_run
//! let model = kube_codegen_openapi::read(&["crds/"])?;
//! for r in &model.resources {
//!     println!("{}/{} {}", r.group, r.version, r.plural);
//! }
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
