"""Chinese full-text search over cases, and the index behind it (a Django app, label ``case_search``).

- ``segment``: jieba with the shipped user dictionary — the words of a document or a query.
- ``models.SearchDocument``: one row per case with its words in three weighted parts; on
  PostgreSQL a generated ``tsvector`` column with a GIN index, on SQLite an FTS5 table kept by
  triggers (migration 0001) — so the index changes in the same statement as the row.
- ``index``: builds a case's row; a ``post_save`` receiver keeps it current in the case's own
  transaction (a rolled-back write leaves the index as it was); ``index_cases`` for bulk writers.
- ``query``: ``search(queryset, text)`` ranked by relevance (ts_rank / bm25), composable with any
  scoped, filtered case queryset; a full case number or credit code is looked up exactly. In
  relevance order it ranks and counts the ``RANKED`` newest matches (after every filter), found in
  widening windows of case ids, so a common word at a million cases reads a thousand rows, not all.
- ``highlight``: the matched words marked in escaped text.
"""
