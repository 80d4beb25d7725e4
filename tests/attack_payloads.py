"""Attack payloads shared by the attack tests (tests/security/) and benches/attack_limits.py."""

from __future__ import annotations

#: A WASM module whose ``spin`` never returns (no imports, no memory: only the deadline or fuel
#: stops it); ``ok`` returns at once.
LOOP = """(module
  (func (export "spin") (loop (br 0)))
  (func (export "ok") (result i32) (i32.const 42)))"""
#: ``grow`` grows its memory one page at a time and fills each page (so the pages are really
#: resident) until a growth is refused, then traps; ``ok`` returns at once.
GROW = """(module (memory (export "memory") 1)
  (func (export "grow") (local $p i32)
    (loop
      (local.set $p (memory.grow (i32.const 1)))
      (if (i32.eq (local.get $p) (i32.const -1)) (then unreachable))
      (memory.fill (i32.shl (local.get $p) (i32.const 16)) (i32.const 7) (i32.const 65536))
      (br 0)))
  (func (export "ok") (result i32) (i32.const 7)))"""


def multipart(parts: list[bytes]) -> tuple[dict, bytes]:
    """A ``multipart/form-data`` body of these raw parts and its content-type header."""
    b = b"bomb-boundary"
    body = b"--" + b + b"\r\n" + (b"\r\n--" + b + b"\r\n").join(parts) + b"\r\n--" + b + b"--"
    return {"content-type": 'multipart/form-data; boundary="bomb-boundary"'}, body
