//! The defaults the API server fills into the built-in workloads on every write, so objects
//! read back from the fake look as they would from a cluster: pod specs (and the pod
//! templates of Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs and CronJobs),
//! Deployments and Jobs, with the Job's selector and labels.

use serde_json::{Map, Value, json};

/// Fills in the defaults of an object of `(group, plural)`: values its writer owns.
pub(super) fn apply(group: &str, plural: &str, object: &mut Value) {
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
