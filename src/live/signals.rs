//! Ctrl-C and SIGTERM end a live run cleanly: the handlers only raise a flag that the run's
//! loop polls, so the recording is finished and the statistics are written.

use std::sync::atomic::{AtomicBool, Ordering};

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn raise(_signal: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

/// Installs the SIGINT and SIGTERM handlers and returns the flag they raise.
pub fn install() -> &'static AtomicBool {
    let handler = raise as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        libc::signal(libc::SIGINT, handler);
        libc::signal(libc::SIGTERM, handler);
    }
    &STOP
}
