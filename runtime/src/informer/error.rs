//! What can go wrong in an informer and in waiting for one, as typed errors that keep their
//! sources (kube's and kube-runtime's errors inside), as kube-runtime's own errors do.

use std::sync::Arc;
use std::time::Duration;

use kube::runtime::watcher;

use super::indexer::IndexError;

/// Why an informer's task ended other than by a shutdown: its cache no longer changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Stopped {
    /// The informer's own code panicked.
    #[error("its task panicked")]
    Panicked,
    /// The watch stream ended, which kube-runtime's watcher never does by itself.
    #[error("the watch stream ended")]
    StreamEnded,
    /// The task running it was dropped (aborted, or its runtime shut down) before a shutdown.
    #[error("its task was dropped before a shutdown")]
    Dropped,
}

/// What went wrong in an informer. None of these stops it, except [`InformerError::Stopped`].
#[derive(Clone, Debug, thiserror::Error)]
pub enum InformerError {
    /// The list or watch failed; it is retried with backoff.
    #[error("watch error (retried): {0}")]
    Watch(#[source] Arc<watcher::Error>),
    /// The transform panicked on an object, which was not cached or handed to handlers.
    #[error("the transform panicked on `{key}`, which was skipped: {message}")]
    Transform {
        /// The object's key.
        key: String,
        /// The panic's message.
        message: String,
    },
    /// An index function panicked on an object, which was not cached (the cache keeps the
    /// version it had, filed as before).
    #[error("{0}; the object was skipped")]
    Index(#[source] IndexError),
    /// A handler panicked on an event; it goes on with the next one.
    #[error("a handler panicked on `{event}`: {message}")]
    Handler {
        /// The event: `add NAME`, `update NAME`, `delete NAME`, `resync NAME`, `synced`.
        event: String,
        /// The panic's message.
        message: String,
    },
    /// A callback given to [`on_error`](super::SharedInformer::on_error) or
    /// [`on_watch_error`](super::SharedInformer::on_watch_error) panicked; the others were
    /// still called.
    #[error("an error callback panicked: {message}")]
    Callback {
        /// The panic's message.
        message: String,
    },
    /// A handler's thread could not be started (the system is out of threads or memory); the
    /// handler was not added.
    #[error("a handler's thread could not be started: {0}")]
    HandlerThread(#[source] Arc<std::io::Error>),
    /// The informer's task ended other than by a shutdown; its cache no longer changes.
    #[error("the informer stopped: {0}")]
    Stopped(#[source] Stopped),
}

/// Why an informer's cache did not sync, or why waiting for it ended without a sync.
#[derive(Clone, Debug, thiserror::Error)]
pub enum SyncError {
    /// The API server refuses the list in a way retrying will not fix by itself (401, 403,
    /// 404: a CRD not installed yet, missing RBAC). It is still retried, with backoff.
    #[error("listing is refused: {0}")]
    Refused(#[source] Arc<watcher::Error>),
    /// The informer's task ended other than by a shutdown.
    #[error("the informer stopped: {0}")]
    Stopped(#[source] Stopped),
    /// The informer was shut down before its cache held the initial list.
    #[error("the informer was shut down before its cache synced")]
    ShutDown,
    /// Not synced within the time given; the last error the informer saw, if any.
    #[error("not synced after {after:?}{}", last_error.as_ref().map(|e| format!("; last error: {e}")).unwrap_or_else(|| ", with no error seen".to_owned()))]
    Timeout {
        /// How long was waited.
        after: Duration,
        /// The last thing that went wrong, if anything did.
        last_error: Option<InformerError>,
    },
}

impl SyncError {
    /// The API server's answer, when it refused the list.
    pub fn status(&self) -> Option<&kube::core::Status> {
        match self {
            SyncError::Refused(e) => status_of(e),
            _ => None,
        }
    }
}

/// The `Status` a watcher error carries, if the API server answered with one.
pub(crate) fn status_of(error: &watcher::Error) -> Option<&kube::core::Status> {
    match error {
        watcher::Error::InitialListFailed(kube::Error::Api(s))
        | watcher::Error::WatchStartFailed(kube::Error::Api(s))
        | watcher::Error::WatchFailed(kube::Error::Api(s)) => Some(s.as_ref()),
        watcher::Error::WatchError(s) => Some(s.as_ref()),
        _ => None,
    }
}
