"""The one registry of named things (algorithms, baselines, phase kinds)."""

import pytest

from exobench._registry import Registry


def test_entries_keep_their_registration_order():
    registry = Registry("widget")
    for name in ("b", "a", "c"):
        registry.register(name, name.upper())
    assert registry.names() == ["b", "a", "c"]
    assert registry.items() == [("b", "B"), ("a", "A"), ("c", "C")]
    assert "a" in registry and "d" not in registry and len(registry) == 3
    assert repr(registry) == "Registry('widget': b, a, c)"


def test_registering_the_same_entry_again_is_harmless_and_another_is_refused():
    registry = Registry("widget")
    entry = object()
    registry.register("a", entry)
    assert registry.register("a", entry) is entry
    with pytest.raises(ValueError, match="name: a widget named 'a' is already registered"):
        registry.register("a", object())
    with pytest.raises(ValueError, match="name: expected a non-empty string naming the widget, got ''"):
        registry.register("", entry)


def test_unknown_names_are_refused_listing_those_there_are():
    registry = Registry("widget")
    registry.register("a", 1)
    with pytest.raises(ValueError, match=r"kind: expected a widget among 'a', got 'b'"):
        registry.get("b", where="kind")
    with pytest.raises(ValueError, match=r"name: expected a widget among 'a', got \['a'\]"):
        registry.get(["a"])
    registry.unregister("a")
    registry.unregister("a")
    assert registry.names() == []


def test_messages_put_an_before_a_vowel():
    registry = Registry("algorithm")
    registry.register("pca", 1)
    with pytest.raises(ValueError, match="name: expected an algorithm among 'pca', got 'nope'"):
        registry.get("nope")
    with pytest.raises(ValueError, match="name: an algorithm named 'pca' is already registered"):
        registry.register("pca", 2)
