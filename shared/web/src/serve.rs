//! Serving with graceful shutdown: on SIGTERM or ctrl-c, stop accepting, let requests in
//! flight finish, and give up after the drain timeout.

use std::{future::Future, net::SocketAddr, time::Duration};

use axum::{Router, serve::ListenerExt};
use tokio::{net::TcpListener, sync::Notify};

pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    drain_timeout: Duration,
) -> std::io::Result<()> {
    let draining = std::sync::Arc::new(Notify::new());
    let notify = draining.clone();
    // Small writes go out at once: without TCP_NODELAY, a websocket's second frame in
    // a row waits for the client's delayed ACK (40 ms on Linux).
    let listener = listener.tap_io(|stream| {
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "TCP_NODELAY not set");
        }
    });
    let server = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown.await;
        tracing::info!("shutting down: draining requests in flight");
        notify.notify_one();
    });
    tokio::select! {
        result = server => result,
        () = async { draining.notified().await; tokio::time::sleep(drain_timeout).await } => {
            tracing::warn!(?drain_timeout, "drain timeout reached; closing remaining connections");
            Ok(())
        }
    }
}

/// Resolves on SIGTERM (what Docker and systemd send) or ctrl-c.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
