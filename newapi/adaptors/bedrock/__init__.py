"""AWS Bedrock channels (type 33): Claude through InvokeModel, SigV4 or an API key, binary event streams."""
