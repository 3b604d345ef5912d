"""Progress of long work (evaluations, decoding, imports) on a terminal, and nothing in a log.

    for batch in track(batches, label="IWAE bound"):
        ...

A bar is drawn on standard error only when it is a terminal (and
$ZOO_PROGRESS is not "0"), and only once the work has taken a second, so short
calls stay silent; redirected to a file or a pipe, nothing is written.
"""

import os
import sys
import time

WIDTH = 30


def enabled():
    return os.environ.get("ZOO_PROGRESS", "1") != "0" and sys.stderr.isatty()


class Progress:
    """A bar of `total` steps named `label`, redrawn at most five times a second."""

    def __init__(self, total, label=""):
        self.total, self.label, self.done = max(int(total), 1), label, 0
        self.start = self.drawn = time.monotonic()
        self.active, self.shown = enabled(), False

    def update(self, steps=1):
        self.done += steps
        now = time.monotonic()
        if not self.active or now - self.start < 1.0 or (now - self.drawn < 0.2 and self.done < self.total):
            return
        self.drawn, self.shown = now, True
        filled = int(WIDTH * min(self.done, self.total) / self.total)
        sys.stderr.write(f"\r{self.label} [{'=' * filled}{' ' * (WIDTH - filled)}] {self.done}/{self.total} "
                         f"{now - self.start:.0f}s")
        sys.stderr.flush()

    def close(self):
        if self.shown:
            sys.stderr.write("\n")
            sys.stderr.flush()


def track(iterable, total=None, label=""):
    """`iterable`, one step a item, with a bar of `total` steps (default: `len(iterable)`)."""
    bar = Progress(len(iterable) if total is None else total, label)
    try:
        for item in iterable:
            yield item
            bar.update()
    finally:
        bar.close()
