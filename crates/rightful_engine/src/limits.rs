//! Rate limits on what a stranger can trigger (issue 12 item 3): submissions per client address
//! and per e-mail address, code verifications, token use, staff sign-ins (per client address, and
//! per account with a doubling back-off after repeated failures).
//!
//! The windows live in memory, per server: the keys are SHA-256 digests, never the address or
//! the e-mail itself, and the table is bounded ([`MAX_KEYS`]). What must hold across servers and
//! under concurrency — the attempts of an e-mail code and the daily cap on mail to one address —
//! is counted in the engine's database instead ([`rightful_store::models::challenge`],
//! [`rightful_store::models::quota`]).

use crate::settings::Rate;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The most keys remembered; past it, expired windows are dropped, then the oldest.
pub const MAX_KEYS: usize = 100_000;

/// What a limit counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Submissions from one client address.
    IntakeIp,
    /// Submissions for one e-mail address.
    IntakeAddress,
    /// Code verifications from one client address.
    VerifyIp,
    /// Requests carrying a request token, from one client address.
    TokenIp,
    /// Staff sign-ins from one client address.
    SigninIp,
}

/// The caller must wait this long.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many requests: try again in {retry_after_secs} s")]
pub struct Limited {
    /// Seconds until the next attempt may succeed (at least 1).
    pub retry_after_secs: u64,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    start: Instant,
    count: u32,
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    until: Option<Instant>,
    last: Instant,
}

/// The in-memory limits of one server.
#[derive(Debug, Default)]
pub struct Limiter {
    windows: Mutex<HashMap<(Scope, [u8; 16]), Window>>,
    failures: Mutex<HashMap<[u8; 16], Failures>>,
}

fn key(value: &str) -> [u8; 16] {
    let d = Sha256::digest(value.as_bytes());
    let mut k = [0u8; 16];
    k.copy_from_slice(&d[..16]);
    k
}

fn secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

impl Limiter {
    /// Counts one event of `scope` for `value` at `now`, or says how long to wait.
    pub fn hit(&self, scope: Scope, value: &str, rate: Rate, now: Instant) -> Result<(), Limited> {
        let per = Duration::from_secs(rate.per_secs.max(1));
        let Ok(mut map) = self.windows.lock() else {
            return Ok(());
        };
        if map.len() >= MAX_KEYS {
            map.retain(|_, w| now.duration_since(w.start) < per);
            if map.len() >= MAX_KEYS
                && let Some(oldest) = map.iter().min_by_key(|(_, w)| w.start).map(|(k, _)| *k)
            {
                map.remove(&oldest);
            }
        }
        let w = map.entry((scope, key(value))).or_insert(Window {
            start: now,
            count: 0,
        });
        if now.duration_since(w.start) >= per {
            *w = Window {
                start: now,
                count: 0,
            };
        }
        if w.count >= rate.max {
            let wait = per.saturating_sub(now.duration_since(w.start));
            return Err(Limited {
                retry_after_secs: secs(wait).max(1),
            });
        }
        w.count += 1;
        Ok(())
    }

    /// Whether the staff account `username` must still wait after failed sign-ins.
    pub fn signin_wait(&self, username: &str, now: Instant) -> Result<(), Limited> {
        let Ok(map) = self.failures.lock() else {
            return Ok(());
        };
        match map.get(&key(username)).and_then(|f| f.until) {
            Some(until) if until > now => Err(Limited {
                retry_after_secs: secs(until - now).max(1),
            }),
            _ => Ok(()),
        }
    }

    /// Records a failed sign-in of `username`: past `allowed` failures, each one doubles the
    /// wait from `base` up to `max`. Failures are forgotten after `max` without one.
    pub fn signin_failed(
        &self,
        username: &str,
        allowed: u32,
        base: Duration,
        max: Duration,
        now: Instant,
    ) {
        let Ok(mut map) = self.failures.lock() else {
            return;
        };
        if map.len() >= MAX_KEYS {
            map.retain(|_, f| now.duration_since(f.last) < max);
        }
        let f = map.entry(key(username)).or_insert(Failures {
            count: 0,
            until: None,
            last: now,
        });
        if now.duration_since(f.last) >= max {
            f.count = 0;
        }
        f.count += 1;
        f.last = now;
        if f.count >= allowed {
            let doublings = (f.count - allowed).min(20);
            let wait = base.saturating_mul(1u32 << doublings).min(max);
            f.until = Some(now + wait);
        }
    }

    /// A successful sign-in clears the account's failures.
    pub fn signin_succeeded(&self, username: &str) {
        if let Ok(mut map) = self.failures.lock() {
            map.remove(&key(username));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_allows_max_events_then_says_how_long_to_wait() {
        let l = Limiter::default();
        let t = Instant::now();
        let rate = Rate {
            max: 3,
            per_secs: 60,
        };
        for _ in 0..3 {
            assert!(l.hit(Scope::IntakeIp, "203.0.113.9", rate, t).is_ok());
        }
        let e = l
            .hit(
                Scope::IntakeIp,
                "203.0.113.9",
                rate,
                t + Duration::from_secs(10),
            )
            .unwrap_err();
        assert_eq!(e.retry_after_secs, 50);
        // Another key and another scope have their own windows.
        assert!(l.hit(Scope::IntakeIp, "203.0.113.10", rate, t).is_ok());
        assert!(l.hit(Scope::VerifyIp, "203.0.113.9", rate, t).is_ok());
        // The window ends.
        assert!(
            l.hit(
                Scope::IntakeIp,
                "203.0.113.9",
                rate,
                t + Duration::from_secs(60)
            )
            .is_ok()
        );
    }

    #[test]
    fn failed_sign_ins_back_off_doubling_up_to_the_maximum() {
        let l = Limiter::default();
        let t = Instant::now();
        let (base, max) = (Duration::from_secs(30), Duration::from_secs(100));
        for _ in 0..4 {
            l.signin_failed("dpo1", 5, base, max, t);
        }
        assert!(l.signin_wait("dpo1", t).is_ok());
        l.signin_failed("dpo1", 5, base, max, t);
        assert_eq!(l.signin_wait("dpo1", t).unwrap_err().retry_after_secs, 30);
        l.signin_failed("dpo1", 5, base, max, t);
        assert_eq!(l.signin_wait("dpo1", t).unwrap_err().retry_after_secs, 60);
        l.signin_failed("dpo1", 5, base, max, t);
        assert_eq!(l.signin_wait("dpo1", t).unwrap_err().retry_after_secs, 100);
        assert!(l.signin_wait("other", t).is_ok());
        l.signin_succeeded("dpo1");
        assert!(l.signin_wait("dpo1", t).is_ok());
    }
}
