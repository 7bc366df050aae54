"""Codex ("ChatGPT subscription", type 57): the Responses API at chatgpt.com with an OAuth credential."""
