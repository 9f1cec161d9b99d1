use super::*;
use crossbeam_channel::bounded;
use std::sync::atomic::AtomicUsize;

/// source (0..n, failing at `fail_at`) → double → caller.
fn run_chain(runner: &Runner, n: u64, fail_at: Option<u64>) -> (Vec<u64>, Option<anyhow::Error>) {
    let (tx, rx) = bounded::<u64>(2);
    let (tx2, rx2) = bounded::<u64>(2);
    std::thread::scope(|s| {
        let source = runner.stage("source");
        let double = runner.stage("double");
        let a = s.spawn(move || -> anyhow::Result<()> {
            for i in 0..n {
                if Some(i) == fail_at {
                    anyhow::bail!("source broke at {i}");
                }
                let item = source.work(|| i);
                source.count(1);
                if !source.send(&tx, item) {
                    break;
                }
            }
            Ok(())
        });
        let b = s.spawn(move || -> anyhow::Result<()> {
            while let Some(i) = double.recv(&rx) {
                let out = double.work(|| i * 2);
                double.count(1);
                if !double.send(&tx2, out) {
                    break;
                }
            }
            Ok(())
        });
        let mut got = Vec::new();
        while let Some(v) = runner.recv(&rx2) {
            got.push(v);
        }
        let results = vec![a.join().unwrap(), b.join().unwrap()];
        (got, first_error(runner, results))
    })
}

#[test]
fn items_flow_in_order_and_are_counted() {
    let runner = Runner::new("test input", DEFAULT_STALL);
    let (got, err) = run_chain(&runner, 100, None);
    assert!(err.is_none());
    assert_eq!(got, (0..100).map(|i| i * 2).collect::<Vec<_>>());
    let stats = runner.stats();
    assert_eq!((stats[0].name, stats[0].items), ("source", 100));
    assert_eq!((stats[1].name, stats[1].items), ("double", 100));
}

#[test]
fn an_error_keeps_what_came_before_it_and_is_the_root_cause() {
    let runner = Runner::new("test input", DEFAULT_STALL);
    let (got, err) = run_chain(&runner, 100, Some(37));
    assert_eq!(got.len(), 37, "everything before the failure is delivered");
    assert_eq!(err.unwrap().to_string(), "source broke at 37");
}

#[test]
fn a_stage_stuck_in_its_work_stops_the_run_with_its_name() {
    let runner = Runner::new("study.mkv", Duration::from_millis(300));
    let aborted = Arc::new(AtomicUsize::new(0));
    let hook = aborted.clone();
    runner.on_abort(move || {
        hook.fetch_add(1, Ordering::SeqCst);
    });
    let (tx, rx) = bounded::<u32>(1);
    let start = Instant::now();
    let result = std::thread::scope(|s| {
        let decode = runner.stage("decode");
        let stop = runner.stop_flag();
        let t = s.spawn(move || -> anyhow::Result<()> {
            decode.send(&tx, 1);
            // A decoder that waits for a sample that never comes, polling its stop flag.
            decode.work(|| {
                while !stop.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(10));
                }
            });
            Ok(())
        });
        let mut got = 0;
        while runner.recv(&rx).is_some() {
            got += 1;
        }
        let results = vec![t.join().unwrap()];
        (got, first_error(&runner, results))
    });
    assert_eq!(result.0, 1);
    let err = result.1.expect("a stall error");
    let text = err.to_string();
    assert!(
        text.contains("study.mkv") && text.contains("decode stage"),
        "{text}"
    );
    assert!(err.downcast_ref::<Stalled>().is_some());
    assert_eq!(aborted.load(Ordering::SeqCst), 1);
    assert!(start.elapsed() < Duration::from_secs(5));
}

#[test]
fn a_stop_releases_stages_blocked_on_full_channels() {
    let runner = Runner::new("x", DEFAULT_STALL);
    let (tx, _rx) = bounded::<u32>(1);
    std::thread::scope(|s| {
        let src = runner.stage("source");
        let t = s.spawn(move || {
            let mut sent = 0;
            while src.send(&tx, 0) {
                sent += 1;
            }
            sent
        });
        std::thread::sleep(Duration::from_millis(200));
        runner.stop();
        assert_eq!(
            t.join().unwrap(),
            1,
            "one item fits, then it waits until the stop"
        );
    });
}
