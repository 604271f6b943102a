"""Generate the cffi (API mode, out-of-line) C source of ``pinning.core._native``.

CMake runs this at build time: ``python gen_cffi.py pinning.h OUTPUT.c``. The declarations that
cffi sees are the part of ``pinning.h`` between the ``cffi:begin`` and ``cffi:end`` markers, so the
header stays the one source of truth.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import cffi

BEGIN = "/* cffi:begin"
END = "/* cffi:end */"


def cdef_text(header: str) -> str:
    """Return the declarations between the cffi markers, without comments."""
    start = header.index(BEGIN)
    start = header.index("*/", start) + 2
    body = header[start : header.index(END)]
    return re.sub(r"/\*.*?\*/", "", body, flags=re.S)


def main(header_path: str, output_path: str) -> None:
    header = Path(header_path).read_text(encoding="utf-8")
    ffi = cffi.FFI()
    ffi.cdef(cdef_text(header))
    ffi.set_source("pinning.core._native", '#include "pinning.h"\n')
    ffi.emit_c_code(output_path)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: gen_cffi.py pinning.h OUTPUT.c")
    main(sys.argv[1], sys.argv[2])
