"""The memo's sections, by group; :mod:`optimizer.memo.content` puts them in order."""
