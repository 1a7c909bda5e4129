// The migrations are embedded by `sqlx::migrate!`: rebuild this crate when one is added
// or changed, which cargo would not notice on its own.
fn main() {
    println!("cargo:rerun-if-changed=../../database/migrations");
}
