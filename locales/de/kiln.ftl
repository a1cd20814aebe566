# kiln auf Deutsch. Quelle: locales/en/kiln.ftl.

## Der Thread

count = { $count ->
    [0] Noch keine Kommentare
    [one] { $count } Kommentar
   *[other] { $count } Kommentare
}
notice-received = Danke – Ihr Kommentar ist angekommen und erscheint hier, sobald ihn jemand aus der Moderation freigibt.
notice-published = Danke – Ihr Kommentar ist veröffentlicht und erscheint hier, sobald die Seite das nächste Mal aktualisiert wird.
comment-deleted = Dieser Kommentar wurde gelöscht.
deleted-author = einen gelöschten Kommentar
verified = bestätigt
verified-title = Beim Schreiben angemeldet
permalink-title = Link zu diesem Kommentar
in-reply-to = Antwort auf
reply = Antworten
like-label = Diesen Kommentar mögen; bisherige Likes:
date = { $day }. { $month } { $year }
month-1 = Jan.
month-2 = Feb.
month-3 = März
month-4 = Apr.
month-5 = Mai
month-6 = Juni
month-7 = Juli
month-8 = Aug.
month-9 = Sept.
month-10 = Okt.
month-11 = Nov.
month-12 = Dez.

## Das Formular

form-title = Kommentar schreiben
form-title-reply = Antwort schreiben
sign-in = Anmelden
sign-in-why = und unter Ihrem bestätigten Namen kommentieren
sign-out = abmelden
field-text = Kommentar
field-name = Name
field-email = E-Mail
field-website = Website
optional = (optional)
email-optional = (optional, wird nie angezeigt)
markdown-hint = Markdown funktioniert: *kursiv*, **fett**, [Links](https://example.org), `Code`.
honeypot = Dieses Feld bitte leer lassen
notify = Per E-Mail benachrichtigen, wenn jemand antwortet
notify-hint = (braucht Ihre E-Mail-Adresse; Sie bestätigen einmal und können jederzeit abbestellen)
post = Kommentar senden
moderation-hint = Kommentare erscheinen, nachdem sie freigegeben wurden.

## Die Seiten des Empfängers

page-title = Kommentare
received-title = Kommentar erhalten
received-heading = Vielen Dank
received-published = Ihr Kommentar ist veröffentlicht. Er erscheint auf der Seite, sobald sie das nächste Mal aktualisiert wird.
received-pending = Ihr Kommentar ist angekommen und wartet auf Freigabe. Er erscheint auf der Seite, sobald ihn jemand aus der Moderation freigibt.
edit-offer-before = Einen Tippfehler entdeckt? Sie können
edit-offer-link = Ihren Kommentar bearbeiten oder löschen
edit-offer-after = (bis { $until }). Der Link gilt nur für Sie: Lassen Sie diese Seite offen oder setzen Sie ein Lesezeichen, und geben Sie ihn nicht weiter.
back = Zurück zur Seite
back-without-posting = Zurück zur Seite, ohne zu senden
reply-title = Auf einen Kommentar antworten
error-title = Fehler { $status }
error-heading = Etwas ist schiefgegangen
error-kept = Ihr Text, zum Kopieren
form-error-title = Bitte prüfen Sie Ihren Kommentar
form-error-heading = Ihr Kommentar wurde noch nicht gesendet
form-error-fix = { $count ->
    [one] Bitte beheben Sie dieses Problem.
   *[other] Bitte beheben Sie diese Probleme.
} Alles, was Sie geschrieben haben, steht noch im Formular unten.

## Probleme mit der Eingabe

error-text-required = Bitte schreiben Sie einen Kommentar, bevor Sie ihn senden.
error-too-long = { $label } ist { $chars } Zeichen lang; erlaubt sind { $limit }. Bitte kürzen Sie den Text.
error-control = { $label } darf keine Steuerzeichen wie Zeilenumbrüche oder Tabulatoren enthalten; entfernen Sie sie und senden Sie erneut.
error-email-invalid = Die E-Mail-Adresse muss wie name@example.org aussehen oder leer bleiben.
error-website-invalid = Die Website muss eine http://- oder https://-Adresse sein oder leer bleiben.

## E-Mails an Kommentierende

mail-reply-subject = Neue Antwort auf { $page }
mail-reply-intro = { $author } hat auf Ihren Kommentar auf { $page } geantwortet:
mail-reply-read = Auf der Seite lesen:
mail-stop = Um diese E-Mails abzubestellen, öffnen Sie diesen Link:
mail-confirm-subject = Benachrichtigungen über Antworten auf { $page } bestätigen
mail-confirm-intro = Sie möchten per E-Mail erfahren, wenn jemand auf Ihren Kommentar auf { $page } antwortet. Bestätigen Sie das mit diesem Link:
mail-confirm-ignore = Wenn Sie das nicht angefordert haben, ignorieren Sie diese E-Mail; dann wird nichts gesendet.

## Das optionale Skript

js-posted-pending = Gesendet. Ihr Kommentar erscheint für alle, sobald er freigegeben ist.
js-posted = Gesendet.
js-offline = Der Kommentar-Server ist nicht erreichbar; Ihr Text ist noch da. Versuchen Sie es erneut.
js-refused = Der Kommentar wurde abgelehnt.
js-awaiting = Wartet auf Freigabe
js-edit = Bearbeiten
js-delete = Löschen
js-until = bis
js-edit-heading = Kommentar bearbeiten
js-save = Speichern
js-cancel = Abbrechen
js-saved = Gespeichert.
js-saved-held = Gespeichert. Er wartet erneut auf Freigabe.
js-delete-ask = Wirklich löschen?
js-delete-yes = Ja, löschen
js-delete-no = Nein
js-write-reply = Antwort schreiben
js-cancel-reply = Antwort abbrechen
js-preview = Vorschau
js-preview-updated = Vorschau aktualisiert.
js-preview-offline = Der Kommentar-Server ist für eine Vorschau nicht erreichbar.
js-deleted = Gelöscht.
