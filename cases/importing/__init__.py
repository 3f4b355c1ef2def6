"""Import of existing Excel/CSV ledgers (SPEC §7). See ``engine.run_import``."""

from .engine import Summary, check_importer, run_import

__all__ = ["Summary", "check_importer", "run_import"]
