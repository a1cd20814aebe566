# kiln en español. Fuente: locales/en/kiln.ftl.

## El hilo

count = { $count ->
    [0] Aún no hay comentarios
    [one] { $count } comentario
   *[other] { $count } comentarios
}
notice-received = Gracias: hemos recibido tu comentario y aparecerá aquí en cuanto un moderador lo apruebe.
notice-published = Gracias: tu comentario está publicado y aparecerá aquí la próxima vez que se actualice la página.
comment-deleted = Este comentario fue eliminado.
deleted-author = un comentario eliminado
verified = verificado
verified-title = Con sesión iniciada al publicar
permalink-title = Enlace a este comentario
in-reply-to = en respuesta a
reply = Responder
like-label = Me gusta este comentario; «me gusta» hasta ahora:
date = { $day } { $month } { $year }
month-1 = ene
month-2 = feb
month-3 = mar
month-4 = abr
month-5 = may
month-6 = jun
month-7 = jul
month-8 = ago
month-9 = sept
month-10 = oct
month-11 = nov
month-12 = dic

## El formulario

form-title = Deja un comentario
form-title-reply = Escribe una respuesta
sign-in = Inicia sesión
sign-in-why = para comentar con tu nombre verificado
sign-out = cerrar sesión
field-text = Comentario
field-name = Nombre
field-email = Correo electrónico
field-website = Sitio web
optional = (opcional)
email-optional = (opcional, nunca se muestra)
markdown-hint = Admite Markdown: *cursiva*, **negrita**, [enlaces](https://example.org), `código`.
honeypot = Deja este campo vacío
notify = Avisarme por correo cuando alguien responda
notify-hint = (necesita tu correo; lo confirmas una vez y puedes darte de baja cuando quieras)
post = Publicar comentario
moderation-hint = Los comentarios aparecen cuando un moderador los aprueba.

## Las páginas del receptor

page-title = Comentarios
received-title = Comentario recibido
received-heading = Gracias
received-published = Tu comentario está publicado. Aparecerá en la página la próxima vez que se actualice.
received-pending = Hemos recibido tu comentario y espera moderación. Aparecerá en la página en cuanto un moderador lo apruebe.
edit-offer-before = ¿Una errata? Puedes
edit-offer-link = editar o eliminar tu comentario
edit-offer-after = hasta las { $until }. El enlace es solo para ti: deja esta página abierta o guárdala en marcadores, y no lo compartas.
back = Volver a la página
back-without-posting = Volver a la página sin publicar
reply-title = Responder a un comentario
error-title = Error { $status }
error-heading = Algo salió mal
error-kept = Lo que escribiste, para copiarlo
form-error-title = Revisa tu comentario
form-error-heading = Tu comentario aún no se ha publicado
form-error-fix = { $count ->
    [one] Corrige este problema.
   *[other] Corrige estos problemas.
} Todo lo que escribiste sigue en el formulario de abajo.

## Problemas con lo escrito

error-text-required = Escribe un comentario antes de publicar.
error-too-long = { $label } tiene { $chars } caracteres; el límite es { $limit }. Acórtalo, por favor.
error-control = { $label } no debe contener caracteres de control como saltos de línea o tabulaciones; quítalos y vuelve a publicar.
error-email-invalid = El correo debe tener la forma nombre@example.org o quedar vacío.
error-website-invalid = El sitio web debe ser una dirección http:// o https://, o quedar vacío.

## Correos a quienes comentan

mail-reply-subject = Nueva respuesta en { $page }
mail-reply-intro = { $author } respondió a tu comentario en { $page }:
mail-reply-read = Léela en la página:
mail-stop = Para dejar de recibir estos correos, abre este enlace:
mail-confirm-subject = Confirma los avisos de respuestas en { $page }
mail-confirm-intro = Pediste un aviso por correo cuando alguien responda a tu comentario en { $page }. Confírmalo abriendo este enlace:
mail-confirm-ignore = Si no lo pediste, ignora este correo y no se enviará nada.

## El script opcional

js-posted-pending = Publicado. Tu comentario será visible para todos cuando un moderador lo apruebe.
js-posted = Publicado.
js-offline = No se pudo contactar con el servidor de comentarios; tu texto sigue aquí. Inténtalo de nuevo.
js-refused = El comentario fue rechazado.
js-awaiting = Pendiente de moderación
js-edit = Editar
js-delete = Eliminar
js-until = hasta las
js-edit-heading = Edita tu comentario
js-save = Guardar
js-cancel = Cancelar
js-saved = Guardado.
js-saved-held = Guardado. Vuelve a esperar moderación.
js-delete-ask = ¿Eliminarlo?
js-delete-yes = Sí, eliminar
js-delete-no = No
js-write-reply = Escribe una respuesta
js-cancel-reply = Cancelar respuesta
js-preview = Vista previa
js-preview-updated = Vista previa actualizada.
js-preview-offline = No se pudo contactar con el servidor de comentarios para la vista previa.
js-deleted = Eliminado.
