"""The ``/v1/realtime`` WebSocket relay (OpenAI and Azure channels).

:mod:`.endpoint` admits the upgrade (key, model, channel, hold) and opens the upstream;
:mod:`.pump` carries frames both ways unchanged; :mod:`.events` reads the one event billing
needs (``response.done``); :mod:`.billing` settles each response's usage as it completes.
"""
