"""Fixtures for the pure core: a real translator, the real forms and configured lists, the
real area list, and a fixed clock (tests/support/conversation.py builds them)."""

from __future__ import annotations

import pytest

from bot.lists import Lists
from handlers.areas import AreaDirectory
from handlers.engine import Env
from handlers.i18n import Translator, load_translator
from tests.support.conversation import NEWCOMER, REGISTERED, Chat, make_env, real_lists


@pytest.fixture(scope="session")
def i18n() -> Translator:
    return load_translator()


@pytest.fixture(scope="session")
def lists(i18n: Translator) -> Lists:
    return real_lists(i18n)


@pytest.fixture(scope="session")
def areas(lists: Lists) -> AreaDirectory:
    return AreaDirectory(lists.pilot_districts)


@pytest.fixture
def env(i18n: Translator, lists: Lists, areas: AreaDirectory) -> Env:
    return make_env(i18n, lists, areas)


@pytest.fixture
def chat(env: Env) -> Chat:
    """A registered village head with a village, no form in progress."""
    return Chat(env, REGISTERED)


@pytest.fixture
def newcomer(env: Env) -> Chat:
    """Someone writing to the bot for the first time."""
    return Chat(env, NEWCOMER)
