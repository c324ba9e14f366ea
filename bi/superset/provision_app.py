"""Superset's side of bi/superset_bi.py setup, in one process of .venv-bi's python (one Flask app start
instead of one per `superset` command: each costs 10-20 s on 2 busy cores):

    python provision_app.py BUNDLE.zip USERNAME [--upgrade] [--create-admin]   (password on stdin)

--upgrade       what `superset db upgrade` and `superset init` do: migrate the metadata DB, then sync
                permissions and roles (needed once per Superset version; bi/superset_bi.py stamps it);
--create-admin  create the admin user if it does not exist, with the password read from stdin (never
                in argv or a log);
then import the bundle with ImportAssetsCommand (what POST /api/v1/assets/import/ runs).

Why not `superset import-dashboards`: that command overwrites the dashboards only; charts, datasets and
the database that already exist are kept as they were, so an edited chart in bi/dashboards would never
reach Superset. ImportAssetsCommand is meant for assets kept under source control and overwrites every
object with the same UUID, so a re-run updates in place.
"""

import sys
from zipfile import ZipFile

from flask import g
from superset.app import create_app

bundle_path, username = sys.argv[1], sys.argv[2]
app = create_app()
with app.app_context():
    from superset import appbuilder, db, security_manager
    from superset.commands.importers.v1.assets import ImportAssetsCommand
    from superset.commands.importers.v1.utils import get_contents_from_bundle

    if "--upgrade" in sys.argv:
        from flask_migrate import upgrade

        upgrade()
        appbuilder.add_permissions(update_perms=True)
        security_manager.sync_role_definitions()
        db.session.commit()
        print("metadata DB upgraded, roles synced")
    if "--create-admin" in sys.argv:
        password = sys.stdin.readline().rstrip("\n")
        if security_manager.find_user(username=username) is None:
            user = security_manager.add_user(
                username,
                "socialpulse",
                "admin",
                f"{username}@socialpulse.local",
                security_manager.find_role("Admin"),
                password=password,
            )
            if not user:
                sys.exit(f"could not create the user {username}")
            db.session.commit()
            print(f"created user {username}")
    g.user = security_manager.find_user(username=username)
    with ZipFile(bundle_path) as bundle:
        contents = get_contents_from_bundle(bundle)
    ImportAssetsCommand(contents).run()
    print(f"imported {len(contents)} files")
