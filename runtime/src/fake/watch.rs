//! Watches: replay of the history window after a `resourceVersion`, 410 Gone before it,
//! `sendInitialEvents` with its end bookmark, periodic bookmarks, selectors that turn a change
//! into `ADDED` or `DELETED` as the object starts or stops matching, and live events.

use super::*;

impl ApiServer {
    pub(super) fn watch(&self, t: &Target) -> Handled {
        let filter = Filter::new(&t.query, &t.selectable()).map_err(|message| bad_request(&message))?;
        let timeout = t.query.get("timeoutSeconds").and_then(|s| s.parse::<u64>().ok());
        let streaming = t.query.get("sendInitialEvents").is_some_and(|v| v == "true");
        let from = t.query.get("resourceVersion").filter(|v| !v.is_empty() && *v != "0" && !streaming);
        let in_scope = {
            let namespace = t.namespace.clone();
            move |o: &Value| {
                namespace.as_ref().is_none_or(|ns| o["metadata"]["namespace"] == json!(ns)) && filter.matches(o)
            }
        };
        // The event a watch with these selectors sends for a change, if any.
        let wanted = {
            let resource = t.store.clone();
            let in_scope = in_scope.clone();
            move |e: &Event| -> Option<&'static str> {
                if e.resource != resource {
                    return None;
                }
                let now = in_scope(&e.object);
                match (e.kind, e.old.as_ref().map(&in_scope)) {
                    ("MODIFIED", Some(true)) if !now => Some("DELETED"),
                    ("MODIFIED", Some(false)) if now => Some("ADDED"),
                    ("MODIFIED", Some(false)) => None,
                    (kind, _) => now.then_some(kind),
                }
            }
        };
        // Under the lock: what happened so far, and a subscription to what happens next.
        let (initial, live) = {
            let state = self.lock();
            let live = self.events.subscribe();
            let initial: Vec<Value> = match from.map(|v| v.parse::<u64>()) {
                Some(Ok(rv)) if rv < state.compacted => vec![gone(rv, state.compacted)],
                Some(Ok(rv)) => state
                    .history
                    .iter()
                    .filter(|e| e.rv > rv)
                    .filter_map(|e| wanted(e).map(|kind| json!({"type": kind, "object": as_version(t, &e.object)})))
                    .collect(),
                Some(Err(_)) => return Err(malformed_version(from.map(String::as_str).unwrap_or_default())),
                // No version (or a streaming list): the current state as ADDED events, as the
                // real server does; a streaming list then marks its end with a bookmark.
                None => {
                    let mut events: Vec<Value> = state
                        .objects
                        .get(&t.store)
                        .into_iter()
                        .flat_map(|o| o.values())
                        .filter(|o| in_scope(o))
                        .map(|o| json!({"type": "ADDED", "object": as_version(t, o)}))
                        .collect();
                    // The end of the initial events is a bookmark, sent to those who take them.
                    if streaming && t.query.get("allowWatchBookmarks").is_some_and(|b| b == "true") {
                        let (kind, api_version) = if t.metadata_only {
                            ("PartialObjectMetadata".to_owned(), "meta.k8s.io/v1".to_owned())
                        } else {
                            (t.served.kind.clone(), api_version(&t.resource))
                        };
                        let mut bookmark = json!({
                            "apiVersion": api_version,
                            "kind": kind,
                            "metadata": {
                                "resourceVersion": state.rv.to_string(),
                                "annotations": {"k8s.io/initial-events-end": "true"},
                            },
                        });
                        // A bookmark is an empty object of the kind, as Go serializes one.
                        if (t.resource.0.as_str(), t.resource.2.as_str()) == ("", "pods") && !t.metadata_only {
                            bookmark["spec"] = json!({"containers": null});
                            bookmark["status"] = json!({});
                        }
                        events.push(json!({"type": "BOOKMARK", "object": bookmark}));
                    }
                    events
                }
            };
            (initial, live)
        };
        let ended = initial.first().is_some_and(|e| e["type"] == "ERROR");
        let initial = futures::stream::iter(initial.into_iter().map(line));
        // With allowWatchBookmarks, a BOOKMARK at the current resourceVersion each interval, as
        // the real server sends about once a minute.
        let bookmarks = t.query.get("allowWatchBookmarks").is_some_and(|v| v == "true");
        let every = self.lock().bookmark_interval.unwrap_or(DEFAULT_BOOKMARK_INTERVAL);
        let ticker = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        let metadata_only = t.metadata_only;
        let (bookmark_kind, bookmark_version) = if metadata_only {
            ("PartialObjectMetadata".to_owned(), "meta.k8s.io/v1".to_owned())
        } else {
            (t.served.kind.clone(), api_version(&t.resource))
        };
        let state = Arc::clone(&self.state);
        let live = futures::stream::unfold((live, ended, ticker), move |(mut rx, ended, mut ticker)| {
            let wanted = wanted.clone();
            let state = Arc::clone(&state);
            let (kind, version) = (bookmark_kind.clone(), bookmark_version.clone());
            async move {
                if ended {
                    return None;
                }
                loop {
                    tokio::select! {
                        received = rx.recv() => match received {
                            Ok(e) => {
                                let Some(kind) = wanted(&e) else { continue };
                                let object = if metadata_only {
                                    partial(&e.object)
                                } else {
                                    let mut object = e.object.clone();
                                    object["apiVersion"] = json!(version);
                                    object
                                };
                                let event = line(json!({"type": kind, "object": object}));
                                return Some((event, (rx, false, ticker)));
                            }
                            // A watcher that falls behind is closed; the client resumes or relists.
                            Err(_) => return None,
                        },
                        _ = ticker.tick(), if bookmarks => {
                            let rv = state.lock().unwrap_or_else(|e| e.into_inner()).rv;
                            let event = line(json!({"type": "BOOKMARK", "object": {
                                "kind": kind, "apiVersion": version, "metadata": {"resourceVersion": rv.to_string()},
                            }}));
                            return Some((event, (rx, false, ticker)));
                        }
                    }
                }
            }
        });
        let mut epoch = self.watch_epoch.subscribe();
        epoch.mark_unchanged();
        let dropped = async move {
            let _ = epoch.changed().await;
        };
        let stream = futures::StreamExt::take_until(futures::StreamExt::chain(initial, live), dropped);
        let stream: Pin<Box<dyn futures::Stream<Item = Result<http_body::Frame<Bytes>, Infallible>> + Send>> =
            match timeout {
                Some(secs) => {
                    Box::pin(futures::StreamExt::take_until(stream, tokio::time::sleep(Duration::from_secs(secs))))
                }
                None => Box::pin(stream),
            };
        let mut response = Response::new(StreamBody::new(stream).boxed_unsync());
        response.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
        Ok(Reply::Stream(response))
    }
}

pub(super) fn line(event: Value) -> Result<http_body::Frame<Bytes>, Infallible> {
    let mut bytes = serde_json::to_vec(&event).unwrap_or_default();
    bytes.push(b'\n');
    Ok(http_body::Frame::data(Bytes::from(bytes)))
}

/// The ERROR event a watch from a compacted resourceVersion gets.
pub(super) fn gone(rv: u64, compacted: u64) -> Value {
    json!({"type": "ERROR", "object": {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": format!("too old resource version: {rv} ({compacted})"), "reason": "Expired", "code": 410,
    }})
}
