//! Food delivery: merchants (restaurants) with their hours and menus, and how an order is priced, placed
//! and fulfilled on a delivery [`crate::job::Job`]. `checkout` prices an order, `promo` says whether a
//! code applies, `order` is the order's record and state machine on top of its job. Pure like the rest
//! of the crate: `now` and id generators are parameters.

pub mod checkout;
pub mod hours;
pub mod menu;
pub mod merchant;
pub mod order;
pub mod promo;

pub use hours::{OpeningHours, is_open, next_opening};
pub use menu::{CartError, Menu, PricedLine};
pub use merchant::{Merchant, MerchantStatus, NotAccepting};

#[cfg(test)]
mod tests;
