//! The API's requests, counted by method, route template and status, and
//! timed (a Rocket fairing on the public instance).

use std::time::Instant;

use rocket::fairing::{Fairing, Info, Kind};
use rocket::{Data, Request, Response};

use super::METRICS;

/// Counts and times every response of the Rocket it is attached to.
pub struct HttpMetrics;

/// When the request arrived (the fairing's own, beside the request log's).
struct Arrived(Instant);

/// The label of the route that answered `request`: its URI template as
/// mounted (`/api/users/reset/<token>`), never the path the client sent,
/// which may hold a token or an id. A request no route matched (a 404, a
/// catcher) is `unmatched`.
pub(super) fn route_label(request: &Request<'_>) -> String {
    match request.route() {
        Some(route) => route.uri.as_str().to_owned(),
        None => "unmatched".to_owned(),
    }
}

#[rocket::async_trait]
impl Fairing for HttpMetrics {
    fn info(&self) -> Info {
        Info {
            name: "Metrics: requests",
            kind: Kind::Request | Kind::Response,
        }
    }

    async fn on_request(&self, request: &mut Request<'_>, _: &mut Data<'_>) {
        request.local_cache(|| Arrived(Instant::now()));
    }

    async fn on_response<'r>(&self, request: &'r Request<'_>, response: &mut Response<'r>) {
        let elapsed = request.local_cache(|| Arrived(Instant::now())).0.elapsed();
        let method = request.method().as_str();
        let route = route_label(request);
        let status = response.status().code.to_string();
        METRICS
            .requests
            .with_label_values(&[method, route.as_str(), status.as_str()])
            .inc();
        METRICS
            .request_seconds
            .with_label_values(&[method, route.as_str()])
            .observe(elapsed.as_secs_f64());
    }
}

#[cfg(test)]
mod tests {
    use rocket::local::blocking::Client;
    use rocket::{get, routes};

    use super::*;

    #[get("/things/<id>")]
    fn thing(id: &str) -> String {
        id.to_owned()
    }

    #[test]
    fn requests_are_labelled_by_route_template_never_by_path() {
        let rocket = rocket::build()
            .attach(HttpMetrics)
            .mount("/metrics-test", routes![thing]);
        let client = Client::tracked(rocket).unwrap();
        assert_eq!(
            client
                .get("/metrics-test/things/secret-id-123")
                .dispatch()
                .status()
                .code,
            200
        );
        client.get("/metrics-test/nowhere-456").dispatch();
        let text = super::super::render();
        assert!(text.contains(
            "gatepass_http_requests_total{method=\"GET\",route=\"/metrics-test/things/<id>\",status=\"200\"}"
        ));
        assert!(text.contains(
            "gatepass_http_request_duration_seconds_count{method=\"GET\",route=\"/metrics-test/things/<id>\"}"
        ));
        assert!(text.contains("route=\"unmatched\",status=\"404\""));
        assert!(!text.contains("secret-id-123"));
        assert!(!text.contains("nowhere-456"));
    }
}
