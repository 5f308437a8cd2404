//! gatepass-server: the `/api/users` authentication API on Rocket, with
//! SQLite (one process) or PostgreSQL (several) underneath.
//!
//! A request's path: `routes/` (the handler and its guards in
//! `routes/guards.rs`) -> the domain layer (`accounts/`, `sessions/`,
//! `throttle.rs`) -> `store/` (the SQL) -> `db/` (connections) -> the
//! database, with every failure flowing back as one [`error::ApiError`].
//! ARCHITECTURE.md walks one request through them.

pub mod accounts;
pub mod admin;
pub mod audit;
pub mod auth;
pub mod backup;
pub mod cache;
pub mod config;
pub mod cors;
pub mod db;
pub mod error;
pub mod json;
pub mod logging;
pub mod mail;
pub mod metrics;
pub mod openapi;
pub mod routes;
pub mod sessions;
pub mod signing_keys;
pub mod state;
pub mod store;
pub mod throttle;
pub mod validate;

use gatepass_common::paths;
use rocket::fairing::AdHoc;
use rocket::{Build, Rocket};

pub use config::Config;
use state::AppState;

/// The whole server, ready to launch.
pub fn build(config: Config) -> Result<Rocket<Build>, String> {
    let figment = config.rocket_figment(rocket::Config::figment());
    let cors = cors::Cors::new(config.server.cors_origins.clone());
    let limits = &config.limits;
    // A throttle bucket is kept as long as its longest window.
    let throttle_idle = [
        limits.login_account.window,
        limits.login_address.window,
        limits.signup_address.window,
        limits.forgot_address.window,
        limits.reauth_address.window,
        limits.forgot_cooldown,
    ]
    .into_iter()
    .max()
    .unwrap_or_default();
    let metrics = metrics::stage(config.server.metrics_address);
    let database = store::stage(
        config.server.prune_interval,
        throttle_idle,
        config.server.audit_retention,
    );
    let request_log = logging::RequestLog {
        trust_incoming_id: config.server.trusted_proxy.is_some(),
    };
    let state = AppState::new(config)?;
    Ok(rocket::custom(figment)
        .manage(state)
        .attach(database)
        .attach(request_log)
        .attach(cors)
        .attach(cors::security_headers())
        .attach(signing_keys::stage())
        .attach(routes::well_known::caching())
        .attach(metrics)
        .attach(AdHoc::on_liftoff("Announce", |rocket| {
            Box::pin(async move {
                let config = rocket.config();
                log::info!(
                    target: "gatepass::launch",
                    "gatepass listening on http://{}:{}",
                    config.address,
                    config.port
                );
            })
        }))
        .mount(paths::USERS, routes::users_routes())
        .mount("/", routes::root_routes())
        .mount("/", openapi::routes())
        .register("/", routes::catchers()))
}
