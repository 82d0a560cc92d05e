//! An informer's events as an async `Stream`, beside the callback handlers: for
//! `tokio::select!` and stream combinators.

use std::fmt::Debug;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::Stream;
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;

use super::shared::{DeletedObject, EventHandler, HandlerRegistration, SharedInformer};

/// One event of an informer, as its handlers see it.
#[derive(Debug)]
pub enum InformerEvent<K> {
    /// An object appeared; `initial` when it came with the initial list.
    Added {
        /// The object.
        object: Arc<K>,
        /// Whether it came with the initial list.
        initial: bool,
    },
    /// An object changed (on a resync, `old` and `new` are the same object).
    Updated {
        /// As it was.
        old: Arc<K>,
        /// As it is.
        new: Arc<K>,
    },
    /// An object went away.
    Deleted(DeletedObject<K>),
}

impl<K> InformerEvent<K> {
    /// The object the event is about, as it is now (or was last seen).
    pub fn object(&self) -> &Arc<K> {
        match self {
            InformerEvent::Added { object, .. } => object,
            InformerEvent::Updated { new, .. } => new,
            InformerEvent::Deleted(d) => d.object(),
        }
    }
}

/// A [`Stream`] of an informer's events: [`SharedInformer::events`]. It is a handler like any
/// other (it is given the cached objects first, then every event), whose events wait in a
/// buffer of `capacity` for the consumer; a consumer that falls further behind holds up only
/// this stream, not the cache or other handlers. Dropping it removes the handler.
pub struct InformerEvents<K>
where
    K: kube::Resource + Clone + Debug + DeserializeOwned + Send + Sync + 'static,
    K::DynamicType: Default + Clone + Send + Sync,
{
    rx: Option<mpsc::Receiver<InformerEvent<K>>>,
    informer: SharedInformer<K>,
    registration: HandlerRegistration,
}

struct Forward<K>(mpsc::Sender<InformerEvent<K>>);

impl<K: Send + Sync + 'static> EventHandler<K> for Forward<K> {
    // Handlers run on their own threads, never on a runtime's, so blocking sends are sound:
    // they pace this handler by its consumer. A send fails only once the stream is dropped.
    fn on_add(&mut self, object: &Arc<K>, initial: bool) {
        let _ = self.0.blocking_send(InformerEvent::Added { object: Arc::clone(object), initial });
    }
    fn on_update(&mut self, old: &Arc<K>, new: &Arc<K>) {
        let _ = self.0.blocking_send(InformerEvent::Updated { old: Arc::clone(old), new: Arc::clone(new) });
    }
    fn on_delete(&mut self, object: &DeletedObject<K>) {
        let _ = self.0.blocking_send(InformerEvent::Deleted(object.clone()));
    }
}

impl<K> SharedInformer<K>
where
    K: kube::Resource + Clone + Debug + DeserializeOwned + Send + Sync + 'static,
    K::DynamicType: Default + Clone + Send + Sync,
{
    /// The informer's events as a stream, through a buffer of 1,024 events.
    pub fn events(&self) -> InformerEvents<K> {
        self.events_with_capacity(1024)
    }

    /// The informer's events as a stream, through a buffer of `capacity` events (at least 1).
    pub fn events_with_capacity(&self, capacity: usize) -> InformerEvents<K> {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let registration = self.add_handler(Forward(tx));
        InformerEvents { rx: Some(rx), informer: self.clone(), registration }
    }
}

impl<K> Stream for InformerEvents<K>
where
    K: kube::Resource + Clone + Debug + DeserializeOwned + Send + Sync + 'static,
    K::DynamicType: Default + Clone + Send + Sync,
{
    type Item = InformerEvent<K>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match self.get_mut().rx.as_mut() {
            Some(rx) => rx.poll_recv(cx),
            None => Poll::Ready(None),
        }
    }
}

impl<K> InformerEvents<K>
where
    K: kube::Resource + Clone + Debug + DeserializeOwned + Send + Sync + 'static,
    K::DynamicType: Default + Clone + Send + Sync,
{
    /// Whether the stream's handler has been given everything the informer had when it synced.
    pub fn has_synced(&self) -> bool {
        self.registration.has_synced()
    }
}

impl<K> Drop for InformerEvents<K>
where
    K: kube::Resource + Clone + Debug + DeserializeOwned + Send + Sync + 'static,
    K::DynamicType: Default + Clone + Send + Sync,
{
    fn drop(&mut self) {
        // The receiver first, so a handler blocked on a full buffer wakes and can end.
        drop(self.rx.take());
        self.informer.remove_handler(&self.registration);
    }
}
