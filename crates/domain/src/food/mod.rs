//! Food delivery: what a restaurant sells and how an order is priced, placed and fulfilled on a delivery
//! [`crate::job::Job`]. `checkout` prices an order, `promo` says whether a code applies, `order` is the
//! order's record and state machine on top of its job.

pub mod checkout;
pub mod order;
pub mod promo;

#[cfg(test)]
mod tests;
