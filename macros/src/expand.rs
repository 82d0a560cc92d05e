//! The expansion: the root struct and its traits, `crd()`, and the typed client, lister and
//! informer, which come from kube-codegen's emitters run on the IR the reader makes of the
//! derive's CRD, exactly as `kube-codegen generate` makes it of a CRD file.

use darling::FromDeriveInput;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use serde_json::{Value, json};

use crate::attrs::{KubeAttrs, SchemaMode};

/// The derive, with every attribute error reported.
pub fn derive(input: TokenStream) -> TokenStream {
    let input: syn::DeriveInput = match syn::parse2(input) {
        Ok(i) => i,
        Err(e) => return e.to_compile_error(),
    };
    let attrs = match KubeAttrs::from_derive_input(&input) {
        Ok(a) => a,
        Err(e) => return e.write_errors(),
    };
    match expand(&attrs, &input) {
        Ok(tokens) => tokens,
        Err(e) => e.write_errors(),
    }
}

/// `widgets` for `widget`: the English plural, as Kubernetes and kube-derive form it.
pub fn plural(singular: &str) -> String {
    let consonant_y = singular.ends_with('y')
        && !singular.ends_with("ay")
        && !singular.ends_with("ey")
        && !singular.ends_with("oy")
        && !singular.ends_with("uy");
    if consonant_y {
        format!("{}ies", &singular[..singular.len() - 1])
    } else if ["s", "x", "z", "ch", "sh"].iter().any(|e| singular.ends_with(e)) {
        format!("{singular}es")
    } else {
        format!("{singular}s")
    }
}

/// The CRD the attributes describe, without its schema (which schemars makes at run time).
pub fn crd_json(a: &KubeAttrs) -> Value {
    let singular = a.singular.clone().unwrap_or_else(|| a.kind.to_lowercase());
    let plural = a.plural.clone().unwrap_or_else(|| plural(&singular));
    let mut names =
        json!({"kind": a.kind, "plural": plural, "singular": singular, "listKind": format!("{}List", a.kind)});
    if !a.shortnames.is_empty() {
        names["shortNames"] = json!(a.shortnames);
    }
    if !a.categories.is_empty() {
        names["categories"] = json!(a.categories);
    }
    let mut version = json!({
        "name": a.version,
        "served": a.served.unwrap_or(true),
        "storage": a.storage.unwrap_or(true),
    });
    if a.status.is_some() {
        let mut subresources = json!({"status": {}});
        if let Some(s) = &a.scale {
            let mut scale =
                json!({"specReplicasPath": s.spec_replicas_path, "statusReplicasPath": s.status_replicas_path});
            if let Some(l) = &s.label_selector_path {
                scale["labelSelectorPath"] = json!(l);
            }
            subresources["scale"] = scale;
        }
        version["subresources"] = subresources;
    }
    if !a.printcolumn.is_empty() {
        version["additionalPrinterColumns"] = Value::Array(a.printcolumn.iter().map(|c| c.0.clone()).collect());
    }
    if !a.selectable.is_empty() {
        version["selectableFields"] = Value::Array(a.selectable.iter().map(|p| json!({"jsonPath": p})).collect());
    }
    match &a.deprecated {
        None => {}
        Some(darling::util::Override::Inherit) => version["deprecated"] = json!(true),
        Some(darling::util::Override::Explicit(warning)) => {
            version["deprecated"] = json!(true);
            version["deprecationWarning"] = json!(warning);
        }
    }
    let mut metadata = json!({"name": format!("{plural}.{}", a.group)});
    if !a.annotations.is_empty() {
        metadata["annotations"] = a.annotations.iter().map(|kv| (kv.0.clone(), json!(kv.1))).collect();
    }
    if !a.labels.is_empty() {
        metadata["labels"] = a.labels.iter().map(|kv| (kv.0.clone(), json!(kv.1))).collect();
    }
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": metadata,
        "spec": {
            "group": a.group,
            "names": names,
            "scope": if a.namespaced.is_present() { "Namespaced" } else { "Cluster" },
            "versions": [version],
        },
    })
}

/// Checks what darling cannot: names that must be identifiers, and `scale` without `status`.
fn validate(a: &KubeAttrs) -> darling::Result<()> {
    let mut errors = darling::Error::accumulator();
    let is_ident = |s: &str| syn::parse_str::<syn::Ident>(s).is_ok();
    if !is_ident(&a.kind) {
        errors.push(darling::Error::custom(format!("kind `{}` is not a Rust identifier", a.kind)).with_span(&a.ident));
    }
    if let Some(root) = &a.root
        && !is_ident(root)
    {
        errors.push(darling::Error::custom(format!("root `{root}` is not a Rust identifier")).with_span(&a.ident));
    }
    if a.group.is_empty() || a.version.is_empty() {
        errors.push(darling::Error::custom("group and version must not be empty").with_span(&a.ident));
    }
    for (flag, name) in [(&a.no_spec, "no_spec"), (&a.cel, "cel")] {
        if flag.is_present() {
            errors.push(
                darling::Error::custom(format!("`{name}` (kube-derive) is not supported by kube-codegen's derive"))
                    .with_span(&flag.span()),
            );
        }
    }
    if let (Some(scale), None) = (&a.scale, &a.status) {
        errors.push(
            darling::Error::custom("`scale` needs a `status`: the scale subresource reads replicas from the status")
                .with_span(&scale.span()),
        );
    }
    errors.finish()
}

fn expand(a: &KubeAttrs, input: &syn::DeriveInput) -> darling::Result<TokenStream> {
    validate(a)?;
    let crd = crd_json(a);
    let root_name = a.root.clone().unwrap_or_else(|| a.kind.clone());
    let root = format_ident!("{root_name}");
    let spec = &a.ident;
    let vis = &a.vis;
    let rt =
        a.crates.kube_codegen_runtime.clone().map(|p| quote!(#p)).unwrap_or_else(|| quote!(::kube_codegen_runtime));
    let k8s = a.crates.k8s_openapi.clone().map(|p| quote!(#p)).unwrap_or_else(|| quote!(#rt::__private::k8s_openapi));
    let kube_core = match (&a.crates.kube_core, &a.crates.kube) {
        (Some(p), _) => quote!(#p),
        (None, Some(kube)) => quote!(#kube::core),
        (None, None) => quote!(#rt::__private::kube_core),
    };

    let group = &a.group;
    let version = &a.version;
    let kind = &a.kind;
    let api_version = format!("{group}/{version}");
    let plural = crd["spec"]["names"]["plural"].as_str().unwrap_or_default().to_owned();
    let list_kind = format!("{kind}List");
    let scope = if a.namespaced.is_present() { format_ident!("Namespaced") } else { format_ident!("Cluster") };
    let crd_name = format!("{plural}.{group}");
    let crd_text = crd.to_string();
    let shortnames = &a.shortnames;

    let doc = a
        .doc
        .clone()
        .unwrap_or_else(|| format!("The `{kind}` custom resource of `{api_version}`, whose spec is `{spec}`."));
    let doc_lines = doc.lines().map(|l| format!(" {l}"));
    let derives = &a.derives;
    let extra_attrs = a.attrs_for_root.iter().map(|r| &r.0);
    let status_field = a.status.as_ref().map(|s| {
        quote! {
            /// The observed state.
            pub status: Option<#s>,
        }
    });
    let status_object = a.status.as_ref().map(|s| quote!("status" => status: Option<#s> [optional],));
    let status_init = a.status.as_ref().map(|_| quote!(status: None,));
    let metadata = quote!(#k8s::apimachinery::pkg::apis::meta::v1::ObjectMeta);
    let has_status = a.status.is_some();
    let scale_field = a.scale.as_ref().map(|s| {
        let (spec, status) = (&s.spec_replicas_path, &s.status_replicas_path);
        match &s.label_selector_path {
            Some(selector) => quote!(scale: (#spec, #status, #selector),),
            None => quote!(scale: (#spec, #status),),
        }
    });
    let selectable: Vec<String> = a.selectable.iter().map(|p| p.trim_start_matches('.').to_owned()).collect();

    let schema_mode = a.schema.unwrap_or(SchemaMode::Derived);
    let validations = a.validations.iter().map(|v| &v.0);
    let derive = quote!(#rt::__private::derive);
    let schema = if schema_mode == SchemaMode::Derived {
        let status_schema = match &a.status {
            Some(s) => quote!(Some(#derive::schema_for::<Option<#s>>())),
            None => quote!(None),
        };
        quote! {
            Some(#derive::root_schema(
                #kind,
                #doc,
                #derive::schema_for::<#spec>(),
                #status_schema,
                vec![#(#kube_core::Rule::from(#validations)),*],
            ))
        }
    } else {
        quote!(None)
    };

    let client_items = client_items(&crd, &crd_name, &root_name, &rt, vis)?;
    let apply_items = apply_items(a, input, &root, &rt)?;

    Ok(quote! {
        #(#[doc = #doc_lines])*
        #[derive(Clone, Debug, #(#derives),*)]
        #(#[#extra_attrs])*
        #vis struct #root {
            /// Standard object metadata.
            pub metadata: #metadata,
            /// The desired state.
            pub spec: #spec,
            #status_field
        }

        #rt::resource! {
            #root {
                api_version: #api_version,
                group: #group,
                version: #version,
                kind: #kind,
                plural: #plural,
                scope: #scope,
                list_kind: #list_kind,
                custom: true,
                status: #has_status,
                #scale_field
                selectable: [#(#selectable),*],
                derived: crd,
            }
        }

        #rt::object! {
            #root [resource] {
                "metadata" => metadata: #metadata [required],
                "spec" => spec: #spec [required],
                #status_object
            }
        }

        impl #root {
            /// A new object called `name` with `spec`.
            #vis fn new(name: &str, spec: #spec) -> Self {
                Self {
                    metadata: #metadata { name: Some(name.to_owned()), ..Default::default() },
                    spec,
                    #status_init
                }
            }

            /// The CRD of this resource as JSON, before its schema is added.
            #[doc(hidden)]
            pub const __KUBE_CODEGEN_CRD: &'static str = #crd_text;
        }

        impl #kube_core::CustomResourceExt for #root {
            fn crd() -> #k8s::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition {
                #derive::crd(Self::__KUBE_CODEGEN_CRD, #schema)
            }

            fn crd_name() -> &'static str {
                #crd_name
            }

            fn api_resource() -> #kube_core::ApiResource {
                #kube_core::ApiResource::erase::<Self>(&())
            }

            fn shortnames() -> &'static [&'static str] {
                &[#(#shortnames),*]
            }
        }

        #apply_items

        #client_items
    })
}

/// The apply configurations: the spec's (from its fields) and the root's, `<Root>Apply`, whose
/// status is the status type whole, or its configuration with `#[apply(nested_status)]`.
fn apply_items(
    a: &KubeAttrs,
    input: &syn::DeriveInput,
    root: &syn::Ident,
    rt: &TokenStream,
) -> darling::Result<TokenStream> {
    let attrs = crate::apply::container_attrs(&input.attrs)?;
    let spec = &a.ident;
    let vis = &a.vis;
    // A configuration's setter takes it exactly; a type applied whole is taken by `Into`.
    let (spec_ty, spec_mode, spec_items) = match crate::apply::struct_apply(input, rt, &[])? {
        Some((name, tokens)) => (quote!(#name), format_ident!("exact"), tokens),
        None => (quote!(#spec), format_ident!("value"), TokenStream::new()),
    };
    let meta = quote!(#rt::apply::ObjectMetaApply);
    let status_ty = a
        .status
        .as_ref()
        .map(|s| if attrs.nested_status { quote!(<#s as #rt::apply::ApplyType>::Apply) } else { quote!(#s) });
    let status_field = status_ty.as_ref().map(|s| {
        quote! {
            /// The observed state.
            pub status: ::core::option::Option<#s>,
        }
    });
    let status_mode = if attrs.nested_status { format_ident!("exact") } else { format_ident!("value") };
    let status_entry = status_ty.as_ref().map(|s| quote!("status" => status: #s [#status_mode],));
    let extract_status = a.status.as_ref().map(|_| quote!(, extract_status = "status"));
    let scope = if a.namespaced.is_present() { format_ident!("Namespaced") } else { format_ident!("Cluster") };
    let name = format_ident!("{root}Apply");
    let doc = format!(" The apply configuration of a [`{root}`]: only the fields set are sent.");
    Ok(quote! {
        #spec_items

        #[doc = #doc]
        #[derive(Clone)]
        #vis struct #name {
            /// Standard object metadata.
            pub metadata: ::core::option::Option<#meta>,
            /// The desired state.
            pub spec: ::core::option::Option<#spec_ty>,
            #status_field
        }

        #rt::apply! {
            #name [#root, #scope #extract_status] {
                "metadata" => metadata: #meta [exact],
                "spec" => spec: #spec_ty [#spec_mode],
                #status_entry
            }
        }
    })
}

/// The typed client, lister and informer, from kube-codegen's emitters over the IR that its
/// reader makes of this CRD, as `kube-codegen generate` would make them: with the `client`
/// feature, which the runtime's `client` turns on.
#[cfg(feature = "client")]
fn client_items(
    crd: &serde_json::Value,
    crd_name: &str,
    root_name: &str,
    rt: &TokenStream,
    vis: &syn::Visibility,
) -> darling::Result<TokenStream> {
    // An unserved version still gets its client (a merged CRD may serve it); the reader skips
    // unserved versions, so it reads this one as served.
    let mut readable = crd.clone();
    readable["spec"]["versions"][0]["served"] = json!(true);
    let model = kube_codegen_openapi::read_bytes(std::path::Path::new(crd_name), readable.to_string().as_bytes())
        .map_err(|e| {
            darling::Error::custom(format!("internal error: kube-codegen cannot read the derived CRD: {e}"))
        })?;
    let resource = model
        .resources
        .first()
        .ok_or_else(|| darling::Error::custom("internal error: kube-codegen finds no resource in the derived CRD"))?;
    // The runtime's path, as `crates(kube_codegen_runtime = ...)` names it (the CLI's
    // `--runtime-path`), in the emitters' syn.
    let runtime_text = quote!(#rt).to_string();
    let runtime: kube_codegen::derive::Path = kube_codegen::derive::parse_path(&runtime_text)
        .ok_or_else(|| darling::Error::custom(format!("`{runtime_text}` is not a path to kube-codegen-runtime")))?;
    let items = kube_codegen::derive::resource_items(resource, root_name, runtime);
    let (names, item_tokens): (Vec<proc_macro2::Ident>, Vec<TokenStream>) = items.into_iter().unzip();
    let module = format_ident!("__kube_codegen_{}", root_name.to_lowercase());
    let rt_client = quote!(#rt::client);
    Ok(quote! {
        // The client, lister and informer, when the runtime has its client.
        #rt::__client_items! {
            #[doc(hidden)]
            #[allow(non_snake_case)]
            mod #module {
                #[allow(unused_imports)]
                use super::*;
                use #rt_client as rt;
                #(#item_tokens)*
            }
            #vis use #module::{#(#names),*};
        }
    })
}

/// Without the `client` feature (the runtime without its client), a derived resource is its
/// type and CRD alone.
#[cfg(not(feature = "client"))]
fn client_items(
    _: &serde_json::Value,
    _: &str,
    _: &str,
    _: &TokenStream,
    _: &syn::Visibility,
) -> darling::Result<TokenStream> {
    Ok(TokenStream::new())
}
