//! [`Loader`]: runs a preparation on worker threads over a list of jobs and yields the results
//! in job order, a few jobs ahead of the consumer.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::thread::{self, JoinHandle};

use crossbeam_channel::{Receiver, Sender};

use super::DataError;

/// Loader settings; the default uses all cores and keeps one job per worker in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LoaderSettings {
    /// Worker threads; 0 = all cores.
    pub workers: usize,
    /// Jobs in flight beyond the one being consumed (≥ workers keeps every worker busy).
    pub prefetch: usize,
}

type JobResult<T> = (usize, Result<T, DataError>);

/// Runs `prepare` on worker threads over a list of jobs (typically one per batch) and yields
/// the results in job order, keeping at most `prefetch` jobs in flight. Dropping the loader
/// stops the workers after their current job.
pub struct Loader<J, T> {
    jobs: std::vec::IntoIter<J>,
    job_tx: Option<Sender<(usize, J)>>,
    result_rx: Receiver<JobResult<T>>,
    pending: BTreeMap<usize, Result<T, DataError>>,
    submitted: usize,
    next: usize,
    total: usize,
    in_flight: usize,
    workers: Vec<JoinHandle<()>>,
}

impl<J: Send + 'static, T: Send + 'static> Loader<J, T> {
    /// Starts the workers; `prepare(job)` runs on one of them, panics become
    /// [`DataError::WorkerPanicked`].
    pub fn new<F>(jobs: Vec<J>, settings: LoaderSettings, prepare: F) -> Self
    where
        F: Fn(J) -> Result<T, DataError> + Send + Sync + 'static,
    {
        let workers = match settings.workers {
            0 => thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let in_flight = settings.prefetch.max(workers).max(1);
        let total = jobs.len();
        let (job_tx, job_rx) = crossbeam_channel::unbounded::<(usize, J)>();
        let (result_tx, result_rx) = crossbeam_channel::unbounded();
        let prepare = Arc::new(prepare);
        let handles = (0..workers.min(total.max(1)))
            .map(|i| {
                let job_rx = job_rx.clone();
                let result_tx: Sender<JobResult<T>> = result_tx.clone();
                let prepare = Arc::clone(&prepare);
                thread::Builder::new()
                    .name(format!("loader-{i}"))
                    .spawn(move || {
                        for (index, job) in job_rx {
                            let run = std::panic::AssertUnwindSafe(|| prepare(job));
                            let result = std::panic::catch_unwind(run)
                                .unwrap_or_else(|p| Err(DataError::WorkerPanicked(panic_text(&p))));
                            if result_tx.send((index, result)).is_err() {
                                break;
                            }
                        }
                    })
                    .expect("cannot spawn a data loader thread")
            })
            .collect();
        let mut loader = Self {
            jobs: jobs.into_iter(),
            job_tx: Some(job_tx),
            result_rx,
            pending: BTreeMap::new(),
            submitted: 0,
            next: 0,
            total,
            in_flight,
            workers: handles,
        };
        loader.top_up();
        loader
    }

    /// Submits jobs until `in_flight` are outstanding.
    fn top_up(&mut self) {
        while self.submitted < self.total && self.submitted - self.next < self.in_flight {
            let (Some(job), Some(tx)) = (self.jobs.next(), &self.job_tx) else {
                return;
            };
            if tx.send((self.submitted, job)).is_err() {
                return;
            }
            self.submitted += 1;
        }
    }
}

/// The message of a worker's panic.
fn panic_text(payload: &Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

impl<J: Send + 'static, T: Send + 'static> Iterator for Loader<J, T> {
    type Item = Result<T, DataError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.next >= self.total {
            return None;
        }
        let result = loop {
            if let Some(r) = self.pending.remove(&self.next) {
                break r;
            }
            match self.result_rx.recv() {
                Ok((index, r)) => {
                    self.pending.insert(index, r);
                }
                Err(_) => break Err(DataError::WorkerPanicked("all workers exited".into())),
            }
        };
        self.next += 1;
        self.top_up();
        Some(result)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.total - self.next;
        (left, Some(left))
    }
}

impl<J, T> Drop for Loader<J, T> {
    fn drop(&mut self) {
        self.job_tx = None;
        // Unblock workers waiting to send, then wait for them to finish their current job.
        while self.result_rx.try_recv().is_ok() {}
        for handle in self.workers.drain(..) {
            let _ = handle.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loader_keeps_order_and_reports_errors_and_panics() {
        let settings = LoaderSettings {
            workers: 3,
            prefetch: 4,
        };
        let out: Vec<_> = Loader::new((0..50u64).collect(), settings, |j| {
            thread::sleep(std::time::Duration::from_micros((50 - j) * 20));
            match j {
                7 => Err(DataError::Image {
                    path: "seven.png".into(),
                    reason: "bad".into(),
                }),
                9 => panic!("nine"),
                _ => Ok(j * 2),
            }
        })
        .collect();
        assert_eq!(out.len(), 50);
        for (j, r) in out.iter().enumerate() {
            match j {
                7 => assert!(r.as_ref().unwrap_err().to_string().contains("seven.png")),
                9 => assert!(r.as_ref().unwrap_err().to_string().contains("nine")),
                _ => assert_eq!(*r.as_ref().unwrap(), j as u64 * 2),
            }
        }
    }

    #[test]
    fn dropping_a_loader_early_stops_it() {
        let mut loader = Loader::new(
            (0..1000).collect(),
            LoaderSettings::default(),
            Ok::<_, DataError>,
        );
        assert_eq!(loader.next().unwrap().unwrap(), 0);
        drop(loader);
    }
}
