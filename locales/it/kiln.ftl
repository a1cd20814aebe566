# kiln in italiano. Fonte: locales/en/kiln.ftl.

## La discussione

count = { $count ->
    [0] Ancora nessun commento
    [one] { $count } commento
   *[other] { $count } commenti
}
notice-received = Grazie: il tuo commento è arrivato e comparirà qui appena un moderatore lo approva.
notice-published = Grazie: il tuo commento è pubblicato e comparirà qui al prossimo aggiornamento della pagina.
comment-deleted = Questo commento è stato eliminato.
deleted-author = un commento eliminato
verified = verificato
verified-title = Accesso effettuato al momento della pubblicazione
permalink-title = Link a questo commento
in-reply-to = in risposta a
reply = Rispondi
like-label = Mi piace questo commento; «mi piace» finora:
date = { $day } { $month } { $year }
month-1 = gen
month-2 = feb
month-3 = mar
month-4 = apr
month-5 = mag
month-6 = giu
month-7 = lug
month-8 = ago
month-9 = set
month-10 = ott
month-11 = nov
month-12 = dic

## Il modulo

form-title = Lascia un commento
form-title-reply = Scrivi una risposta
sign-in = Accedi
sign-in-why = per commentare con il tuo nome verificato
sign-out = esci
field-text = Commento
field-name = Nome
field-email = Email
field-website = Sito web
optional = (facoltativo)
email-optional = (facoltativa, mai mostrata)
markdown-hint = Puoi usare Markdown: *corsivo*, **grassetto**, [link](https://example.org), `codice`.
honeypot = Lascia vuoto questo campo
notify = Avvisami via email quando qualcuno risponde
notify-hint = (serve la tua email; confermi una volta e puoi smettere quando vuoi)
post = Pubblica commento
moderation-hint = I commenti compaiono dopo l’approvazione di un moderatore.

## Le pagine del ricevitore

page-title = Commenti
received-title = Commento ricevuto
received-heading = Grazie
received-published = Il tuo commento è pubblicato. Comparirà sulla pagina al suo prossimo aggiornamento.
received-pending = Il tuo commento è arrivato ed è in attesa di moderazione. Comparirà sulla pagina appena un moderatore lo approva.
edit-offer-before = Un refuso? Puoi
edit-offer-link = modificare o eliminare il tuo commento
edit-offer-after = fino alle { $until }. Il link è solo per te: tieni aperta questa pagina o salvala nei segnalibri, e non condividerlo.
back = Torna alla pagina
back-without-posting = Torna alla pagina senza pubblicare
reply-title = Rispondi a un commento
error-title = Errore { $status }
error-heading = Qualcosa è andato storto
error-kept = Quello che hai scritto, da copiare
form-error-title = Controlla il tuo commento
form-error-heading = Il tuo commento non è ancora stato pubblicato
form-error-fix = { $count ->
    [one] Correggi questo problema.
   *[other] Correggi questi problemi.
} Tutto quello che hai scritto è ancora nel modulo qui sotto.

## Problemi con il testo inserito

error-text-required = Scrivi un commento prima di pubblicare.
error-too-long = { $label } è lungo { $chars } caratteri; il limite è { $limit }. Accorcialo, per favore.
error-control = { $label } non deve contenere caratteri di controllo come a capo o tabulazioni; rimuovili e pubblica di nuovo.
error-email-invalid = L’email deve avere la forma nome@example.org, oppure restare vuota.
error-website-invalid = Il sito web deve essere un indirizzo http:// o https://, oppure restare vuoto.

## Email a chi commenta

mail-reply-subject = Nuova risposta su { $page }
mail-reply-intro = { $author } ha risposto al tuo commento su { $page }:
mail-reply-read = Leggila sulla pagina:
mail-stop = Per non ricevere più queste email, apri questo link:
mail-confirm-subject = Conferma gli avvisi di risposta per { $page }
mail-confirm-intro = Hai chiesto un avviso via email quando qualcuno risponde al tuo commento su { $page }. Conferma aprendo questo link:
mail-confirm-ignore = Se non l’hai chiesto tu, ignora questa email e non ti sarà inviato nulla.

## Lo script facoltativo

js-posted-pending = Pubblicato. Il tuo commento sarà visibile a tutti appena un moderatore lo approva.
js-posted = Pubblicato.
js-offline = Impossibile raggiungere il server dei commenti; il tuo testo è ancora qui. Riprova.
js-refused = Il commento è stato rifiutato.
js-awaiting = In attesa di moderazione
js-edit = Modifica
js-delete = Elimina
js-until = fino alle
js-edit-heading = Modifica il tuo commento
js-save = Salva
js-cancel = Annulla
js-saved = Salvato.
js-saved-held = Salvato. È di nuovo in attesa di moderazione.
js-delete-ask = Eliminarlo?
js-delete-yes = Sì, elimina
js-delete-no = No
js-write-reply = Scrivi una risposta
js-cancel-reply = Annulla risposta
js-preview = Anteprima
js-preview-updated = Anteprima aggiornata.
js-preview-offline = Impossibile raggiungere il server dei commenti per l’anteprima.
js-deleted = Eliminato.
