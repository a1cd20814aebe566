# kiln の日本語。原文: locales/en/kiln.ftl

## スレッド

count = { $count ->
    [0] コメントはまだありません
   *[other] { $count }件のコメント
}
notice-received = ありがとうございます。コメントを受け付けました。モデレーターが承認すると、ここに表示されます。
notice-published = ありがとうございます。コメントは公開されました。次にページが更新されると、ここに表示されます。
comment-deleted = このコメントは削除されました。
deleted-author = 削除されたコメント
verified = 確認済み
verified-title = 投稿時にサインインしていました
permalink-title = このコメントへのリンク
in-reply-to = 返信先:
reply = 返信
like-label = このコメントにいいねする。これまでのいいね数:
date = { $year }年{ $monthnum }月{ $day }日
month-1 = 1月
month-2 = 2月
month-3 = 3月
month-4 = 4月
month-5 = 5月
month-6 = 6月
month-7 = 7月
month-8 = 8月
month-9 = 9月
month-10 = 10月
month-11 = 11月
month-12 = 12月

## フォーム

form-title = コメントを書く
form-title-reply = 返信を書く
sign-in = サインイン
sign-in-why = すると、確認済みの名前でコメントできます
sign-out = サインアウト
field-text = コメント
field-name = 名前
field-email = メールアドレス
field-website = ウェブサイト
optional = (任意)
email-optional = (任意、公開されません)
markdown-hint = Markdown が使えます: *強調*、**太字**、[リンク](https://example.org)、`コード`。
honeypot = この欄は空のままにしてください
notify = 返信があったらメールで知らせる
notify-hint = (メールアドレスが必要です。確認は一度だけで、いつでも停止できます)
post = コメントを投稿
moderation-hint = コメントはモデレーターの承認後に表示されます。

## 受信側のページ

page-title = コメント
received-title = コメントを受け付けました
received-heading = ありがとうございます
received-published = コメントは公開されました。次にページが更新されると表示されます。
received-pending = コメントを受け付けました。モデレーターの承認待ちです。承認されるとページに表示されます。
edit-offer-before = 誤字に気づきましたか? { $until }まで、
edit-offer-link = コメントを編集または削除できます。
edit-offer-after = このリンクはあなた専用です。このページを開いたままにするかブックマークし、他の人と共有しないでください。
back = ページに戻る
back-without-posting = 投稿せずにページに戻る
reply-title = コメントに返信
error-title = エラー { $status }
error-heading = 問題が発生しました
error-kept = 入力した内容(コピー用)
form-error-title = コメントを確認してください
form-error-heading = コメントはまだ投稿されていません
form-error-fix = 次の問題を修正してください。入力した内容はすべて下のフォームに残っています。

## 入力内容の問題

error-text-required = 投稿する前にコメントを書いてください。
error-too-long = { $label }が{ $chars }文字あります。上限は{ $limit }文字です。短くしてください。
error-control = { $label }に改行やタブなどの制御文字を含めることはできません。削除してから投稿し直してください。
error-email-invalid = メールアドレスは name@example.org のような形式にするか、空欄にしてください。
error-website-invalid = ウェブサイトは http:// または https:// で始まるアドレスにするか、空欄にしてください。

## コメント投稿者へのメール

mail-reply-subject = { $page } に新しい返信があります
mail-reply-intro = { $page } でのあなたのコメントに { $author } さんが返信しました:
mail-reply-read = ページで読む:
mail-stop = このメールの配信を停止するには、次のリンクを開いてください:
mail-confirm-subject = { $page } の返信通知を確認してください
mail-confirm-intro = { $page } でのあなたのコメントに返信があったときにメールで通知するよう依頼がありました。次のリンクを開いて確認してください:
mail-confirm-ignore = 心当たりがない場合は、このメールを無視してください。何も送信されません。

## 任意のスクリプト

js-posted-pending = 投稿しました。モデレーターが承認すると、全員に表示されます。
js-posted = 投稿しました。
js-offline = コメントサーバーに接続できませんでした。入力した内容はそのまま残っています。もう一度お試しください。
js-refused = コメントは受け付けられませんでした。
js-awaiting = 承認待ち
js-edit = 編集
js-delete = 削除
js-until = 期限:
js-edit-heading = コメントを編集
js-save = 保存
js-cancel = キャンセル
js-saved = 保存しました。
js-saved-held = 保存しました。再び承認待ちになっています。
js-delete-ask = 削除しますか?
js-delete-yes = はい、削除します
js-delete-no = いいえ
js-write-reply = 返信を書く
js-cancel-reply = 返信をキャンセル
js-preview = プレビュー
js-preview-updated = プレビューを更新しました。
js-preview-offline = プレビューのためにコメントサーバーに接続できませんでした。
js-deleted = 削除しました。
