//! The API's one integration suite, run on SQLite and on PostgreSQL.
//!
//! Every test starts a real server on a fresh database: the app with a manual clock (a weekday afternoon,
//! so that the travel model is deterministic) and a 50 ms dispatch batch window, served on a socket bound to
//! port 0. Tests talk to it as the phone apps do, over HTTP and the WebSocket event stream, and wait for the
//! dispatcher by polling with a deadline; time-outs, free windows and pickup limits are reached by advancing
//! the manual clock, never by sleeping.
//!
//! `on_both_backends!` turns each test into `on_sqlite::<name>` (a new database file per test) and
//! `on_postgres::<name>` (a new database `doorstep_api_test_<uuid>` per test on the server named by
//! `DOORSTEP_TEST_POSTGRES_URL`, dropped afterwards). Without that variable the PostgreSQL variants print
//! `POSTGRES_SKIPPED` and pass, or fail when `DOORSTEP_REQUIRE_POSTGRES` is set.

#[path = "api/authorization.rs"]
mod authorization;
#[path = "api/backend.rs"]
mod backend;
#[path = "api/bad_input.rs"]
mod bad_input;
#[path = "api/cancellation.rs"]
mod cancellation;
#[path = "api/cluster.rs"]
mod cluster;
#[path = "api/console.rs"]
mod console;
#[path = "api/console_food.rs"]
mod console_food;
#[path = "api/console_housecalls.rs"]
mod console_housecalls;
#[path = "api/contract.rs"]
mod contract;
#[path = "api/devices.rs"]
mod devices;
#[path = "api/dispatch.rs"]
mod dispatch;
#[path = "api/dispatch_core.rs"]
mod dispatch_core;
#[path = "api/event_stream.rs"]
mod event_stream;
#[path = "api/food_money.rs"]
mod food_money;
#[path = "api/geocoding.rs"]
mod geocoding;
#[path = "api/housecall_admin.rs"]
mod housecall_admin;
#[path = "api/housecalls.rs"]
mod housecalls;
#[path = "api/hygiene.rs"]
mod hygiene;
#[path = "api/merchants.rs"]
mod merchants;
#[path = "api/money.rs"]
mod money;
#[path = "api/operations.rs"]
mod operations;
#[path = "api/ops.rs"]
mod ops;
#[path = "api/order_payments.rs"]
mod order_payments;
#[path = "api/orders.rs"]
mod orders;
#[path = "api/pin.rs"]
mod pin;
#[path = "api/places.rs"]
mod places;
#[path = "api/races.rs"]
mod races;
#[path = "api/release_data.rs"]
mod release_data;
#[path = "api/release_fixture.rs"]
mod release_fixture;
#[path = "api/restart.rs"]
mod restart;
#[path = "api/ride_flow.rs"]
mod ride_flow;
#[path = "api/ride_steps.rs"]
mod ride_steps;
#[path = "api/saved_places.rs"]
mod saved_places;
#[path = "api/server.rs"]
mod server;
#[path = "api/stream_hygiene.rs"]
mod stream_hygiene;
#[path = "api/trip_checks.rs"]
mod trip_checks;
#[path = "api/websocket.rs"]
mod websocket;
#[path = "api/websocket_limits.rs"]
mod websocket_limits;
#[path = "api/whocoming.rs"]
mod whocoming;

use authorization::*;
use bad_input::*;
use cancellation::*;
use console::*;
use console_food::*;
use contract::*;
use dispatch::*;
use dispatch_core::*;
use food_money::*;
use geocoding::*;
use housecalls::*;
use hygiene::*;
use merchants::*;
use money::*;
use operations::*;
use ops::*;
use order_payments::*;
use orders::*;
use pin::*;
use races::*;
use release_data::*;
use restart::*;
use ride_flow::*;
use saved_places::*;
use stream_hygiene::*;
use trip_checks::*;
use websocket::*;
use websocket_limits::*;
use whocoming::*;

/// Instantiates each suite function as `on_sqlite::<name>` and `on_postgres::<name>` (CI looks for
/// `on_postgres` in the test output to know the PostgreSQL suite ran).
macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {
        mod on_sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() -> crate::backend::TestResult {
                    crate::backend::run_on(crate::backend::Engine::Sqlite, stringify!($name), super::$name).await
                }
            )+
        }
        mod on_postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() -> crate::backend::TestResult {
                    crate::backend::run_on(crate::backend::Engine::Postgres, stringify!($name), super::$name).await
                }
            )+
        }
    };
}

on_both_backends!(
    // House calls.
    only_slots_the_provider_can_reach_from_the_visit_before_are_offered_and_a_booking_is_on_their_day,
    two_customers_racing_for_the_last_slot_one_books_it_and_the_other_gets_409_with_fresh_slots,
    a_provider_at_their_daily_cap_is_not_offered_and_a_hold_keeps_a_slot_for_its_holder,
    a_booking_is_idempotent_free_to_cancel_a_day_ahead_and_half_price_later,
    a_reschedule_moves_the_visit_and_frees_its_old_time_and_strangers_get_404,
    bad_house_call_requests_get_a_4xx_with_a_code,
    time_off_removes_the_slots_it_covers,
    a_visit_goes_on_my_way_arrive_check_in_check_out_and_its_postings_balance,
    no_shows_on_either_side_wait_their_time_and_only_the_customers_is_charged,
    reoptimisation_swaps_crossed_any_provider_visits_and_never_moves_a_chosen_one,
    an_as_soon_as_possible_visit_goes_to_the_earliest_gap,
    a_weekly_series_books_the_same_hour_each_week_and_skips_a_week_off,
    // Food orders.
    a_customer_orders_and_the_kitchen_accepts_prepares_and_readies_it,
    every_bad_order_input_is_a_4xx_with_its_code,
    the_live_dispatcher_offers_ready_food_to_a_courier_who_delivers_it,
    two_orders_ready_at_one_kitchen_go_to_one_courier_as_one_offer_and_a_lapsed_offer_goes_to_the_next,
    browsing_shows_the_delivery_fee_and_time_and_an_order_says_what_cancelling_costs_now,
    // The money and ratings of food orders.
    a_delivered_order_is_rated_once_by_each_party_and_both_statements_match_the_quote_and_the_books,
    // Food orders paid: authorised at placement, settled at the end, refunded by operators.
    an_order_without_a_payment_method_or_with_a_declined_card_is_refused_and_nothing_is_placed,
    an_order_is_captured_at_delivery_released_when_rejected_cancelled_free_or_undeliverable_and_charged_only_the_fee_when_cancelled_late,
    an_operator_refunds_part_of_a_delivered_order_charged_to_the_platform_or_the_merchant_and_never_more_than_was_paid,
    // Who is coming, chat, and telling the truth early.
    a_driver_registers_a_vehicle_with_checked_fields_and_an_upper_case_plate,
    the_rider_sees_who_is_coming_from_assignment_on_and_nobody_else_does,
    rider_and_driver_chat_over_the_event_stream_while_the_ride_is_open,
    a_sender_is_rate_limited_after_a_burst_of_messages,
    a_quote_says_how_far_the_nearest_car_is_or_that_none_is_near,
    a_ride_no_driver_can_reach_ends_early_as_no_drivers_nearby,
    no_driver_reasons_say_whether_offers_were_declined_or_expired_or_the_driver_cancelled,
    // The contract: the document and the authorization matrix read from it.
    every_operation_in_the_document_answers_owner_stranger_other_roles_admin_and_no_token_as_documented,
    the_document_lists_the_shared_statuses_and_the_codes_of_every_error,
    // Input hygiene.
    names_and_emails_with_control_bidi_or_zero_width_characters_are_refused,
    an_empty_malformed_or_reused_idempotency_key_is_refused_and_creates_nothing,
    every_error_is_json_with_a_code_and_ranges_are_checked_as_documented,
    rating_an_unfinished_ride_is_a_conflict_for_its_rider_and_not_found_for_others,
    an_admins_ride_list_is_newest_first_like_everyone_elses,
    a_body_refused_before_it_is_read_ends_its_connection_and_no_next_request_is_lost,
    // The operations console.
    only_admins_read_the_operations_endpoints,
    the_console_sees_drivers_rides_kpis_and_zone_demand,
    operators_list_food_orders_by_state_and_merchant_and_the_food_tile_counts_them,
    a_silent_idle_driver_is_stale_and_not_counted_online,
    admins_receive_every_drivers_position_on_the_event_stream,
    riders_see_nearby_available_drivers_without_identities,
    // The console acts: audited, idempotent operator actions, onboarding, people.
    an_operator_refunds_part_of_a_fare_with_balanced_entries_and_never_more_than_was_paid,
    an_operator_cancels_with_or_without_a_fee_and_waives_a_charged_fee,
    an_operator_reassigns_an_assigned_ride_to_another_driver_or_back_to_dispatch,
    a_suspension_blocks_the_account_and_takes_a_driver_offline_until_reinstated,
    a_driver_goes_online_only_after_an_operator_approves_them,
    approving_a_driver_without_a_vehicle_is_refused_and_changes_nothing_until_they_register_one,
    an_expired_document_takes_a_driver_offline_and_keeps_them_offline,
    people_are_found_by_name_email_and_phone_and_have_a_page,
    the_audit_log_pages_newest_first_and_filters_by_operator,
    // A whole ride, and requesting idempotently.
    a_rider_and_a_driver_complete_a_ride_rate_each_other_and_the_ledger_balances,
    retrying_a_request_with_the_same_idempotency_key_returns_the_same_ride_and_creates_no_other,
    a_used_quote_and_an_expired_quote_cannot_be_turned_into_a_ride,
    // Authorization.
    another_rider_gets_404_for_a_ride_that_is_not_theirs,
    a_driver_cannot_take_or_drive_a_ride_offered_or_assigned_to_another_driver,
    riders_cannot_use_driver_endpoints_and_drivers_cannot_quote,
    requests_without_a_valid_token_are_unauthenticated,
    signing_up_as_admin_is_refused_and_creates_no_account,
    // Bad input.
    malformed_bodies_are_refused_with_their_own_codes,
    coordinates_out_of_range_or_outside_manhattan_are_refused,
    ids_that_are_not_uuids_are_simply_not_found,
    bad_location_batches_are_refused,
    ratings_outside_one_to_five_stars_are_refused,
    // Cancellation.
    a_rider_cancels_for_free_before_assignment_and_within_the_free_window,
    cancelling_a_ride_withdraws_its_offer_and_frees_the_driver,
    a_late_cancellation_shows_the_fee_first_then_charges_it_for_the_driver,
    a_completed_ride_cannot_be_cancelled,
    a_drivers_cancellation_returns_the_ride_to_dispatch_for_another_driver,
    // Dispatch.
    an_unanswered_offer_expires_and_the_ride_is_offered_to_the_next_driver,
    a_declined_offer_goes_to_the_next_driver,
    without_any_driver_the_ride_ends_as_no_driver_available_at_the_pickup_limit,
    when_every_driver_declines_the_ride_ends_with_all_offers_declined,
    idle_drivers_crowded_in_one_place_are_suggested_where_riders_are_expected,
    no_ride_is_dropped_while_the_store_refuses_the_dispatchers_writes,
    // Races between use cases, and the hot state against the record.
    accept_racing_a_riders_cancellation_leaves_the_driver_as_the_record_says,
    a_drivers_and_a_riders_cancellation_racing_leave_the_driver_as_the_record_says,
    accept_racing_the_offers_expiry_leaves_the_driver_as_the_record_says,
    a_decline_racing_the_next_batch_leaves_both_drivers_as_the_record_says,
    a_driver_whose_last_position_is_stale_gets_no_offer,
    a_batch_pairs_rides_and_drivers_by_least_total_pickup_time_not_first_come,
    // The WebSocket event stream.
    a_rider_on_the_event_stream_sees_the_whole_ride_in_order_and_the_driver_sees_the_offer,
    a_client_that_reconnects_after_its_last_event_gets_exactly_the_events_it_missed,
    the_rider_receives_driver_locations_sent_over_the_drivers_websocket,
    the_event_stream_refuses_a_missing_or_bad_token_with_401,
    drivers_send_binary_location_batches_and_bad_messages_get_error_frames,
    riders_ask_for_nearby_drivers_on_the_event_stream,
    // Abuse limits of the event stream and the nearby map.
    a_ticket_opens_one_socket_once_and_only_before_it_expires,
    a_bearer_token_in_the_url_is_refused_with_400_json,
    a_non_numeric_after_is_refused_with_400_json,
    one_account_opening_forty_sockets_keeps_its_newest_five_and_others_still_connect,
    a_client_ip_over_its_socket_cap_loses_its_oldest_sockets_whoever_holds_them,
    a_message_over_the_size_limit_closes_the_socket_with_1009,
    // Slow, silent and far-behind clients of the event stream.
    a_client_that_stops_reading_is_dropped_once_a_write_times_out,
    a_client_that_never_answers_a_ping_is_closed_after_the_pong_deadline,
    a_client_far_behind_catches_up_in_pages_with_each_event_once_in_order,
    riders_see_nearby_drivers_on_a_coarse_grid_and_admins_see_exact_positions,
    nearby_queries_on_the_socket_count_against_the_callers_rate_limit,
    // Operations.
    health_and_readiness_answer_200_without_a_token,
    metrics_count_requests_rides_by_state_and_dispatch_batch_sizes,
    the_openapi_document_is_version_3_1_and_lists_the_ride_routes,
    the_docs_page_is_html_that_loads_nothing_from_other_hosts,
    a_caller_over_its_quota_gets_429_with_retry_after_and_other_callers_do_not,
    // The ride PIN: limited guesses, the lock, a new PIN.
    a_driver_guessing_pins_is_locked_out_after_the_configured_tries_even_with_the_right_pin,
    the_rider_sees_wrong_pins_and_the_lock_live_and_a_new_pin_lets_the_driver_start,
    only_the_rider_or_an_admin_can_issue_a_new_pin,
    concurrent_guesses_never_get_more_wrong_answers_than_the_limit_nor_start_after_the_lock,
    // Restart.
    after_a_restart_waiting_rides_are_dispatched_assigned_rides_stay_assigned_and_the_ledger_balances,
    // What a driver's phone says is checked; rides by state are counted in memory.
    implausible_positions_are_rejected_counted_by_reason_and_move_nothing,
    a_driver_arrives_only_near_the_pickup_by_a_believed_position,
    a_completion_away_from_the_drop_off_is_an_early_end_charged_for_what_was_driven,
    a_final_fare_is_capped_at_the_top_of_its_band_with_the_reason_recorded,
    metrics_count_rides_by_state_in_memory_without_reading_the_database_on_a_scrape,
    // Places: search, reverse geocoding, routes, and no quote on the water.
    places_search_finds_addresses_landmarks_and_intersections_for_every_role,
    reverse_geocoding_names_the_place_snaps_to_the_street_and_refuses_the_water,
    routes_follow_the_streets_and_refuse_the_water,
    a_quote_with_a_pickup_or_drop_off_in_the_water_is_refused,
    // Money: payment methods, tips, the driver's take and earnings; the books balance.
    a_cash_ride_is_collected_by_the_driver_who_then_owes_the_commission_and_earnings_add_up,
    a_wallet_ride_is_refused_without_funds_and_holds_then_captures_the_fare,
    a_card_is_authorised_at_request_captured_at_completion_voided_on_cancel_and_a_declined_card_is_refused,
    a_rider_tips_their_completed_ride_once_and_the_tip_posts_balanced_to_the_driver,
    surge_rises_in_small_steps_and_the_quote_says_why,
    // Saved places: owner-only, checked, limited, and first in place search.
    saved_places_are_created_replaced_listed_and_deleted_by_their_owner_only,
    saving_a_place_refuses_the_water_outside_the_area_and_bad_labels_or_text,
    a_person_keeps_home_work_and_at_most_twenty_labels_of_their_own,
    place_search_offers_the_callers_matching_saved_places_first,
    // Merchants: operators create and approve them, their staff run their own, customers browse.
    an_operator_creates_and_approves_a_merchant_and_only_then_customers_see_it,
    a_merchants_staff_run_their_own_merchant_and_another_merchants_staff_get_404,
    customers_browse_merchants_that_deliver_to_their_address_open_ones_first,
    a_menu_export_imports_back_unchanged_and_a_bad_import_names_the_bad_field,
    every_bad_merchant_input_is_a_4xx_with_its_code,
    // Data kept: a database made by an earlier release migrates forward.
    a_database_of_release_9931377_migrates_forward_and_reads_the_same_with_the_ledger_balanced,
    a_database_of_release_2ffc678_migrates_forward_and_reads_the_same_with_the_ledger_balanced,
);

/// House calls, the operators' side: the catalogue and the vetting of providers (under
/// `housecall_admin_suite::`, so that `cargo test housecall_admin` runs just these).
mod housecall_admin_suite {
    use crate::housecall_admin::*;

    on_both_backends!(
        operators_create_replace_and_retire_house_call_services_once_per_key_and_everyone_signed_in_reads_the_catalogue,
        bad_service_fields_are_refused_with_invalid_service_naming_the_field_and_nothing_is_created,
        operators_approve_reject_suspend_and_reinstate_providers_once_per_key_and_only_with_a_profile,
        a_provider_declares_documents_operators_see_their_expiry_and_an_expired_one_stops_approval,
    );
}

/// The console's house calls and the provider's safety tools: a day's bookings, the summary, share links
/// and SOS (under `console_housecalls_suite::`, so that `cargo test console_housecalls` runs just these).
mod console_housecalls_suite {
    use crate::console_housecalls::*;

    on_both_backends!(
        operators_read_a_days_bookings_across_providers_and_its_summary_with_utilisation,
        a_share_link_shows_the_visit_to_whoever_holds_it_until_it_expires_or_is_revoked,
        an_sos_reaches_operators_and_acknowledging_it_is_audited_once_per_key,
    );
}

/// Several nodes on PostgreSQL and NATS (under `cluster_suite::on_postgres::`, so that `cargo test
/// cluster_suite` runs just these). PostgreSQL only: a cluster's record is PostgreSQL.
mod cluster_suite {
    mod on_sqlite {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn a_cluster_node_on_sqlite_is_refused_with_a_clear_message()
        -> crate::backend::TestResult {
            crate::backend::run_on(
                crate::backend::Engine::Sqlite,
                "a_cluster_node_on_sqlite_is_refused_with_a_clear_message",
                crate::cluster::a_cluster_node_on_sqlite_is_refused_with_a_clear_message,
            )
            .await
        }
    }

    mod on_postgres {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn two_nodes_serve_one_city_with_one_dispatcher_and_the_second_takes_it_over()
        -> crate::backend::TestResult {
            crate::backend::run_on(
                crate::backend::Engine::Postgres,
                "two_nodes_serve_one_city_with_one_dispatcher_and_the_second_takes_it_over",
                crate::cluster::two_nodes_serve_one_city_with_one_dispatcher_and_the_second_takes_it_over,
            )
            .await
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn the_other_node_sees_the_owners_cars_and_providers_and_a_client_gets_its_rate_limit_once()
        -> crate::backend::TestResult {
            crate::backend::run_on(
                crate::backend::Engine::Postgres,
                "the_other_node_sees_the_owners_cars_and_providers_and_a_client_gets_its_rate_limit_once",
                crate::cluster::the_other_node_sees_the_owners_cars_and_providers_and_a_client_gets_its_rate_limit_once,
            )
            .await
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn an_owner_cut_off_from_the_record_lets_the_city_go_to_a_node_that_reaches_it()
        -> crate::backend::TestResult {
            crate::backend::run_on(
                crate::backend::Engine::Postgres,
                "an_owner_cut_off_from_the_record_lets_the_city_go_to_a_node_that_reaches_it",
                crate::cluster::an_owner_cut_off_from_the_record_lets_the_city_go_to_a_node_that_reaches_it,
            )
            .await
        }
    }
}

/// Connected devices: the registry and the ingest over MQTT (under `devices_suite::`, so that `cargo
/// test devices` runs just these).
mod devices_suite {
    use crate::devices::*;

    on_both_backends!(
        operators_create_bind_unbind_and_rotate_devices_once_per_key_and_each_write_is_audited,
        a_bound_devices_positions_over_mqtt_move_its_worker_and_other_messages_are_dropped,
    );
}

/// Writes the release fixture named by `DOORSTEP_FIXTURE_RELEASE` (docs/migrations.md). Run by hand, once
/// per release, at the release's commit; it is not a check.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "writes crates/api/tests/fixtures/release-<release>/; run by hand, see docs/migrations.md"]
async fn generate_release_fixture() -> backend::TestResult {
    backend::run_on(
        backend::Engine::Sqlite,
        "generate_release_fixture",
        release_fixture::generate_release_fixture,
    )
    .await
}
