"""Advanced Custom channels (type 58): routes an operator declares, each with its converter and auth."""
