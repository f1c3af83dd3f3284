"""Finding the same person over encrypted data (issue 13).

- normalise: names folded (case, accents, punctuation, particles), phones to E.164, document numbers folded.
- phonetic: one code per name part that survives the spelling variants of Spanish, Portuguese, French and Creole.
- keys: what of a person (or of a search) is turned into blind indexes: name parts, part with birth year, date of
  birth, phone, document.
- generations / models / store: the blind indexes themselves, one row per key, per index generation, so that the
  indexes can be rebuilt under a new key or size while the application runs (rebuild).
- candidates: the cases whose keys agree with a query's, ranked by how many agree, in SQL, never decrypting.
- score: the decision, after decrypting the candidates only: per-field similarity (rapidfuzz) weighted as
  probabilistic record linkage does (Fellegi-Sunter match weights, the method splink implements).
- engine: the duplicate check and search built on the above.
"""
