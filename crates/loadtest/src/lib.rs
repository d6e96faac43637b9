//! Benchmarks of Doorstep's live driver index, behind `doorstep bench geo` and `doorstep bench ingest`.
//!
//! - [`run_geo`] measures, in process, location updates per second and 10-nearest queries on
//!   [`doorstep_geo::GridIndex`], the index the server's fleet queries, with memory per driver and
//!   the share of answers equal to an exact great-circle scan.
//! - [`run_ingest`] drives a running server with simulated drivers sending location batches over
//!   the WebSocket while a rider asks `GET /v1/drivers/nearby`, and runs the same workload against
//!   Redis (`GEOADD` pipelined, `GEOSEARCH`) in the same run, printing the ratios.
//!
//!   With `--mqtt`, the same drivers' devices publish their batches over MQTT too.
//!
//! - [`run_fanout`] starts a server in process, connects thousands of event streams from a child
//!   process, and measures how many socket tasks one event (or one driver location) wakes and how long
//!   it takes from commit to the client.
//!
//! - [`run_load`] starts one or three `doorstep serve` nodes on a fresh PostgreSQL database and drives
//!   them with drivers streaming positions and accepting offers, riders requesting rides at a rate and
//!   idle sockets, and reports ride requests/s, location updates/s, sockets held, the latency from a
//!   ride request to its first offer, CPU per 1,000 requests and memory per node.
//!
//! This crate only measures: it reports numbers and never asserts on them, and it changes nothing
//! in the crates it measures. Randomness comes from a seeded generator, so a run's workload (not
//! its timings) is reproducible. Tables go to stdout; with `--json`, one JSON object per line.

mod fanout;
mod geo_bench;
mod ingest;
mod load;
mod prometheus;
mod stats;

pub use fanout::{FanoutArgs, FanoutClientArgs, FanoutRow, run_fanout, run_fanout_clients};
pub use geo_bench::{FleetRow, GeoArgs, GeoRow, run_geo};
pub use ingest::{BatchFormat, IngestArgs, IngestRow, QueryVia, binary_batch, run_ingest};
pub use load::{
    LoadArgs, LoadRow, NodeRow, cpu_ticks_from_stat, has_cluster_mode, match_offers, run_load,
    status_kib_line, top_symbols,
};
pub use prometheus::metric_value;
pub use stats::{LatencySummary, vm_rss_bytes};

/// Why a benchmark could not run.
#[derive(Debug, thiserror::Error)]
pub enum LoadtestError {
    /// The arguments make no sense (the caller's fault).
    #[error("invalid arguments: {0}")]
    Usage(String),
    /// The server answered something unexpected.
    #[error("server answered {status} to {what}: {body}")]
    Server {
        /// What was being done.
        what: String,
        /// The HTTP status.
        status: u16,
        /// The start of the answer's body.
        body: String,
    },
    /// An HTTP request failed below the status line (connection refused, reset, timeout).
    #[error("http request failed")]
    Http(#[from] reqwest::Error),
    /// A WebSocket could not be opened or broke.
    #[error("websocket failed")]
    WebSocket(#[from] Box<tokio_tungstenite::tungstenite::Error>),
    /// A Redis command failed.
    #[error("redis failed")]
    Redis(#[from] redis::RedisError),
    /// The account cache could not be read or written.
    #[error("account cache {path}")]
    AccountCache {
        /// The cache file.
        path: String,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
    /// The MQTT client failed.
    #[error("mqtt failed: {0}")]
    Mqtt(String),
    /// A JSON document did not have the expected shape.
    #[error("unexpected json")]
    Json(#[from] serde_json::Error),
}
