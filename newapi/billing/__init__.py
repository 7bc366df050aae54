"""Billing: prices (:mod:`.pricing`, :mod:`.names`), quota arithmetic (:mod:`.quota`) and the ledger.

Import from the submodules; this package module stays empty so that loading the ledger does
not load the price tables and vice versa.
"""
