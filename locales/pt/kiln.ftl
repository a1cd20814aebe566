# kiln em português. Fonte: locales/en/kiln.ftl.

## A conversa

count = { $count ->
    [0] Ainda não há comentários
    [one] { $count } comentário
   *[other] { $count } comentários
}
notice-received = Obrigado — o seu comentário foi recebido e aparecerá aqui assim que um moderador o aprovar.
notice-published = Obrigado — o seu comentário foi publicado e aparecerá aqui na próxima atualização da página.
comment-deleted = Este comentário foi eliminado.
deleted-author = um comentário eliminado
verified = verificado
verified-title = Com sessão iniciada ao publicar
permalink-title = Ligação para este comentário
in-reply-to = em resposta a
reply = Responder
like-label = Gostar deste comentário; gostos até agora:
date = { $day } de { $month } de { $year }
month-1 = jan.
month-2 = fev.
month-3 = mar.
month-4 = abr.
month-5 = mai.
month-6 = jun.
month-7 = jul.
month-8 = ago.
month-9 = set.
month-10 = out.
month-11 = nov.
month-12 = dez.

## O formulário

form-title = Deixe um comentário
form-title-reply = Escreva uma resposta
sign-in = Inicie sessão
sign-in-why = para comentar com o seu nome verificado
sign-out = terminar sessão
field-text = Comentário
field-name = Nome
field-email = E-mail
field-website = Site
optional = (opcional)
email-optional = (opcional, nunca é mostrado)
markdown-hint = Pode usar Markdown: *itálico*, **negrito**, [ligações](https://example.org), `código`.
honeypot = Deixe este campo vazio
notify = Avisar-me por e-mail quando alguém responder
notify-hint = (precisa do seu e-mail; confirma uma vez e pode cancelar quando quiser)
post = Publicar comentário
moderation-hint = Os comentários aparecem depois de um moderador os aprovar.

## As páginas do recetor

page-title = Comentários
received-title = Comentário recebido
received-heading = Obrigado
received-published = O seu comentário foi publicado. Aparecerá na página na próxima atualização.
received-pending = O seu comentário foi recebido e aguarda moderação. Aparecerá na página assim que um moderador o aprovar.
edit-offer-before = Encontrou uma gralha? Pode
edit-offer-link = editar ou eliminar o seu comentário
edit-offer-after = até às { $until }. A ligação é só sua: mantenha esta página aberta ou guarde-a nos marcadores, e não a partilhe.
back = Voltar à página
back-without-posting = Voltar à página sem publicar
reply-title = Responder a um comentário
error-title = Erro { $status }
error-heading = Algo correu mal
error-kept = O que escreveu, para copiar
form-error-title = Verifique o seu comentário
form-error-heading = O seu comentário ainda não foi publicado
form-error-fix = { $count ->
    [one] Corrija este problema.
   *[other] Corrija estes problemas.
} Tudo o que escreveu continua no formulário abaixo.

## Problemas com o que foi escrito

error-text-required = Escreva um comentário antes de publicar.
error-too-long = { $label } tem { $chars } caracteres; o limite é { $limit }. Encurte-o, por favor.
error-control = { $label } não pode conter caracteres de controlo como quebras de linha ou tabulações; remova-os e publique de novo.
error-email-invalid = O e-mail deve ter a forma nome@example.org, ou ficar vazio.
error-website-invalid = O site deve ser um endereço http:// ou https://, ou ficar vazio.

## E-mails a quem comenta

mail-reply-subject = Nova resposta em { $page }
mail-reply-intro = { $author } respondeu ao seu comentário em { $page }:
mail-reply-read = Leia-a na página:
mail-stop = Para deixar de receber estes e-mails, abra esta ligação:
mail-confirm-subject = Confirme os avisos de respostas em { $page }
mail-confirm-intro = Pediu para ser avisado por e-mail quando alguém responder ao seu comentário em { $page }. Confirme abrindo esta ligação:
mail-confirm-ignore = Se não o pediu, ignore este e-mail e nada será enviado.

## O script opcional

js-posted-pending = Publicado. O seu comentário ficará visível para todos assim que um moderador o aprovar.
js-posted = Publicado.
js-offline = Não foi possível contactar o servidor de comentários; o seu texto continua aqui. Tente de novo.
js-refused = O comentário foi recusado.
js-awaiting = A aguardar moderação
js-edit = Editar
js-delete = Eliminar
js-until = até às
js-edit-heading = Edite o seu comentário
js-save = Guardar
js-cancel = Cancelar
js-saved = Guardado.
js-saved-held = Guardado. Aguarda de novo moderação.
js-delete-ask = Eliminar?
js-delete-yes = Sim, eliminar
js-delete-no = Não
js-write-reply = Escreva uma resposta
js-cancel-reply = Cancelar resposta
js-preview = Pré-visualizar
js-preview-updated = Pré-visualização atualizada.
js-preview-offline = Não foi possível contactar o servidor de comentários para a pré-visualização.
js-deleted = Eliminado.
