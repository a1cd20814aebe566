-- compatible_from: 1
-- Sign-in (issue 19): the OpenID subject a comment was posted under, when
-- its author had signed in; its name is then the provider's verified name.
-- NULL for everything else.
ALTER TABLE comments ADD COLUMN identity_subject TEXT;
--
-- One nullable column: older receivers, which name the columns they
-- insert, keep working beside this schema during a rolling restart.
