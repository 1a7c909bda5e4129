use nexus_hub::{Application, SERVICE, settings::HubSettings};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = HubSettings::from_env()?;
    let _sentry = nexus_web::service::init(SERVICE, &settings.common);
    let app = Application::build(settings).await?;
    app.run_until_stopped(nexus_web::serve::shutdown_signal())
        .await?;
    Ok(())
}
