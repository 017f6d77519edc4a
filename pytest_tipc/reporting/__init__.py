"""What a session reports, from verdicts and records (it runs nothing and imports nothing from
execution): cell records (:mod:`.records`), the terminal summary (:mod:`.summary`), JUnit
properties (:mod:`.junit`), the support matrix as Markdown, JSON and HTML (:mod:`.matrix`,
:mod:`.report`, :mod:`.html`), what changed since a previous run (:mod:`.diff`), the live progress
line (:mod:`.progress`) and the closing line of a session where every cell skipped (:mod:`.allskipped`)."""
