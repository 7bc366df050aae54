"""Anthropic's Messages API: Claude channels (Anthropic, AWS Bedrock, Vertex AI) and ``/v1/messages``."""
