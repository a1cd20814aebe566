# A catalogue for the i18n tests: German lacks a message on purpose.
hello = Hello
only-english = Only in English, { $name }
