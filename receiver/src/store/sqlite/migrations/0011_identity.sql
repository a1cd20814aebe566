-- Sign-in (issue 19): the OpenID subject a comment was posted under, when
-- its author had signed in; its name is then the provider's verified name.
-- NULL for everything else.
ALTER TABLE comments ADD COLUMN identity_subject TEXT;
