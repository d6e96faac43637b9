//! The stop signal every agent listens to.

use std::time::Duration;

use tokio::sync::watch;

/// A cloneable handle on the demo's stop signal.
#[derive(Debug, Clone)]
pub(crate) struct Shutdown(watch::Receiver<bool>);

impl Shutdown {
    pub(crate) fn new(receiver: watch::Receiver<bool>) -> Shutdown {
        Shutdown(receiver)
    }

    /// Whether the demo is stopping.
    pub(crate) fn is_stopping(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves when the demo stops (or the signal's sender is gone, which means the same).
    pub(crate) async fn wait(&mut self) {
        // An error means the sender was dropped: stop as well.
        let _ = self.0.wait_for(|&stop| stop).await;
    }

    /// Sleeps for `duration` real time; false if the demo stopped meanwhile.
    pub(crate) async fn sleep(&mut self, duration: Duration) -> bool {
        tokio::select! {
            () = self.wait() => false,
            () = tokio::time::sleep(duration) => true,
        }
    }
}
