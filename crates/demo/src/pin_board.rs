//! How a rider tells the driver the ride's PIN: an in-process notice board keyed by ride id.
//!
//! In real life the rider says or shows the PIN at the car; here the rider agent, which reads it
//! from `GET /v1/rides/{id}`, pins it up for the driver agent. It is the only thing agents share
//! outside the API.

use std::collections::HashMap;
use std::sync::Mutex;

/// PINs by ride id.
#[derive(Debug, Default)]
pub(crate) struct PinBoard {
    pins: Mutex<HashMap<String, String>>,
}

impl PinBoard {
    /// The rider of `ride_id` makes its PIN known.
    pub(crate) fn post(&self, ride_id: &str, pin: &str) {
        self.lock().insert(ride_id.to_owned(), pin.to_owned());
    }

    /// The PIN of `ride_id`, if its rider told it.
    pub(crate) fn get(&self, ride_id: &str) -> Option<String> {
        self.lock().get(ride_id).cloned()
    }

    /// Forgets the PIN of a ride that is over.
    pub(crate) fn remove(&self, ride_id: &str) {
        self.lock().remove(ride_id);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        // A panic while holding the lock cannot leave a map of strings inconsistent.
        self.pins
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
