//! kube-runtime's `Controller` on a shared informer: a kube-rs user keeps their reconciler and
//! gains the shared list and watch, which the informer, any number of handlers and controllers
//! ride together.

use std::fmt::Debug;
use std::hash::Hash;
use std::sync::Arc;

use kube::runtime::reflector::{self, store::Writer};
use kube::runtime::{Controller, watcher};
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;

use super::shared::{DeletedObject, EventHandler, SharedInformer};

/// Keeps a kube-runtime store in step with the informer and triggers the controller: one
/// handler, so the store holds an object before the controller is told of it.
struct Feed<K: kube::Resource + Clone + 'static>
where
    K::DynamicType: Eq + Hash + Clone,
{
    writer: Writer<K>,
    trigger: mpsc::Sender<Arc<K>>,
    synced: bool,
}

impl<K> Feed<K>
where
    K: kube::Resource + Clone + Send + Sync + 'static,
    K::DynamicType: Eq + Hash + Clone + Send + Sync,
{
    fn trigger(&self, object: &Arc<K>) {
        // Handlers run on their own threads, so a blocking send only paces this feed. It fails
        // once the controller is dropped; the store then simply stays current.
        let _ = self.trigger.blocking_send(Arc::clone(object));
    }
}

impl<K> EventHandler<K> for Feed<K>
where
    K: kube::Resource + Clone + Send + Sync + 'static,
    K::DynamicType: Eq + Hash + Clone + Send + Sync,
{
    fn on_add(&mut self, object: &Arc<K>, _: bool) {
        let event = if self.synced {
            watcher::Event::Apply(K::clone(object))
        } else {
            watcher::Event::InitApply(K::clone(object))
        };
        self.writer.apply_watcher_event(&event);
        self.trigger(object);
    }
    fn on_update(&mut self, _: &Arc<K>, new: &Arc<K>) {
        self.writer.apply_watcher_event(&watcher::Event::Apply(K::clone(new)));
        self.trigger(new);
    }
    fn on_delete(&mut self, object: &DeletedObject<K>) {
        self.writer.apply_watcher_event(&watcher::Event::Delete(K::clone(object.object())));
    }
    fn on_synced(&mut self) {
        self.synced = true;
        // The store is ready (kube's `wait_until_ready`) once the initial list is in.
        self.writer.apply_watcher_event(&watcher::Event::InitDone);
    }
}

impl<K> SharedInformer<K>
where
    K: kube::Resource + Clone + Debug + DeserializeOwned + Send + Sync + 'static,
    K::DynamicType: Default + Eq + Hash + Clone + Send + Sync + Unpin,
{
    /// A kube-runtime [`Controller`] for this informer's resource that lists and watches
    /// nothing itself: its store and its triggers come from this informer, so its requests are
    /// the informer's one list and one watch, shared with every handler and other controller.
    /// Add `owns`/`watches` relations and run it as usual; the informer must be started (by
    /// its factory) for it to see anything.
    ///
    /// The controller's store is kube-runtime's own, a second copy of each object beside the
    /// informer's cache (kube's store cannot hold another cache's `Arc`s).
    pub fn controller(&self) -> Controller<K> {
        let (reader, mut writer) = reflector::store::<K>();
        writer.apply_watcher_event(&watcher::Event::Init);
        let (tx, mut rx) = mpsc::channel::<Arc<K>>(1024);
        self.add_handler(Feed { writer, trigger: tx, synced: false });
        let trigger = futures::stream::poll_fn(move |cx| rx.poll_recv(cx));
        Controller::for_shared_stream(trigger, reader)
    }
}
