"""Notifications as New API sends them (``service/user_notify.go``): channel status changes and
channel-test results to root, quota warnings to users; by email, webhook, Bark or Gotify;
throttled per user and type; sent from a background task, never on the request's time."""
