//! Group commit for SQLite's one writer.
//!
//! On SQLite every write queues for one connection, and what a write costs is
//! mostly per statement and per commit: the hand-off to sqlx's worker thread,
//! the write lock, and the WAL frames of every page the commit dirtied (the
//! same hot pages again and again). A [`Batcher`] lets concurrent requests of
//! one kind (refresh-token rotations, throttle hits) queue, and applies
//! whatever has queued with one statement: one hand-off and one commit for
//! many requests. Each request still gets its own answer, and a batch's
//! statement is as atomic as the single ones were.
//!
//! On PostgreSQL there is no single writer to relieve and a multi-row UPDATE
//! could lock rows in a different order from another server's, so there the
//! work runs at once, in the caller's task, as a batch of one.

use std::future::Future;
use std::pin::Pin;

use rocket::tokio::sync::{mpsc, oneshot};

use super::Backend;

/// Applies a batch: one answer per job, in the jobs' order.
pub type Apply<J, R> =
    fn(Backend, Vec<J>) -> Pin<Box<dyn Future<Output = sqlx::Result<Vec<R>>> + Send>>;

type Reply<R> = oneshot::Sender<sqlx::Result<R>>;

/// Most jobs in one batch (so one statement's parameters stay well under
/// SQLite's limit).
pub const MAX_BATCH: usize = 64;

/// Most jobs queued before a caller waits for room.
const QUEUE: usize = 1024;

pub struct Batcher<J, R> {
    backend: Backend,
    apply: Apply<J, R>,
    /// `None`: apply in the caller's task (PostgreSQL, or no runtime).
    queue: Option<mpsc::Sender<(J, Reply<R>)>>,
}

impl<J: Send + 'static, R: Send + 'static> Batcher<J, R> {
    /// On SQLite, starts the task that applies the batches (on the current
    /// Tokio runtime, if there is one).
    pub fn spawn(backend: Backend, apply: Apply<J, R>) -> Self {
        let runtime = rocket::tokio::runtime::Handle::try_current();
        let queue = match (&backend, runtime) {
            (Backend::Sqlite { .. }, Ok(runtime)) => {
                let (queue, jobs) = mpsc::channel(QUEUE);
                runtime.spawn(apply_forever(backend.clone(), apply, jobs));
                Some(queue)
            }
            _ => None,
        };
        Batcher {
            backend,
            apply,
            queue,
        }
    }

    /// Runs `job` (in a batch with whatever else is queued) and gives its
    /// answer.
    pub async fn run(&self, job: J) -> sqlx::Result<R> {
        let Some(queue) = &self.queue else {
            return single(self.apply, self.backend.clone(), job).await;
        };
        let (reply, answer) = oneshot::channel();
        if let Err(mpsc::error::SendError((job, _))) = queue.send((job, reply)).await {
            // The task is gone (the runtime is shutting down): run it here.
            return single(self.apply, self.backend.clone(), job).await;
        }
        answer
            .await
            .map_err(|_| batch_failed("the batch was dropped before it ran"))?
    }
}

async fn single<J, R>(apply: Apply<J, R>, backend: Backend, job: J) -> sqlx::Result<R> {
    apply(backend, vec![job])
        .await?
        .pop()
        .ok_or_else(|| batch_failed("a batch of one gave no answer"))
}

/// Takes the first queued job, with every job queued behind it (up to
/// [`MAX_BATCH`]), and applies them together. While one batch runs the next
/// one queues, so the batches grow with the load.
async fn apply_forever<J, R>(
    backend: Backend,
    apply: Apply<J, R>,
    mut queue: mpsc::Receiver<(J, Reply<R>)>,
) {
    let mut jobs = Vec::with_capacity(MAX_BATCH);
    let mut replies = Vec::with_capacity(MAX_BATCH);
    while let Some((job, reply)) = queue.recv().await {
        jobs.push(job);
        replies.push(reply);
        while jobs.len() < MAX_BATCH {
            let Ok((job, reply)) = queue.try_recv() else {
                break;
            };
            jobs.push(job);
            replies.push(reply);
        }
        let count = jobs.len();
        match apply(backend.clone(), std::mem::take(&mut jobs)).await {
            Ok(answers) if answers.len() == count => {
                for (reply, answer) in replies.drain(..).zip(answers) {
                    let _ = reply.send(Ok(answer));
                }
            }
            Ok(answers) => {
                let e = format!("{count} jobs, {} answers", answers.len());
                for reply in replies.drain(..) {
                    let _ = reply.send(Err(batch_failed(&e)));
                }
            }
            // Every request in the batch fails with the statement's error.
            Err(e) => {
                let e = e.to_string();
                for reply in replies.drain(..) {
                    let _ = reply.send(Err(batch_failed(&e)));
                }
            }
        }
    }
}

fn batch_failed(why: &str) -> sqlx::Error {
    sqlx::Error::Io(std::io::Error::other(format!(
        "batched write failed: {why}"
    )))
}
