//! The house-call services the demo's operator puts in the catalogue, and which trade offers which.
//!
//! Prices are in US cents (the city's currency), durations and buffers within the server's rules
//! (`duration_min` 15 to 480 in steps of 5, `prep_min` at most 60). A provider has one [`Trade`] and
//! offers every service of it.

use rand::Rng;
use serde_json::json;

/// A provider's line of work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Trade {
    /// Massages at home.
    Massage,
    /// Nails and hair.
    Beauty,
    /// Home cleaning.
    Cleaning,
    /// Plumbing repairs.
    Plumbing,
}

impl Trade {
    /// What a provider of the trade is called.
    pub fn title(self) -> &'static str {
        match self {
            Trade::Massage => "massage therapist",
            Trade::Beauty => "hair and nail stylist",
            Trade::Cleaning => "home cleaner",
            Trade::Plumbing => "plumber",
        }
    }
}

/// One service of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceSpec {
    /// Its name, unique in the catalogue: how a resumed demo finds it again.
    pub name: &'static str,
    /// What the customer gets.
    pub description: &'static str,
    /// The appointment's length, minutes.
    pub duration_min: u32,
    /// The provider's buffer after the visit, minutes.
    pub prep_min: u32,
    /// The price, US cents.
    pub price_cents: i64,
    /// Who offers it.
    pub trade: Trade,
    /// How often customers ask for it, relative to the others.
    pub popularity: u32,
}

/// The demo's catalogue.
pub const SERVICES: &[ServiceSpec] = &[
    ServiceSpec {
        name: "Massage, 60 minutes",
        description: "A Swedish or deep-tissue massage at home; the therapist brings the table.",
        duration_min: 60,
        prep_min: 15,
        price_cents: 11_000,
        trade: Trade::Massage,
        popularity: 25,
    },
    ServiceSpec {
        name: "Massage, 90 minutes",
        description: "A long massage at home; the therapist brings the table and the oils.",
        duration_min: 90,
        prep_min: 15,
        price_cents: 15_500,
        trade: Trade::Massage,
        popularity: 10,
    },
    ServiceSpec {
        name: "Manicure",
        description: "Nails shaped, cuticles cared for, polish of your choice.",
        duration_min: 45,
        prep_min: 10,
        price_cents: 4_500,
        trade: Trade::Beauty,
        popularity: 15,
    },
    ServiceSpec {
        name: "Hair cut",
        description: "A wash, a cut and a blow-dry at home.",
        duration_min: 45,
        prep_min: 10,
        price_cents: 6_000,
        trade: Trade::Beauty,
        popularity: 15,
    },
    ServiceSpec {
        name: "Home cleaning, 2 hours",
        description: "Kitchen, bathroom, floors and dusting for an apartment up to two bedrooms.",
        duration_min: 120,
        prep_min: 10,
        price_cents: 14_000,
        trade: Trade::Cleaning,
        popularity: 25,
    },
    ServiceSpec {
        name: "Plumber visit",
        description: "A licensed plumber for a leak, a clogged drain or a running toilet; parts extra.",
        duration_min: 60,
        prep_min: 15,
        price_cents: 12_900,
        trade: Trade::Plumbing,
        popularity: 10,
    },
];

/// The indices in [`SERVICES`] of the services of `trade`.
pub fn services_of(trade: Trade) -> Vec<usize> {
    SERVICES
        .iter()
        .enumerate()
        .filter(|(_, s)| s.trade == trade)
        .map(|(i, _)| i)
        .collect()
}

/// A service a customer asks for, by [`ServiceSpec::popularity`]: its index in [`SERVICES`].
pub fn draw_service(rng: &mut impl Rng) -> usize {
    let total: u32 = SERVICES.iter().map(|s| s.popularity).sum();
    let mut ticket = rng.random_range(0..total.max(1));
    for (i, s) in SERVICES.iter().enumerate() {
        if ticket < s.popularity {
            return i;
        }
        ticket -= s.popularity;
    }
    0
}

/// The body of `POST /v1/admin/house-calls/services` for `spec`, with the operator's reason.
pub fn service_body(spec: &ServiceSpec) -> serde_json::Value {
    json!({
        "reason": "demo catalogue",
        "name": spec.name,
        "description": spec.description,
        "duration_min": spec.duration_min,
        "prep_min": spec.prep_min,
        "price": {"amount": spec.price_cents, "currency": "USD"},
        "active": true,
    })
}
