"""``python -m gradviz`` runs the command line, like the ``gradviz`` script."""

from gradviz.cli import main

if __name__ == "__main__":
    main()
