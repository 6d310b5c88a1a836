//! What stands between the login endpoint and someone guessing passwords or exhausting the
//! store: a bound on concurrent password checks (each argon2 check takes 19 MiB and a core
//! for tens of milliseconds), and failures counted per user name and per address, each with
//! an exponential backoff answered 429 + `Retry-After`.
//!
//! Counts live in memory (a restart forgets them) and in bounded maps: when a map is full the
//! entry idle longest makes room, so no one can grow them without limit.
//!
//! Password work (argon2) runs on a few threads of its own ([`Passwords`]), never on the
//! blocking pool: the allocator keeps each thread's 19 MiB block for reuse, so hundreds of
//! blocking threads each checking one password once held gigabytes for good; a few threads
//! hold a few blocks.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Failures of one name allowed before the backoff starts.
const NAME_FREE_FAILURES: u32 = 5;
/// The longest wait for a name: short, so that guessing a user's password from many addresses
/// is slowed (to one guess a minute) without locking the user out of their own account.
const NAME_MAX_BACKOFF: Duration = Duration::from_secs(60);
/// Failures from one address allowed before the backoff starts (an office behind one NAT has
/// many agents mistyping).
const ADDRESS_FREE_FAILURES: u32 = 30;
/// The longest wait for an address: one source that keeps guessing waits long.
const ADDRESS_MAX_BACKOFF: Duration = Duration::from_secs(15 * 60);
/// Failures older than this are forgotten.
const FORGET_AFTER: Duration = Duration::from_secs(30 * 60);
/// How many names and addresses are tracked at most, each.
const MAX_TRACKED: usize = 10_000;
/// How long a login waits for a free password check before it is told to come back.
const CHECK_WAIT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy)]
struct Strikes {
    failures: u32,
    last: Instant,
    blocked_until: Option<Instant>,
}

/// Failure counts for one kind of key, bounded.
#[derive(Debug)]
struct Ledger<K> {
    free: u32,
    max_backoff: Duration,
    entries: HashMap<K, Strikes>,
}

impl<K: Eq + Hash + Clone> Ledger<K> {
    fn new(free: u32, max_backoff: Duration) -> Self {
        Self {
            free,
            max_backoff,
            entries: HashMap::new(),
        }
    }

    /// How long `key` must still wait, if it is blocked at `now`.
    fn blocked(&self, key: &K, now: Instant) -> Option<Duration> {
        let strikes = self.entries.get(key)?;
        let until = strikes.blocked_until?;
        (until > now).then(|| until - now)
    }

    fn fail(&mut self, key: &K, now: Instant) {
        if !self.entries.contains_key(key) && self.entries.len() >= MAX_TRACKED {
            self.entries
                .retain(|_, s| now.duration_since(s.last) < FORGET_AFTER);
            if self.entries.len() >= MAX_TRACKED
                && let Some(oldest) = self
                    .entries
                    .iter()
                    .min_by_key(|(_, s)| s.last)
                    .map(|(k, _)| k.clone())
            {
                self.entries.remove(&oldest);
            }
        }
        let strikes = self.entries.entry(key.clone()).or_insert(Strikes {
            failures: 0,
            last: now,
            blocked_until: None,
        });
        if now.duration_since(strikes.last) >= FORGET_AFTER {
            strikes.failures = 0;
        }
        strikes.failures += 1;
        strikes.last = now;
        if let Some(over) = strikes.failures.checked_sub(self.free) {
            let backoff = Duration::from_secs(1u64 << over.min(20)).min(self.max_backoff);
            strikes.blocked_until = Some(now + backoff);
        }
    }

    fn clear(&mut self, key: &K) {
        self.entries.remove(key);
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// The threads that hash and check passwords, as many as the machine has cores.
#[derive(Debug, Clone)]
pub struct Passwords {
    jobs: std::sync::mpsc::SyncSender<Job>,
}

impl Passwords {
    /// `threads` threads, each ending when the last handle to the pool is dropped.
    pub fn new(threads: usize) -> Self {
        let (jobs, queue) = std::sync::mpsc::sync_channel::<Job>(threads.max(1) * 64);
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..threads.max(1) {
            let queue = Arc::clone(&queue);
            let spawned = std::thread::Builder::new()
                .name(format!("callrec-passwords-{i}"))
                .spawn(move || {
                    loop {
                        let job = queue
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .recv();
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a password thread");
            }
        }
        Self { jobs }
    }

    /// Runs `work` (hashing or checking a password) on the pool; `None` when the pool is full
    /// or gone.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        let (done, result) = tokio::sync::oneshot::channel();
        self.jobs
            .try_send(Box::new(move || {
                let _ = done.send(work());
            }))
            .ok()?;
        result.await.ok()
    }
}

impl Default for Passwords {
    fn default() -> Self {
        Self::new(cores())
    }
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, std::num::NonZero::get)
}

/// Why a login may not be checked now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Too many failures for this name or from this address: wait this long.
    Backoff(Duration),
    /// Every password check is busy: wait a moment.
    Busy,
}

/// The login endpoint's guard, shared by every request.
#[derive(Debug, Clone)]
pub struct LoginGuard {
    checks: Arc<Semaphore>,
    ledgers: Arc<Mutex<(Ledger<String>, Ledger<IpAddr>)>>,
}

impl Default for LoginGuard {
    fn default() -> Self {
        Self::new(cores())
    }
}

impl LoginGuard {
    /// A guard allowing `concurrent` password checks at once.
    pub fn new(concurrent: usize) -> Self {
        Self {
            checks: Arc::new(Semaphore::new(concurrent.max(1))),
            ledgers: Arc::new(Mutex::new((
                Ledger::new(NAME_FREE_FAILURES, NAME_MAX_BACKOFF),
                Ledger::new(ADDRESS_FREE_FAILURES, ADDRESS_MAX_BACKOFF),
            ))),
        }
    }

    fn ledgers(&self) -> std::sync::MutexGuard<'_, (Ledger<String>, Ledger<IpAddr>)> {
        self.ledgers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether `name` (already capped in length) from `addr` may be checked now; if so, a
    /// permit for one password check, held while it runs.
    pub async fn admit(
        &self,
        name: &str,
        addr: Option<IpAddr>,
    ) -> Result<OwnedSemaphorePermit, Refused> {
        {
            let now = Instant::now();
            let ledgers = self.ledgers();
            let wait = [
                ledgers.0.blocked(&name.to_owned(), now),
                addr.and_then(|a| ledgers.1.blocked(&a, now)),
            ]
            .into_iter()
            .flatten()
            .max();
            if let Some(wait) = wait {
                return Err(Refused::Backoff(wait));
            }
        }
        tokio::time::timeout(CHECK_WAIT, Arc::clone(&self.checks).acquire_owned())
            .await
            .ok()
            .and_then(Result::ok)
            .ok_or(Refused::Busy)
    }

    /// Counts a failed login of `name` from `addr`.
    pub fn failed(&self, name: &str, addr: Option<IpAddr>) {
        let now = Instant::now();
        let mut ledgers = self.ledgers();
        ledgers.0.fail(&name.to_owned(), now);
        if let Some(addr) = addr {
            ledgers.1.fail(&addr, now);
        }
    }

    /// A successful login forgets the name's failures (not the address's: one good account
    /// must not reset the count of guesses at others).
    pub fn succeeded(&self, name: &str) {
        self.ledgers().0.clear(&name.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_blocked_after_its_free_failures_with_a_doubling_wait() {
        let mut ledger = Ledger::new(5, NAME_MAX_BACKOFF);
        let now = Instant::now();
        let key = "alice".to_owned();
        for _ in 0..5 {
            ledger.fail(&key, now);
        }
        assert_eq!(ledger.blocked(&key, now), Some(Duration::from_secs(1)));
        ledger.fail(&key, now);
        assert_eq!(ledger.blocked(&key, now), Some(Duration::from_secs(2)));
        ledger.fail(&key, now);
        assert_eq!(ledger.blocked(&key, now), Some(Duration::from_secs(4)));
        assert_eq!(ledger.blocked(&key, now + Duration::from_secs(4)), None);
        for _ in 0..40 {
            ledger.fail(&key, now);
        }
        assert_eq!(ledger.blocked(&key, now), Some(NAME_MAX_BACKOFF));
        ledger.clear(&key);
        assert_eq!(ledger.blocked(&key, now), None);
    }

    #[test]
    fn old_failures_are_forgotten() {
        let mut ledger = Ledger::new(2, ADDRESS_MAX_BACKOFF);
        let now = Instant::now();
        let key = 7u32;
        ledger.fail(&key, now);
        ledger.fail(&key, now);
        let later = now + FORGET_AFTER;
        ledger.fail(&key, later);
        assert_eq!(
            ledger.blocked(&key, later),
            None,
            "one failure in a new window"
        );
    }

    #[test]
    fn the_ledger_never_grows_past_its_bound() {
        let mut ledger = Ledger::new(1, ADDRESS_MAX_BACKOFF);
        let now = Instant::now();
        for i in 0..(MAX_TRACKED as u64 + 500) {
            ledger.fail(&i, now + Duration::from_millis(i));
        }
        assert_eq!(ledger.entries.len(), MAX_TRACKED);
        // The most recent stays tracked.
        let last = MAX_TRACKED as u64 + 499;
        assert!(ledger.entries.contains_key(&last));
    }
}

/// How long a player's follow-up requests of one file are folded into one log entry.
const LISTEN_FOLD: Duration = Duration::from_secs(5 * 60);
/// How many listens are remembered at most for folding.
const MAX_LISTENS: usize = 10_000;

/// Recent audio accesses, to fold a player's follow-up range requests into one audit entry
/// per user, file and few minutes (POLICY.md §8). Bounded: the oldest go first.
#[derive(Debug, Clone, Default)]
pub struct Listens(Arc<Mutex<HashMap<String, Instant>>>);

impl Listens {
    /// Whether `what` (a user, a recording and its file) was not accessed in the last few
    /// minutes: the access is then logged. Notes the access either way.
    pub fn first_in_a_while(&self, what: String) -> bool {
        let now = Instant::now();
        let mut seen = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if seen.len() >= MAX_LISTENS {
            seen.retain(|_, at| now.duration_since(*at) < LISTEN_FOLD);
            if seen.len() >= MAX_LISTENS {
                seen.clear();
            }
        }
        let first = seen
            .get(&what)
            .is_none_or(|at| now.duration_since(*at) >= LISTEN_FOLD);
        if first {
            seen.insert(what, now);
        }
        first
    }
}
