"""Atoms other than true/false/null (spec core §2.1)."""


class Atom(str):
    """An Erlang atom such as `undefined` or `ans104`; a `str` subclass holding its name.

    `true`, `false` and `null` are Python's `True`, `False` and `None` instead.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return f"Atom({str.__repr__(self)})"
