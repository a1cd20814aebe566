# kiln بالعربية. المصدر: locales/en/kiln.ftl.

## النقاش

count = { $count ->
    [zero] لا تعليقات بعد
    [one] تعليق واحد
    [two] تعليقان
    [few] { $count } تعليقات
    [many] { $count } تعليقًا
   *[other] { $count } تعليق
}
notice-received = شكرًا لك — وصل تعليقك وسيظهر هنا بعد أن يوافق عليه أحد المشرفين.
notice-published = شكرًا لك — نُشر تعليقك وسيظهر هنا عند تحديث الصفحة في المرة القادمة.
comment-deleted = حُذف هذا التعليق.
deleted-author = تعليق محذوف
verified = موثَّق
verified-title = كان الكاتب مسجَّل الدخول عند النشر
permalink-title = رابط هذا التعليق
in-reply-to = ردًّا على
reply = رد
like-label = أعجبني هذا التعليق؛ عدد الإعجابات حتى الآن:
date = { $day } { $month } { $year }
month-1 = يناير
month-2 = فبراير
month-3 = مارس
month-4 = أبريل
month-5 = مايو
month-6 = يونيو
month-7 = يوليو
month-8 = أغسطس
month-9 = سبتمبر
month-10 = أكتوبر
month-11 = نوفمبر
month-12 = ديسمبر

## النموذج

form-title = اترك تعليقًا
form-title-reply = اكتب ردًّا
sign-in = سجّل الدخول
sign-in-why = لتعلّق باسمك الموثَّق
sign-out = تسجيل الخروج
field-text = التعليق
field-name = الاسم
field-email = البريد الإلكتروني
field-website = الموقع
optional = (اختياري)
email-optional = (اختياري، لا يُعرض أبدًا)
markdown-hint = يمكنك استخدام Markdown: *مائل* و**عريض** و[روابط](https://example.org) و`شيفرة`.
honeypot = اترك هذا الحقل فارغًا
notify = راسلني بالبريد عندما يرد أحد
notify-hint = (يتطلب بريدك الإلكتروني؛ تؤكد مرة واحدة ويمكنك الإيقاف في أي وقت)
post = انشر التعليق
moderation-hint = تظهر التعليقات بعد موافقة أحد المشرفين.

## صفحات المستقبِل

page-title = التعليقات
received-title = وصل التعليق
received-heading = شكرًا لك
received-published = نُشر تعليقك. سيظهر على الصفحة عند تحديثها في المرة القادمة.
received-pending = وصل تعليقك وهو بانتظار المراجعة. سيظهر على الصفحة بعد أن يوافق عليه أحد المشرفين.
edit-offer-before = هل لاحظت خطأً مطبعيًا؟ يمكنك
edit-offer-link = تعديل تعليقك أو حذفه
edit-offer-after = حتى { $until }. الرابط خاص بك: أبقِ هذه الصفحة مفتوحة أو احفظها في المفضلة، ولا تشاركه مع أحد.
back = العودة إلى الصفحة
back-without-posting = العودة إلى الصفحة دون نشر
reply-title = الرد على تعليق
error-title = خطأ { $status }
error-heading = حدث خطأ ما
error-kept = ما كتبته، لتنسخه
form-error-title = يُرجى مراجعة تعليقك
form-error-heading = لم يُنشر تعليقك بعد
form-error-fix = { $count ->
    [one] يُرجى إصلاح هذه المشكلة.
   *[other] يُرجى إصلاح هذه المشكلات.
} كل ما كتبته ما زال في النموذج أدناه.

## مشكلات فيما كُتب

error-text-required = يُرجى كتابة تعليق قبل النشر.
error-too-long = طول { $label } هو { $chars } حرفًا، والحد الأقصى { $limit }. يُرجى اختصاره.
error-control = يجب ألا يحتوي { $label } على محارف تحكّم مثل فواصل الأسطر أو علامات الجدولة؛ احذفها ثم انشر مجددًا.
error-email-invalid = يجب أن يكون البريد الإلكتروني بصيغة name@example.org، أو أن يُترك فارغًا.
error-website-invalid = يجب أن يكون الموقع عنوانًا يبدأ بـ http://‏ أو https://‏، أو أن يُترك فارغًا.

## رسائل إلى المعلّقين

mail-reply-subject = رد جديد على { $page }
mail-reply-intro = ردّ { $author } على تعليقك في { $page }:
mail-reply-read = اقرأه على الصفحة:
mail-stop = لإيقاف هذه الرسائل، افتح هذا الرابط:
mail-confirm-subject = أكّد إشعارات الردود على { $page }
mail-confirm-intro = طلبت أن نراسلك عندما يرد أحد على تعليقك في { $page }. أكّد ذلك بفتح هذا الرابط:
mail-confirm-ignore = إن لم تطلب ذلك، فتجاهل هذه الرسالة ولن يُرسَل إليك شيء.

## النص البرمجي الاختياري

js-posted-pending = نُشر. سيظهر تعليقك للجميع بعد أن يوافق عليه أحد المشرفين.
js-posted = نُشر.
js-offline = تعذّر الوصول إلى خادم التعليقات؛ نصك ما زال هنا. حاول مجددًا.
js-refused = رُفض التعليق.
js-awaiting = بانتظار المراجعة
js-edit = تعديل
js-delete = حذف
js-until = حتى
js-edit-heading = عدّل تعليقك
js-save = حفظ
js-cancel = إلغاء
js-saved = حُفظ.
js-saved-held = حُفظ. وهو بانتظار المراجعة مجددًا.
js-delete-ask = أتريد حذفه؟
js-delete-yes = نعم، احذفه
js-delete-no = لا
js-write-reply = اكتب ردًّا
js-cancel-reply = إلغاء الرد
js-preview = معاينة
js-preview-updated = حُدّثت المعاينة.
js-preview-offline = تعذّر الوصول إلى خادم التعليقات لعرض المعاينة.
js-deleted = حُذف.
