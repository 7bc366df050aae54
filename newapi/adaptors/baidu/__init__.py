"""Baidu ERNIE (channel type 15): wenxinworkshop v1 chat with an OAuth access token."""
