# kiln 简体中文。原文：locales/en/kiln.ftl

## 讨论

count = { $count ->
    [0] 暂无评论
   *[other] { $count } 条评论
}
notice-received = 谢谢！您的评论已收到，审核通过后将显示在这里。
notice-published = 谢谢！您的评论已发布，页面下次更新后将显示在这里。
comment-deleted = 此评论已被删除。
deleted-author = 一条已删除的评论
verified = 已验证
verified-title = 发布时已登录
permalink-title = 此评论的链接
in-reply-to = 回复
reply = 回复
like-label = 赞这条评论；目前的赞数：
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

## 表单

form-title = 发表评论
form-title-reply = 撰写回复
sign-in = 登录
sign-in-why = 后即可用经过验证的名字发表评论
sign-out = 退出登录
field-text = 评论
field-name = 名字
field-email = 电子邮箱
field-website = 网站
optional = （选填）
email-optional = （选填，不会公开）
markdown-hint = 支持 Markdown：*斜体*、**粗体**、[链接](https://example.org)、`代码`。
honeypot = 请勿填写此栏
notify = 有人回复时发邮件通知我
notify-hint = （需要您的邮箱；只需确认一次，可随时退订）
post = 发表评论
moderation-hint = 评论经管理员审核后显示。

## 接收端页面

page-title = 评论
received-title = 评论已收到
received-heading = 谢谢
received-published = 您的评论已发布，页面下次更新后即会显示。
received-pending = 您的评论已收到，正在等待审核，审核通过后将显示在页面上。
edit-offer-before = 发现错别字？您可以在 { $until } 之前
edit-offer-link = 编辑或删除您的评论。
edit-offer-after = 此链接仅供您本人使用：请保持此页面打开或将其加入书签，不要分享给他人。
back = 返回页面
back-without-posting = 不发表，返回页面
reply-title = 回复评论
error-title = 错误 { $status }
error-heading = 出错了
error-kept = 您写的内容，可复制保存
form-error-title = 请检查您的评论
form-error-heading = 您的评论尚未发表
form-error-fix = 请修正以下问题。您输入的内容仍保留在下面的表单中。

## 输入问题

error-text-required = 请先写下评论再发表。
error-too-long = { $label }长 { $chars } 个字符，上限为 { $limit } 个。请缩短。
error-control = { $label }不能包含换行符或制表符等控制字符；请删除后重新发表。
error-email-invalid = 邮箱应形如 name@example.org，或留空。
error-website-invalid = 网站应为 http:// 或 https:// 开头的地址，或留空。

## 发给评论者的邮件

mail-reply-subject = { $page } 有新回复
mail-reply-intro = { $author } 回复了您在 { $page } 上的评论：
mail-reply-read = 在页面上阅读：
mail-stop = 如需停止接收此类邮件，请打开此链接：
mail-confirm-subject = 确认 { $page } 的回复通知
mail-confirm-intro = 您要求在有人回复您在 { $page } 上的评论时收到邮件通知。请打开此链接确认：
mail-confirm-ignore = 如果这不是您本人的操作，请忽略此邮件，我们不会再发送任何内容。

## 可选脚本

js-posted-pending = 已发表。管理员审核通过后，所有人都能看到您的评论。
js-posted = 已发表。
js-offline = 无法连接评论服务器；您的文字仍在这里。请重试。
js-refused = 评论被拒绝。
js-awaiting = 等待审核
js-edit = 编辑
js-delete = 删除
js-until = 截止
js-edit-heading = 编辑您的评论
js-save = 保存
js-cancel = 取消
js-saved = 已保存。
js-saved-held = 已保存。评论再次等待审核。
js-delete-ask = 确定删除？
js-delete-yes = 是，删除
js-delete-no = 否
js-write-reply = 撰写回复
js-cancel-reply = 取消回复
js-preview = 预览
js-preview-updated = 预览已更新。
js-preview-offline = 无法连接评论服务器以生成预览。
js-deleted = 已删除。
