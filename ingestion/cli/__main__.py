"""`python -m ingestion.cli`: the same as the `socialpulse` console script."""
from ingestion.cli import main

raise SystemExit(main())
