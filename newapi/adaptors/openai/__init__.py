"""The OpenAI wire format: chat, completions, embeddings, images, audio, moderations, rerank."""
