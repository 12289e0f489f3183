"""Thin Reflex states: each event handler calls core and copies plain values into vars."""
