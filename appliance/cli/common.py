"""What every sub-command needs: the configuration and the store."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from appliance.config import Config, load_config
from appliance.store.db import Store


def load(args: argparse.Namespace) -> Config:
    """The configuration named by ``--config`` (or the lookup order of INTERFACES.md §1)."""
    return load_config(getattr(args, "config", None))


def open_store(config: Config) -> Store:
    """Open (and migrate) the configured store."""
    return Store.open(config.db_path, min_free_mb=config.storage.min_free_mb)


def print_json(document: Any) -> None:
    """One JSON document on stdout and nothing else."""
    json.dump(document, sys.stdout, ensure_ascii=False, default=str)
    sys.stdout.write("\n")
