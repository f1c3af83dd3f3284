"""Running the migrations in-process lets migrations/env.py call logging.config.fileConfig(), which by default
disables every logger that already exists and replaces the root handlers. This fixture puts the logging set-up
back afterwards, so tests that run later in the same worker (caplog on casemgmt loggers) are not affected."""

from __future__ import annotations

import logging

import pytest


@pytest.fixture(autouse=True)
def keep_logging_config():
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    loggers = {
        name: (logger.disabled, logger.level, list(logger.handlers), logger.propagate)
        for name, logger in logging.root.manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    }
    yield
    root.setLevel(level)
    root.handlers[:] = handlers
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if not isinstance(logger, logging.Logger):
            continue
        if name in loggers:
            logger.disabled, logger.level, logger.handlers[:], logger.propagate = (
                loggers[name][0], loggers[name][1], loggers[name][2], loggers[name][3],
            )
        else:
            logger.disabled = False
