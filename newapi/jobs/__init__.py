"""Background jobs the runtime starts: scheduled channel tests, balance refresh, log retention.

Each job is an ``async def run_forever(runtime)`` coroutine that loops until
cancelled and never lets an exception escape one round.
"""
