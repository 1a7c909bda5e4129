use nexus_aria::{Application, AriaSettings, SERVICE, index};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = AriaSettings::from_env()?;
    if std::env::args().nth(1).as_deref() == Some("reindex") {
        nexus_telemetry::init_tracing(SERVICE);
        let pool = nexus_database::connect_with_retry(
            settings.common.database_url.expose(),
            2,
            std::time::Duration::from_secs(30),
        )
        .await?;
        let courses = index::reindex_all(&pool).await?;
        println!("ARIA index rebuilt: {courses} published courses");
        return Ok(());
    }
    let _sentry = nexus_web::service::init(SERVICE, &settings.common);
    let app = Application::build(settings).await?;
    app.run_until_stopped(nexus_web::serve::shutdown_signal())
        .await?;
    Ok(())
}
