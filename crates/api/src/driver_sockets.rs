//! Where drivers' WebSockets run, and when their location batches are shed.
//!
//! Drivers send location batches as fast as their phones (or a load test) can, and every batch costs the
//! server work. On the runtime that serves HTTP, thousands of busy sockets form a run queue that every
//! other request waits behind: a rider's `GET /v1/drivers/nearby` took seconds under the ingest flood.
//! So drivers' sockets run on a runtime of their own ([`spawn`]), with [`IngestOptions::threads`] worker
//! threads; the HTTP runtime keeps its threads for requests, which read the fleet index directly (one
//! short lock) and never queue behind a location batch. The operating system shares the cores between
//! the two runtimes' threads.
//!
//! Admission control: a probe task on the drivers' runtime sleeps [`PROBE_INTERVAL`] at a time and
//! measures how late it wakes: how long a task waits there for its turn (`ingest_lag_seconds`). While
//! that lag exceeds [`IngestOptions::shed_lag_ms`], location batches are dropped unparsed and answered
//! with a `503 overloaded` error frame, counted in `location_batches_shed_total` and
//! `location_points_shed_total`: a server that falls behind sheds the oldest work instead of applying
//! positions seconds late, and the client learns of it.

use std::future::Future;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How often the probe measures the drivers' runtime's lag.
pub const PROBE_INTERVAL: Duration = Duration::from_millis(50);

/// How drivers' sockets run.
#[derive(Debug, Clone, Copy)]
pub struct IngestOptions {
    /// Worker threads of the drivers' socket runtime (0: run them on the HTTP runtime, unshed).
    pub threads: usize,
    /// Lag of the drivers' runtime above which location batches are shed, milliseconds.
    pub shed_lag_ms: u64,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            threads: 1,
            shed_lag_ms: 1_000,
        }
    }
}

/// The drivers' socket runtime and its measured lag.
#[derive(Debug)]
struct DriverRuntime {
    runtime: Option<tokio::runtime::Runtime>,
    lag_ms: AtomicU64,
    shed_lag_ms: u64,
}

static DRIVER_RUNTIME: OnceLock<DriverRuntime> = OnceLock::new();

/// Sets how drivers' sockets run. Only the first call counts, and only before the first driver
/// connects (after that the defaults are in force); returns whether these options were taken. The
/// runtime lives as long as the process, shared by every router in it.
pub fn configure(options: IngestOptions) -> bool {
    let mut taken = false;
    DRIVER_RUNTIME.get_or_init(|| {
        taken = true;
        DriverRuntime::start(options)
    });
    taken
}

fn driver_runtime() -> &'static DriverRuntime {
    DRIVER_RUNTIME.get_or_init(|| DriverRuntime::start(IngestOptions::default()))
}

impl DriverRuntime {
    fn start(options: IngestOptions) -> DriverRuntime {
        let runtime = if options.threads == 0 {
            None
        } else {
            match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(options.threads)
                .thread_name("driver-sockets")
                .enable_all()
                .build()
            {
                Ok(runtime) => Some(runtime),
                Err(e) => {
                    tracing::warn!(error = %e, "no runtime for drivers' sockets; they share the HTTP runtime");
                    None
                }
            }
        };
        if let Some(runtime) = &runtime {
            runtime.spawn(probe());
        }
        DriverRuntime {
            runtime,
            lag_ms: AtomicU64::new(0),
            shed_lag_ms: options.shed_lag_ms,
        }
    }
}

/// Measures, forever, how late a task on the drivers' runtime wakes from a sleep.
async fn probe() {
    loop {
        let asleep = Instant::now();
        tokio::time::sleep(PROBE_INTERVAL).await;
        let lag = asleep.elapsed().saturating_sub(PROBE_INTERVAL);
        if let Some(r) = DRIVER_RUNTIME.get() {
            r.lag_ms.store(
                u64::try_from(lag.as_millis()).unwrap_or(u64::MAX),
                Ordering::Relaxed,
            );
        }
        metrics::gauge!("ingest_lag_seconds").set(lag.as_secs_f64());
    }
}

/// Runs a driver's socket on the drivers' runtime (or here, when there is none).
pub fn spawn<F>(socket: F)
where
    F: Future<Output = ()> + Send + 'static,
{
    match &driver_runtime().runtime {
        Some(runtime) => {
            runtime.spawn(socket);
        }
        None => {
            tokio::spawn(socket);
        }
    }
}

/// The lag of the drivers' runtime in milliseconds when it is above the shedding threshold.
pub fn overloaded() -> Option<u64> {
    let r = driver_runtime();
    let lag = r.lag_ms.load(Ordering::Relaxed);
    (r.runtime.is_some() && lag > r.shed_lag_ms).then_some(lag)
}

/// Counts a shed batch of `points` points.
pub fn record_shed(points: usize) {
    metrics::counter!("location_batches_shed_total").increment(1);
    metrics::counter!("location_points_shed_total").increment(points as u64);
}
