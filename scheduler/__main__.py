"""Allow ``python -m scheduler`` as a twin of the ``postq`` console script."""

from scheduler.cli import main

if __name__ == "__main__":
    main()
