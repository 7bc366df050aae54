"""Zhipu (channel type 16): the v3 model API with a JWT from the id.secret key."""
