"""What every sub-command needs: the configuration and the store."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from appliance.config import Config, load_config
from appliance.store.db import Store

T = TypeVar("T")


def load(args: argparse.Namespace) -> Config:
    """The configuration named by ``--config`` (or the lookup order of INTERFACES.md §1)."""
    return load_config(getattr(args, "config", None))


def open_store(config: Config) -> Store:
    """Open (and migrate) the configured store."""
    return Store.open(config.db_path, min_free_mb=config.storage.min_free_mb)


def call_store(config: Config, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Open the store, run ``fn(store, *args, **kwargs)`` on it and close it: a command's one read or write."""
    store = open_store(config)
    try:
        return store.call(fn, store, *args, **kwargs)
    finally:
        store.close()


def print_json(document: Any) -> None:
    """One JSON document on stdout and nothing else."""
    json.dump(document, sys.stdout, ensure_ascii=False, default=str)
    sys.stdout.write("\n")
