//! The generated clientset against real API-server traffic recorded from Kubernetes v1.36:
//! each recording is served back, the client's requests must match it, and the typed
//! responses must decode. Compiled and run in a harness by `tests/clientset_replay.rs`, with
//! the clientset generated from the v1.36 swagger as `harness::k8s`; the argument is the
//! folder of the recordings.

use futures::StreamExt;
use harness::k8s::Clientset;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::Job;
use kube_codegen_runtime::client::{DeleteParams, Either, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use kube_codegen_runtime::fake::{Exchange, Replay};

fn load(dir: &str, name: &str) -> (Replay, Vec<Exchange>) {
    let text = std::fs::read_to_string(format!("{dir}/{name}.json")).unwrap();
    let exchanges: Vec<Exchange> = serde_json::from_str(&text).unwrap();
    (Replay::new(exchanges.clone()), exchanges)
}

fn body<T: serde::de::DeserializeOwned>(e: &Exchange) -> T {
    serde_json::from_str(&e.request_body).unwrap()
}

fn check(name: &str, replay: &Replay) {
    if let Err(problems) = replay.finish() {
        panic!("{name}:\n{problems}");
    }
    println!("ok {name}");
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let dir = std::env::args().nth(1).expect("the replay folder");

    let (replay, _) = load(&dir, "deployment-list");
    let list = Clientset::new(replay.client()).apps_v1().deployments("kube-system").list(&ListParams::default()).await.unwrap();
    assert!(!list.items.is_empty());
    check("deployment-list", &replay);

    let (replay, _) = load(&dir, "pod-list");
    let list = Clientset::new(replay.client()).core_v1().pods("kube-system").list(&ListParams::default()).await.unwrap();
    assert!(list.items.iter().all(|p| p.spec.is_some()));
    check("pod-list", &replay);

    let (replay, exchanges) = load(&dir, "job-create");
    let cs = Clientset::new(replay.client());
    let jobs = cs.batch_v1().jobs("default");
    let job: Job = body(&exchanges[0]);
    let name = job.metadata.name.clone().unwrap();
    let created = jobs.create(&PostParams::default(), &job).await.unwrap();
    assert!(created.metadata.uid.is_some());
    let polls = exchanges.iter().filter(|e| e.request_method == "GET" && e.request_url.ends_with(&name)).count();
    for _ in 0..polls {
        jobs.get(&name).await.unwrap();
    }
    let pods = cs.core_v1().pods("default");
    pods.list(&ListParams::default()).await.unwrap();
    match jobs.delete(&name, &DeleteParams::default()).await.unwrap() {
        Either::Left(job) => assert!(job.metadata.deletion_timestamp.is_some()),
        Either::Right(status) => panic!("the recording returns the job, got {status:?}"),
    }
    let selector = format!("job-name={name}");
    let gone = pods.delete_collection(&DeleteParams::default(), &ListParams::default().labels(&selector)).await.unwrap();
    assert!(gone.is_left());
    check("job-create", &replay);

    let (replay, exchanges) = load(&dir, "patch-deployment");
    let deployments = Clientset::new(replay.client()).apps_v1().deployments("default");
    let deployment: Deployment = body(&exchanges[0]);
    let name = deployment.metadata.name.clone().unwrap();
    deployments.create(&PostParams::default(), &deployment).await.unwrap();
    let image = |d: &Deployment| d.spec.as_ref().unwrap().template.spec.as_ref().unwrap().containers[0].image.clone();
    let pp = PatchParams::default();
    let json: kube_codegen_runtime::client::json_patch::Patch = body(&exchanges[1]);
    let patched = deployments.patch(&name, &pp, &Patch::<()>::Json(json)).await.unwrap();
    assert_eq!(image(&patched).as_deref(), Some("alpine:3.7"));
    let merge: serde_json::Value = body(&exchanges[2]);
    let patched = deployments.patch(&name, &pp, &Patch::Merge(merge)).await.unwrap();
    assert_eq!(image(&patched).as_deref(), Some("alpine:3.8"));
    let strategic: serde_json::Value = body(&exchanges[3]);
    let patched = deployments.patch(&name, &pp, &Patch::Strategic(strategic)).await.unwrap();
    assert_eq!(image(&patched).as_deref(), Some("alpine:3.9"));
    assert!(deployments.delete(&name, &DeleteParams::default()).await.unwrap().is_right(), "the recording returns a Status");
    let selector = exchanges[5].request_url.split("labelSelector=").nth(1).unwrap().replace("%3D", "=");
    let pods = Clientset::new(replay.client()).core_v1().pods("default");
    pods.delete_collection(&DeleteParams::default(), &ListParams::default().labels(&selector)).await.unwrap();
    check("patch-deployment", &replay);

    let (replay, _) = load(&dir, "watch_event-watch_pods");
    let pods = Clientset::new(replay.client()).core_v1().pods("kube-system");
    let events: Vec<_> = pods.watch(&WatchParams::default().disable_bookmarks(), "").await.unwrap().collect().await;
    assert!(!events.is_empty());
    for event in events {
        assert!(matches!(event.unwrap(), WatchEvent::Added(_) | WatchEvent::Modified(_) | WatchEvent::Bookmark(_)));
    }
    check("watch_event-watch_pods", &replay);

    let (replay, _) = load(&dir, "watch_event-watch_pods_without_initial_events");
    let pods = Clientset::new(replay.client()).core_v1().pods("kube-system");
    let events: Vec<_> = pods.watch(&WatchParams::streaming_lists(), "0").await.unwrap().collect().await;
    let last = events.last().expect("events").as_ref().unwrap();
    match last {
        WatchEvent::Bookmark(b) => assert_eq!(b.metadata.annotations.get("k8s.io/initial-events-end").map(String::as_str), Some("true")),
        other => panic!("the stream ends with the initial-events bookmark, got {other:?}"),
    }
    check("watch_event-watch_pods_without_initial_events", &replay);
    println!("all replays matched");
}
