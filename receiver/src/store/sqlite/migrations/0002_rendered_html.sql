-- Each comment's text rendered and sanitized once, when it is stored, so a
-- bake from the database renders no Markdown. `html_version` names the
-- renderer that made it; HTML from another version is ignored and redone.
ALTER TABLE comments ADD COLUMN html TEXT;
ALTER TABLE comments ADD COLUMN html_version TEXT;

-- Published comments of a thread in the order they were posted, so loading
-- every thread for a bake streams from this index instead of sorting.
CREATE INDEX comments_published ON comments (thread_id, id)
    WHERE status IN ('approved', 'deleted');
