-- The title of the page a thread is on, as the baked form sent it (the
-- receiver never fetches pages), so moderators' mail and the admin page can
-- name the page rather than only link it. Updated by each new comment that
-- carries one.
ALTER TABLE threads ADD COLUMN title TEXT NOT NULL DEFAULT '';
