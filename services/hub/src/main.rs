use nexus_hub::{Application, DEFAULT_PORT, PORT_VAR, SERVICE};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let common = nexus_config::CommonSettings::from_env(PORT_VAR, DEFAULT_PORT)?;
    let _sentry = nexus_web::service::init(SERVICE, &common);
    let app = Application::build(common).await?;
    app.run_until_stopped(nexus_web::serve::shutdown_signal())
        .await?;
    Ok(())
}
