\set ON_ERROR_STOP 1
-- insert: thread by its first comment
INSERT INTO threads (key, url, created_at) VALUES ('/a/', 'https://e.org/a/', 10) ON CONFLICT (key) DO NOTHING;
SELECT id FROM threads WHERE key = '/a/';
INSERT INTO comments (thread_id, parent_id, status, author, email, text, page_url, created_at, approved_at)
  VALUES (1, NULL, 'approved', 'Ann', 'Ann@Example.org', 'hi', 'https://e.org/a/', 10, 10) RETURNING id;
-- touch_thread: one statement, seq in commit order, and a wake-up at commit
WITH s AS (UPDATE change_seq SET value = value + 1 RETURNING value)
UPDATE threads SET changed_seq = (SELECT value FROM s), published_count = published_count + 1 WHERE id = 1
RETURNING changed_seq, pg_notify('kiln_changed', changed_seq::text) IS NULL AS notified;
-- parent check, locked against a concurrent unpublish
SELECT thread_id, status FROM comments WHERE id = 1 FOR SHARE;
-- subscribe (double opt-in), case-insensitive
INSERT INTO subscribers (email, created_at) VALUES ('ann@example.org', 11)
  ON CONFLICT ((lower(email))) DO UPDATE SET created_at = excluded.created_at, confirmed_at = NULL, unsubscribed_at = NULL
  WHERE subscribers.unsubscribed_at IS NOT NULL;
UPDATE subscribers SET confirmed_at = 12 WHERE lower(email) = lower('ANN@example.org');
UPDATE comments SET notify = true WHERE id = 1 AND email IS NOT NULL;
INSERT INTO comments (thread_id, parent_id, status, author, email, text, page_url, created_at)
  VALUES (1, 1, 'pending', 'Bob', 'bob@e.org', 'reply', 'https://e.org/a/', 13) RETURNING id;
-- after_approve
INSERT INTO outbox (kind, comment_id, recipient, created_at, next_attempt_at)
SELECT 'reply', r.id, p.email, $$14$$::bigint, 14
FROM comments r JOIN comments p ON p.id = r.parent_id
     JOIN subscribers s ON lower(s.email) = lower(p.email)
WHERE r.id = 2 AND p.notify AND s.confirmed_at IS NOT NULL AND s.unsubscribed_at IS NULL
  AND (r.email IS NULL OR lower(r.email) <> lower(p.email))
RETURNING id, recipient;
INSERT INTO outbox (kind, comment_id, created_at, next_attempt_at) VALUES ('new_comment', 2, 13, 13);
-- claim_mail: due, unclaimed or lease expired; skip rows another replica is claiming right now
UPDATE outbox o SET claimed_by = 'replica-a', claimed_until = 100 + 120
FROM (SELECT id FROM outbox
      WHERE failed_at IS NULL AND next_attempt_at <= 100 AND (claimed_until IS NULL OR claimed_until <= 100)
      ORDER BY next_attempt_at, id LIMIT 20 FOR UPDATE SKIP LOCKED) due
WHERE o.id = due.id
RETURNING o.id, o.kind, o.comment_id, o.recipient, o.attempts;
-- a second replica at the same moment gets nothing
UPDATE outbox o SET claimed_by = 'replica-b', claimed_until = 100 + 120
FROM (SELECT id FROM outbox
      WHERE failed_at IS NULL AND next_attempt_at <= 100 AND (claimed_until IS NULL OR claimed_until <= 100)
      ORDER BY next_attempt_at, id LIMIT 20 FOR UPDATE SKIP LOCKED) due
WHERE o.id = due.id RETURNING o.id;
-- mail_failed releases the claim
PREPARE failed(bigint, text, bigint, bigint) AS
UPDATE outbox SET attempts = attempts + 1, last_error = $2,
       next_attempt_at = coalesce($3, next_attempt_at),
       failed_at = CASE WHEN $3 IS NULL THEN $4 END,
       claimed_by = NULL, claimed_until = NULL
WHERE id = $1;
EXECUTE failed(1, 'connection refused', NULL, 101);
-- mail_trouble
SELECT count(*) FILTER (WHERE failed_at IS NULL) AS retrying, count(*) FILTER (WHERE failed_at IS NOT NULL) AS given_up FROM outbox WHERE attempts > 0;
-- search: ILIKE with backslash escapes
SELECT c.id FROM comments c JOIN threads t ON t.id = c.thread_id
WHERE (c.text ILIKE '%RE\_%' OR c.author ILIKE '%BOB%' OR c.email ILIKE '%x%' OR t.key ILIKE '%x%')
ORDER BY c.created_at DESC, c.id DESC LIMIT 200;
-- rate limit admit: serialized by one transaction-scoped advisory lock
BEGIN;
SET LOCAL synchronous_commit = off;
SELECT pg_advisory_xact_lock(1802071150, 1);
DELETE FROM rate_events WHERE bucket = ANY (ARRAY['post:ip:192.0.2.1','post:thread:/a/','post:all']) AND at_ms <= 1000000 - 600000;
SELECT bucket, count(*), min(at_ms) FROM rate_events
 WHERE bucket = ANY (ARRAY['post:ip:192.0.2.1','post:thread:/a/','post:all']) AND at_ms > 1000000 - 600000 GROUP BY bucket;
INSERT INTO rate_events (bucket, at_ms) SELECT b, 1000000 FROM unnest(ARRAY['post:ip:192.0.2.1','post:thread:/a/','post:all']) b;
COMMIT;
-- change_seq as the publisher reads it
SELECT value FROM change_seq;
