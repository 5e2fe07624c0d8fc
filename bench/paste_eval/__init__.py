"""Pasted support tickets with the right answers, in two parts written apart (see heldout.py)."""
