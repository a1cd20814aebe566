# kiln en français. Source : locales/en/kiln.ftl.

## Le fil

count = { $count ->
    [0] Aucun commentaire pour l’instant
    [one] { $count } commentaire
   *[other] { $count } commentaires
}
notice-received = Merci — votre commentaire a bien été reçu ; il apparaîtra ici dès qu’un modérateur l’aura approuvé.
notice-published = Merci — votre commentaire est publié ; il apparaîtra ici à la prochaine mise à jour de la page.
comment-deleted = Ce commentaire a été supprimé.
deleted-author = un commentaire supprimé
verified = vérifié
verified-title = Connecté au moment de publier
permalink-title = Lien vers ce commentaire
in-reply-to = en réponse à
reply = Répondre
like-label = Aimer ce commentaire ; mentions « J’aime » jusqu’ici :
date = { $day } { $month } { $year }
month-1 = janv.
month-2 = févr.
month-3 = mars
month-4 = avr.
month-5 = mai
month-6 = juin
month-7 = juil.
month-8 = août
month-9 = sept.
month-10 = oct.
month-11 = nov.
month-12 = déc.

## Le formulaire

form-title = Laisser un commentaire
form-title-reply = Écrire une réponse
sign-in = Connectez-vous
sign-in-why = pour commenter sous votre nom vérifié
sign-out = se déconnecter
field-text = Commentaire
field-name = Nom
field-email = E-mail
field-website = Site web
optional = (facultatif)
email-optional = (facultatif, jamais affiché)
markdown-hint = Markdown fonctionne : *italique*, **gras**, [liens](https://example.org), `code`.
honeypot = Laissez ce champ vide
notify = M’avertir par e-mail quand quelqu’un répond
notify-hint = (nécessite votre e-mail ; vous confirmez une fois et pouvez arrêter à tout moment)
post = Publier le commentaire
moderation-hint = Les commentaires apparaissent après approbation par un modérateur.

## Les pages du récepteur

page-title = Commentaires
received-title = Commentaire reçu
received-heading = Merci
received-published = Votre commentaire est publié. Il apparaîtra sur la page à sa prochaine mise à jour.
received-pending = Votre commentaire a été reçu et attend la modération. Il apparaîtra sur la page dès qu’un modérateur l’aura approuvé.
edit-offer-before = Une faute de frappe ? Vous pouvez
edit-offer-link = modifier ou supprimer votre commentaire
edit-offer-after = jusqu’à { $until }. Ce lien n’est valable que pour vous : gardez cette page ouverte ou ajoutez-la à vos favoris, et ne le partagez pas.
back = Retour à la page
back-without-posting = Retour à la page sans publier
reply-title = Répondre à un commentaire
error-title = Erreur { $status }
error-heading = Une erreur s’est produite
error-kept = Ce que vous avez écrit, à copier
form-error-title = Veuillez vérifier votre commentaire
form-error-heading = Votre commentaire n’a pas encore été publié
form-error-fix = { $count ->
    [one] Veuillez corriger ce problème.
   *[other] Veuillez corriger ces problèmes.
} Tout ce que vous avez saisi se trouve encore dans le formulaire ci-dessous.

## Problèmes de saisie

error-text-required = Veuillez écrire un commentaire avant de publier.
error-too-long = { $label } fait { $chars } caractères ; la limite est de { $limit }. Veuillez le raccourcir.
error-control = { $label } ne doit pas contenir de caractères de contrôle comme des sauts de ligne ou des tabulations ; supprimez-les et publiez à nouveau.
error-email-invalid = L’e-mail doit ressembler à nom@example.org, ou rester vide.
error-website-invalid = Le site web doit être une adresse http:// ou https://, ou rester vide.

## Les e-mails aux commentateurs

mail-reply-subject = Nouvelle réponse sur { $page }
mail-reply-intro = { $author } a répondu à votre commentaire sur { $page } :
mail-reply-read = La lire sur la page :
mail-stop = Pour ne plus recevoir ces e-mails, ouvrez ce lien :
mail-confirm-subject = Confirmez les avis de réponse pour { $page }
mail-confirm-intro = Vous avez demandé à être averti par e-mail quand quelqu’un répond à votre commentaire sur { $page }. Confirmez en ouvrant ce lien :
mail-confirm-ignore = Si vous n’avez rien demandé, ignorez cet e-mail : rien ne vous sera envoyé.

## Le script facultatif

js-posted-pending = Publié. Votre commentaire sera visible par tous dès qu’un modérateur l’aura approuvé.
js-posted = Publié.
js-offline = Impossible de joindre le serveur de commentaires ; votre texte est toujours là. Réessayez.
js-refused = Le commentaire a été refusé.
js-awaiting = En attente de modération
js-edit = Modifier
js-delete = Supprimer
js-until = jusqu’à
js-edit-heading = Modifier votre commentaire
js-save = Enregistrer
js-cancel = Annuler
js-saved = Enregistré.
js-saved-held = Enregistré. Il attend de nouveau la modération.
js-delete-ask = Le supprimer ?
js-delete-yes = Oui, supprimer
js-delete-no = Non
js-write-reply = Écrire une réponse
js-cancel-reply = Annuler la réponse
js-preview = Aperçu
js-preview-updated = Aperçu mis à jour.
js-preview-offline = Impossible de joindre le serveur de commentaires pour l’aperçu.
js-deleted = Supprimé.
