"""``python -m vbt.cli``: the ``vbt`` console script."""

from vbt.cli import script

if __name__ == "__main__":
    script()
