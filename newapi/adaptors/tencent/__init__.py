"""Tencent Hunyuan (channel type 23): TC3-HMAC-SHA256 signed JSON API ``ChatCompletions``."""
