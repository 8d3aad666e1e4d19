"""The JSON Schemas of everything the catalog ships, one module per integration.

`catalog.registry` names and indexes them; nothing else should import these modules directly.
"""
