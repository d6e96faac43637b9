//! Food delivery: merchants (restaurants) with their hours and menus, and (beside them) orders, checkout
//! and promotions. Pure like the rest of the crate: `now` and id generators are parameters.

pub mod hours;
pub mod menu;
pub mod merchant;

pub use hours::{OpeningHours, is_open, next_opening};
pub use menu::{CartError, Menu, PricedLine};
pub use merchant::{Merchant, MerchantStatus, NotAccepting};
