"""Import bi/superset_bi.py's bundle with Superset's ImportAssetsCommand (run by .venv-bi's python).

Why not `superset import-dashboards`: that command overwrites the dashboards only; charts, datasets and
the database that already exist are kept as they were, so an edited chart in bi/dashboards would never
reach Superset. ImportAssetsCommand (what POST /api/v1/assets/import/ runs) is meant for assets kept
under source control and overwrites every object with the same UUID, so a re-run updates in place.
"""

import sys
from zipfile import ZipFile

from flask import g

from superset.app import create_app

app = create_app()
with app.app_context():
    from superset import security_manager
    from superset.commands.importers.v1.assets import ImportAssetsCommand
    from superset.commands.importers.v1.utils import get_contents_from_bundle

    g.user = security_manager.find_user(username=sys.argv[2])
    with ZipFile(sys.argv[1]) as bundle:
        contents = get_contents_from_bundle(bundle)
    ImportAssetsCommand(contents).run()
    print(f"imported {len(contents)} files")
