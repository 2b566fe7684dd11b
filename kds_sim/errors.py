"""One error hierarchy: every mistake a user can fix is a `KdsSimError`.

Library code raises these with messages that name the file, the key (or the parameter of the
Python call, such as ``draws=1``), the value and what is allowed; it never names a CLI flag.
The CLI catches `KdsSimError` once (`kds_sim.cli.main`), maps parameter names to its flags where
they differ, and prints one line without a traceback.

The subclasses keep the built-in base that callers already catch (`ValueError` for bad values),
so ``except ValueError`` around scenario loading keeps working.
"""

from __future__ import annotations


class KdsSimError(Exception):
    """A mistake the user can fix; reported as one line, without a traceback."""


class InputError(KdsSimError, ValueError):
    """A value, file or option that is not allowed (scenario keys, targets, designs, arguments)."""


class ScenarioError(InputError):
    """A scenario file, key or value that is not allowed."""


class NetworkFileError(InputError):
    """A network file (GraphML, edge or node list) that cannot be used."""


class OutputFolderError(KdsSimError):
    """An output folder that cannot hold a finished, consistent set of files."""


class StoreError(KdsSimError):
    """A results store or cache that does not match, is damaged, or cannot be written."""


class ExecutorError(KdsSimError):
    """A backend that cannot run the work (a Dask scheduler that does not answer, for one)."""


class ResourceError(KdsSimError):
    """Work whose estimated memory, disk or time exceeds what is allowed or available."""


class PdfError(KdsSimError, RuntimeError):
    """A PDF that could not be printed (no Chromium, or Chromium failed)."""


__all__ = [
    "ExecutorError",
    "InputError",
    "KdsSimError",
    "NetworkFileError",
    "OutputFolderError",
    "PdfError",
    "ResourceError",
    "ScenarioError",
    "StoreError",
]
