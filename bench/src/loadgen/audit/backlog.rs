//! The work queues' backlog during a run, for invariant 5 (decision 39). The sweeper defers a
//! stale phase (or auto-start) while its queue has messages waiting: its chunk may simply be
//! behind them, and re-driving it would only add a duplicate and count towards `STALLED`. So a
//! stand-still past the bounds is a finding only if, after the phase turned stale, a whole sweep
//! (interval plus slack) went by with the queue sampled empty every time, or with no samples to
//! show otherwise; a wait that the backlog explains is reported as a capacity figure (the longest
//! such wait), not as a finding.

/// One queue's waiting messages (visible + delayed) over a run: `(epoch ms, count)`, in time
/// order.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Series {
    samples: Vec<(i64, u64)>,
}

impl Series {
    pub fn push(&mut self, at_ms: i64, waiting: u64) {
        debug_assert!(self.samples.last().is_none_or(|(t, _)| *t <= at_ms));
        self.samples.push((at_ms, waiting));
    }

    /// Whether the backlog explains a stand-still that turned stale at `from` and lasted until
    /// `to`: samples reach to within one sweep of `to`, and no stretch of `sweep_ms` or more
    /// inside `[from, to]` had every sample empty.
    pub fn explains(&self, from: i64, to: i64, sweep_ms: i64) -> bool {
        if to <= from {
            return true;
        }
        let inside = || self.samples.iter().filter(|(t, _)| (from..=to).contains(t));
        match inside().next_back() {
            Some((last, _)) if to - last < sweep_ms => {}
            _ => return false,
        }
        let mut empty_since: Option<i64> = None;
        for &(t, waiting) in inside() {
            if waiting > 0 {
                empty_since = None;
                continue;
            }
            let since = *empty_since.get_or_insert(t);
            if t - since >= sweep_ms {
                return false;
            }
        }
        empty_since.is_none_or(|since| to - since < sweep_ms)
    }
}

/// The two queues whose backlog defers a re-drive.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Backlogs {
    /// Chunks of running phases.
    pub phase_work: Series,
    /// Queued auto-starts.
    pub auto_start: Series,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(samples: &[(i64, u64)]) -> Series {
        let mut s = Series::default();
        for &(t, n) in samples {
            s.push(t, n);
        }
        s
    }

    #[test]
    fn a_backlog_throughout_explains_the_wait() {
        let s = series(&[(0, 5), (2_000, 9), (4_000, 3), (6_000, 1), (8_000, 2)]);
        assert!(s.explains(1_000, 9_000, 5_000));
    }

    #[test]
    fn a_whole_sweep_with_the_queue_empty_does_not() {
        let s = series(&[
            (0, 5),
            (2_000, 0),
            (4_000, 0),
            (6_000, 0),
            (8_000, 0),
            (10_000, 4),
        ]);
        assert!(!s.explains(1_000, 11_000, 5_000));
        // shorter than a sweep: the sweeper may not have looked while it was empty
        assert!(s.explains(1_000, 11_000, 7_000));
    }

    #[test]
    fn an_empty_queue_at_the_end_counts_up_to_the_end() {
        let s = series(&[(0, 5), (2_000, 0), (4_000, 0)]);
        assert!(s.explains(1_000, 5_000, 5_000));
        assert!(!s.explains(1_000, 9_000, 5_000), "no samples near the end");
    }

    #[test]
    fn no_samples_explain_nothing() {
        assert!(!Series::default().explains(0, 10_000, 5_000));
    }
}
