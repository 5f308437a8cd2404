// The seeding embeds the server's SQLite migrations (`sqlx::migrate!`); a new
// migration file alone must rebuild the bench.
fn main() {
    println!("cargo:rerun-if-changed=../server/migrations/sqlite");
}
