//! The `throttles` table: windowed counters and lockouts, one row per bucket.

use std::collections::BTreeMap;

use sqlx::QueryBuilder;

use super::now_ms;
use crate::db::{on_conn, Backend, Db};

/// A bucket's state after a hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct ThrottleState {
    pub hits: i64,
    pub window_start: i64,
    pub locked_until: i64,
}

impl Db {
    /// Counts one hit in `bucket`'s window of `window_ms` (starting a new
    /// window when the old one has passed). Atomic in the database, so
    /// concurrent hits from several processes all count. On SQLite,
    /// concurrent hits are counted together (see `db/batch.rs`).
    pub async fn throttle_hit(&self, bucket: &str, window_ms: i64) -> sqlx::Result<ThrottleState> {
        self.0
            .throttle_hits()
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
            let until: Option<i64> = on_conn!(self.0.reader(), |pool| sqlx::query_scalar(
                "SELECT locked_until FROM throttles WHERE bucket = $1"
            )
            .bind(bucket)
            .fetch_optional(pool)
            .await)?;
            latest = latest.max(until.unwrap_or(0));
        }
        Ok(latest)
    }

    pub async fn throttle_lock(&self, bucket: &str, until: i64) -> sqlx::Result<()> {
        // CASE, not SQLite's two-argument MAX (PostgreSQL's is GREATEST).
        on_conn!(self.0.writer().await, |pool| sqlx::query(
            "UPDATE throttles
                SET locked_until = CASE WHEN locked_until > $1 THEN locked_until ELSE $1 END
              WHERE bucket = $2"
        )
        .bind(until)
        .bind(bucket)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(())
    }

    pub async fn throttle_clear(&self, bucket: &str) -> sqlx::Result<()> {
        on_conn!(self.0.writer().await, |pool| sqlx::query(
            "DELETE FROM throttles WHERE bucket = $1"
        )
        .bind(bucket)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(())
    }
}

/// One hit (see [`Db::throttle_hit`]).
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
pub async fn count_throttle_hits(
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
