//! Tunables of the app, with production defaults.

use doorstep_domain::position::PositionLimits;
use doorstep_domain::pricing::{FareBand, PricingConfig, SurgePolicy};
use doorstep_domain::ride::StopRadii;
use std::time::Duration;

/// Everything the use cases and the dispatcher can be tuned with.
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// The city's tariff.
    pub pricing: PricingConfig,
    /// How long the dispatcher gathers requests before solving one batch.
    pub batch_window: Duration,
    /// How long a driver has to answer an offer.
    pub offer_timeout_secs: i64,
    /// How long a ride may wait for a driver before it ends as `no_driver_available`.
    pub pickup_limit_secs: i64,
    /// A ride that no driver can reach (none online, fresh and not excluded within `max_pickup_km`)
    /// for this many seconds ends at once as `no_driver_available` instead of waiting out
    /// `pickup_limit_secs`.
    pub no_driver_grace_secs: i64,
    /// Drivers farther than this from a pickup (straight line) are not offered it.
    pub max_pickup_km: f64,
    /// How many nearest drivers per request the dispatcher considers.
    pub candidates_per_request: usize,
    /// A driver whose last position is older than this gets no offers until it reports again.
    pub driver_stale_secs: i64,
    /// How long a login token is valid.
    pub session_ttl_secs: i64,
    /// How long a WebSocket ticket (`POST /v1/events/tickets`) may wait to be used.
    pub ws_ticket_ttl_secs: i64,
    /// Radius of the pickup area whose demand and supply set the surge multiplier.
    pub surge_radius_km: f64,
    /// How surge moves: its step, thresholds (hysteresis), cap and pace.
    pub surge: SurgePolicy,
    /// How often the latest driver positions are written to the store.
    pub position_flush_interval: Duration,
    /// Minimum interval between two location events of one driver pushed to a rider.
    pub location_push_interval_ms: i64,
    /// Wrong PINs a ride accepts (counted since the PIN was issued) before its PIN locks until the rider
    /// issues a new one. 0 locks every PIN from the start.
    pub pin_max_attempts: u8,
    /// What a reported position must respect to be believed (speed from the previous accepted point,
    /// distance from the service area); a point that is not believed moves nothing.
    pub position_limits: PositionLimits,
    /// How close to the pickup a driver must be to arrive, and to the drop-off to complete without an
    /// early end.
    pub stop_radii: StopRadii,
    /// The band around the quote that a final fare is brought into.
    pub fare_band: FareBand,
    /// Fault injection for race tests, zero in production: after each commit the use case waits a
    /// random time up to this before it applies the change to the hot state, so that concurrent
    /// changes reach the hot state in every order.
    pub hot_state_jitter: std::time::Duration,
    /// Offer transactions of one dispatch batch a city's dispatcher writes at once on PostgreSQL (at
    /// least 1; SQLite, with one writer, always writes them one at a time). Each is a few round trips
    /// to the database, and writing them one after another is what a busy city's dispatcher spends
    /// most of its time on (docs/scaling.md).
    pub offer_writes_at_once: usize,
    /// Dispatcher ticks between two reconciliations of its jobs with the rides waiting in the record
    /// (at least 1; race tests reconcile at every tick so that a reconciliation meets every command).
    pub reconcile_every_ticks: u64,
    /// Whether a driver who signs up waits for an operator's approval before going online (`doorstep
    /// serve`: yes). When false (`doorstep demo`, unless told otherwise) new drivers are approved at
    /// sign-up; expired documents still keep them offline.
    pub require_driver_approval: bool,
    /// Food orders' fees, courier pay, commission and late-cancellation fee.
    pub food_fees: doorstep_domain::food::checkout::FeeSchedule,
    /// How often the coming week's "any provider" house calls are re-optimised (`None`: never), and the
    /// solver's time for each day.
    pub reoptimise: Option<(Duration, Duration)>,
    /// The MQTT broker devices publish their positions to (`mqtt://[user[:password]@]host[:port]`),
    /// or `None`: no device ingest ([`crate::device_ingest`], `doorstep serve --mqtt`).
    pub mqtt_url: Option<String>,
}

impl Default for AppConfig {
    fn default() -> Self {
        Self {
            pricing: PricingConfig::default(),
            batch_window: Duration::from_secs(2),
            offer_timeout_secs: 15,
            pickup_limit_secs: 300,
            no_driver_grace_secs: 6,
            max_pickup_km: 5.0,
            candidates_per_request: 30,
            driver_stale_secs: 60,
            session_ttl_secs: 30 * 24 * 3600,
            ws_ticket_ttl_secs: 30,
            surge_radius_km: 1.5,
            surge: SurgePolicy::default(),
            position_flush_interval: Duration::from_secs(5),
            location_push_interval_ms: 2000,
            pin_max_attempts: 5,
            position_limits: PositionLimits::default(),
            stop_radii: StopRadii::default(),
            fare_band: FareBand::default(),
            hot_state_jitter: std::time::Duration::ZERO,
            offer_writes_at_once: 4,
            reconcile_every_ticks: 15,
            require_driver_approval: true,
            food_fees: doorstep_domain::food::checkout::FeeSchedule::default(),
            reoptimise: Some((Duration::from_secs(600), Duration::from_millis(300))),
            mqtt_url: None,
        }
    }
}
