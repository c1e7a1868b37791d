"""``appliance backup|restore|upgrade-db|migrate-down``: the database in the field (appliance/ops)."""

from __future__ import annotations

import argparse
from pathlib import Path

from appliance.cli.common import load, print_json
from appliance.cli.main import add_config_option


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("backup", help="copy the database to FILE (safe while the daemon runs)")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--json", action="store_true")
    add_config_option(p)
    p.set_defaults(func=cmd_backup)

    p = sub.add_parser("restore", help="put a backup in place of the database (stop the daemon first)")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--other-site", action="store_true", help="accept a backup made on another site")
    p.add_argument("--json", action="store_true")
    add_config_option(p)
    p.set_defaults(func=cmd_restore)

    p = sub.add_parser("upgrade-db", help="migrate the database, backing it up first when the schema changes")
    p.add_argument("--backup", metavar="FILE", help="where the pre-upgrade backup goes "
                   "(default: <data dir>/backups/pre-upgrade.db)")
    p.add_argument("--json", action="store_true")
    add_config_option(p)
    p.set_defaults(func=cmd_upgrade_db)

    p = sub.add_parser("migrate-down", help="run down migrations to schema version --to (daemon stopped)")
    p.add_argument("--to", type=int, required=True)
    add_config_option(p)
    p.set_defaults(func=cmd_migrate_down)


def cmd_backup(args: argparse.Namespace) -> int:
    from appliance.ops.backup import backup

    config = load(args)
    info = backup(config.db_path, Path(args.file), config.site.id)
    doc = {"file": str(info.path), "site": info.site, "taken_at": info.taken_at, "schema": info.schema,
           "bytes": info.bytes, "seconds": round(info.seconds, 3), "last_seqs": info.last_seqs}
    if args.json:
        print_json(doc)
    else:
        print(f"backup {info.path}: {info.bytes} bytes, schema v{info.schema}, taken {info.taken_at}")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from appliance.ops.backup import restore

    config = load(args)
    doc = restore(Path(args.file), config.db_path, config.site.id, other_site=args.other_site)
    if args.json:
        print_json(doc)
    else:
        print(f"restored {doc['restored']} (taken {doc['backup_taken_at']}, schema v{doc['backup_schema']})")
        for stream, (old, new) in sorted(doc["jumps"].items()):
            print(f"    uplink {stream}: seqs continue after {new} (was {old}; bound from {doc['seq_bound_from']})")
    return 0


def cmd_upgrade_db(args: argparse.Namespace) -> int:
    from appliance.ops.migrate import upgrade_db

    config = load(args)
    target = Path(args.backup) if args.backup else config.data_dir / "backups" / "pre-upgrade.db"
    doc = upgrade_db(config.db_path, target, config.site.id)
    if args.json:
        print_json(doc)
    else:
        taken = f", backup {doc['backup']}" if doc["backup"] else ""
        print(f"database schema v{doc['from']} -> v{doc['to']}{taken}")
    return 0


def cmd_migrate_down(args: argparse.Namespace) -> int:
    from appliance.ops.migrate import downgrade
    from appliance.store.db import Store

    config = load(args)
    store = Store.open(config.db_path, migrate=False)
    try:
        version = downgrade(store, args.to)
    finally:
        store.close()
    print(f"database schema now v{version}")
    return 0
