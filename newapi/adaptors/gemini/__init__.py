"""Google's Gemini API (generateContent and friends): Gemini and Vertex AI channels, ``/v1beta``."""
