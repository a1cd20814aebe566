# kiln po polsku. Źródło: locales/en/kiln.ftl.

## Wątek

count = { $count ->
    [0] Nie ma jeszcze komentarzy
    [one] { $count } komentarz
    [few] { $count } komentarze
    [many] { $count } komentarzy
   *[other] { $count } komentarza
}
notice-received = Dziękujemy — komentarz dotarł i pojawi się tutaj, gdy tylko zatwierdzi go moderator.
notice-published = Dziękujemy — komentarz został opublikowany i pojawi się tutaj przy następnej aktualizacji strony.
comment-deleted = Ten komentarz został usunięty.
deleted-author = usunięty komentarz
verified = zweryfikowano
verified-title = Zalogowany podczas publikowania
permalink-title = Link do tego komentarza
in-reply-to = w odpowiedzi na
reply = Odpowiedz
like-label = Polub ten komentarz; dotychczasowe polubienia:
date = { $day } { $month } { $year }
month-1 = sty
month-2 = lut
month-3 = mar
month-4 = kwi
month-5 = maj
month-6 = cze
month-7 = lip
month-8 = sie
month-9 = wrz
month-10 = paź
month-11 = lis
month-12 = gru

## Formularz

form-title = Zostaw komentarz
form-title-reply = Napisz odpowiedź
sign-in = Zaloguj się,
sign-in-why = aby komentować pod zweryfikowanym imieniem
sign-out = wyloguj się
field-text = Komentarz
field-name = Imię
field-email = E-mail
field-website = Strona WWW
optional = (opcjonalnie)
email-optional = (opcjonalnie, nigdy niepokazywany)
markdown-hint = Działa Markdown: *kursywa*, **pogrubienie**, [linki](https://example.org), `kod`.
honeypot = Zostaw to pole puste
notify = Powiadom mnie e-mailem o odpowiedziach
notify-hint = (wymaga adresu e-mail; potwierdzasz raz i możesz zrezygnować w każdej chwili)
post = Opublikuj komentarz
moderation-hint = Komentarze pojawiają się po zatwierdzeniu przez moderatora.

## Strony odbiornika

page-title = Komentarze
received-title = Komentarz otrzymany
received-heading = Dziękujemy
received-published = Komentarz został opublikowany. Pojawi się na stronie przy jej następnej aktualizacji.
received-pending = Komentarz dotarł i czeka na moderację. Pojawi się na stronie, gdy tylko zatwierdzi go moderator.
edit-offer-before = Literówka? Możesz
edit-offer-link = edytować lub usunąć komentarz
edit-offer-after = do { $until }. Link jest tylko dla Ciebie: zostaw tę stronę otwartą albo dodaj ją do zakładek i nie udostępniaj go.
back = Wróć do strony
back-without-posting = Wróć do strony bez publikowania
reply-title = Odpowiedz na komentarz
error-title = Błąd { $status }
error-heading = Coś poszło nie tak
error-kept = Twój tekst do skopiowania
form-error-title = Sprawdź komentarz
form-error-heading = Komentarz nie został jeszcze opublikowany
form-error-fix = { $count ->
    [one] Popraw ten problem.
   *[other] Popraw te problemy.
} Wszystko, co wpisano, nadal jest w formularzu poniżej.

## Problemy z wpisanym tekstem

error-text-required = Przed publikacją napisz komentarz.
error-too-long = { $label }: { $chars } znaków, a limit to { $limit }. Skróć tekst.
error-control = { $label } nie może zawierać znaków sterujących, takich jak podziały wierszy czy tabulatory; usuń je i opublikuj ponownie.
error-email-invalid = E-mail musi wyglądać jak nazwa@example.org albo pozostać pusty.
error-website-invalid = Strona WWW musi być adresem http:// lub https:// albo pozostać pusta.

## Wiadomości do komentujących

mail-reply-subject = Nowa odpowiedź na { $page }
mail-reply-intro = { $author } odpowiada na Twój komentarz na { $page }:
mail-reply-read = Przeczytaj na stronie:
mail-stop = Aby nie dostawać tych wiadomości, otwórz ten link:
mail-confirm-subject = Potwierdź powiadomienia o odpowiedziach na { $page }
mail-confirm-intro = Poproszono o powiadomienie e-mailem, gdy ktoś odpowie na Twój komentarz na { $page }. Potwierdź, otwierając ten link:
mail-confirm-ignore = Jeśli to nie Ty, zignoruj tę wiadomość i nic nie zostanie wysłane.

## Opcjonalny skrypt

js-posted-pending = Opublikowano. Komentarz będzie widoczny dla wszystkich po zatwierdzeniu przez moderatora.
js-posted = Opublikowano.
js-offline = Nie udało się połączyć z serwerem komentarzy; Twój tekst nadal tu jest. Spróbuj ponownie.
js-refused = Komentarz został odrzucony.
js-awaiting = Czeka na moderację
js-edit = Edytuj
js-delete = Usuń
js-until = do
js-edit-heading = Edytuj komentarz
js-save = Zapisz
js-cancel = Anuluj
js-saved = Zapisano.
js-saved-held = Zapisano. Komentarz znów czeka na moderację.
js-delete-ask = Usunąć?
js-delete-yes = Tak, usuń
js-delete-no = Nie
js-write-reply = Napisz odpowiedź
js-cancel-reply = Anuluj odpowiedź
js-preview = Podgląd
js-preview-updated = Podgląd zaktualizowany.
js-preview-offline = Nie udało się połączyć z serwerem komentarzy, aby pokazać podgląd.
js-deleted = Usunięto.
