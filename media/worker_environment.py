"""Hashing workers run with a handful of harmless environment variables, never the bot's secrets.

Why: a worker decodes files that strangers built. If a decoder bug ever let one run code there,
it must find no DISCORD_TOKEN or DATABASE_URL to steal. Unsetting them is not enough: Linux
shows a process's environment as it was when the process started (`/proc/<pid>/environ`), and
every worker is forked from multiprocessing's fork server, which is started with the bot's whole
environment and offers no way to pass another. So the pool lists this module first among the
fork server's preloads, and on import, in the fork server only, it restarts that process (same
pid, same inherited sockets: `execve` keeps both) under `clean_environment`. Workers forked
from it afterwards start clean.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

# What decoding, hashing and the classifier may use: the locale and time zone, the module path,
# and the OpenBLAS settings some processors need (older builds crash or compute wrongly without).
ALLOWED = frozenset(
    {
        "LANG",
        "LC_ALL",
        "LC_CTYPE",
        "TZ",
        "PYTHONPATH",
        "OPENBLAS_CORETYPE",
        "OPENBLAS_L2_SIZE",
    }
)
# glibc's malloc, in every worker: keep up to 64 MiB of freed heap for the next job, and serve
# blocks under 32 MiB from the heap. With its defaults (a heap top over 128 KiB given back to the
# kernel, a block over 128 KiB mapped on its own, both raised only as far as the largest mapped
# block freed so far), every job mapped and faulted in its working set afresh: 1,700 page faults
# and 4 ms of system time for a 1080p photo, a fifth of its CPU (bench/RESULTS.md, "Workers'
# memory, ninth session"). `GLIBC_TUNABLES` is read when a process starts: the fork server's
# restart below applies it to the workers forked from it. (Other C libraries ignore it.)
MALLOC_TUNABLES = (
    "GLIBC_TUNABLES",
    "glibc.malloc.trim_threshold=67108864:glibc.malloc.mmap_threshold=33554432",
)
# Set in the restarted fork server, so it never restarts twice (should the interpreter add a
# variable of its own at start-up, it would otherwise restart for ever).
RESTARTED = ("LIGHTSTICK_WORKER_ENVIRONMENT", "clean")
# multiprocessing starts its fork server as `python -c "<this>; main(...)"` (3.11 to 3.14).
FORK_SERVER_COMMAND = "from multiprocessing.forkserver import main"


def clean_environment(environment: Mapping[str, str]) -> dict[str, str]:
    """Only the variables a worker needs, its memory settings, and the mark that it was
    cleaned."""
    clean = {name: value for name, value in environment.items() if name in ALLOWED}
    return clean | dict([MALLOC_TUNABLES, RESTARTED])


def is_fork_server() -> bool:
    argv = sys.orig_argv
    return len(argv) >= 3 and argv[-2] == "-c" and argv[-1].startswith(FORK_SERVER_COMMAND)


def restart_fork_server_clean() -> None:
    """In the fork server, unless it was restarted already: restart it with a clean environment."""
    name, value = RESTARTED
    if is_fork_server() and os.environ.get(name) != value:
        os.execve(sys.executable, sys.orig_argv, clean_environment(os.environ))


restart_fork_server_clean()
