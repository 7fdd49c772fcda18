"""Compiled numerical kernels: built ahead of time at install, or by numba on first use.

A kernel is a numba-compatible Python function declared with :func:`kernel` and the argument
types it is called with (numba signature strings, e.g. ``"i8(i4[::1], u1[::1], i8)"``).
``python -m radiome._kernels`` (run by ``make`` after installing) compiles every kernel of
:data:`KERNEL_MODULES` ahead of time with numba's ``pycc`` into extension modules next to this
file, ``_compiled_python`` and ``_compiled_numpy`` (one per numba error model). At run time a
kernel calls that machine code when its arguments have exactly a declared type and the
extension was built from the current source (a digest of the kernel modules, numba and NumPy);
otherwise numba compiles it on first use and caches it on disk, which is what
``@numba.njit(cache=True, nogil=True)`` does.

Why: importing numba and loading its cache costs about 0.6 s of CPU in every process (numba
initialises its typing registries and SciPy's linear algebra on the first call), more than
one case's whole computation. Compiled ahead of time, a command that extracts one case never
imports numba. Both paths compile the same source with the same numba and LLVM, without
``fastmath``, so they give bit-identical results (tested).
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["KERNEL_MODULES", "Kernel", "build", "compiled_status", "kernel"]

_log = logging.getLogger(__name__)

#: Modules that define kernels, in build order (explicit, as every registry here).
KERNEL_MODULES = (
    "radiome.features.stats",
    "radiome.features.histogram",
    "radiome.features.morphology",
    "radiome.features._enclosing",
    "radiome.features._hull",
    "radiome.features._surface",
    "radiome.features.local_intensity",
    "radiome.features._directions",
    "radiome.features.glcm",
    "radiome.features.glrlm",
    "radiome.features._zones",
    "radiome.features.ngtdm",
    "radiome.features.ngldm",
    "radiome.maps._window",
    "radiome.maps._histogram",
    "radiome.maps._cooccurrence",
    "radiome.maps._matrices",
    "radiome.filters.convolution",
    "radiome.filters.gabor",
)

_ERROR_MODELS = ("python", "numpy")
_DIGEST_SUFFIX = ".digest"

#: Scalar numba type names and the Python/NumPy scalar types numba types as exactly them.
_SCALARS: dict[str, tuple[type, ...]] = {
    "i8": (int, np.int64),
    "int64": (int, np.int64),
    "f8": (float, np.float64),
    "float64": (float, np.float64),
    "b1": (bool, np.bool_),
    "boolean": (bool, np.bool_),
}
_DTYPES = {
    "b1": np.bool_, "u1": np.uint8, "u2": np.uint16, "u4": np.uint32, "u8": np.uint64,
    "i1": np.int8, "i2": np.int16, "i4": np.int32, "i8": np.int64, "f4": np.float32,
    "f8": np.float64, "c16": np.complex128, "intp": np.intp,
}


def kernel(*signatures: str, error_model: str = "python") -> Callable[[Callable], Kernel]:
    """Declare a numba kernel and the signatures it is compiled ahead of time for.

    A kernel without signatures is only called from other kernels (it is compiled into them).
    ``error_model`` is numba's: ``"python"`` raises on division by zero, ``"numpy"`` gives
    inf/NaN as NumPy does.
    """
    if error_model not in _ERROR_MODELS:
        msg = f"error_model must be one of {_ERROR_MODELS}, got {error_model!r}"
        raise ValueError(msg)

    def declare(py_func: Callable) -> Kernel:
        return Kernel(py_func, signatures, error_model)

    return declare


class Kernel:
    """A numerical kernel: ahead-of-time machine code when available, else numba's JIT."""

    def __init__(self, py_func: Callable, signatures: tuple[str, ...], error_model: str):
        self.py_func = py_func
        self.signatures = signatures
        self.error_model = error_model
        self.matchers = tuple(_matcher(sig, py_func) for sig in signatures)
        self.__name__ = py_func.__name__
        self.__qualname__ = py_func.__qualname__
        self.__module__ = py_func.__module__
        self.__doc__ = py_func.__doc__
        self.__wrapped__ = py_func
        self._call: Callable[..., Any] = self._first_call
        self._jit: Any = None

    @property
    def symbol(self) -> str:
        """Name of the kernel in the compiled extension (module path and function)."""
        return (self.__module__.removeprefix("radiome.") + "." + self.__name__).replace(".", "__")

    def __call__(self, *args: Any) -> Any:
        return self._call(*args)

    def __repr__(self) -> str:
        return f"<kernel {self.__module__}.{self.__name__} {list(self.signatures)}>"

    def jit(self) -> Any:
        """numba's JIT dispatcher of this kernel (created on first use, cached on disk)."""
        if self._jit is None:
            import numba

            _register_typeof()
            self._jit = numba.njit(cache=True, nogil=True, error_model=self.error_model)(
                self.py_func
            )
        return self._jit

    def _first_call(self, *args: Any) -> Any:
        compiled = _compiled_functions(self)
        if compiled:
            variants = tuple(zip(self.matchers, compiled, strict=True))
            self._call = functools.partial(_dispatch, variants, self)
        else:
            _prepare_jit()
            self._call = self.jit()
        return self._call(*args)


def _dispatch(variants: tuple, owner: Kernel, *args: Any) -> Any:
    """Call the first ahead-of-time variant whose signature the arguments have exactly."""
    for matches, function in variants:
        if matches(args):
            return function(*args)
    _log.debug("%s: no compiled signature for %s; using numba's JIT", owner,
               [getattr(a, "dtype", type(a)) for a in args])
    return owner.jit()(*args)


def _split_top(text: str) -> list[str]:
    """Split ``text`` at the commas outside brackets and parentheses."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        if char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    tail = text[start:].strip()
    return [*parts, tail] if tail else parts


def _arguments(signature: str) -> list[str]:
    """The argument types of a numba signature string ``return(arg, arg, ...)``."""
    text = signature.strip()
    depth = 0
    for i in range(len(text) - 1, -1, -1):
        depth += {")": 1, "]": 1, "(": -1, "[": -1}.get(text[i], 0)
        if depth == 0:
            if text[i] == "(" and i > 0 and text.endswith(")"):
                return _split_top(text[i + 1:-1])
            break
    msg = f"not a numba signature 'return(arguments)': {signature!r}"
    raise ValueError(msg)


def _matcher(signature: str, py_func: Callable) -> Callable[[tuple], bool]:
    """A test that arguments have exactly the types of ``signature`` (as numba types them)."""
    checks = []
    for arg in _arguments(signature):
        if "[" in arg:
            name, dims = arg.split("[", 1)
            axes = [axis.strip() for axis in dims.rstrip("]").split(",")]
            layout = "C" if axes[-1] == "::1" else "F" if axes[0] == "::1" else "A"
            checks.append(_array_check(np.dtype(_DTYPES[name.strip()]), len(axes), layout))
        elif arg in _SCALARS:
            checks.append(_scalar_check(_SCALARS[arg]))
        else:
            msg = (f"{py_func.__module__}.{py_func.__name__}: kernel argument type {arg!r} is "
                   f"not supported (arrays and scalars {sorted(_SCALARS)} only)")
            raise ValueError(msg)
    n = len(checks)
    return lambda args: len(args) == n and all(
        check(a) for check, a in zip(checks, args, strict=True)
    )


def _array_check(dtype: np.dtype, ndim: int, layout: str) -> Callable[[Any], bool]:
    flag = {"C": "C_CONTIGUOUS", "F": "F_CONTIGUOUS", "A": "WRITEABLE"}[layout]

    def check(a: Any) -> bool:
        return (type(a) is np.ndarray and a.dtype == dtype and a.ndim == ndim
                and a.flags.writeable and a.flags[flag])

    return check


def _scalar_check(types: tuple[type, ...]) -> Callable[[Any], bool]:
    def check(a: Any) -> bool:
        return type(a) in types

    return check


def _digest() -> str:
    """SHA-256 of the kernel modules' source, numba's and NumPy's versions."""
    from importlib import metadata

    root = Path(__file__).parent
    digest = hashlib.sha256()
    for name in (*KERNEL_MODULES, "radiome._kernels"):
        path = root.joinpath(*name.split(".")[1:]).with_suffix(".py")
        digest.update(name.encode())
        digest.update(path.read_bytes())
    for dist in ("numba", "numpy"):
        digest.update(f"{dist}={metadata.version(dist)}".encode())
    digest.update(sys.version.encode())
    return digest.hexdigest()


def _extension_name(error_model: str) -> str:
    return f"radiome._compiled_{error_model}"


@functools.cache
def _extension(error_model: str) -> Any:
    """The ahead-of-time extension of an error model, or None (absent, or built from other
    sources: then every kernel falls back to numba's JIT)."""
    name = _extension_name(error_model)
    stamp = Path(__file__).with_name(name.rsplit(".", 1)[1] + _DIGEST_SUFFIX)
    try:
        built_from = stamp.read_text().strip()
    except OSError:
        return None
    if built_from != _digest():
        _log.info("%s was built from other sources; kernels use numba's JIT", name)
        return None
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        _log.info("%s cannot be imported (%s); kernels use numba's JIT", name, exc)
        return None


def _compiled_functions(k: Kernel) -> tuple[Callable, ...] | None:
    """The ahead-of-time functions of a kernel, one per signature, or None."""
    if not k.signatures:
        return None
    extension = _extension(k.error_model)
    if extension is None:
        return None
    try:
        return tuple(getattr(extension, f"{k.symbol}__{i}") for i in range(len(k.signatures)))
    except AttributeError:
        return None


def compiled_status() -> dict[str, bool]:
    """``{extension: usable}`` for the ahead-of-time extension of each error model."""
    return {_extension_name(m): _extension(m) is not None for m in _ERROR_MODELS}


@functools.cache
def _register_typeof() -> None:
    """Let numba type a :class:`Kernel` used inside another kernel as its JIT dispatcher."""
    import numba
    from numba.extending import typeof_impl

    @typeof_impl.register(Kernel)
    def _typeof_kernel(value: Kernel, context: Any) -> Any:
        return numba.typeof(value.jit())


@functools.cache
def _prepare_jit() -> None:
    """Compile (or load from numba's cache) every kernel's signatures, once per process, with
    a progress bar on a terminal: without the ahead-of-time build, the first run after an
    install compiles for about half a minute, and says so."""
    from radiome._progress import progress

    kernels = [k for k in _kernels() if k.signatures]
    _log.info("no ahead-of-time kernels for this source; numba compiles %d kernels on first "
              "use (cached on disk; `python -m radiome._kernels` builds them ahead of time)",
              len(kernels))
    with progress("numerical kernels (numba; compiled once, then cached)",
                  len(kernels)) as advance:
        for k in kernels:
            advance(0, status=k.__name__)
            for signature in k.signatures:
                k.jit().compile(signature)
            advance()


def _kernels() -> list[Kernel]:
    """Every kernel of :data:`KERNEL_MODULES` (module attributes that are kernels)."""
    found = []
    for name in KERNEL_MODULES:
        module = importlib.import_module(name)
        found += [v for v in vars(module).values() if isinstance(v, Kernel)
                  and v.__module__ == name]
    return found


def build(output_dir: str | Path | None = None, *, echo: Callable[[str], None] = print) -> None:
    """Compile every kernel's signatures ahead of time into the ``_compiled_*`` extensions.

    Uses numba's ``pycc`` (numba.pycc.CC) with the host CPU as target, as the JIT does.
    The digest stamp is written last, so a failed build leaves no usable stale extension.
    """
    import unittest.mock
    import warnings

    import numba
    from numba.core.errors import NumbaPendingDeprecationWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NumbaPendingDeprecationWarning)
        from numba.pycc import CC, compiler

    output = Path(output_dir) if output_dir is not None else Path(__file__).parent
    _register_typeof()
    kernels = [k for k in _kernels() if k.signatures]
    digest = _digest()
    for model in _ERROR_MODELS:
        short = _extension_name(model).rsplit(".", 1)[1]
        stamp = output / (short + _DIGEST_SUFFIX)
        stamp.unlink(missing_ok=True)
        chosen = [k for k in kernels if k.error_model == model]
        cc = CC(short)
        cc.output_dir = str(output)
        cc.target_cpu = "host"
        cc.verbose = False
        for k in chosen:
            for i, signature in enumerate(k.signatures):
                cc.export(f"{k.symbol}__{i}", signature)(k.py_func)
        n = sum(len(k.signatures) for k in chosen)
        echo(f"compiling {n} kernel signature(s) ({model} error model) into {short} ...")

        def flags(base: Any = compiler.Flags, model: str = model) -> Any:
            made = base()
            made.error_model = model
            return made

        # pycc compiles every export with default Flags; the error model is set per module.
        with unittest.mock.patch.object(compiler, "Flags", flags):
            cc.compile()
        stamp.write_text(digest + "\n")
    echo(f"done (numba {numba.__version__}); kernels in {output}")


if __name__ == "__main__":  # the kernels are instances of the importable module's Kernel
    importlib.import_module("radiome._kernels").build()
