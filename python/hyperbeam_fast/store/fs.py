"""``FSStore``: HyperBEAM's filesystem layout (runtime §10.4), interchangeable with ``hb_store_fs``.

* raw bytes are regular files, groups are directories;
* a link is a symlink whose target is ``<prefix>/<existing path>``, ``<prefix>`` being the store
  path exactly as given (as HyperBEAM writes them); when resolving, the prefix (or the absolute
  root) is stripped and the rest is a store path again. Links are followed by this module, never
  by the OS: a symlink that points outside the root, an intermediate OS symlink, ``..`` or an
  absolute part can never make us read outside the root;
* atomicity: a single write goes to a temp name and is renamed into place; a batch builds each
  *new* top-level group (a message's unsigned-ID directory) in a staging directory and renames it
  into place whole, then creates its top-level links (commitment IDs) with atomic symlink
  renames. Staging lives in ``<root>/.hbfast-tmp/<pid>-<random>`` and is swept when a store is
  opened (only for writers that are no longer alive).
* durability (``sync``, the node's ``store_sync``): by default (``False``, as ``hb_store_fs``) a
  write returns once the OS has it, which survives a crash of the process but not of the
  machine (power loss, kernel panic). With ``sync=True`` every file and symlink a write creates
  is fsynced, and so is every directory whose entries it changed, before the write returns.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
from collections.abc import Sequence
from typing import Any

from ..exceptions import InvalidStorePath, StoreCorrupt, StoreError
from .base import GROUP, LINK, RAW, Entry, Store, disk_usage, join

TMP_DIR = ".hbfast-tmp"
_GROUP_ENTRY: Entry = (GROUP, None)
_O_READ = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


class FSStore(Store):
    """A directory tree at ``path`` (created if missing)."""

    def __init__(self, path: str | os.PathLike[str], *, sync: bool = False) -> None:
        self.sync = sync
        given = os.fspath(path)
        if not given:
            raise InvalidStorePath("FSStore needs a directory path")
        self.prefix = given.rstrip("/") or "/"
        self.root = os.path.abspath(given)
        self._tmp = os.path.join(self.root, TMP_DIR)
        try:
            os.makedirs(self._tmp, exist_ok=True)
        except OSError as e:
            raise StoreError(f"cannot create the store directory {self.root!r}: {e}") from e
        self._dirs: set[str] = set()
        self._sweep()

    def __repr__(self) -> str:
        return f"FSStore({self.prefix!r})"

    def size(self) -> int:
        """Bytes of the files under the store's directory."""
        return disk_usage(self.root)

    # ---- helpers ----------------------------------------------------------------------------

    def _sweep(self) -> None:
        """Remove staging directories of writers that are gone (crashed mid-batch)."""
        for name in os.listdir(self._tmp):
            pid = name.split("-", 1)[0]
            if pid.isdigit() and int(pid) != os.getpid():
                try:
                    os.kill(int(pid), 0)
                    continue  # still alive
                except ProcessLookupError:
                    pass
                except PermissionError:
                    continue
            elif pid.isdigit():
                continue
            p = os.path.join(self._tmp, name)
            if os.path.isdir(p) and not os.path.islink(p):
                shutil.rmtree(p, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    os.unlink(p)

    def _full(self, path: str) -> str:
        return f"{self.root}/{path}"

    def _strip(self, target: str) -> str:
        """A symlink's target as a store path (runtime §10.3 ``remove_prefix``)."""
        for pre in (self.prefix, self.root):
            if target.startswith(pre + "/"):
                return join(target[len(pre) + 1 :])
        if target.startswith("/"):
            raise InvalidStorePath(f"link target {target!r} is outside the store root")
        return join(target)

    def _is_real_dir(self, rel: str) -> bool:
        """Whether every component of ``rel`` is a real directory (no OS symlink)."""
        if rel in self._dirs:
            return True
        cur = ""
        for seg in rel.split("/"):
            cur = seg if not cur else f"{cur}/{seg}"
            if cur in self._dirs:
                continue
            try:
                st = os.lstat(self._full(cur))
            except (FileNotFoundError, NotADirectoryError):
                return False
            except OSError as e:
                raise StoreError(f"cannot stat {cur!r}: {e}") from e
            if not stat.S_ISDIR(st.st_mode):
                return False
            self._dirs.add(cur)
        return True

    # ---- primitives -------------------------------------------------------------------------

    def _entry(self, path: str) -> Entry | None:
        i = path.rfind("/")
        if i >= 0 and not self._is_real_dir(path[:i]):
            return None
        if path == TMP_DIR:
            return None
        full = self._full(path)
        try:
            st = os.lstat(full)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as e:
            raise StoreError(f"cannot stat {path!r}: {e}") from e
        m = st.st_mode
        if stat.S_ISREG(m):
            try:
                fd = os.open(full, _O_READ)
            except FileNotFoundError:
                return None
            except OSError as e:
                raise StoreCorrupt(f"cannot read {path!r}: {e}") from e
            try:
                chunks = []
                while True:
                    b = os.read(fd, max(st.st_size + 1, 65536))
                    if not b:
                        break
                    chunks.append(b)
            except OSError as e:
                raise StoreCorrupt(f"cannot read {path!r}: {e}") from e
            finally:
                os.close(fd)
            return (RAW, b"".join(chunks) if len(chunks) != 1 else chunks[0])
        if stat.S_ISLNK(m):
            try:
                return (LINK, self._strip(os.readlink(full)))
            except FileNotFoundError:
                return None
        if stat.S_ISDIR(m):
            return _GROUP_ENTRY
        raise StoreCorrupt(f"{path!r} is neither a file, a directory nor a link")

    def _children(self, path: str) -> list[str]:
        try:
            names = os.listdir(self._full(path))
        except (FileNotFoundError, NotADirectoryError):
            return []
        except OSError as e:
            raise StoreError(f"cannot list {path!r}: {e}") from e
        return [n for n in names if n != TMP_DIR]

    # ---- writes -----------------------------------------------------------------------------

    def _fsync(self, full: str, directory: bool = False) -> None:
        """fsync the file or directory ``full`` (with ``sync`` only)."""
        if not self.sync:
            return
        fd = os.open(
            full, (os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)) if directory else os.O_RDONLY
        )
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def _fsync_tree(self, top: str) -> None:
        """fsync every file and directory under ``top`` (a staged group, before it is renamed)."""
        if not self.sync:
            return
        for d, _dirs, files in os.walk(top):
            for f in files:
                if not os.path.islink(os.path.join(d, f)):
                    self._fsync(os.path.join(d, f))
            self._fsync(d, True)

    def _ensure_dir(self, rel: str) -> None:
        """Create the directory ``rel`` (and parents) inside the root, refusing OS symlinks."""
        if rel in self._dirs:
            return
        cur = ""
        for seg in rel.split("/"):
            cur = seg if not cur else f"{cur}/{seg}"
            if cur in self._dirs:
                continue
            full = self._full(cur)
            try:
                os.mkdir(full)
                self._fsync(os.path.dirname(full), True)
            except FileExistsError:
                st = os.lstat(full)
                if not stat.S_ISDIR(st.st_mode):
                    raise StoreError(f"{cur!r} exists and is not a group") from None
            except OSError as e:
                raise StoreError(f"cannot create the group {cur!r}: {e}") from e
            self._dirs.add(cur)

    def _atomic_file(self, rel: str, value: bytes) -> None:
        i = rel.rfind("/")
        if i >= 0:
            self._ensure_dir(rel[:i])
        full = self._full(rel)
        if os.path.isdir(full) and not os.path.islink(full):
            raise StoreError(f"cannot write bytes over the group {rel!r}")
        fd, tmp = tempfile.mkstemp(dir=self._tmp, prefix=f"{os.getpid()}-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(value)
                if self.sync:
                    f.flush()
                    os.fsync(f.fileno())
            os.replace(tmp, full)
            self._fsync(os.path.dirname(full), True)
        except BaseException as e:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            if isinstance(e, OSError):
                raise StoreError(f"cannot write {rel!r}: {e}") from e
            raise

    def _link_target(self, existing: str) -> str:
        return f"{self.prefix}/{existing}"

    def _atomic_link(self, existing: str, rel: str) -> None:
        i = rel.rfind("/")
        if i >= 0:
            self._ensure_dir(rel[:i])
        full = self._full(rel)
        try:
            st = os.lstat(full)
            if stat.S_ISDIR(st.st_mode):
                raise StoreError(f"cannot link over the group {rel!r}")
        except FileNotFoundError:
            pass
        tmp = os.path.join(self._tmp, f"{os.getpid()}-{os.urandom(8).hex()}")
        try:
            os.symlink(self._link_target(existing), tmp)
            os.replace(tmp, full)
            self._fsync(os.path.dirname(full), True)
        except OSError as e:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise StoreError(f"cannot link {rel!r}: {e}") from e

    def _apply(self, ops: list[tuple[Any, ...]]) -> None:
        stage: str | None = None
        staged: dict[str, str] = {}  # new top-level group -> its staging directory
        late_links: list[tuple[str, str]] = []
        try:
            for op in ops:
                kind = op[0]
                path = op[1] if kind != "link" else op[2]
                top, _, rest = path.partition("/")
                if top == TMP_DIR:
                    raise InvalidStorePath(f"{TMP_DIR!r} is reserved")
                if kind == "group" and not rest and top not in staged:
                    if not os.path.lexists(self._full(top)):
                        if stage is None:
                            stage = tempfile.mkdtemp(dir=self._tmp, prefix=f"{os.getpid()}-")
                        os.mkdir(os.path.join(stage, top))
                        staged[top] = os.path.join(stage, top)
                    else:
                        self._ensure_dir(top)
                    continue
                if top in staged:
                    sfull = os.path.join(stage, path)  # type: ignore[arg-type]
                    if kind == "group":
                        os.makedirs(sfull, exist_ok=True)
                    else:
                        os.makedirs(os.path.dirname(sfull), exist_ok=True)
                        if os.path.lexists(sfull):
                            if os.path.isdir(sfull) and not os.path.islink(sfull):
                                raise StoreError(f"cannot overwrite the group {path!r}")
                            os.unlink(sfull)
                        if kind == "write":
                            with open(sfull, "wb") as f:
                                f.write(op[2])
                        else:
                            os.symlink(self._link_target(op[1]), sfull)
                    continue
                if kind == "group":
                    self._ensure_dir(path)
                elif kind == "write":
                    if path.startswith("data/") and os.path.isfile(self._full(path)):
                        continue  # content-addressed: already there
                    self._atomic_file(path, op[2])
                else:
                    late_links.append((op[1], path))
            for top, sdir in staged.items():
                dest = self._full(top)
                self._fsync_tree(sdir)
                try:
                    os.rename(sdir, dest)
                except OSError:
                    if not os.path.isdir(dest) or os.path.islink(dest):
                        raise
                    # Created meanwhile: merge what is missing, entry by entry.
                    for name in os.listdir(sdir):
                        if not os.path.lexists(os.path.join(dest, name)):
                            os.rename(os.path.join(sdir, name), os.path.join(dest, name))
                self._dirs.add(top)
            if staged:
                self._fsync(self.root, True)
            for existing, new in late_links:
                self._atomic_link(existing, new)
        except StoreError:
            raise
        except OSError as e:
            raise StoreError(f"fs store write failed: {e}") from e
        finally:
            if stage is not None:
                shutil.rmtree(stage, ignore_errors=True)

    def reset(self) -> None:
        """Delete everything under the store's root (the root stays)."""
        for name in os.listdir(self.root):
            p = os.path.join(self.root, name)
            if os.path.isdir(p) and not os.path.islink(p):
                shutil.rmtree(p)
            else:
                os.unlink(p)
        os.makedirs(self._tmp, exist_ok=True)
        self._dirs.clear()

    def _entries(self, paths: Sequence[str]) -> list[Entry | None]:
        return [self._entry(p) for p in paths]
