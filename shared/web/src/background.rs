//! A service's background loops (the outbox relay, the API's jobs, ARIA's index sync):
//! started with the service, stopped by its shutdown signal. A loop waits between two
//! rounds through [`Stop::during`], which returns `None` once the service stops: the
//! round in progress finishes (a batch relayed, an export written, a mail sent) and
//! no new round starts. [`Background::shutdown`] waits for every loop to return, at
//! most the service's drain timeout, after the server has drained its requests.

use std::{future::Future, time::Duration};

use tokio_util::{sync::CancellationToken, task::TaskTracker};

/// The loops of one service.
#[derive(Clone, Default)]
pub struct Background {
    tracker: TaskTracker,
    stop: CancellationToken,
}

/// What a loop checks between its rounds.
#[derive(Clone, Default)]
pub struct Stop(CancellationToken);

impl Stop {
    /// Runs `pause` (a tick, a sleep, a wait for a wake-up) unless the service stops
    /// first: `None` then, and the loop returns.
    pub async fn during<F: Future>(&self, pause: F) -> Option<F::Output> {
        self.0.run_until_cancelled(pause).await
    }

    pub fn is_stopping(&self) -> bool {
        self.0.is_cancelled()
    }
}

impl Background {
    /// Starts `task`, a loop that returns when its [`Stop`] says so.
    pub fn spawn<F>(&self, name: &'static str, task: impl FnOnce(Stop) -> F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let running = task(Stop(self.stop.clone()));
        self.tracker.spawn(async move {
            running.await;
            tracing::debug!(task = name, "background task stopped");
        });
    }

    /// Asks every loop to stop and waits for the rounds in progress, at most
    /// `timeout`; returns whether all of them finished (the others are left to the
    /// process's exit, with a warning).
    pub async fn shutdown(&self, timeout: Duration) -> bool {
        self.stop.cancel();
        self.tracker.close();
        if tokio::time::timeout(timeout, self.tracker.wait())
            .await
            .is_ok()
        {
            tracing::info!("background tasks stopped");
            true
        } else {
            tracing::warn!(
                running = self.tracker.len(),
                ?timeout,
                "background tasks still running at the end of the drain timeout"
            );
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    };

    use super::*;

    #[tokio::test]
    async fn a_round_in_progress_finishes_and_no_new_round_starts() {
        let background = Background::default();
        let rounds = Arc::new(AtomicUsize::new(0));
        let finished = Arc::new(AtomicUsize::new(0));
        let (started_tx, mut started_rx) = tokio::sync::mpsc::unbounded_channel();
        {
            let (rounds, finished) = (rounds.clone(), finished.clone());
            background.spawn("test loop", |stop| async move {
                loop {
                    rounds.fetch_add(1, Ordering::SeqCst);
                    let _ = started_tx.send(());
                    // A round of work that outlasts the stop signal.
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    finished.fetch_add(1, Ordering::SeqCst);
                    if stop
                        .during(tokio::time::sleep(Duration::from_millis(10)))
                        .await
                        .is_none()
                    {
                        return;
                    }
                }
            });
        }
        started_rx.recv().await.expect("the first round started");
        assert!(background.shutdown(Duration::from_secs(5)).await);
        assert_eq!(rounds.load(Ordering::SeqCst), 1, "no round after the stop");
        assert_eq!(
            finished.load(Ordering::SeqCst),
            1,
            "the round in progress finished"
        );
    }

    #[tokio::test]
    async fn a_loop_that_ignores_the_stop_does_not_hold_the_shutdown_past_its_timeout() {
        let background = Background::default();
        background.spawn("stubborn", |_stop| async {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        });
        let started = std::time::Instant::now();
        assert!(!background.shutdown(Duration::from_millis(200)).await);
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[tokio::test]
    async fn a_waiting_loop_returns_at_once() {
        let background = Background::default();
        background.spawn("idle", |stop| async move {
            while stop
                .during(tokio::time::sleep(Duration::from_secs(60)))
                .await
                .is_some()
            {}
        });
        let started = std::time::Instant::now();
        assert!(background.shutdown(Duration::from_secs(30)).await);
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
    }
}
