//! The defaults the API server fills into the built-in workloads on every write, so objects
//! read back from the fake look as they would from a cluster: pod specs (and the pod
//! templates of Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs and CronJobs),
//! Deployments and Jobs, with the Job's selector and labels.

use serde_json::{Map, Value, json};

/// Fills in the defaults of an object of `(group, plural)`: values its writer owns.
pub(super) fn apply(group: &str, plural: &str, object: &mut Value) {
    if (group, plural) == ("", "namespaces") {
        // The namespace's name as a label, for selectors.
        let name = object["metadata"]["name"].clone();
        if object["metadata"]["labels"].is_null() {
            object["metadata"]["labels"] = json!({});
        }
        object["metadata"]["labels"]["kubernetes.io/metadata.name"] = name;
        return;
    }
    if (group, plural) == ("", "services") {
        service(object);
        return;
    }
    let pod_spec_at = match (group, plural) {
        ("", "pods") => "/spec",
        ("", "podtemplates") => "/template/spec",
        ("apps", "deployments" | "statefulsets" | "daemonsets" | "replicasets")
        | ("", "replicationcontrollers")
        | ("batch", "jobs") => "/spec/template/spec",
        ("batch", "cronjobs") => "/spec/jobTemplate/spec/template/spec",
        _ => return,
    };
    if let Some(spec) = object.pointer_mut(pod_spec_at) {
        pod_spec(spec);
    }
    match (group, plural) {
        ("apps", "deployments") => {
            if let Some(spec) = object.get_mut("spec").filter(|s| s.is_object()) {
                default(spec, "replicas", json!(1));
                default(spec, "revisionHistoryLimit", json!(10));
                default(spec, "progressDeadlineSeconds", json!(600));
                default(
                    spec,
                    "strategy",
                    json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}),
                );
            }
        }
        ("batch", "jobs") => {
            if let Some(spec) = object.get_mut("spec").filter(|s| s.is_object()) {
                default(spec, "parallelism", json!(1));
                default(spec, "completions", json!(1));
                default(spec, "backoffLimit", json!(6));
                default(spec, "completionMode", json!("NonIndexed"));
                default(spec, "suspend", json!(false));
                default(spec, "podReplacementPolicy", json!("TerminatingOrFailed"));
                default(spec, "manualSelector", json!(false));
            }
        }
        _ => {}
    }
}

/// What the API server's create strategy adds that no writer owns: an empty status for the
/// workloads that report one, and a Job's selector and labels (by its uid, unless the user
/// picks the selector).
pub(super) fn prepare(group: &str, plural: &str, object: &mut Value) {
    match (group, plural) {
        ("", "services") => {
            // Allocated after defaulting, so no writer owns them: an address of 10.0.0.0/16
            // told by the object's uid (the fake's uids count up), one family.
            let serial = object["metadata"]["uid"]
                .as_str()
                .and_then(|uid| uid.rsplit('-').next())
                .and_then(|tail| u64::from_str_radix(tail, 16).ok())
                .unwrap_or(0);
            let address = format!("10.0.{}.{}", (serial / 250) % 256, serial % 250 + 2);
            let spec = &mut object["spec"];
            if spec["type"] != json!("ExternalName") {
                if spec["clusterIP"].is_null() {
                    spec["clusterIP"] = json!(address);
                }
                let ip = spec["clusterIP"].clone();
                default(spec, "clusterIPs", json!([ip]));
                default(spec, "ipFamilies", json!(["IPv4"]));
                default(spec, "ipFamilyPolicy", json!("SingleStack"));
            }
            default(object, "status", json!({"loadBalancer": {}}));
        }
        ("", "namespaces") => {
            default(object, "spec", json!({}));
            default(&mut object["spec"], "finalizers", json!(["kubernetes"]));
            default(object, "status", json!({}));
            default(&mut object["status"], "phase", json!("Active"));
        }
        ("apps", "deployments") => default(object, "status", json!({})),
        ("batch", "jobs") => {
            let uid = object["metadata"]["uid"].clone();
            job(object, &uid);
            default(object, "status", json!({}));
        }
        _ => {}
    }
}

fn default(object: &mut Value, key: &str, value: Value) {
    if !object.is_object() {
        *object = Value::Object(Map::new());
    }
    if object[key].is_null() {
        object[key] = value;
    }
}

/// A Service's defaults that its writer owns: its `type`, `sessionAffinity`, traffic policy, and
/// each port's protocol and target port.
fn service(object: &mut Value) {
    let Some(spec) = object.get_mut("spec").filter(|s| s.is_object()) else { return };
    default(spec, "type", json!("ClusterIP"));
    default(spec, "sessionAffinity", json!("None"));
    if spec["type"] != json!("ExternalName") {
        default(spec, "internalTrafficPolicy", json!("Cluster"));
    }
    for port in spec["ports"].as_array_mut().into_iter().flatten() {
        default(port, "protocol", json!("TCP"));
        let number = port["port"].clone();
        default(port, "targetPort", number);
    }
}

fn pod_spec(spec: &mut Value) {
    if !spec.is_object() {
        return;
    }
    default(spec, "restartPolicy", json!("Always"));
    default(spec, "terminationGracePeriodSeconds", json!(30));
    default(spec, "dnsPolicy", json!("ClusterFirst"));
    default(spec, "securityContext", json!({}));
    default(spec, "schedulerName", json!("default-scheduler"));
    for list in ["containers", "initContainers"] {
        for c in spec.get_mut(list).and_then(Value::as_array_mut).into_iter().flatten() {
            default(c, "resources", json!({}));
            default(c, "terminationMessagePath", json!("/dev/termination-log"));
            default(c, "terminationMessagePolicy", json!("File"));
            // `latest`, or no tag at all, is pulled every time.
            let image = c["image"].as_str().unwrap_or_default();
            let tag = image.rsplit('/').next().unwrap_or_default();
            let always = !image.contains('@') && tag.split_once(':').is_none_or(|(_, t)| t == "latest");
            default(c, "imagePullPolicy", json!(if always { "Always" } else { "IfNotPresent" }));
            for p in c.get_mut("ports").and_then(Value::as_array_mut).into_iter().flatten() {
                default(p, "protocol", json!("TCP"));
            }
        }
    }
}

fn job(object: &mut Value, uid: &Value) {
    let name = object["metadata"]["name"].clone();
    let Some(spec) = object.get_mut("spec").filter(|s| s.is_object()) else { return };
    let manual = spec["manualSelector"].as_bool().unwrap_or(false);
    let labels = json!({
        "batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": name,
        "controller-uid": uid, "job-name": name,
    });
    if !manual {
        default(spec, "selector", json!({"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}));
        let template = &mut spec["template"];
        default(template, "metadata", json!({}));
        default(&mut template["metadata"], "labels", json!({}));
        merge_labels(&mut template["metadata"]["labels"], &labels);
    }
    default(&mut object["metadata"], "labels", json!({}));
    merge_labels(&mut object["metadata"]["labels"], &labels);
}

fn merge_labels(target: &mut Value, labels: &Value) {
    if let (Some(t), Some(l)) = (target.as_object_mut(), labels.as_object()) {
        for (k, v) in l {
            t.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
}

/// Whether objects of a built-in resource count `metadata.generation` (their create strategy
/// sets it to 1), as kube-apiserver v1.36 does; custom resources always do.
pub(super) fn has_generation(group: &str, plural: &str) -> bool {
    matches!(
        (group, plural),
        ("apps", "deployments" | "statefulsets" | "daemonsets" | "replicasets")
            | ("", "pods" | "replicationcontrollers")
            | ("batch", "jobs" | "cronjobs")
            | ("policy", "poddisruptionbudgets")
            | ("networking.k8s.io", "ingresses" | "ingressclasses" | "networkpolicies")
            | ("scheduling.k8s.io", "priorityclasses")
            | ("discovery.k8s.io", "endpointslices")
            | ("apiextensions.k8s.io", "customresourcedefinitions")
            | ("flowcontrol.apiserver.k8s.io", "flowschemas" | "prioritylevelconfigurations")
            | ("admissionregistration.k8s.io", _)
    )
}

/// What Go's `omitempty` drops when a built-in object is encoded: the empty maps and lists of
/// its metadata and of the fields that hold data (`data`, `binaryData`, `stringData`).
pub(super) fn omit_empty(object: &mut Value) {
    let empty = |v: &Value| v.as_object().is_some_and(Map::is_empty) || v.as_array().is_some_and(Vec::is_empty);
    if let Some(fields) = object.as_object_mut() {
        fields.retain(|k, v| !(matches!(k.as_str(), "data" | "binaryData" | "stringData") && empty(v)));
    }
    if let Some(meta) = object["metadata"].as_object_mut() {
        meta.retain(|k, v| {
            !(matches!(k.as_str(), "labels" | "annotations" | "finalizers" | "ownerReferences") && empty(v))
        });
    }
}

/// Whether `group` is one of Kubernetes' own API groups (the core group, the unqualified ones,
/// and those under `k8s.io`).
pub(super) fn builtin_group(group: &str) -> bool {
    matches!(group, "" | "apps" | "batch" | "autoscaling" | "policy") || group.ends_with(".k8s.io") || group == "k8s.io"
}
