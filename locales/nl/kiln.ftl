# kiln in het Nederlands. Bron: locales/en/kiln.ftl.

## De discussie

count = { $count ->
    [0] Nog geen reacties
    [one] { $count } reactie
   *[other] { $count } reacties
}
notice-received = Bedankt — je reactie is ontvangen en verschijnt hier zodra een moderator haar goedkeurt.
notice-published = Bedankt — je reactie is gepubliceerd en verschijnt hier zodra de pagina opnieuw wordt bijgewerkt.
comment-deleted = Deze reactie is verwijderd.
deleted-author = een verwijderde reactie
verified = geverifieerd
verified-title = Was ingelogd bij het plaatsen
permalink-title = Link naar deze reactie
in-reply-to = als antwoord op
reply = Beantwoorden
like-label = Deze reactie leuk vinden; aantal keer leuk tot nu toe:
date = { $day } { $month } { $year }
month-1 = jan
month-2 = feb
month-3 = mrt
month-4 = apr
month-5 = mei
month-6 = jun
month-7 = jul
month-8 = aug
month-9 = sep
month-10 = okt
month-11 = nov
month-12 = dec

## Het formulier

form-title = Laat een reactie achter
form-title-reply = Schrijf een antwoord
sign-in = Log in
sign-in-why = om te reageren onder je geverifieerde naam
sign-out = uitloggen
field-text = Reactie
field-name = Naam
field-email = E-mail
field-website = Website
optional = (optioneel)
email-optional = (optioneel, nooit getoond)
markdown-hint = Markdown werkt: *cursief*, **vet**, [links](https://example.org), `code`.
honeypot = Laat dit veld leeg
notify = Mail me als iemand antwoordt
notify-hint = (vraagt je e-mailadres; je bevestigt één keer en kunt altijd stoppen)
post = Reactie plaatsen
moderation-hint = Reacties verschijnen nadat een moderator ze heeft goedgekeurd.

## De pagina’s van de ontvanger

page-title = Reacties
received-title = Reactie ontvangen
received-heading = Bedankt
received-published = Je reactie is gepubliceerd. Ze verschijnt op de pagina zodra die opnieuw wordt bijgewerkt.
received-pending = Je reactie is ontvangen en wacht op moderatie. Ze verschijnt op de pagina zodra een moderator haar goedkeurt.
edit-offer-before = Een typfout gezien? Je kunt
edit-offer-link = je reactie bewerken of verwijderen
edit-offer-after = tot { $until }. De link is alleen voor jou: houd deze pagina open of maak er een bladwijzer van, en deel hem niet.
back = Terug naar de pagina
back-without-posting = Terug naar de pagina zonder te plaatsen
reply-title = Een reactie beantwoorden
error-title = Fout { $status }
error-heading = Er ging iets mis
error-kept = Wat je schreef, om te kopiëren
form-error-title = Controleer je reactie
form-error-heading = Je reactie is nog niet geplaatst
form-error-fix = { $count ->
    [one] Los dit probleem op.
   *[other] Los deze problemen op.
} Alles wat je hebt getypt staat nog in het formulier hieronder.

## Problemen met wat er is ingevuld

error-text-required = Schrijf een reactie voordat je plaatst.
error-too-long = { $label } is { $chars } tekens lang; de limiet is { $limit }. Maak het korter.
error-control = { $label } mag geen stuurtekens zoals regeleinden of tabs bevatten; verwijder ze en plaats opnieuw.
error-email-invalid = Het e-mailadres moet eruitzien als naam@example.org, of leeg blijven.
error-website-invalid = De website moet een http://- of https://-adres zijn, of leeg blijven.

## Mail aan wie reageert

mail-reply-subject = Nieuw antwoord op { $page }
mail-reply-intro = { $author } heeft op je reactie op { $page } geantwoord:
mail-reply-read = Lees het op de pagina:
mail-stop = Open deze link om deze mails niet meer te ontvangen:
mail-confirm-subject = Bevestig meldingen van antwoorden op { $page }
mail-confirm-intro = Je vroeg om een mail als iemand op je reactie op { $page } antwoordt. Bevestig dat met deze link:
mail-confirm-ignore = Heb je dit niet gevraagd, negeer deze mail dan; er wordt niets verstuurd.

## Het optionele script

js-posted-pending = Geplaatst. Je reactie is voor iedereen zichtbaar zodra een moderator haar goedkeurt.
js-posted = Geplaatst.
js-offline = De reactieserver is niet bereikbaar; je tekst staat er nog. Probeer het opnieuw.
js-refused = De reactie is geweigerd.
js-awaiting = Wacht op moderatie
js-edit = Bewerken
js-delete = Verwijderen
js-until = tot
js-edit-heading = Je reactie bewerken
js-save = Opslaan
js-cancel = Annuleren
js-saved = Opgeslagen.
js-saved-held = Opgeslagen. Ze wacht opnieuw op moderatie.
js-delete-ask = Verwijderen?
js-delete-yes = Ja, verwijderen
js-delete-no = Nee
js-write-reply = Schrijf een antwoord
js-cancel-reply = Antwoord annuleren
js-preview = Voorbeeld
js-preview-updated = Voorbeeld bijgewerkt.
js-preview-offline = De reactieserver is niet bereikbaar voor een voorbeeld.
js-deleted = Verwijderd.
