//! The `throttles` table: windowed counters and lockouts, one row per bucket.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::QueryBuilder;

use super::{now_ms, Store};
use crate::db::{on_conn, Backend, Tx};

/// A bucket's state after a hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct ThrottleState {
    pub hits: i64,
    pub window_start: i64,
    pub locked_until: i64,
}

impl Store {
    /// Counts one hit in `bucket`'s window of `window_ms` (starting a new
    /// window when the old one has passed). Atomic in the database, so
    /// concurrent hits from several processes all count. On SQLite,
    /// concurrent hits are counted together (see `db/batch.rs`).
    pub async fn throttle_hit(&self, bucket: &str, window_ms: i64) -> sqlx::Result<ThrottleState> {
        self.throttle_hits
            .run(ThrottleHit {
                bucket: bucket.to_owned(),
                window_ms,
            })
            .await
    }

    /// The latest `locked_until` among `buckets` (0 when none is locked).
    pub async fn throttle_locked_until(&self, buckets: &[&str]) -> sqlx::Result<i64> {
        let mut latest = 0;
        for bucket in buckets {
            let until: Option<i64> = on_conn!(self.backend.reader(), |pool| sqlx::query_scalar(
                "SELECT locked_until FROM throttles WHERE bucket = $1"
            )
            .bind(bucket)
            .fetch_optional(pool)
            .await)?;
            latest = latest.max(until.unwrap_or(0));
        }
        Ok(latest)
    }

    /// Counts one login attempt in its buckets before its password is
    /// checked (see [`count_attempts`]; batched on SQLite).
    pub async fn throttle_attempt(&self, attempt: Attempt) -> sqlx::Result<Verdict> {
        self.login_attempts.run(attempt).await
    }

    /// Gives back an attempt that turned out to be a success: the bucket
    /// counts failures, in effect, while it still counted every attempt
    /// before it knew. Nothing is given back during a lockout.
    pub async fn throttle_refund(&self, bucket: &str) -> sqlx::Result<()> {
        on_conn!(self.backend.writer().await, |pool| sqlx::query(
            "UPDATE throttles SET hits = hits - 1
              WHERE bucket = $1 AND hits > 0 AND locked_until <= $2"
        )
        .bind(bucket)
        .bind(now_ms())
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(())
    }

    pub async fn throttle_clear(&self, bucket: &str) -> sqlx::Result<()> {
        on_conn!(self.backend.writer().await, |pool| sqlx::query(
            "DELETE FROM throttles WHERE bucket = $1"
        )
        .bind(bucket)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(())
    }
}

/// One hit (see [`Store::throttle_hit`]).
pub struct ThrottleHit {
    bucket: String,
    window_ms: i64,
}

#[derive(sqlx::FromRow)]
struct Counted {
    bucket: String,
    #[sqlx(flatten)]
    state: ThrottleState,
}

/// Counts `hits`: one upsert per window length, adding each bucket's number of
/// hits at once. Each hit gets the count as it would have been had the hits
/// been counted one by one, in order.
pub(super) async fn count_throttle_hits(
    backend: &Backend,
    hits: &[ThrottleHit],
) -> sqlx::Result<Vec<ThrottleState>> {
    // Window length -> bucket -> hits. Sorted, so that rows are always
    // locked in one order.
    let mut groups: BTreeMap<i64, BTreeMap<&str, i64>> = BTreeMap::new();
    for hit in hits {
        *groups
            .entry(hit.window_ms)
            .or_default()
            .entry(&hit.bucket)
            .or_default() += 1;
    }
    let now = now_ms();
    let mut counted: BTreeMap<(i64, String), ThrottleState> = BTreeMap::new();
    for (window_ms, buckets) in &groups {
        let rows: Vec<Counted> = on_conn!(backend.writer().await, |conn| {
            let mut upsert = QueryBuilder::new("WITH batch (bucket, n) AS (");
            upsert.push_values(buckets, |mut row, (bucket, n)| {
                row.push_bind(*bucket).push_bind(*n);
            });
            // `WHERE true` tells SQLite's parser that ON CONFLICT is not a
            // join's ON. Columns qualified: on PostgreSQL a bare name in DO
            // UPDATE could also mean the proposed row.
            upsert
                .push(") INSERT INTO throttles (bucket, hits, window_start) SELECT bucket, n, ")
                .push_bind(now)
                .push(
                    " FROM batch WHERE true
                     ON CONFLICT (bucket) DO UPDATE SET
                       hits = CASE WHEN throttles.window_start <= ",
                )
                .push_bind(now - window_ms)
                .push(
                    " THEN excluded.hits ELSE throttles.hits + excluded.hits END,
                       window_start = CASE WHEN throttles.window_start <= ",
                )
                .push_bind(now - window_ms)
                .push(
                    " THEN excluded.window_start ELSE throttles.window_start END
                     RETURNING bucket, hits, window_start, locked_until",
                );
            upsert.build_query_as().fetch_all(conn).await
        })?;
        counted.extend(
            rows.into_iter()
                .map(|row| ((*window_ms, row.bucket), row.state)),
        );
    }
    // The k-th of a bucket's n hits in this batch saw `hits - n + k`.
    let mut seen: BTreeMap<(i64, &str), i64> = BTreeMap::new();
    hits.iter()
        .map(|hit| {
            let key = (hit.window_ms, hit.bucket.clone());
            let state = *counted.get(&key).ok_or_else(|| {
                sqlx::Error::Protocol(format!("no count returned for {}", hit.bucket))
            })?;
            let n = groups[&hit.window_ms][hit.bucket.as_str()];
            let k = seen.entry((hit.window_ms, &hit.bucket)).or_default();
            *k += 1;
            Ok(ThrottleState {
                hits: state.hits - n + *k,
                ..state
            })
        })
        .collect()
}

/// A login bucket's row: attempts in the current window, and its lockouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, sqlx::FromRow)]
pub struct Bucket {
    pub hits: i64,
    pub window_start: i64,
    pub locked_until: i64,
    /// The latest lockout's length (0: none yet); the next one is twice this.
    pub lockout_ms: i64,
}

/// What a login bucket allows: `max` attempts per `window_ms`, then a lockout
/// of `base_ms`, doubling with each further lockout up to `cap_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutRule {
    pub max: i64,
    pub window_ms: i64,
    pub base_ms: i64,
    pub cap_ms: i64,
}

/// The answer to one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Counted: the password may be checked.
    Allowed,
    /// Past a limit: refused until then (Unix ms), nothing checked.
    Refused { until: i64 },
}

impl Bucket {
    /// One attempt at `now`: the bucket after it, and the verdict.
    ///
    /// A locked bucket refuses and stays as it is: a burst that arrives
    /// during a lockout neither extends it nor doubles the next one. An
    /// unlocked bucket counts the attempt; the attempt past `max` is a
    /// lockout *event*: refused, the lockout doubles (from `base_ms`), and the
    /// count drops to `max - 1`, so once the lockout ends one attempt is
    /// allowed and the next failure earns the next, longer lockout.
    pub fn attempt(self, rule: &LockoutRule, now: i64) -> (Bucket, Verdict) {
        if self.locked_until > now {
            return (
                self,
                Verdict::Refused {
                    until: self.locked_until,
                },
            );
        }
        let mut bucket = self;
        if bucket.window_start <= now - rule.window_ms {
            bucket.hits = 0;
            bucket.window_start = now;
        }
        if bucket.hits < rule.max {
            bucket.hits += 1;
            return (bucket, Verdict::Allowed);
        }
        bucket.lockout_ms = match bucket.lockout_ms {
            0 => rule.base_ms,
            last => last.saturating_mul(2),
        }
        .min(rule.cap_ms);
        bucket.locked_until = now + bucket.lockout_ms;
        bucket.hits = rule.max - 1;
        let until = bucket.locked_until;
        (bucket, Verdict::Refused { until })
    }
}

/// One attempt that counts in several buckets (a login: its account and its
/// address): allowed only when every bucket allows it. A refused attempt
/// spends nothing of the buckets that would have allowed it.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub buckets: Vec<(String, LockoutRule)>,
}

/// Applies `attempts` in order to `rows` (bucket -> row; missing rows are
/// new buckets), changing `rows`; one verdict per attempt.
pub fn apply_attempts(
    rows: &mut BTreeMap<String, Bucket>,
    attempts: &[Attempt],
    now: i64,
) -> Vec<Verdict> {
    attempts
        .iter()
        .map(|attempt| {
            let outcomes: Vec<(&str, Bucket, Verdict)> = attempt
                .buckets
                .iter()
                .map(|(name, rule)| {
                    let row = rows.get(name).copied().unwrap_or_default();
                    let (after, verdict) = row.attempt(rule, now);
                    (name.as_str(), after, verdict)
                })
                .collect();
            let refused_until = outcomes
                .iter()
                .filter_map(|(_, _, verdict)| match verdict {
                    Verdict::Refused { until } => Some(*until),
                    Verdict::Allowed => None,
                })
                .max();
            for (name, after, verdict) in outcomes {
                // Refused: only the buckets that refused change (a lockout
                // event); the others were not spent.
                if refused_until.is_none() || verdict != Verdict::Allowed {
                    rows.insert(name.to_owned(), after);
                }
            }
            match refused_until {
                None => Verdict::Allowed,
                Some(until) => Verdict::Refused { until },
            }
        })
        .collect()
}

#[derive(sqlx::FromRow)]
struct NamedBucket {
    bucket: String,
    #[sqlx(flatten)]
    row: Bucket,
}

/// Counts `attempts` atomically, before any password is checked: the rows
/// are read, changed by [`apply_attempts`] and written back in one
/// transaction that holds them (SQLite: `BEGIN IMMEDIATE` on the writer, so
/// another process on the same file waits; PostgreSQL: `FOR UPDATE`, in
/// bucket order). So however many attempts arrive at once, in however many
/// server processes, at most a limit's worth are allowed.
pub(super) async fn count_attempts(
    backend: &Backend,
    attempts: &[Attempt],
) -> sqlx::Result<Vec<Verdict>> {
    let names: BTreeSet<&str> = attempts
        .iter()
        .flat_map(|a| a.buckets.iter().map(|(name, _)| name.as_str()))
        .collect();
    let now = now_ms();
    // The body, compiled once per backend; `$lock` ends the SELECT.
    macro_rules! count_on {
        ($conn:expr, $lock:expr) => {{
            // Rows exist before they are locked (PostgreSQL cannot lock a
            // row that is not there yet); a new row is an empty bucket.
            let mut insert = QueryBuilder::new("INSERT INTO throttles (bucket, hits, window_start) ");
            insert.push_values(&names, |mut row, name| {
                row.push_bind(*name).push_bind(0_i64).push_bind(0_i64);
            });
            insert.push(" ON CONFLICT (bucket) DO NOTHING");
            insert.build().execute(&mut *$conn).await?;

            let mut select = QueryBuilder::new(
                "SELECT bucket, hits, window_start, locked_until, lockout_ms FROM throttles WHERE bucket IN (",
            );
            let mut list = select.separated(", ");
            for name in &names {
                list.push_bind(*name);
            }
            select.push(") ORDER BY bucket").push($lock);
            let found: Vec<NamedBucket> = select.build_query_as().fetch_all(&mut *$conn).await?;
            let mut rows: BTreeMap<String, Bucket> =
                found.into_iter().map(|f| (f.bucket, f.row)).collect();
            let before = rows.clone();
            let verdicts = apply_attempts(&mut rows, attempts, now);

            let changed: Vec<(&String, &Bucket)> = rows
                .iter()
                .filter(|(name, row)| before.get(*name) != Some(*row))
                .collect();
            if !changed.is_empty() {
                let mut upsert = QueryBuilder::new(
                    "INSERT INTO throttles (bucket, hits, window_start, locked_until, lockout_ms) ",
                );
                upsert.push_values(&changed, |mut row, (name, bucket)| {
                    row.push_bind(name.as_str())
                        .push_bind(bucket.hits)
                        .push_bind(bucket.window_start)
                        .push_bind(bucket.locked_until)
                        .push_bind(bucket.lockout_ms);
                });
                upsert.push(
                    " ON CONFLICT (bucket) DO UPDATE SET hits = excluded.hits,
                       window_start = excluded.window_start,
                       locked_until = excluded.locked_until,
                       lockout_ms = excluded.lockout_ms",
                );
                upsert.build().execute(&mut *$conn).await?;
            }
            Ok::<_, sqlx::Error>(verdicts)
        }};
    }
    // SQLite: `BEGIN IMMEDIATE` on the writer, so another process on the
    // same file waits; PostgreSQL: the rows are locked in bucket order.
    let mut tx = backend.transaction().await?;
    let verdicts = match &mut tx {
        Tx::Sqlite(tx) => {
            let conn = tx.conn();
            count_on!(conn, "")?
        }
        Tx::Postgres(tx) => {
            let conn = &mut ***tx;
            count_on!(conn, " FOR UPDATE")?
        }
    };
    tx.commit().await?;
    Ok(verdicts)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULE: LockoutRule = LockoutRule {
        max: 3,
        window_ms: 900_000,
        base_ms: 60_000,
        cap_ms: 86_400_000,
    };

    fn attempts(bucket: Bucket, n: usize, now: i64) -> (Bucket, Vec<Verdict>) {
        let mut bucket = bucket;
        let verdicts = (0..n)
            .map(|_| {
                let (after, verdict) = bucket.attempt(&RULE, now);
                bucket = after;
                verdict
            })
            .collect();
        (bucket, verdicts)
    }

    #[test]
    fn a_burst_allows_the_limit_and_earns_one_base_lockout() {
        let (bucket, verdicts) = attempts(Bucket::default(), 40, 1_000);
        let allowed = verdicts.iter().filter(|v| **v == Verdict::Allowed).count();
        assert_eq!(allowed, 3);
        assert!(verdicts[..3].iter().all(|v| *v == Verdict::Allowed));
        assert!(verdicts[3..]
            .iter()
            .all(|v| *v == Verdict::Refused { until: 61_000 }));
        assert_eq!(bucket.lockout_ms, 60_000);
        assert_eq!(bucket.locked_until, 61_000);
    }

    #[test]
    fn after_a_lockout_one_attempt_then_a_doubled_lockout() {
        let (bucket, _) = attempts(Bucket::default(), 4, 0);
        let (bucket, verdicts) = attempts(bucket, 10, 60_000);
        assert_eq!(verdicts[0], Verdict::Allowed);
        assert_eq!(verdicts[1], Verdict::Refused { until: 180_000 });
        assert_eq!(bucket.lockout_ms, 120_000);
        // And the cap holds.
        let mut bucket = bucket;
        for _ in 0..30 {
            let now = bucket.locked_until;
            bucket = attempts(bucket, 2, now).0;
        }
        assert_eq!(bucket.lockout_ms, RULE.cap_ms);
    }

    #[test]
    fn a_new_window_starts_the_count_again_but_remembers_the_lockouts() {
        let (bucket, _) = attempts(Bucket::default(), 4, 0);
        let later = 60_000 + RULE.window_ms;
        let (bucket, verdicts) = attempts(bucket, 4, later);
        assert_eq!(&verdicts[..3], &[Verdict::Allowed; 3]);
        assert_eq!(bucket.lockout_ms, 120_000, "the second lockout doubles");
    }

    #[test]
    fn a_refused_attempt_spends_nothing_of_the_other_buckets() {
        let account = |n: usize| (format!("login:account:{n}"), RULE);
        let address = ("login:address:192.0.2.1".to_owned(), RULE);
        let mut rows = BTreeMap::new();
        let batch: Vec<Attempt> = (0..6)
            .map(|n| Attempt {
                buckets: vec![account(n), address.clone()],
            })
            .collect();
        let verdicts = apply_attempts(&mut rows, &batch, 0);
        assert_eq!(&verdicts[..3], &[Verdict::Allowed; 3]);
        assert!(verdicts[3..]
            .iter()
            .all(|v| matches!(v, Verdict::Refused { .. })));
        for n in 0..3 {
            assert_eq!(rows[&account(n).0].hits, 1);
        }
        // Refused by the address: their accounts were not counted.
        for n in 3..6 {
            assert_eq!(rows.get(&account(n).0), None);
        }
        assert_eq!(rows[&address.0].lockout_ms, 60_000);
    }
}
