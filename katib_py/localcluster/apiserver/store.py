"""Object storage: one SQLite table (key, rv, json) mirrored in memory, plus the global RV counter.

Reads are served from memory; every write goes through SQLite first (WAL, so a killed process
loses nothing the OS already has).
"""

from __future__ import annotations

import builtins
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

Obj = dict[str, Any]


def object_key(rkey: str, namespace: str, name: str) -> str:
    return f"{rkey}/{namespace}/{name}"


class Store:
    def __init__(self, data_dir: Path | None) -> None:
        if data_dir is None:
            self._db = sqlite3.connect(":memory:", isolation_level=None)
        else:
            data_dir.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(data_dir / "state.db"), isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS objects (key TEXT PRIMARY KEY, rv INTEGER, json TEXT)")
        self._db.execute("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER)")
        row = self._db.execute("SELECT value FROM meta WHERE name='rv'").fetchone()
        self.rv: int = int(row[0]) if row else 1
        # rkey -> namespace -> name -> object
        self._objects: dict[str, dict[str, dict[str, Obj]]] = {}
        # object key -> its JSON, so GET and LIST can answer without serializing again
        self._texts: dict[str, str] = {}
        # called with the resource key after every put/delete (the RBAC authorizer drops its index)
        self.on_write: builtins.list[Callable[[str], None]] = []
        for key, text in self._db.execute("SELECT key, json FROM objects"):
            rkey, ns, name = key.rsplit("/", 2)
            self._objects.setdefault(rkey, {}).setdefault(ns, {})[name] = json.loads(text)
            self._texts[key] = text

    def close(self) -> None:
        self._db.close()

    def next_rv(self) -> int:
        self.rv += 1
        return self.rv

    def get(self, rkey: str, namespace: str, name: str) -> Obj | None:
        """The stored object itself: callers copy before changing it."""
        return self._objects.get(rkey, {}).get(namespace, {}).get(name)

    def list(self, rkey: str, namespace: str | None = None) -> list[Obj]:
        by_ns = self._objects.get(rkey, {})
        if namespace is not None:
            items = by_ns.get(namespace, {})
            return [items[n] for n in sorted(items)]
        return [by_ns[ns][n] for ns in sorted(by_ns) for n in sorted(by_ns[ns])]

    def count(self, rkey: str) -> int:
        return sum(len(v) for v in self._objects.get(rkey, {}).values())

    def put(self, rkey: str, namespace: str, name: str, obj: Obj, text: str | None = None) -> None:
        """Write `obj` (its metadata.resourceVersion already set from next_rv); `text` is its JSON."""
        rv = int(obj["metadata"]["resourceVersion"])
        if text is None:
            text = json.dumps(obj, separators=(",", ":"))
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO objects (key, rv, json) VALUES (?, ?, ?)",
                (object_key(rkey, namespace, name), rv, text),
            )
            self._db.execute("INSERT OR REPLACE INTO meta (name, value) VALUES ('rv', ?)", (self.rv,))
        self._objects.setdefault(rkey, {}).setdefault(namespace, {})[name] = obj
        self._texts[object_key(rkey, namespace, name)] = text
        for listener in self.on_write:
            listener(rkey)

    def text(self, rkey: str, namespace: str, name: str) -> str | None:
        """The stored JSON of an object (exactly what get() returns, serialized)."""
        return self._texts.get(object_key(rkey, namespace, name))

    def delete(self, rkey: str, namespace: str, name: str) -> None:
        with self._db:
            self._db.execute("DELETE FROM objects WHERE key = ?", (object_key(rkey, namespace, name),))
            self._db.execute("INSERT OR REPLACE INTO meta (name, value) VALUES ('rv', ?)", (self.rv,))
        self._texts.pop(object_key(rkey, namespace, name), None)
        by_ns = self._objects.get(rkey, {})
        by_ns.get(namespace, {}).pop(name, None)
        if namespace in by_ns and not by_ns[namespace]:
            del by_ns[namespace]
        for listener in self.on_write:
            listener(rkey)

    def drop_all(self, rkey: str) -> builtins.list[Obj]:
        """Remove every object under rkey (a deleted CRD's objects); returns them."""
        gone = self.list(rkey)
        prefix = rkey + "/"
        with self._db:
            self._db.execute("DELETE FROM objects WHERE substr(key, 1, ?) = ?", (len(prefix), prefix))
        self._objects.pop(rkey, None)
        for key in [k for k in self._texts if k.startswith(prefix)]:
            del self._texts[key]
        return gone

    def persist_rv(self) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta (name, value) VALUES ('rv', ?)", (self.rv,))

    def get_meta(self, name: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, name: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)", (name, value))
