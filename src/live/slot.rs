//! A latest-only slot between the video thread and the model thread: capacity one, the
//! newest item wins.
//!
//! Input: items from a producer that must never wait ([`LatestSlot::put`]). Output: the newest
//! unread item for a consumer that may wait ([`LatestSlot::take`]); every item a newer one
//! displaced goes back to the producer, so it can count skipped frames. Never fails: after
//! [`LatestSlot::close`] puts are refused (the item is handed back) and takers stop waiting.
//! A poisoned lock (a thread panicked holding it) is recovered, never propagated.

use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

struct State<T> {
    item: Option<T>,
    closed: bool,
}

/// A capacity-one slot where the newest item wins (see the module docs).
pub struct LatestSlot<T> {
    state: Mutex<State<T>>,
    ready: Condvar,
}

impl<T> Default for LatestSlot<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> LatestSlot<T> {
    /// An empty, open slot.
    pub fn new() -> Self {
        Self {
            state: Mutex::new(State {
                item: None,
                closed: false,
            }),
            ready: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Puts the newest item; returns the unread item it displaced (a skipped frame), if any.
    ///
    /// Never blocks beyond the short lock. After [`close`](Self::close) the item itself is
    /// returned (refused) and the slot stays empty.
    pub fn put(&self, item: T) -> Option<T> {
        let mut state = self.lock();
        if state.closed {
            return Some(item);
        }
        let displaced = state.item.replace(item);
        drop(state);
        self.ready.notify_one();
        displaced
    }

    /// Waits up to `timeout` for an item; None on timeout, or when closed and empty.
    ///
    /// An item put before `close` can still be taken after it.
    pub fn take(&self, timeout: Duration) -> Option<T> {
        let deadline = Instant::now().checked_add(timeout);
        let mut state = self.lock();
        loop {
            if let Some(item) = state.item.take() {
                return Some(item);
            }
            if state.closed {
                return None;
            }
            let left = match deadline {
                Some(d) => d.saturating_duration_since(Instant::now()),
                // A timeout too long to represent: wait in long steps.
                None => Duration::from_secs(3600),
            };
            if left.is_zero() {
                return None;
            }
            state = self
                .ready
                .wait_timeout(state, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Wakes every waiter; later puts are refused.
    pub fn close(&self) {
        self.lock().closed = true;
        self.ready.notify_all();
    }

    /// Whether [`close`](Self::close) was called.
    pub fn is_closed(&self) -> bool {
        self.lock().closed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::thread;

    #[test]
    fn the_newest_item_displaces_the_unread_one() {
        let slot = LatestSlot::new();
        assert_eq!(slot.put(1), None);
        assert_eq!(slot.put(2), Some(1));
        assert_eq!(slot.put(3), Some(2));
        assert_eq!(slot.take(Duration::ZERO), Some(3));
        assert_eq!(slot.take(Duration::ZERO), None);
        assert_eq!(slot.put(4), None, "nothing unread to displace");
    }

    #[test]
    fn take_times_out_on_an_empty_slot() {
        let slot: LatestSlot<u8> = LatestSlot::default();
        let start = Instant::now();
        assert_eq!(slot.take(Duration::from_millis(30)), None);
        assert!(start.elapsed() >= Duration::from_millis(30));
        // An unrepresentable deadline still returns at once when an item is there.
        slot.put(1);
        assert_eq!(slot.take(Duration::MAX), Some(1));
    }

    #[test]
    fn close_wakes_a_blocked_taker_and_refuses_puts() {
        let slot = Arc::new(LatestSlot::<u32>::new());
        let taker = {
            let slot = Arc::clone(&slot);
            thread::spawn(move || {
                let start = Instant::now();
                (slot.take(Duration::from_secs(60)), start.elapsed())
            })
        };
        thread::sleep(Duration::from_millis(50));
        assert!(!slot.is_closed());
        slot.close();
        let (got, waited) = taker.join().unwrap();
        assert_eq!(got, None);
        assert!(waited < Duration::from_secs(30), "close did not wake it");
        assert!(slot.is_closed());
        assert_eq!(slot.put(7), Some(7), "refused after close");
        assert_eq!(slot.take(Duration::from_secs(60)), None, "closed and empty");
    }

    #[test]
    fn an_item_put_before_close_can_still_be_taken() {
        let slot = LatestSlot::new();
        slot.put("last");
        slot.close();
        assert_eq!(slot.take(Duration::ZERO), Some("last"));
        assert_eq!(slot.take(Duration::ZERO), None);
    }

    #[test]
    fn a_slow_taker_always_gets_the_newest_and_nothing_is_lost() {
        const PUTS: u64 = 5_000;
        let slot = Arc::new(LatestSlot::<u64>::new());
        let taker = {
            let slot = Arc::clone(&slot);
            thread::spawn(move || {
                let mut taken = Vec::new();
                while let Some(v) = slot.take(Duration::from_secs(60)) {
                    taken.push(v);
                    thread::sleep(Duration::from_micros(200));
                }
                taken
            })
        };
        let mut displaced = Vec::new();
        for i in 0..PUTS {
            displaced.extend(slot.put(i));
            if i % 500 == 0 {
                thread::sleep(Duration::from_millis(1));
            }
        }
        slot.close();
        let taken = taker.join().unwrap();
        assert_eq!(taken.len() + displaced.len(), PUTS as usize);
        // The producer puts in increasing order and the slot holds only the newest, so what
        // the taker reads increases strictly, as do the displaced items.
        assert!(taken.windows(2).all(|w| w[0] < w[1]), "{taken:?}");
        assert!(displaced.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(*taken.last().unwrap(), PUTS - 1, "the last put is read");
        // Every number is either taken or displaced, exactly once.
        let mut all: Vec<u64> = taken.iter().chain(&displaced).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..PUTS).collect::<Vec<_>>());
    }
}
