"""OpenBSI: an open-source brain-spine interface platform (research use, not a medical device)."""

__version__ = "0.1.0"
