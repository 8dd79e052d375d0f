"""Registries: named entries of one kind (algorithms, baselines, phase kinds), in registration order.

A new kind of thing is one :meth:`Registry.register` call (or one class
statement, for the classes that register themselves); every lookup goes through
:meth:`Registry.get`, whose error names the parameter and lists the names there are.
"""

__all__ = ["Registry"]


class Registry:
    """Named entries of one kind, in registration order.

    Parameters
    ----------
    kind : str
        What an entry is ("baseline", "algorithm", "phase kind"), for the messages.

    Examples
    --------
    >>> colors = Registry("color")
    >>> colors.register("red", 1)
    1
    >>> colors.get("red"), colors.names()
    (1, ['red'])
    >>> colors.get("blue")
    Traceback (most recent call last):
    ...
    ValueError: name: expected a color among 'red', got 'blue'
    >>> Registry("algorithm").get("pca")
    Traceback (most recent call last):
    ...
    ValueError: name: expected an algorithm among , got 'pca'
    """

    def __init__(self, kind):
        self.kind = kind
        self._entries = {}

    @property
    def _a_kind(self):
        """``kind`` after its indefinite article ("a baseline", "an algorithm")."""
        return f"{'an' if self.kind[:1].lower() in 'aeiou' else 'a'} {self.kind}"

    def register(self, name, entry):
        """Add ``entry`` under ``name`` (a new name, or the same entry again); returns the entry."""
        if not isinstance(name, str) or not name:
            raise ValueError(f"name: expected a non-empty string naming the {self.kind}, got {name!r}")
        if self._entries.get(name, entry) is not entry:
            raise ValueError(f"name: {self._a_kind} named {name!r} is already registered")
        self._entries[name] = entry
        return entry

    def register_class(self, cls, name):
        """Register ``cls`` under ``name`` and set ``cls.name``; nothing when ``name`` is None.

        The one body of the ``__init_subclass__`` of the classes that register
        themselves (``class X(Base, name="x")``); a base class without a name
        stays out of the registry.

        >>> shapes = Registry("shape")
        >>> class Square:
        ...     name = None
        >>> shapes.register_class(Square, "square").name, shapes.names()
        ('square', ['square'])
        """
        if name is not None:
            self.register(name, cls)
            cls.name = name
        return cls

    def unregister(self, name):
        """Remove ``name`` (nothing happens when it is not registered)."""
        self._entries.pop(name, None)

    def get(self, name, *, where="name"):
        """The entry registered as ``name``; the error names ``where`` and lists the names there are."""
        try:
            return self._entries[name]
        except (KeyError, TypeError):
            raise ValueError(f"{where}: expected {self._a_kind} among {', '.join(map(repr, self._entries))}, "
                             f"got {name!r}") from None

    def names(self):
        """The registered names, in registration order."""
        return list(self._entries)

    def items(self):
        """``(name, entry)`` pairs, in registration order."""
        return list(self._entries.items())

    def __contains__(self, name):
        return name in self._entries

    def __len__(self):
        return len(self._entries)

    def __repr__(self):
        return f"Registry({self.kind!r}: {', '.join(self._entries)})"
