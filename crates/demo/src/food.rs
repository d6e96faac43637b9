//! Food delivery in the demo: the operator opens the restaurants, their kitchens run, customers order.
//!
//! [`run_food`] signs in as the demo's operator, plans [`crate::DemoConfig::restaurants`] restaurants
//! ([`crate::restaurants::plan_restaurants`]) and starts a kitchen agent for each, which opens its
//! restaurant and then runs it. Once every kitchen has said whether it opened (or
//! [`OPENING_TIMEOUT`] has passed), customers start ordering from the open ones. Couriers are the demo's
//! drivers, which take delivery offers besides rides.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::Ctx;
use crate::api::{MAX_BACKOFF, with_retry};
use crate::food_schedule::Reach;
use crate::restaurants::plan_restaurants;
use crate::shutdown::Shutdown;

/// How long customers wait for the restaurants to open before they start ordering anyway (real time).
const OPENING_TIMEOUT: Duration = Duration::from_secs(120);

/// Opens the restaurants, runs their kitchens and the customers until the demo stops.
pub(crate) async fn run_food(ctx: Arc<Ctx>, mut shutdown: Shutdown) {
    let plans = plan_restaurants(ctx.city, ctx.config.restaurants, ctx.config.seed);
    if plans.is_empty() {
        return;
    }
    let Some(operator) = operator_token(&ctx, &shutdown).await else {
        return;
    };
    let (opened_tx, mut opened_rx) = mpsc::channel(plans.len());
    let mut agents = JoinSet::new();
    for plan in plans.iter().cloned() {
        agents.spawn(crate::kitchen::run_kitchen(
            Arc::clone(&ctx),
            plan,
            operator.clone(),
            opened_tx.clone(),
            shutdown.clone(),
        ));
    }
    drop(opened_tx);
    let mut open = 0_usize;
    let mut heard = 0_usize;
    let waited = tokio::time::timeout(OPENING_TIMEOUT, async {
        while let Some(result) = opened_rx.recv().await {
            heard += 1;
            if result.is_some() {
                open += 1;
                ctx.kpis.restaurant_opened();
            }
            if heard == plans.len() {
                break;
            }
        }
    });
    tokio::select! {
        () = shutdown.wait() => {}
        result = waited => {
            if result.is_err() {
                tracing::warn!(open, of = plans.len(), "not every demo restaurant opened in time; customers start anyway");
            }
            tracing::info!(open, of = plans.len(), "demo restaurants open");
            let reach = plans
                .iter()
                .map(|p| Reach {
                    site: p.site,
                    radius_km: f64::from(p.delivery_radius_m) / 1000.0,
                })
                .collect();
            agents.spawn(crate::customer::run_customers(Arc::clone(&ctx), reach, shutdown.clone()));
        }
    }
    // Restaurants that open late still count.
    tokio::spawn({
        let ctx = Arc::clone(&ctx);
        async move {
            while let Some(result) = opened_rx.recv().await {
                if result.is_some() {
                    ctx.kpis.restaurant_opened();
                }
            }
        }
    });
    shutdown.wait().await;
    while agents.join_next().await.is_some() {}
}

/// Signs in as the demo's operator, retrying until it works; `None` if the demo stops first or the
/// operator's account is refused (the server was not started by `doorstep demo`: no food then).
pub(crate) async fn operator_token(ctx: &Ctx, shutdown: &Shutdown) -> Option<String> {
    let mut pause = Duration::from_millis(500);
    loop {
        let session = with_retry(shutdown, "operator login", || {
            ctx.api
                .login_with(&ctx.config.operator_email, &ctx.config.operator_password)
        })
        .await;
        match session {
            Ok(session) => return Some(session.token),
            Err(error) if error.is_transient() => {
                tracing::debug!(%error, "operator sign-in failed; retrying");
            }
            Err(error) => {
                tracing::warn!(email = %ctx.config.operator_email, %error, "the demo operator cannot sign in: no restaurants");
                return None;
            }
        }
        if !shutdown.clone().sleep(pause).await {
            return None;
        }
        pause = (pause * 2).min(MAX_BACKOFF);
    }
}
