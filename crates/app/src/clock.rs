//! The source of `now`. Production reads the system clock; tests use a manual clock they advance.

use doorstep_domain::Timestamp;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Where the app gets the current time from.
#[derive(Debug, Clone)]
pub enum Clock {
    /// The operating system's wall clock.
    System,
    /// A clock that only moves when told to (tests).
    Manual(Arc<AtomicI64>),
}

impl Clock {
    /// A manual clock starting at `start`.
    pub fn manual(start: Timestamp) -> Clock {
        Clock::Manual(Arc::new(AtomicI64::new(start.millis())))
    }

    /// The current instant.
    pub fn now(&self) -> Timestamp {
        match self {
            Clock::System => {
                let millis = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map(|d| d.as_millis())
                    .unwrap_or(0);
                Timestamp::from_millis(i64::try_from(millis).unwrap_or(i64::MAX))
            }
            Clock::Manual(t) => Timestamp::from_millis(t.load(Ordering::SeqCst)),
        }
    }

    /// Moves a manual clock forward by `secs` seconds; does nothing to the system clock.
    pub fn advance_secs(&self, secs: i64) {
        if let Clock::Manual(t) = self {
            t.fetch_add(secs * 1000, Ordering::SeqCst);
        }
    }
}
