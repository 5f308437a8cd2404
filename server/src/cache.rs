//! The session cache: what `AuthUser` needs on every protected request (a
//! live session and its user) kept in memory for a few seconds, so that most
//! protected requests do not touch the database.
//!
//! Why: sqlx's SQLite driver runs every query on a per-connection worker
//! thread, and the hand-off costs several times the SQLite work itself.
//!
//! Correctness rules:
//! - Every write *through this server* that ends a session or changes a user
//!   (logout, master-logout, session revoke, reuse detection, password reset
//!   and change) invalidates here, in the domain method that makes it
//!   (`sessions/`), so it takes effect at once. A rotation does not: it only moves a live session's
//!   expiry later, and an entry older than that is merely conservative.
//! - An entry is served only while younger than the TTL and while the session
//!   it records is unexpired. The TTL is therefore the bound on how long a
//!   session ended by *another* server process on the same database can still
//!   be used here (`GATEPASS_SESSION_CACHE_TTL`, default 2 s; `0` turns the
//!   cache off).
//! - A lookup that started before an invalidation never stores its result (a
//!   generation counter), and a session or user invalidated within the last
//!   [`SessionCache::hold`] is not cached at all, so neither a racing read nor
//!   a write still inside an uncommitted transaction can put a stale entry
//!   back.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::store::UserRecord;

/// The default number of sessions kept (a few hundred bytes each).
pub const DEFAULT_CAPACITY: usize = 10_000;

pub struct SessionCache {
    ttl: Duration,
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<String, Entry>,
    /// Bumped by every invalidation.
    generation: u64,
    /// Sessions and users invalidated lately, until when they stay uncached.
    held_sessions: HashMap<String, Instant>,
    held_users: HashMap<String, Instant>,
}

struct Entry {
    user: UserRecord,
    /// The session's `expires_at` (Unix ms) when it was read.
    session_expires_at: i64,
    cached_at: Instant,
}

/// Taken before a database read; the result may be stored only if no
/// invalidation happened since.
#[derive(Debug, Clone, Copy)]
pub struct Ticket(u64);

impl SessionCache {
    /// A cache whose entries live `ttl` (zero: nothing is ever cached).
    pub fn new(ttl: Duration, capacity: usize) -> SessionCache {
        SessionCache {
            ttl,
            capacity,
            inner: Mutex::new(Inner::default()),
        }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    pub fn enabled(&self) -> bool {
        !self.ttl.is_zero() && self.capacity > 0
    }

    /// How long an invalidated session or user stays uncached: long enough
    /// for the transaction that invalidated it to commit.
    fn hold(&self) -> Duration {
        self.ttl.max(Duration::from_secs(1))
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // The map is never left half-updated, so a panic elsewhere while
        // holding the lock does not make it unusable.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The user of `session_id`, if cached, fresh, still unexpired at
    /// `now_ms`, and the session is `user_id`'s.
    pub fn get(&self, session_id: &str, user_id: &str, now_ms: i64) -> Option<UserRecord> {
        if !self.enabled() {
            return None;
        }
        let inner = self.lock();
        let entry = inner.entries.get(session_id)?;
        (entry.user.id == user_id
            && entry.session_expires_at > now_ms
            && entry.cached_at.elapsed() < self.ttl)
            .then(|| entry.user.clone())
    }

    /// Call before reading what [`put`](Self::put) will store.
    pub fn ticket(&self) -> Ticket {
        Ticket(self.lock().generation)
    }

    /// Stores a live session's user, read from the database after `ticket`.
    pub fn put(
        &self,
        ticket: Ticket,
        session_id: &str,
        user: &UserRecord,
        session_expires_at: i64,
    ) {
        if !self.enabled() {
            return;
        }
        let now = Instant::now();
        let mut inner = self.lock();
        if inner.generation != ticket.0
            || inner
                .held_sessions
                .get(session_id)
                .is_some_and(|&t| t > now)
            || inner.held_users.get(&user.id).is_some_and(|&t| t > now)
        {
            return;
        }
        if inner.entries.len() >= self.capacity && !inner.entries.contains_key(session_id) {
            let ttl = self.ttl;
            inner.entries.retain(|_, e| e.cached_at.elapsed() < ttl);
            if inner.entries.len() >= self.capacity {
                return;
            }
        }
        inner.entries.insert(
            session_id.to_owned(),
            Entry {
                user: user.clone(),
                session_expires_at,
                cached_at: now,
            },
        );
    }

    /// Forgets one session (it ended, or is about to).
    pub fn invalidate_session(&self, session_id: &str) {
        let until = Instant::now() + self.hold();
        let mut inner = self.lock();
        inner.generation += 1;
        inner.entries.remove(session_id);
        inner.prune_holds();
        inner.held_sessions.insert(session_id.to_owned(), until);
    }

    /// Forgets every session of a user (sessions ended, or the user changed).
    pub fn invalidate_user(&self, user_id: &str) {
        let until = Instant::now() + self.hold();
        let mut inner = self.lock();
        inner.generation += 1;
        inner.entries.retain(|_, e| e.user.id != user_id);
        inner.prune_holds();
        inner.held_users.insert(user_id.to_owned(), until);
    }

    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Inner {
    fn prune_holds(&mut self) {
        let now = Instant::now();
        self.held_sessions.retain(|_, &mut t| t > now);
        self.held_users.retain(|_, &mut t| t > now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: &str) -> UserRecord {
        UserRecord {
            id: id.into(),
            first_name: "Ada".into(),
            last_name: "Lovelace".into(),
            email: format!("{id}@example.com"),
            password_hash: "$2b$10$hash".into(),
            created_at: 0,
            disabled_at: None,
        }
    }

    const NOW: i64 = 1_000_000;
    const LATER: i64 = NOW + 60_000;

    fn cache() -> SessionCache {
        SessionCache::new(Duration::from_secs(60), 100)
    }

    #[test]
    fn a_stored_session_is_served_to_its_own_user_only() {
        let cache = cache();
        let t = cache.ticket();
        cache.put(t, "s1", &user("u1"), LATER);
        assert_eq!(cache.get("s1", "u1", NOW).unwrap().id, "u1");
        assert!(cache.get("s1", "u2", NOW).is_none(), "another user's claim");
        assert!(cache.get("s2", "u1", NOW).is_none());
    }

    #[test]
    fn an_expired_session_is_not_served() {
        let cache = cache();
        cache.put(cache.ticket(), "s1", &user("u1"), NOW + 10);
        assert!(cache.get("s1", "u1", NOW).is_some());
        assert!(cache.get("s1", "u1", NOW + 10).is_none());
    }

    #[test]
    fn entries_expire_after_the_ttl() {
        let cache = SessionCache::new(Duration::from_millis(50), 100);
        cache.put(cache.ticket(), "s1", &user("u1"), LATER);
        assert!(cache.get("s1", "u1", NOW).is_some());
        std::thread::sleep(Duration::from_millis(60));
        assert!(cache.get("s1", "u1", NOW).is_none());
    }

    #[test]
    fn a_zero_ttl_caches_nothing() {
        let cache = SessionCache::new(Duration::ZERO, 100);
        cache.put(cache.ticket(), "s1", &user("u1"), LATER);
        assert!(cache.get("s1", "u1", NOW).is_none());
        assert!(cache.is_empty());
    }

    #[test]
    fn invalidating_a_session_forgets_it_and_keeps_the_others() {
        let cache = cache();
        cache.put(cache.ticket(), "s1", &user("u1"), LATER);
        cache.put(cache.ticket(), "s2", &user("u1"), LATER);
        cache.invalidate_session("s1");
        assert!(cache.get("s1", "u1", NOW).is_none());
        assert!(cache.get("s2", "u1", NOW).is_some());
    }

    #[test]
    fn invalidating_a_user_forgets_all_their_sessions_only() {
        let cache = cache();
        cache.put(cache.ticket(), "s1", &user("u1"), LATER);
        cache.put(cache.ticket(), "s2", &user("u1"), LATER);
        cache.put(cache.ticket(), "s3", &user("u2"), LATER);
        cache.invalidate_user("u1");
        assert!(cache.get("s1", "u1", NOW).is_none());
        assert!(cache.get("s2", "u1", NOW).is_none());
        assert!(cache.get("s3", "u2", NOW).is_some());
    }

    #[test]
    fn a_read_that_began_before_an_invalidation_is_not_stored() {
        let cache = cache();
        // A request reads the session (still live in the database)...
        let ticket = cache.ticket();
        // ...meanwhile a logout ends an unrelated session...
        cache.invalidate_session("other");
        // ...so the read, which may predate any write, is not kept.
        cache.put(ticket, "s1", &user("u1"), LATER);
        assert!(cache.get("s1", "u1", NOW).is_none());
        // A read that begins afterwards is.
        cache.put(cache.ticket(), "s1", &user("u1"), LATER);
        assert!(cache.get("s1", "u1", NOW).is_some());
    }

    #[test]
    fn an_invalidated_session_or_user_stays_uncached_for_a_while() {
        // A transaction invalidates before it commits: a read in between
        // still sees the old rows and must not be cached.
        let cache = cache();
        cache.invalidate_session("s1");
        cache.put(cache.ticket(), "s1", &user("u1"), LATER);
        assert!(cache.get("s1", "u1", NOW).is_none());
        cache.invalidate_user("u2");
        cache.put(cache.ticket(), "s2", &user("u2"), LATER);
        assert!(cache.get("s2", "u2", NOW).is_none());
        // Others are unaffected.
        cache.put(cache.ticket(), "s3", &user("u3"), LATER);
        assert!(cache.get("s3", "u3", NOW).is_some());
    }

    #[test]
    fn holds_end() {
        let cache = SessionCache::new(Duration::from_millis(10), 100);
        assert_eq!(cache.hold(), Duration::from_secs(1));
        let cache = SessionCache::new(Duration::from_millis(1), 100);
        cache
            .inner
            .lock()
            .unwrap()
            .held_sessions
            .insert("s1".into(), Instant::now() - Duration::from_millis(1));
        cache.put(cache.ticket(), "s1", &user("u1"), LATER);
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn the_cache_is_bounded() {
        let cache = SessionCache::new(Duration::from_secs(60), 2);
        cache.put(cache.ticket(), "s1", &user("u1"), LATER);
        cache.put(cache.ticket(), "s2", &user("u2"), LATER);
        cache.put(cache.ticket(), "s3", &user("u3"), LATER);
        assert_eq!(cache.len(), 2);
        assert!(cache.get("s3", "u3", NOW).is_none());
        // Replacing an existing entry is always allowed.
        cache.put(cache.ticket(), "s2", &user("u2"), LATER);
        assert_eq!(cache.len(), 2);
    }
}
