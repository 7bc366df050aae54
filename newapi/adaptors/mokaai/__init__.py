"""MokaAI channels (type 44): m3e embeddings."""
