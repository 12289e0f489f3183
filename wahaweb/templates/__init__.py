"""The one page template every page goes through."""

from wahaweb.templates.template import template

__all__ = ["template"]
