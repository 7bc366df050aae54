"""Serving the web console's built files (``web/`` builds into ``newapi/web_dist``)."""
