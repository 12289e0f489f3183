"""What the HTTP routes (`wahaweb.api`) and the Reflex pages (`wahaweb.state`) both need of the web.

The sign-in cookie's name, the rule for following `?next=` after sign-in, and the websocket's
Origin rule. They live here, below both layers, so that neither imports the other.
"""
