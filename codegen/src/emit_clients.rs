//! Emits the clientset: a `<Kind>Client` per resource with exactly the verbs and subresources
//! its spec declares, a client per group-version, and the root `Clientset`.

use kube_codegen_openapi::{Resource, Scope, Subresource, Verbs};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::naming::{gv_accessor, gv_client_name};
use crate::plan::{Item, Plan, ResourcePlan, module_path};
use crate::rust_names::{Prelude, ident, snake};
use crate::typespace::ModPath;

/// The alias of the runtime's client module in a module with clients (see `output`).
pub fn rt_use(runtime: &str) -> String {
    format!("use {runtime}::client as rt;")
}

/// Every clientset item of a plan.
pub fn items(plan: &Plan) -> Vec<Item> {
    let mut out = Vec::new();
    for (module, list) in &plan.modules {
        for resource in list {
            out.push(resource_client(&plan.runtime, resource));
        }
        out.push(gv_client(module, list));
    }
    if !plan.modules.is_empty() {
        out.push(clientset(&plan.runtime, plan.modules.keys()));
    }
    out
}

fn rt(name: &str) -> TokenStream {
    let name = format_ident!("{name}");
    quote!(rt::#name)
}

/// The typed client of one resource.
pub fn resource_client(runtime: &syn::Path, plan: &ResourcePlan) -> Item {
    let ResourcePlan { resource: r, module, object, names, prelude, deprecated, .. } = plan;
    let name = names.client.clone();
    let client_ident = ident(&name);
    let gv = if r.group.is_empty() { r.version.clone() } else { format!("{}/{}", r.group, r.version) };
    let (kind, plural) = (&r.kind, &r.plural);
    let namespaced = r.scope == Scope::Namespaced;
    let (client, resource_client, api) = (rt("Client"), rt("ResourceClient"), rt("Api"));

    let summary =
        format!(" `{plural}` of `{gv}` (`{kind}`), {}.", if namespaced { "namespaced" } else { "cluster-scoped" });
    let methods_doc = format!(" Its methods are the verbs and subresources the API declares: {}.", list_text(r));
    let new = if namespaced {
        let doc = format!(" A client for the `{plural}` in `namespace`.");
        quote! {
            #[doc = #doc]
            #[inline]
            pub fn new(client: #client, namespace: &str) -> Self {
                Self(#resource_client::namespaced(client, namespace))
            }
        }
    } else {
        let doc = format!(" A client for the `{plural}` of the cluster.");
        quote! {
            #[doc = #doc]
            #[inline]
            pub fn new(client: #client) -> Self {
                Self(#resource_client::cluster(client))
            }
        }
    };

    let mut methods = verb_methods(r, object, plan.apply.as_ref(), prelude);
    let mut ws = Vec::new();
    let mut markers = Vec::new();
    for (index, s) in r.subresources.iter().enumerate() {
        if s.connect {
            connect_methods(runtime, plan, s, &mut methods, &mut ws, &mut markers);
        } else {
            let sub = plan.subresource_type(index);
            // What applying through the subresource takes: the resource's configuration where
            // the subresource's kind is the resource's (`status`), a `Scale`'s for `scale`.
            let apply = match &plan.apply {
                Some(apply) if sub.to_string() == object.to_string() => Some(apply.clone()),
                Some(_) if s.name == "scale" => Some(quote!(#runtime::apply::ScaleApply)),
                _ => None,
            };
            subresource_methods(r, s, &sub, apply.as_ref(), prelude, &mut methods);
        }
    }
    // A subresource whose method name another method has (a subresource called `opt` would
    // make a second `get_opt`) keeps only the first.
    let mut seen = std::collections::HashSet::new();
    methods.retain(|m| seen.insert(m.name.to_string()));
    let methods = methods.iter().map(Method::tokens);
    let ws = (!ws.is_empty()).then(|| {
        let ws = ws.iter().map(Method::tokens);
        quote! {
            #(#markers)*
            impl #client_ident {
                #(#ws)*
            }
        }
    });
    let tokens = quote! {
        #[doc = #summary]
        #[doc = ""]
        #[doc = #methods_doc]
        #deprecated
        #[derive(Clone)]
        pub struct #client_ident(#resource_client<#object>);

        impl #client_ident {
            #new
            /// The same requests through `kube::Api`, for anything these methods do not cover.
            #[inline]
            pub fn api(&self) -> &#api<#object> {
                self.0.api()
            }
            #(#methods)*
        }
    };
    Item { module: module.clone(), name, tokens, ws, uses_rt: true }
}

/// One client method: a call into the runtime's `ResourceClient` whose future it returns.
///
/// Methods return `impl Future` rather than being `async fn`s: an `async fn` wrapper is a
/// state machine of its own per method, and type-checking a thousand of them made the whole
/// v1.36 clientset take 2.7 s to compile against 0.5 s this way. Every reference argument
/// and the future share the lifetime `'a`, which reads the same in editions 2021 and 2024.
struct Method {
    doc: String,
    name: proc_macro2::Ident,
    /// Type parameters after `'a`, with their bounds.
    generics: Option<TokenStream>,
    /// `name: &'a str, ...`, after `&'a self`.
    args: TokenStream,
    output: TokenStream,
    where_clause: Option<TokenStream>,
    body: TokenStream,
}

impl Method {
    fn new(name: &str, doc: String, args: TokenStream, output: TokenStream, body: TokenStream) -> Method {
        Method { doc, name: ident(name), generics: None, args, output, where_clause: None, body }
    }

    /// A method generic over the patch body `P`.
    fn patch(mut self) -> Method {
        let serialize = rt("Serialize");
        self.generics = Some(quote!(P: #serialize + std::fmt::Debug + 'a));
        self
    }

    fn tokens(&self) -> TokenStream {
        let Method { doc, name, generics, args, output, where_clause, body } = self;
        let generics = generics.as_ref().map(|g| quote!(, #g));
        quote! {
            #[doc = #doc]
            #[inline]
            pub fn #name<'a #generics>(&'a self, #args) -> impl std::future::Future<Output = #output> + 'a
            #where_clause
            {
                self.0.#body
            }
        }
    }
}

/// The methods of the resource's own verbs.
fn verb_methods(r: &Resource, object: &TokenStream, apply: Option<&TokenStream>, prelude: &Prelude) -> Vec<Method> {
    let option = prelude.path("Option");
    let (kind, plural) = (&r.kind, &r.plural);
    let result = rt("Result");
    let (lp, wp, pp, patch_params, patch, dp) =
        (rt("ListParams"), rt("WatchParams"), rt("PostParams"), rt("PatchParams"), rt("Patch"), rt("DeleteParams"));
    let (either, status, object_list) = (rt("Either"), rt("Status"), rt("ObjectList"));
    let (box_stream, watch_event, partial) = (rt("BoxStream"), rt("WatchEvent"), rt("PartialObjectMeta"));
    let v = r.verbs;
    let mut out = Vec::new();
    if v.contains(Verbs::GET) {
        out.push(Method::new(
            "get",
            format!(" Gets the `{kind}` called `name`."),
            quote!(name: &'a str),
            quote!(#result<#object>),
            quote!(get(name)),
        ));
        out.push(Method::new(
            "get_opt",
            format!(" Gets the `{kind}` called `name`, `None` when there is none."),
            quote!(name: &'a str),
            quote!(#result<#option<#object>>),
            quote!(get_opt(name)),
        ));
        out.push(Method::new(
            "get_metadata",
            format!(" Gets the metadata of the `{kind}` called `name` only (`PartialObjectMetadata`)."),
            quote!(name: &'a str),
            quote!(#result<#partial<#object>>),
            quote!(get_metadata(name)),
        ));
    }
    if v.contains(Verbs::LIST) {
        out.push(Method::new(
            "list",
            format!(" Lists `{plural}`: selectors, pagination and `resourceVersion` semantics in `lp`."),
            quote!(lp: &'a #lp),
            quote!(#result<#object_list<#object>>),
            quote!(list(lp)),
        ));
        out.push(Method::new(
            "list_metadata",
            format!(" Lists the metadata of `{plural}` only (`PartialObjectMetadataList`)."),
            quote!(lp: &'a #lp),
            quote!(#result<#object_list<#partial<#object>>>),
            quote!(list_metadata(lp)),
        ));
    }
    if v.contains(Verbs::WATCH) {
        out.push(Method::new(
            "watch",
            format!(" Watches `{plural}` from `version` (`\"0\"`: from any recent state)."),
            quote!(wp: &'a #wp, version: &'a str),
            quote!(#result<#box_stream<'static, #result<#watch_event<#object>>>>),
            quote!(watch(wp, version)),
        ));
        out.push(Method::new(
            "watch_metadata",
            format!(" Watches the metadata of `{plural}` only, from `version`."),
            quote!(wp: &'a #wp, version: &'a str),
            quote!(#result<#box_stream<'static, #result<#watch_event<#partial<#object>>>>>),
            quote!(watch_metadata(wp, version)),
        ));
    }
    if v.contains(Verbs::CREATE) {
        out.push(Method::new(
            "create",
            format!(" Creates a `{kind}`."),
            quote!(pp: &'a #pp, data: &'a #object),
            quote!(#result<#object>),
            quote!(create(pp, data)),
        ));
    }
    if v.contains(Verbs::UPDATE) {
        out.push(Method::new(
            "update",
            format!(
                " Replaces the `{kind}` called `name` (kube's `replace`); a stale `resourceVersion` is a conflict."
            ),
            quote!(name: &'a str, pp: &'a #pp, data: &'a #object),
            quote!(#result<#object>),
            quote!(update(name, pp, data)),
        ));
    }
    if v.contains(Verbs::PATCH) {
        out.push(
            Method::new(
                "patch",
                format!(" Patches the `{kind}` called `name`: JSON, merge, strategic merge or apply."),
                quote!(name: &'a str, pp: &'a #patch_params, patch: &'a #patch<P>),
                quote!(#result<#object>),
                quote!(patch(name, pp, patch)),
            )
            .patch(),
        );
        if let Some(apply) = apply {
            let ap = rt("ApplyParams");
            out.push(Method::new(
                "apply",
                format!(
                    " Server-side apply of `config` to the `{kind}` it names, as `ap`'s field manager: it owns what `config` sets, and a field it set before and no longer sets is removed unless another manager owns it."
                ),
                quote!(config: &'a #apply, ap: &'a #ap),
                quote!(#result<#object>),
                quote!(apply(config, ap)),
            ));
        }
    }
    if v.contains(Verbs::DELETE) {
        out.push(Method::new(
            "delete",
            format!(
                " Deletes the `{kind}` called `name`: the object while finalizers keep it, else the server's `Status`."
            ),
            quote!(name: &'a str, dp: &'a #dp),
            quote!(#result<#either<#object, #status>>),
            quote!(delete(name, dp)),
        ));
    }
    if v.contains(Verbs::DELETECOLLECTION) {
        out.push(Method::new(
            "delete_collection",
            format!(" Deletes the `{plural}` that `lp` selects."),
            quote!(dp: &'a #dp, lp: &'a #lp),
            quote!(#result<#either<#object_list<#object>, #status>>),
            quote!(delete_collection(dp, lp)),
        ));
    }
    out
}

/// "create, get, list; subresources `status`, `scale`"
fn list_text(r: &Resource) -> String {
    let verbs: Vec<&str> = r.verbs.names().collect();
    let mut text = if verbs.is_empty() { "no verbs".to_owned() } else { verbs.join(", ") };
    if !r.subresources.is_empty() {
        let subs: Vec<String> = r.subresources.iter().map(|s| format!("`{}`", s.name)).collect();
        text.push_str(&format!("; subresources {}", subs.join(", ")));
    }
    text
}

/// Methods of a subresource that reads and writes an object of kind `sub`.
fn subresource_methods(
    r: &Resource,
    s: &Subresource,
    sub: &TokenStream,
    apply: Option<&TokenStream>,
    prelude: &Prelude,
    out: &mut Vec<Method>,
) {
    let string = prelude.path("String");
    let (result, pp, patch_params, patch, status) =
        (rt("Result"), rt("PostParams"), rt("PatchParams"), rt("Patch"), rt("Status"));
    let name = s.name.as_str();
    let (kind, sub_kind) = (&r.kind, &s.kind.kind);
    // The core API's named subresources, as kube-rs and client-go name their methods.
    match (name, r.group.as_str(), r.plural.as_str()) {
        ("eviction", "", "pods") if s.verbs.contains(Verbs::CREATE) => {
            let ep = rt("EvictParams");
            out.push(Method::new(
                "evict",
                " Evicts the pod called `name` (the `eviction` subresource), as its disruption budgets allow; the server answers with a `Status`.".into(),
                quote!(name: &'a str, ep: &'a #ep),
                quote!(#result<#status>),
                quote!(evict(name, ep)),
            ));
            return;
        }
        ("binding", "", "pods") if s.verbs.contains(Verbs::CREATE) => {
            out.push(Method::new(
                "bind",
                " Binds the pod called `name` to a node (the `binding` subresource); the server answers with a `Status`.".into(),
                quote!(name: &'a str, pp: &'a #pp, binding: &'a #sub),
                quote!(#result<#status>),
                quote!(create_subresource("binding", name, pp, binding)),
            ));
            return;
        }
        ("log", "", "pods") if s.verbs.contains(Verbs::GET) => {
            let (lp, async_buf_read) = (rt("LogParams"), rt("AsyncBufRead"));
            out.push(Method::new(
                "logs",
                " The log of a container of the pod called `name` (the `log` subresource).".into(),
                quote!(name: &'a str, lp: &'a #lp),
                quote!(#result<#string>),
                quote!(logs(name, lp)),
            ));
            out.push(Method::new(
                "log_stream",
                " The log of a container of the pod called `name` as a stream of bytes; `follow` in `lp` keeps it open.".into(),
                quote!(name: &'a str, lp: &'a #lp),
                quote!(#result<impl #async_buf_read>),
                quote!(log_stream(name, lp)),
            ));
            return;
        }
        ("token", "", "serviceaccounts") if s.verbs.contains(Verbs::CREATE) => {
            out.push(Method::new(
                "create_token",
                " Requests a token for the service account called `name` (the `token` subresource).".into(),
                quote!(name: &'a str, pp: &'a #pp, request: &'a #sub),
                quote!(#result<#sub>),
                quote!(create_subresource("token", name, pp, request)),
            ));
            return;
        }
        ("finalize", "", "namespaces") if s.verbs.contains(Verbs::UPDATE) => {
            out.push(Method::new(
                "finalize",
                " Replaces the finalizers of the namespace called `name` (the `finalize` subresource), which only `spec.finalizers` of `data` changes.".into(),
                quote!(name: &'a str, pp: &'a #pp, data: &'a #sub),
                quote!(#result<#sub>),
                quote!(update_subresource("finalize", name, pp, data)),
            ));
            return;
        }
        _ => {}
    }
    let suffix = match name {
        "ephemeralcontainers" => "ephemeral_containers".to_owned(),
        other => snake(other),
    };
    if s.verbs.contains(Verbs::GET) {
        out.push(Method::new(
            &format!("get_{suffix}"),
            format!(" Gets the `{name}` subresource (a `{sub_kind}`) of the `{kind}` called `name`."),
            quote!(name: &'a str),
            quote!(#result<#sub>),
            quote!(get_subresource(#name, name)),
        ));
    }
    if s.verbs.contains(Verbs::UPDATE) {
        out.push(Method::new(
            &format!("update_{suffix}"),
            format!(" Replaces the `{name}` subresource (a `{sub_kind}`) of the `{kind}` called `name`."),
            quote!(name: &'a str, pp: &'a #pp, data: &'a #sub),
            quote!(#result<#sub>),
            quote!(update_subresource(#name, name, pp, data)),
        ));
    }
    if s.verbs.contains(Verbs::PATCH) {
        out.push(
            Method::new(
                &format!("patch_{suffix}"),
                format!(" Patches the `{name}` subresource (a `{sub_kind}`) of the `{kind}` called `name`."),
                quote!(name: &'a str, pp: &'a #patch_params, patch: &'a #patch<P>),
                quote!(#result<#sub>),
                quote!(patch_subresource(#name, name, pp, patch)),
            )
            .patch(),
        );
        if let Some(apply) = apply {
            let ap = rt("ApplyParams");
            out.push(Method::new(
                &format!("apply_{suffix}"),
                format!(
                    " Server-side apply of `config` through the `{name}` subresource of the `{kind}` it names: `ap`'s field manager owns what `config` sets there."
                ),
                quote!(config: &'a #apply, ap: &'a #ap),
                quote!(#result<#sub>),
                quote!(apply_subresource(#name, config, ap)),
            ));
        }
    }
    if s.verbs.contains(Verbs::CREATE) {
        out.push(Method::new(
            &format!("create_{suffix}"),
            format!(" Posts a `{sub_kind}` to the `{name}` subresource of the `{kind}` called `name`."),
            quote!(name: &'a str, pp: &'a #pp, data: &'a #sub),
            quote!(#result<#sub>),
            quote!(create_subresource(#name, name, pp, data)),
        ));
    }
}

/// Methods of a `connect` subresource: kube's websocket support for `exec`, `attach` and
/// `portforward` (only with the runtime's `ws` feature), a pass-through request otherwise.
fn connect_methods(
    runtime: &syn::Path,
    plan: &ResourcePlan,
    s: &Subresource,
    out: &mut Vec<Method>,
    ws: &mut Vec<Method>,
    markers: &mut Vec<TokenStream>,
) {
    let ResourcePlan { object, local, prelude, .. } = plan;
    let result = rt("Result");
    let (into_iterator, into, string, vec) =
        (prelude.path("IntoIterator"), prelude.path("Into"), prelude.path("String"), prelude.path("Vec"));
    let ap = quote!(#runtime::kube::api::AttachParams);
    let process = quote!(#runtime::kube::api::AttachedProcess);
    // kube implements its markers for k8s-openapi's `Pod`; a generated type states them here.
    let mut marker = |name: &str| {
        let marker = format_ident!("{name}");
        if *local {
            markers.push(quote!(impl #runtime::kube::api::#marker for #object {}));
        }
    };
    match s.name.as_str() {
        "exec" => {
            marker("Execute");
            let mut exec = Method::new(
                "exec",
                " Runs `command` in a container of the pod called `name` (the `exec` subresource).".into(),
                quote!(name: &'a str, command: I, ap: &'a #ap),
                quote!(#result<#process>),
                quote!(exec(name, command, ap)),
            );
            exec.generics = Some(quote!(I, T));
            exec.where_clause =
                Some(quote!(where I: #into_iterator<Item = T> + std::fmt::Debug + 'a, T: #into<#string> + 'a,));
            ws.push(exec);
        }
        "attach" => {
            marker("Attach");
            ws.push(Method::new(
                "attach",
                " Attaches to a container of the pod called `name` (the `attach` subresource).".into(),
                quote!(name: &'a str, ap: &'a #ap),
                quote!(#result<#process>),
                quote!(attach(name, ap)),
            ));
        }
        "portforward" => {
            marker("Portforward");
            ws.push(Method::new(
                "portforward",
                " Forwards `ports` of the pod called `name` (the `portforward` subresource).".into(),
                quote!(name: &'a str, ports: &'a [u16]),
                quote!(#result<#runtime::kube::api::Portforwarder>),
                quote!(portforward(name, ports)),
            ));
        }
        other => {
            let http = rt("http");
            let method = if other == "proxy" { "proxy".to_owned() } else { format!("connect_{}", snake(other)) };
            out.push(Method::new(
                &method,
                format!(
                    " Sends `request` through the `{other}` subresource of the object called `name`: its path and query are appended to `.../{{name}}/{other}/`."
                ),
                quote!(name: &'a str, request: #http::Request<#vec<u8>>),
                quote!(#result<#http::Response<#runtime::kube::client::Body>>),
                quote!(connect(#other, name, request)),
            ));
        }
    }
}

fn gv_client(module: &ModPath, list: &[ResourcePlan]) -> Item {
    let name = gv_client_name(module);
    let id = ident(&name);
    let client = rt("Client");
    let gv =
        list.first().map(
            |ResourcePlan { resource: r, .. }| {
                if r.group.is_empty() { r.version.clone() } else { format!("{}/{}", r.group, r.version) }
            },
        );
    let doc = format!(" The `{}` API: a client for each of its resources.", gv.unwrap_or_default());
    let mut sorted: Vec<&ResourcePlan> = list.iter().collect();
    sorted.sort_by(|a, b| a.resource.plural.cmp(&b.resource.plural));
    let accessors = sorted.iter().map(|ResourcePlan { resource: r, object, names, deprecated, .. }| {
        let method = ident(&names.accessor);
        let typed = ident(&names.client);
        let plural = &r.plural;
        if r.scope == Scope::Namespaced {
            let doc = format!(" The `{plural}` in `namespace`.");
            let all =
                (r.all_namespaces && r.verbs.contains(Verbs::LIST) && r.verbs.contains(Verbs::WATCH)).then(|| {
                    let method = ident(&format!("{}_all", names.accessor));
                    let doc = format!(" The `{plural}` of every namespace: list and watch.");
                    let all = rt("AllNamespaces");
                    quote! {
                        #[doc = #doc]
                        #deprecated
                        pub fn #method(&self) -> #all<#object> {
                            #all::new(self.client.clone())
                        }
                    }
                });
            quote! {
                #[doc = #doc]
                #deprecated
                #[inline]
                pub fn #method(&self, namespace: &str) -> #typed {
                    #typed::new(self.client.clone(), namespace)
                }
                #all
            }
        } else {
            let doc = format!(" The `{plural}` of the cluster.");
            quote! {
                #[doc = #doc]
                #deprecated
                #[inline]
                pub fn #method(&self) -> #typed {
                    #typed::new(self.client.clone())
                }
            }
        }
    });
    let tokens = quote! {
        #[doc = #doc]
        #[derive(Clone)]
        pub struct #id {
            client: #client,
        }

        impl #id {
            /// A client of this group-version on `client`.
            pub fn new(client: #client) -> Self {
                Self { client }
            }
            #(#accessors)*
        }
    };
    Item { module: module.clone(), name, tokens, ws: None, uses_rt: true }
}

fn clientset<'a>(runtime: &syn::Path, modules: impl Iterator<Item = &'a ModPath>) -> Item {
    // The root holds the group modules, any of which may be called `rt`: full paths here.
    let client = quote!(#runtime::client::Client);
    let accessors = modules.map(|m| {
        let method = ident(&gv_accessor(m));
        let path = module_path(m);
        let ty = ident(&gv_client_name(m));
        let doc = format!(" The `{}` clients.", m.join("::"));
        quote! {
            #[doc = #doc]
            pub fn #method(&self) -> #path::#ty {
                #path::#ty::new(self.client.clone())
            }
        }
    });
    let tokens = quote! {
        /// Typed clients for every group-version generated here, on one `kube::Client`.
        #[derive(Clone)]
        pub struct Clientset {
            client: #client,
        }

        impl Clientset {
            /// A clientset on `client`.
            pub fn new(client: #client) -> Self {
                Self { client }
            }

            /// The `kube::Client` every request goes through.
            pub fn client(&self) -> &#client {
                &self.client
            }

            /// API discovery on the same client: `.run().await` asks the server what it serves.
            pub fn discovery(&self) -> #runtime::kube::Discovery {
                #runtime::kube::Discovery::new(self.client.clone())
            }
            #(#accessors)*
        }
    };
    Item { module: Vec::new(), name: "Clientset".into(), tokens, ws: None, uses_rt: false }
}
