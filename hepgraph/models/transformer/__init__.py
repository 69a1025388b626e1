"""Point transformers: local attention over kNN neighbourhoods."""
