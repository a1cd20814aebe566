-- Avatars (issue 5): a random salt, used for nothing else, under which each
-- commenter's address (or name) is turned into the avatar key that bake
-- draws an identicon from. It lives in the database so that every reader of
-- it (the export, the export API, a bake from this file) makes the same keys,
-- and so that a copy of an export cannot be used to check a guessed address.
-- randomblob draws on SQLite's generator, which is seeded from the system.
INSERT INTO meta (key, value) VALUES ('avatar_salt', lower(hex(randomblob(32))));
