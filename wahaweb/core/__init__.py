"""wahaweb's core: tables, plans, accounts, the session service, rate limits, audit.

Plain async Python, no Reflex. Build everything through `wahaweb.core.container.Core`.
"""
