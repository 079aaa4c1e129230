"""`python -m openbsi` runs the command line."""

from openbsi.cli import main

main()
