//! Route handlers, grouped by area.

pub mod admin;
pub mod auth;
pub mod console;
pub mod drivers;
pub mod events;
pub mod ops;
pub mod rides;
