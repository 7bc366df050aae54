"""PaLM channels (type 11): Google's legacy Generative Language ``v1beta2`` ``generateMessage`` API."""
