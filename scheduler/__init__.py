"""postq: a careful scheduler for recruitment posts on social media.

The package is imported by the command line on every start, so it imports nothing heavy.
"""

__version__ = "0.1.0"
