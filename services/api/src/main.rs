use anyhow::Context;
use clap::Parser;
use nexus_api::{
    Application,
    accounts::{self, NewAccount},
    cli::{Cli, Command},
    seed,
    settings::ApiSettings,
};
use nexus_auth::Role;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if matches!(cli.command, Some(Command::Openapi)) {
        let (_, spec) = nexus_api::openapi::split(nexus_api::openapi::api_router());
        println!("{}", serde_json::to_string(&spec)?);
        return Ok(());
    }
    let settings = ApiSettings::from_env()?;
    let command = cli.command.unwrap_or(Command::Serve);
    let _sentry = match command {
        Command::Serve => nexus_web::service::init(nexus_api::startup::SERVICE, &settings.common),
        _ => {
            nexus_telemetry::init_tracing(nexus_api::startup::SERVICE);
            None
        }
    };
    match command {
        Command::Serve => {
            let app = Application::build(settings).await?;
            app.run_until_stopped(nexus_web::serve::shutdown_signal())
                .await?;
        }
        Command::Migrate => {
            let pool = connect(&settings).await?;
            nexus_database::migrate(&pool).await?;
            println!("migrations applied");
        }
        Command::Seed => {
            let pool = connect(&settings).await?;
            let password = nexus_config::var_or("DEMO_PASSWORD", seed::DEFAULT_DEMO_PASSWORD);
            let dir = seed::default_content_dir();
            let report = seed::seed_demo(&pool, &password, &dir).await?;
            println!(
                "demo data: {} accounts, {} courses, {} quizzes created now (from {})",
                report.accounts_created,
                report.courses_created,
                report.quizzes_created,
                dir.display()
            );
            println!("demo accounts, password for all: {password}");
            for account in &seed::DEMO_ACCOUNTS {
                println!("  {:<8} {}", account.role.as_str(), account.email);
            }
        }
        Command::CreateAdmin {
            email,
            password,
            first_name,
            last_name,
        } => {
            let pool = connect(&settings).await?;
            let id = accounts::create(
                &pool,
                NewAccount {
                    email: email.clone(),
                    password,
                    first_name,
                    last_name,
                    role: Role::Admin,
                    phone: None,
                    class_level: None,
                    school_name: None,
                    confirm_password: None,
                    date_of_birth: None,
                },
            )
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "{}: {}",
                    e.code,
                    e.details
                        .map(|d| d.to_string())
                        .unwrap_or_else(|| e.message.to_string())
                )
            })?;
            println!("administrator {email} created (id {id})");
        }
        Command::Openapi => unreachable!("answered before the settings are read"),
        Command::Digests { now } => {
            let pool = connect(&settings).await?;
            let now = now.unwrap_or_else(chrono::Utc::now);
            let mailer = nexus_api::mail::Mailer::from_settings(&settings.mail)?;
            let queued = nexus_api::digest::send_due(&pool, &settings, now).await?;
            let delivery = nexus_api::mail::queue::deliver_due(&pool, &mailer, now).await?;
            println!(
                "digests queued: {queued}; mails sent: {}, failed (will retry): {}",
                delivery.sent, delivery.failed
            );
        }
    }
    Ok(())
}

async fn connect(settings: &ApiSettings) -> anyhow::Result<sqlx::PgPool> {
    nexus_database::connect_with_retry(
        settings.common.database_url.expose(),
        2,
        std::time::Duration::from_secs(30),
    )
    .await
    .context("the database must be reachable for this command")
}
