//! Route handlers, grouped by area.

pub mod admin;
pub mod auth;
pub mod console;
pub mod console_food;
pub mod console_housecalls;
pub mod contact;
pub mod couriers;
pub mod devices;
pub mod drivers;
pub mod events;
pub mod food_money;
pub mod housecall_admin;
pub mod housecalls;
pub mod merchants;
pub mod ops;
pub mod orders;
pub mod payments;
pub mod places;
pub mod rides;
pub mod saved_places;
pub mod visit_safety;
