# German lacks only-english on purpose (see en).
hello = Hallo
