"""``python -m sandbox serve|truth ...`` -- same as ``socialpulse sandbox ...``."""

from sandbox.cli import main

raise SystemExit(main())
