//! `GET /metrics` on its own address: a second, small Rocket instance that
//! serves nothing else, started once the API is up and shut down with it.
//! The API's own routes never include it, so a scrape endpoint cannot be
//! reached through the public port (the configuration refuses the API's
//! address as the metrics address, too).

use std::collections::HashSet;
use std::net::SocketAddr;

use rocket::fairing::AdHoc;
use rocket::http::ContentType;
use rocket::{get, routes, Build, Orbit, Rocket};

use super::{render, HttpMetrics, CONTENT_TYPE};

#[get("/metrics")]
fn scrape() -> (ContentType, String) {
    let content_type = ContentType::parse_flexible(CONTENT_TYPE).unwrap_or(ContentType::Plain);
    (content_type, render())
}

/// The metrics instance for `address`: `/metrics` and nothing else, without
/// signal handlers of its own (the API's shutdown ends it) and with the
/// API's log level.
fn instance(address: SocketAddr, log_level: rocket::config::LogLevel) -> Rocket<Build> {
    let config = rocket::Config {
        address: address.ip(),
        port: address.port(),
        workers: 1,
        log_level,
        cli_colors: false,
        ip_header: None,
        shutdown: rocket::config::Shutdown {
            ctrlc: false,
            #[cfg(unix)]
            signals: HashSet::new(),
            ..rocket::config::Shutdown::default()
        },
        ..rocket::Config::default()
    };
    rocket::custom(config).mount("/", routes![scrape])
}

/// With an address: counts the API's requests, checks at ignition that the
/// address can be bound (a start fails rather than run without the metrics
/// an operator asked for), and serves `/metrics` there from liftoff. Without
/// one, nothing.
pub fn stage(address: Option<SocketAddr>) -> AdHoc {
    AdHoc::on_ignite("Metrics", move |rocket| async move {
        let Some(address) = address else {
            return rocket;
        };
        rocket
            .attach(HttpMetrics)
            .attach(AdHoc::try_on_ignite("Metrics address", move |rocket| async move {
                match std::net::TcpListener::bind(address) {
                    Ok(_) => Ok(rocket),
                    Err(e) => {
                        log::error!(target: "gatepass::metrics", "cannot listen for metrics on {address}: {e}");
                        Err(rocket)
                    }
                }
            }))
            .attach(AdHoc::on_liftoff("Metrics listener", move |rocket| {
                Box::pin(serve(address, rocket))
            }))
    })
}

async fn serve(address: SocketAddr, api: &Rocket<Orbit>) {
    let api_shutdown = api.shutdown();
    let metrics = match instance(address, api.config().log_level).ignite().await {
        Ok(metrics) => metrics,
        Err(e) => {
            log::error!(target: "gatepass::metrics", "cannot start the metrics listener: {e}");
            return;
        }
    };
    let own_shutdown = metrics.shutdown();
    rocket::tokio::spawn(async move {
        api_shutdown.await;
        own_shutdown.notify();
    });
    rocket::tokio::spawn(async move {
        if let Err(e) = metrics.launch().await {
            log::error!(target: "gatepass::metrics", "metrics listener on {address} failed: {e}");
        }
    });
    log::info!(target: "gatepass::metrics", "metrics at http://{address}/metrics");
}
