# kiln's reader-facing words, in English: the source every other locale
# translates. A message missing from another locale is shown from here.
# See docs/languages.md.

## The thread

count = { $count ->
    [0] No comments yet
    [one] { $count } comment
   *[other] { $count } comments
}
notice-received = Thank you — your comment was received and will appear here once a moderator approves it.
notice-published = Thank you — your comment was published and will appear here when the page is next updated.
comment-deleted = This comment was deleted.
deleted-author = a deleted comment
verified = verified
verified-title = Signed in when posting
permalink-title = Link to this comment
in-reply-to = in reply to
reply = Reply
like-label = Like this comment; likes so far:
# A comment's date: $day and $year are numbers, $month is one of the
# month-N names below, $monthnum the month's number.
date = { $day } { $month } { $year }
month-1 = Jan
month-2 = Feb
month-3 = Mar
month-4 = Apr
month-5 = May
month-6 = Jun
month-7 = Jul
month-8 = Aug
month-9 = Sep
month-10 = Oct
month-11 = Nov
month-12 = Dec

## The form

form-title = Leave a comment
form-title-reply = Write a reply
sign-in = Sign in
sign-in-why = to comment under your verified name
sign-out = sign out
field-text = Comment
field-name = Name
field-email = Email
field-website = Website
optional = (optional)
email-optional = (optional, never shown)
markdown-hint = Markdown works: *emphasis*, **bold**, [links](https://example.org), `code`.
honeypot = Leave this field empty
notify = Email me when someone replies
notify-hint = (needs your email; you confirm once, and can stop any time)
post = Post comment
moderation-hint = Comments appear after a moderator approves them.

## The receiver's pages

page-title = Comments
received-title = Comment received
received-heading = Thank you
received-published = Your comment is published. It shows on the page once the page is next updated.
received-pending = Your comment was received and awaits moderation. It will appear on the page once a moderator approves it.
edit-offer-before = Spotted a typo? You can
edit-offer-link = edit or delete your comment
edit-offer-after = until { $until }. The link is private to you: keep this page open or bookmark it, and do not share it.
back = Back to the page
back-without-posting = Back to the page without posting
reply-title = Reply to a comment
error-title = Error { $status }
error-heading = Something went wrong
error-kept = What you wrote, to copy
form-error-title = Please check your comment
form-error-heading = Your comment has not been posted yet
form-error-fix = { $count ->
    [one] Please fix this problem.
   *[other] Please fix these problems.
} Everything you typed is still in the form below.

## Problems with what the reader typed ($label is one of the field-* names)

error-text-required = Please write a comment before posting.
error-too-long = { $label } is { $chars } characters long; the limit is { $limit }. Please shorten it.
error-control = { $label } must not contain control characters such as line breaks or tabs; remove them and post again.
error-email-invalid = Email must look like name@example.org, or be left empty.
error-website-invalid = Website must be an http:// or https:// address, or be left empty.

## Mail to commenters

mail-reply-subject = New reply on { $page }
mail-reply-intro = { $author } replied to your comment on { $page }:
mail-reply-read = Read it on the page:
mail-stop = To stop these emails, open this link:
mail-confirm-subject = Confirm reply notifications for { $page }
mail-confirm-intro = You asked to be emailed when someone replies to your comment on { $page }. Confirm it by opening this link:
mail-confirm-ignore = If you did not ask for this, ignore this email and nothing will be sent.

## The optional script

js-posted-pending = Posted. Your comment will appear for everyone once a moderator approves it.
js-posted = Posted.
js-offline = Could not reach the comment server; your text is still here. Try again.
js-refused = The comment was refused.
js-awaiting = Awaiting moderation
js-edit = Edit
js-delete = Delete
js-until = until
js-edit-heading = Edit your comment
js-save = Save
js-cancel = Cancel
js-saved = Saved.
js-saved-held = Saved. It awaits moderation again.
js-delete-ask = Delete it?
js-delete-yes = Yes, delete
js-delete-no = No
js-write-reply = Write a reply
js-cancel-reply = Cancel reply
js-preview = Preview
js-preview-updated = Preview updated.
js-preview-offline = Could not reach the comment server for a preview.
js-deleted = Deleted.
