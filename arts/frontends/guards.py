"""Tracing through branches on sizes: torch.fx with example values, each branch a recorded guard.

``torch.fx.symbolic_trace`` stops at the first Python decision on a traced value
(segmentation-models-pytorch: ``if h % output_stride != 0: raise ...``; Hugging Face:
``if num_channels != self.num_channels``; ``range(x.shape[1])``).  Here the trace carries, next to
every proxy, its value at one example input (meta tensors: shapes without data, no arithmetic),
so that such a decision can be taken the way the model takes it at that size -- and recorded:

* ``bool(p)`` where ``p`` is a value computed from sizes (a Python bool or int, never a tensor:
  a branch on tensor *data* still stops the trace) records ``branch_guard(p, taken, ...)`` in the
  graph and returns ``taken``;
* ``len(p)``, ``iter(p)``, ``int(p)``, ``range(p)`` (``__index__``) record the length or the
  value they fixed, as the guard ``p == value``.

* ``torch.jit.isinstance(p, torch.Tensor)`` is True where ``p``'s example value is a tensor, as
  in the real run (plain fx answers False: MONAI's ``UpCat`` then traces the branch without its
  skip connection).  Python's own ``isinstance`` stays fx's: a proxy that claimed to be a tensor
  would be read as one by torch's C functions (``torch.as_tensor``).

* ``x.device`` (``is_cpu``, ``is_meta``...) is the device of the real run -- that of the
  module's parameters, CPU if it has none -- not the trace's meta (timm's EfficientViT branches on
  ``v.device.type != 'meta'``): a tensor whose example value is on meta is on that device in the
  real run, and example computations read that device as meta.  The report names the device.

A guard is either a **region** condition -- the traced program is the model only where it holds:
decided there, ``unknown`` elsewhere (as for torch.export's guards, :mod:`arts.frontends.aten`) --
or, when the branch not taken **certainly raises**, a condition of the domain: outside it the
model rejects the input, at that line.  "Certainly raises" is read from the bytecode of the frame
that branched (:func:`untaken_branch_raises`): the untaken successor of the conditional jump runs
straight-line code (no jump, loop, return or ``with``) into a ``raise``, and no exception handler
of that frame or of a calling frame outside torch covers it.  Anything else stays a region guard:
the rule only ever turns "unknown" into "rejected" where the model cannot do anything but raise.

Values that cannot be computed on meta (data-dependent ops) are unknown, and a branch on them
stops the trace as before (the ATen path takes over).
"""

from __future__ import annotations

import contextlib
import dis
import math
import sys
from collections.abc import Iterator, Sequence
from typing import Any

__all__ = ["GuardFailed", "branch_guard", "conditional_store", "guarded_tracer", "size_select",
           "sizes_through_int", "untaken_branch_raises"]


# read now: fx's tracer swaps ``math``'s functions for wrappers while it traces (autowrap)
_CEIL, _FLOOR = math.ceil, math.floor


class GuardFailed(AssertionError):
    """A recorded branch went the other way when the traced graph was run."""


def branch_guard(condition: Any, taken: bool, raises: bool, where: str) -> None:
    """The marker call recorded where ``forward`` branched on ``condition`` (a size expression).

    Run as part of the traced graph it checks that the branch goes the way it went when traced."""
    if bool(condition) != taken:
        raise GuardFailed(f"{where}: the branch on sizes goes the other way at this input")


def size_select(condition: Any, then: Any, otherwise: Any) -> Any:
    """``then`` where ``condition`` holds, else ``otherwise``: the value a list entry has after
    ``if condition: entries[i] = then`` (see :func:`conditional_store`)."""
    return then if condition else otherwise


class _UnknownValue:
    """The value of a proxy that could not be computed on meta tensors."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<unknown>"


UNKNOWN = _UnknownValue()
_NO_MERGE = _UnknownValue()  # two values an if-conversion cannot merge

_JUMPS_IF = {
    # opname: jumps when the tested value is ...
    "POP_JUMP_FORWARD_IF_FALSE": False, "POP_JUMP_BACKWARD_IF_FALSE": False, "POP_JUMP_IF_FALSE": False,
    "POP_JUMP_FORWARD_IF_TRUE": True, "POP_JUMP_BACKWARD_IF_TRUE": True, "POP_JUMP_IF_TRUE": True,
}
# instructions after which control may leave the straight line (or that open a handler)
_LEAVES = ("JUMP", "FOR_ITER", "RETURN", "YIELD", "SEND", "RERAISE", "SETUP", "BEFORE_WITH", "PUSH_EXC_INFO",
           "POP_EXCEPT", "CHECK_EXC_MATCH", "CHECK_EG_MATCH", "END_ASYNC_FOR", "GET_AWAITABLE", "GET_ANEXT",
           "BEFORE_ASYNC_WITH", "WITH_EXCEPT_START")
_SCAN_LIMIT = 400  # instructions scanned for the raise


def _covered(code: Any, offset: int) -> bool:
    """Whether an exception raised at ``offset`` of ``code`` may be stopped by a handler of that
    frame.  A handler that re-raises on every path (a ``finally:`` block that neither returns nor
    loops) lets it through, so it does not count."""
    try:
        entries = dis.Bytecode(code).exception_entries  # type: ignore[attr-defined]
    except AttributeError:  # Python < 3.11: no exception table to read; assume a handler
        return True
    covering = [e for e in entries if e.start <= offset < e.end]
    if not covering:
        return False
    insts = list(dis.get_instructions(code))
    at = {ins.offset: k for k, ins in enumerate(insts)}
    return any(not _all_paths_raise(insts, at, e.target, handler=True) for e in covering)


def untaken_branch_raises(frame: Any, taken: bool, stop: Any = None) -> bool:
    """Whether the successor *not* taken by the conditional jump that ``frame`` is executing
    certainly raises, uncaught by ``frame`` and by every calling frame outside torch up to
    ``stop`` (a code object: the trace's entry).  See the module docstring."""
    from arts.frontends.locations import is_internal

    code = frame.f_code
    insts = list(dis.get_instructions(code))
    at = {ins.offset: k for k, ins in enumerate(insts)}
    k = at.get(frame.f_lasti)
    if k is None:
        return False
    jump = insts[k]
    if jump.opname not in _JUMPS_IF:
        return False
    jumps = taken == _JUMPS_IF[jump.opname]  # the jump happened at the example
    if jumps:
        if k + 1 >= len(insts):
            return False
        start = insts[k + 1].offset
    else:
        start = jump.argval
    raises = _all_paths_raise(insts, at, start)
    if not raises or any(_covered(code, r) for r in raises):
        return False
    f = frame.f_back
    while f is not None and f.f_code is not stop:
        if not is_internal(f.f_code.co_filename) and _covered(f.f_code, f.f_lasti):
            return False
        f = f.f_back
    return f is not None  # reached the trace's entry (else the stack is not what it seems)


_BINARY = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
           "//": lambda a, b: a // b, "%": lambda a, b: a % b}
_BODY_LIMIT = 24  # instructions of a conditional store


def conditional_store(frame: Any) -> tuple[bool, list[Any]] | None:
    """The branch ``frame`` is deciding, if it is a **conditional store**: ``if c: entries[i] = k``
    with no ``else`` (MONAI's ``UpCat``: ``sp[i * 2 + 1] = 1`` where a size is odd), whose body
    is one ``STORE_SUBSCR`` of a value computed from constants and local variables by arithmetic,
    running straight to where the branch rejoins.  Such a branch needs no guard: skipping the body
    and storing ``size_select(c, k, entries[i])`` instead is the same program for both values of
    ``c``.  Returns (the value of ``c`` for which the body runs, the body's instructions) or None."""
    code = frame.f_code
    insts = list(dis.get_instructions(code))
    at = {ins.offset: k for k, ins in enumerate(insts)}
    k = at.get(frame.f_lasti)
    if k is None or insts[k].opname not in _JUMPS_IF:
        return None
    jump = insts[k]
    runs_when = not _JUMPS_IF[jump.opname]  # the body is the fall-through: it runs when the jump does not
    target = jump.argval
    body: list[Any] = []
    for ins in insts[k + 1:k + 1 + _BODY_LIMIT]:
        if ins.offset == target:
            break  # runs straight into the join point
        if ins.opname.startswith("JUMP_") and "_IF_" not in ins.opname and ins.argval == target:
            break  # jumps to it (the join point is a loop's head)
        if body and ins.is_jump_target:
            return None  # another path enters the body
        body.append(ins)
    else:
        return None
    if not body or body[-1].opname != "STORE_SUBSCR":
        return None
    allowed = {"LOAD_CONST", "LOAD_FAST", "BINARY_OP", "UNARY_NEGATIVE", "NOP", "CACHE"}
    if any(ins.opname not in allowed for ins in body[:-1]):
        return None
    if any(ins.opname == "BINARY_OP" and ins.argrepr not in _BINARY for ins in body):
        return None
    return runs_when, body


def run_store(frame: Any, body: list[Any]) -> tuple[list, int, Any] | None:
    """(list, index, value) that the store of :func:`conditional_store` writes, computed from the
    frame's constants and locals (plain ints and one list), or None if they are not such."""
    stack: list[Any] = []
    local = frame.f_locals
    for ins in body[:-1]:
        name = ins.opname
        if name in ("NOP", "CACHE"):
            continue
        if name == "LOAD_CONST":
            stack.append(ins.argval)
        elif name == "LOAD_FAST":
            if ins.argval not in local:
                return None
            stack.append(local[ins.argval])
        elif name == "UNARY_NEGATIVE":
            if not stack or not _plain_int(stack[-1]):
                return None
            stack.append(-stack.pop())
        else:  # BINARY_OP
            if len(stack) < 2 or not (_plain_int(stack[-1]) and _plain_int(stack[-2])):
                return None
            b, a = stack.pop(), stack.pop()
            if ins.argrepr in ("//", "%") and b == 0:
                return None
            stack.append(_BINARY[ins.argrepr](a, b))
    if len(stack) != 3:
        return None
    value, entries, index = stack
    if type(entries) is not list or not _plain_int(index) or not _plain_int(value):
        return None
    if not -len(entries) <= index < len(entries):
        return None
    return entries, index, value


def _plain_int(v: Any) -> bool:
    return type(v) is int


def _all_paths_raise(insts: list[Any], at: dict[int, int], start: int, handler: bool = False) -> list[int] | None:
    """The offsets of the ``raise`` instructions that every path from ``start`` ends in, or None if
    some path may leave otherwise (a return, a loop, a handler, a jump backwards...).  With
    ``handler``, ``start`` is an exception handler: it may open (``PUSH_EXC_INFO``) and close the
    exception state, and a re-raise (``RERAISE``) counts as raising; matching the exception
    (``except X:``) or a ``with`` exit (which may suppress it) does not."""
    todo, seen, raises, steps = [start], set(), [], 0
    while todo:
        off = todo.pop()
        if off in seen:
            continue
        seen.add(off)
        k = at.get(off)
        if k is None:
            return None
        for ins in insts[k:]:
            steps += 1
            if steps > _SCAN_LIMIT:
                return None
            name = ins.opname
            if name == "RAISE_VARARGS":
                if not ins.arg:
                    return None
                raises.append(ins.offset)
                break
            if handler and name == "RERAISE":
                raises.append(ins.offset)
                break
            if handler and name in ("PUSH_EXC_INFO", "POP_EXCEPT"):
                continue
            if "JUMP" in name and "_IF_" in name:  # conditional: both ways (forward only)
                if not isinstance(ins.argval, int) or ins.argval <= ins.offset:
                    return None
                todo.append(ins.argval)  # and fall through
                continue
            if name == "JUMP_FORWARD":
                todo.append(ins.argval)
                break
            if any(part in name for part in _LEAVES):
                return None
        else:
            return None
    return raises


def _user_frame() -> Any:
    """The innermost frame outside torch.fx and this module (the code that branched)."""
    f: Any = sys._getframe(1)
    here = (__file__, __file__.replace("guards.py", "ifconvert.py"))
    while f is not None:
        name = f.f_code.co_filename
        if name not in here and "/torch/fx/" not in name.replace("\\", "/"):
            return f
        f = f.f_back
    return None


def _where(frame: Any) -> str:
    if frame is None:
        return "forward"
    return f"{frame.f_code.co_filename}:{frame.f_lineno}"


def guarded_tracer(base: type, module: Any, inputs: Sequence[Any], concrete: dict[str, Any], stop: Any) -> Any:
    """An instance of a subclass of the fx tracer ``base`` that computes example values (meta
    ``inputs`` for the tensor placeholders in order, ``concrete`` for traced-as-constant ones) and
    records branches as guards.  The caller runs the trace with ``module``'s parameters and buffers
    on meta (so that leaf modules and attributes give meta values) and passes ``stop``, the code
    object of the function that calls ``tracer.trace`` (where the stack walk of
    :func:`untaken_branch_raises` ends)."""
    import torch
    from torch import fx
    from torch.fx.node import map_aggregate, map_arg

    # the device a real run uses: that of the module's parameters and buffers (CPU if it has
    # none); the trace computes on meta, so a tensor whose example value is on meta is on this
    # device in the real run (device constants equal to it are computed on meta, see ``_compute``)
    found = {t.device for t in list(module.parameters()) + list(module.buffers())}
    device = found.pop() if len(found) == 1 else (torch.device("cpu") if not found else None)

    class _Decisions:
        """``len``, ``range``/``__index__`` and ``int`` on a traced value: taken at the example, guarded."""

        def __len__(self) -> int:
            return self.tracer._length(self)  # type: ignore[attr-defined]

        def __index__(self) -> int:
            if isinstance(self.tracer._size_value(self), float):  # type: ignore[attr-defined]
                raise TypeError("'float' object cannot be interpreted as an integer")  # as for the value
            return self.tracer._fixed(self, int)  # type: ignore[attr-defined]

        # ``math.ceil(p)``, ``np.ceil(p)`` (MONAI's Swin pads to windows): a traced value, no decision
        def __ceil__(self) -> Any:
            return self.tracer.create_proxy("call_function", _CEIL, (self,), {})  # type: ignore[attr-defined]

        def __floor__(self) -> Any:
            return self.tracer.create_proxy("call_function", _FLOOR, (self,), {})  # type: ignore[attr-defined]

        def __int__(self) -> int:
            return self.tracer._fixed(self, int)  # type: ignore[attr-defined]

        # ``mask[:, h, w, :] = count`` (Swin's shifted-window mask, built at sizes that shift):
        # recorded as fx's ``operator.setitem`` and done on the example value too
        def __setitem__(self, key: Any, value: Any) -> None:
            import operator

            self.tracer.create_proxy("call_function", operator.setitem, (self, key, value), {})  # type: ignore[attr-defined]

        def __getattr__(self, k: str) -> Any:
            return GuardedAttribute(self, k)  # type: ignore[arg-type]

    class GuardedProxy(_Decisions, fx.Proxy):  # type: ignore[misc]
        """A proxy that reads the device attributes of its example value (see below)."""

        def __getattr__(self, k: str) -> Any:
            if k in _DEVICE_ATTRS:
                v = self.tracer.values.get(self.node, UNKNOWN)  # type: ignore[attr-defined]
                if isinstance(v, torch.Tensor):
                    d = device if v.device.type == "meta" else v.device
                    if d is not None:
                        self.tracer.devices_read.add(str(d))  # type: ignore[attr-defined]
                        return _DEVICE_ATTRS[k](d)
            if k.startswith("__") and k.endswith("__"):  # protocols probed by others (numpy's
                raise AttributeError(k)  # ``__array_struct__``): a tensor has none of these
            if k == "ndim":  # the rank: fixed by the input ranks, guarded like len()
                return self.tracer._fixed(GuardedAttribute(self, k), int)  # type: ignore[attr-defined]
            return super().__getattr__(k)

    class GuardedAttribute(_Decisions, fx.proxy.Attribute):  # type: ignore[misc]
        pass

    class _IntMeta(type):
        def __instancecheck__(cls, obj: Any) -> bool:  # ``isinstance(x, int)`` in patched code
            return isinstance(obj, int)

        def __subclasscheck__(cls, sub: Any) -> bool:
            return issubclass(sub, int)

    class TracedInt(int, metaclass=_IntMeta):
        """``int`` for the model's modules while they are traced (:func:`sizes_through_int`)."""

        def __new__(cls, x: Any = 0, *args: Any, **kwargs: Any) -> Any:
            if not args and not kwargs and isinstance(x, (GuardedProxy, GuardedAttribute)) and (
                    _size_read(x.node) or _rounded_arithmetic(x.node)):
                v = x.tracer._size_value(x)  # type: ignore[attr-defined]
                if isinstance(v, int) and not isinstance(v, bool):
                    return x  # an integer size already: int() of it is itself
            return int(x, *args, **kwargs)

    class GuardedTracer(base):  # type: ignore[misc, valid-type]
        """See :func:`guarded_tracer`."""

        def __init__(self) -> None:
            super().__init__()
            self.values: dict[Any, Any] = {}
            self._inputs = list(inputs)
            self._concrete = dict(concrete)
            self._computing = 0
            self.guards = 0
            self.devices_read: set[str] = set()  # devices answered for ``.device`` reads
            self.int_type = TracedInt
            self.sites: dict[Any, set[int]] = {}  # code -> lines of its region guards (if-conversion)
            self.merged = 0  # branches traced both ways and merged

        # ---- values ---------------------------------------------------------------------------
        def proxy(self, node: Any) -> Any:
            return GuardedProxy(node, self)

        def trace(self, root: Any, concrete_args: Any = None) -> Any:
            # ``torch.jit.isinstance(p, torch.Tensor)`` (MONAI's ``UpCat``) answered for the example
            # value: the type of what a torch op returns does not depend on the sizes.  (Not
            # Python's ``isinstance``: a proxy posing as a tensor is read as one by torch's C code.)
            jit_isinstance = torch.jit.isinstance

            def answered(obj: Any, target_type: Any) -> bool:
                if isinstance(obj, fx.Proxy) and obj.tracer is self:
                    v = self.values.get(obj.node, UNKNOWN)
                    if isinstance(v, torch.Tensor):
                        return jit_isinstance(v, target_type)
                return jit_isinstance(obj, target_type)

            torch.jit.isinstance = answered
            try:
                return super().trace(root, concrete_args)
            finally:
                torch.jit.isinstance = jit_isinstance

        def value(self, a: Any) -> Any:
            return map_aggregate(a, lambda x: self.values.get(x.node, UNKNOWN) if isinstance(x, fx.Proxy) else x)

        def create_proxy(self, kind: str, target: Any, args: Any, kwargs: Any, *rest: Any, **kw: Any) -> Any:
            p = super().create_proxy(kind, target, args, kwargs, *rest, **kw)
            if isinstance(p, fx.Proxy):
                self.values[p.node] = self._compute(kind, target, args, kwargs)
            return p

        def _compute(self, kind: str, target: Any, args: Any, kwargs: Any) -> Any:
            if kind == "placeholder":
                name = str(target).lstrip("*")
                base_name = name.rsplit("_", 1)[0] if name.rsplit("_", 1)[-1].isdigit() else name
                if name in self._concrete:
                    return self._concrete[name]
                if base_name in self._concrete:
                    return self._concrete[base_name]
                return self._inputs.pop(0) if self._inputs else UNKNOWN
            if target is branch_guard:
                return None
            if target is size_select:  # bool() of its condition's value, not a traced decision
                c, a, b = self.value(tuple(args))
                return UNKNOWN if _has_unknown((c, a, b)) else (a if c else b)
            vargs, vkwargs = self.value(tuple(args)), self.value(dict(kwargs))
            if device is not None and device.type != "meta":  # the real device's tensors are computed on meta
                vargs, vkwargs = _to_meta((vargs, vkwargs), device)
            if _has_unknown(vargs) or _has_unknown(vkwargs):
                return UNKNOWN
            try:
                self._computing += 1
                with torch.no_grad():
                    if kind == "call_function":
                        return target(*vargs, **vkwargs)
                    if kind == "call_method":
                        return getattr(vargs[0], target)(*vargs[1:], **vkwargs)
                    if kind == "call_module":  # on meta, buffers too (they stay real in the trace)
                        from arts.frontends.confirm import _on_meta

                        sub = self.root.get_submodule(target)
                        with _on_meta(sub):
                            return sub(*vargs, **vkwargs)
                    if kind == "get_attr":
                        obj: Any = self.root
                        for part in str(target).split("."):
                            obj = getattr(obj, part)
                        return obj
            except Exception:  # noqa: BLE001 - not computable on meta (data-dependent): unknown
                return UNKNOWN
            finally:
                self._computing -= 1
            return UNKNOWN

        # while a value is computed, module calls and attribute reads run as plain Python (fx
        # patches nn.Module.__call__/__getattr__ during the trace; undoing the patch per call is
        # far slower, as every change to nn.Module's attributes flushes type caches)
        def call_module(self, m: Any, forward: Any, args: Any, kwargs: Any) -> Any:
            if self._computing:
                return forward(*args, **kwargs)
            return super().call_module(m, forward, args, kwargs)

        def getattr(self, attr: str, attr_val: Any, parameter_proxy_cache: dict[str, Any]) -> Any:
            if self._computing:
                return attr_val
            return super().getattr(attr, attr_val, parameter_proxy_cache)

        # ---- decisions --------------------------------------------------------------------------
        def _size_value(self, obj: Any) -> Any:
            """The value of ``obj`` if it is a Python number computed from sizes, else None."""
            v = self.values.get(obj.node, UNKNOWN)
            if isinstance(v, bool) or (isinstance(v, (int, float)) and not isinstance(v, torch.Tensor)):
                return v
            return None

        def _guard(self, cond: Any, taken: bool, frame: Any) -> None:
            raises = frame is not None and untaken_branch_raises(frame, taken, stop)
            self.create_proxy("call_function", branch_guard, (cond, taken, raises, _where(frame)), {})
            self.guards += 1
            if frame is not None and not raises:  # a candidate for if-conversion (arts.frontends.ifconvert)
                self.sites.setdefault(frame.f_code, set()).add(frame.f_lineno)

        # ---- if-conversion (arts.frontends.ifconvert): both ways of a branch, merged ----------------
        def _traced_size(self, v: Any) -> bool:
            return isinstance(v, fx.Proxy) and v.tracer is self and self._size_value(v) is not None

        def _sizeish(self, v: Any) -> bool:
            return isinstance(v, (int, bool)) or self._traced_size(v)

        def _select(self, cond: Any, then: Any, otherwise: Any) -> Any:
            if isinstance(cond, bool):
                return then if cond else otherwise
            if then is otherwise or (type(then) is type(otherwise) and not isinstance(then, fx.Proxy)
                                     and then == otherwise):
                return then
            return self.create_proxy("call_function", size_select, (cond, then, otherwise), {})

        def _nodes_after(self, mark: Any) -> list[Any]:
            out, n = [], mark.next
            while n is not mark and n.op != "root":
                out.append(n)
                n = n.next
            return out

        def _drop_after(self, mark: Any, keep: Sequence[Any] = ()) -> None:
            """Erase the nodes made after ``mark`` that nothing uses (but ``keep``): a way of a
            merged branch leaves its unused work behind."""
            protect = {x.node for x in keep if isinstance(x, fx.Proxy)}
            for n in reversed(self._nodes_after(mark)):
                if not n.users and n not in protect:
                    self.graph.erase_node(n)
                    self.values.pop(n, None)

        def merge(self, cond: Any, current: Any, then: Any, otherwise: Any) -> Any:
            """The values of an ``if``'s live names after both of its ways ran, merged
            (see :mod:`arts.frontends.ifconvert`), or None: take the branch as usual."""
            if not self._traced_size(cond):
                return None
            try:
                before = tuple(current())
            except Exception:  # noqa: BLE001 - a name one way leaves unbound: no merge
                return None
            mark, guards = self.graph._root.prev, self.guards  # (``a if c else b``: no names before)
            a: tuple | None
            try:
                a, b = tuple(then(*before)), tuple(otherwise(*before))
            except Exception:  # noqa: BLE001 - a way that fails where not taken: the usual branch
                a = b = None
            arm = set(self._nodes_after(mark))
            merged = None if a is None or b is None or self.guards != guards else self._merge_values(cond, a, b, arm)
            if merged is not None:
                self._drop_after(mark, keep=[x for x in merged if isinstance(x, fx.Proxy)])
                # tensor work of a way that is still used (a size read off a padded tensor) would
                # run, with its conditions, where the model does not run it: no merge then
                if any(n in arm and isinstance(self.values.get(n), torch.Tensor) for n in self._nodes_after(mark)):
                    merged = None
            if merged is None:
                self._drop_after(mark)
                self.guards = guards
                return None
            self.merged += 1
            return merged

        def merge_bool_op(self, is_or: bool, first: Any, rest: tuple) -> tuple | None:
            """``a or b`` (``and``) of traced sizes: ``size_select(a, a, b)`` (``(a, b, a)``), as
            Python picks; None: evaluate it as Python does."""
            if not self._traced_size(first):
                return None
            mark, guards = self.graph._root.prev, self.guards
            try:
                values = [f() for f in rest]
            except Exception:  # noqa: BLE001
                values = None
            if values is None or self.guards != guards or not all(self._sizeish(v) for v in values):
                self._drop_after(mark)
                self.guards = guards
                return None
            self.merged += 1
            out = values[-1]
            for v in reversed([first, *values[:-1]]):
                out = self._select(v, v, out) if is_or else self._select(v, out, v)
            return (out,)

        def extremum(self, largest: bool, args: tuple, plain: Any) -> Any:
            """``max``/``min`` of sizes inside a merged way: Python's first extreme, selected."""
            if len(args) < 2 or not all(self._sizeish(v) for v in args) or not any(
                    self._traced_size(v) for v in args):
                return plain(*args)
            out = args[0]
            for v in args[1:]:
                out = self._select(v > out if largest else v < out, v, out)
            return out

        def _merge_values(self, cond: Any, a: tuple, b: tuple, arm: set) -> list | None:
            out = []
            for x, y in zip(a, b):
                m = self._merge_one(cond, x, y, arm)
                if m is _NO_MERGE:
                    return None
                out.append(m)
            return out

        def _merge_one(self, cond: Any, x: Any, y: Any, arm: set) -> Any:
            if x is y:
                return x
            if self._sizeish(x) and self._sizeish(y):
                return self._select(cond, x, y)
            if isinstance(x, (tuple, list)) and type(x) is type(y) and len(x) == len(y):
                parts = [self._merge_one(cond, p, q, arm) for p, q in zip(x, y)]
                return _NO_MERGE if any(p is _NO_MERGE for p in parts) else type(x)(parts)
            if x is None or y is None or not (isinstance(x, fx.Proxy) and isinstance(y, fx.Proxy)):
                return _NO_MERGE
            if not all(isinstance(self.values.get(p.node), torch.Tensor) for p in (x, y)):
                return _NO_MERGE
            for top, base, taken in ((x, y, True), (y, x, False)):
                chain = self._chain(top.node, base.node, arm)
                if chain is not None:
                    out = base
                    for n in reversed(chain):
                        out = self._identity_form(cond, taken, n, out)
                        if out is _NO_MERGE:
                            return _NO_MERGE
                    return out
            return _NO_MERGE

        def _chain(self, top: Any, base: Any, arm: set) -> list | None:
            """The nodes one way made from ``base`` to ``top``, each from the one before, or None."""
            chain, n = [], top
            while n is not base:
                if n not in arm or not n.args or not isinstance(n.args[0], fx.Node):
                    return None
                chain.append(n)
                n = n.args[0]
            return chain

        def _identity_form(self, cond: Any, taken: bool, n: Any, prev: Any) -> Any:
            """Node ``n`` (made by the way that runs where ``cond`` is ``taken``) applied to
            ``prev`` with its parameters selected: its own where that way runs, an identity
            otherwise (a constant pad by 0, interpolate to ``prev``'s size, slice to the full size)."""
            import operator

            def sel(param: Any, identity: Any) -> Any:
                return self._select(cond, param, identity) if taken else self._select(cond, identity, param)

            args = map_arg(n.args[1:], self.proxy)
            kwargs = {k: map_arg(v, self.proxy) for k, v in n.kwargs.items()}
            name = getattr(n.target, "__name__", str(n.target))
            value = self.values.get(prev.node)
            if not isinstance(value, torch.Tensor):
                return _NO_MERGE
            if n.op == "call_method" and n.target in ("contiguous", "clone") and not args:
                return self.create_proxy("call_method", n.target, (prev,), kwargs)
            if n.op != "call_function":
                return _NO_MERGE
            mode = kwargs.get("mode", args[1] if len(args) > 1 else "constant")
            if name == "pad" and mode == "constant" and args and isinstance(args[0], (tuple, list)) and all(
                    self._sizeish(p) for p in args[0]):
                pads = type(args[0])(sel(p, 0) for p in args[0])
                return self.create_proxy("call_function", n.target, (prev, pads, *args[1:]), kwargs)
            if name == "interpolate":
                size = kwargs.get("size", args[0] if args else None)
                scale = kwargs.get("scale_factor", args[1] if len(args) > 1 else None)
                if scale is not None or not isinstance(size, (tuple, list)):
                    return _NO_MERGE
                if len(size) != value.dim() - 2 or not all(self._sizeish(s) for s in size):
                    return _NO_MERGE
                new = type(size)(sel(s, prev.size(2 + k)) for k, s in enumerate(size))
                kw = dict(kwargs)
                if "size" in kw:
                    kw["size"] = new
                    return self.create_proxy("call_function", n.target, (prev, *args), kw)
                return self.create_proxy("call_function", n.target, (prev, new, *args[1:]), kw)
            if n.target is operator.getitem and len(args) == 1:
                index = args[0] if isinstance(args[0], tuple) else (args[0],)
                if sum(1 for i in index if i is Ellipsis) > 1:
                    return _NO_MERGE
                out: list[Any] = []
                dim = 0
                for item in index:
                    if item is Ellipsis:
                        dim += value.dim() - (len(index) - 1)
                        out.append(item)
                        continue
                    # (plain values only: ``start in (None, 0)`` of a traced start would be a decision)
                    if not isinstance(item, slice) or not (_plain(item.start, 0) and _plain(item.step, 1)):
                        return _NO_MERGE
                    if item.stop is None:
                        out.append(item)
                    elif self._sizeish(item.stop):
                        out.append(slice(item.start, sel(item.stop, prev.size(dim)), item.step))
                    else:
                        return _NO_MERGE
                    dim += 1
                new_index = tuple(out) if isinstance(args[0], tuple) else out[0]
                return self.create_proxy("call_function", operator.getitem, (prev, new_index), {})
            return _NO_MERGE

        def to_bool(self, obj: Any) -> bool:
            v = self._size_value(obj)
            if v is None:
                return super().to_bool(obj)
            taken = bool(v)
            frame = _user_frame()
            joined = self._join_store(obj, frame)
            if joined is not None:
                return joined
            self._guard(obj, taken, frame)
            return taken

        def _join_store(self, cond: Any, frame: Any) -> bool | None:
            """For a conditional store (:func:`conditional_store`): store the select of both
            ways and return the truth value that skips the body; None for any other branch."""
            if frame is None:
                return None
            found = conditional_store(frame)
            if found is None:
                return None
            runs_when, body = found
            store = run_store(frame, body)
            if store is None:
                return None
            entries, index, value = store
            old = entries[index]
            if not (_plain_int(old) or (isinstance(old, fx.Proxy) and old.tracer is self
                                        and _plain_int(self._size_value(old)))):
                return None
            entries[index] = self.create_proxy("call_function", size_select, (cond, value, old), {})
            return not runs_when

        def _fixed(self, obj: Any, kind: type) -> int:
            v = self._size_value(obj)
            if v is None or isinstance(v, bool) or not isinstance(v, int):
                self.refused = f"a traced value used as a Python {kind.__name__}"
                raise fx.proxy.TraceError(f"cannot use a traced value as a Python {kind.__name__} here")
            self._guard(obj == v, True, None)
            return int(v)

        def _length(self, obj: Any) -> int:
            v = self.values.get(obj.node, UNKNOWN)
            if isinstance(v, torch.Tensor):
                if v.dim() == 0:
                    self.refused = "len() of a 0-d tensor"
                    raise fx.proxy.TraceError("len() of a 0-d tensor")
                n = int(v.shape[0])
                self._guard(obj.size(0) == n, True, None)
                return n
            if isinstance(v, torch.Size):
                return len(v)  # the rank: fixed by the input shapes
            if isinstance(v, (tuple, list)):
                n = len(v)
                length = self.create_proxy("call_function", len, (obj,), {})
                self._guard(length == n, True, None)
                return n
            if isinstance(v, (bool, int, float)):  # as Python says for the value (numpy probes it)
                raise TypeError(f"object of type '{type(v).__name__}' has no len()")
            self.refused = "len() of a traced value that is not a tensor or a sequence"
            raise fx.proxy.TraceError("len() of a traced value that is not a tensor or a sequence")

        def iter(self, obj: Any) -> Iterator[Any]:
            n = self._length(obj)
            return iter([obj[i] for i in range(n)])

    return GuardedTracer()


#: tensor attributes read from the device of the real run (see ``guarded_tracer``)
_DEVICE_ATTRS: dict[str, Any] = {
    "device": lambda d: d, "is_cpu": lambda d: d.type == "cpu", "is_cuda": lambda d: d.type == "cuda",
    "is_meta": lambda d: d.type == "meta", "is_mps": lambda d: d.type == "mps", "is_xpu": lambda d: d.type == "xpu"}


def _size_read(node: Any) -> bool:
    """Whether fx ``node`` reads one size of a tensor (``x.shape[i]``, ``x.size()[i]``,
    ``x.size(i)``) or rounds a value to an integer (``math.ceil``, ``math.floor``)."""
    import operator

    if node.op == "call_method" and node.target == "size":
        return len(node.args) + len(node.kwargs) == 2
    if node.op == "call_function" and node.target in (_CEIL, _FLOOR):  # ``int(np.ceil(H / 7))``
        return True
    if node.op != "call_function" or node.target is not operator.getitem or not isinstance(node.args[1], int):
        return False
    src = node.args[0]
    while getattr(src, "op", None) == "call_function" and src.target is operator.getitem and \
            isinstance(src.args[1], slice):  # ``h, w = x.shape[-2:]``
        src = src.args[0]
    if getattr(src, "op", None) == "call_method" and src.target == "size":
        return len(src.args) == 1 and not src.kwargs
    return getattr(src, "op", None) == "call_function" and src.target is getattr and src.args[1:] == ("shape",)


def _plain(v: Any, default: int) -> bool:
    """``v`` is None or the plain int ``default`` (a slice's start or step a merge may keep)."""
    return v is None or (type(v) is int and v == default)


_INT_ARITHMETIC = ("add", "sub", "mul", "floordiv", "mod")


def _rounded_arithmetic(node: Any) -> bool:
    """Whether fx ``node`` is integer arithmetic (``+ - * // %`` with integer constants) on size
    reads with at least one rounding in it: ``math.ceil(H / p) * p`` (Hugging Face MobileViT's
    ``int(math.ceil(orig_height / patch_height) * patch_height)``), an integer already."""
    import operator

    def walk(n: Any, d: int) -> tuple[bool, bool]:  # (integer arithmetic of sizes, has a rounding)
        if d > 8 or getattr(n, "op", None) != "call_function":
            return False, False
        if n.target in (_CEIL, _FLOOR):
            return True, True
        if _size_read(n):
            return True, False
        name = getattr(n.target, "__name__", "")
        if n.target is not getattr(operator, name, None) or name not in _INT_ARITHMETIC or n.kwargs:
            return False, False
        rounded = False
        for a in n.args:
            if isinstance(a, int) and not isinstance(a, bool):
                continue
            ok, r = walk(a, d + 1)
            if not ok:
                return False, False
            rounded = rounded or r
        return True, rounded

    ok, rounded = walk(node, 0)
    return ok and rounded


@contextlib.contextmanager
def sizes_through_int(tracer: Any, module: Any) -> Iterator[None]:
    """While ``module`` is traced, ``int(p)`` of a size read (``x.shape[-2]``) or of a rounding
    (``int(math.ceil(H / 7))``, Swin's padded sizes) is ``p`` itself.

    Hugging Face's TF-style padding starts ``in_height = int(features.shape[-2])``: fixing the
    value there (the guard ``H == 224``) makes the trace the model at one size only, while the
    value *is* an integer already and ``int`` of it is the identity.  ``int`` is rebound in the
    globals of the modules that define the model's classes (as ``torch.fx.wrap`` rebinds names),
    to a subclass of ``int`` that passes such a size through, converts everything else as
    ``int`` does, and answers ``isinstance`` as ``int``; a module with its own ``int`` is left
    alone, and the names are restored after the trace.  ``int`` of arithmetic on sizes is still
    fixed at its value and guarded: timm's SAM builds its relative-position table from
    ``int(2 * q - 1)``, and the fixed value makes that table's index the example's inside the
    region (kept symbolic, the index would be unknown); a float (``int(n ** .5)``) has no size."""
    names = {type(m).__module__ for m in module.modules()} | {type(module).__module__}
    patched = []
    for name in sorted(names):
        mod = sys.modules.get(name)
        space = getattr(mod, "__dict__", None)
        if space is None or "int" in space or name.startswith(("torch.", "builtins")):
            continue
        space["int"] = tracer.int_type
        patched.append(space)
    try:
        yield
    finally:
        for space in patched:
            space.pop("int", None)


def _to_meta(v: Any, device: Any) -> Any:
    """Arguments of an example computation with ``device`` (the real run's) read as meta: device
    arguments (``torch.zeros(n, device=x.device)``) and, next to a meta tensor, tensors made on that
    device (a constant ``torch.ones(3, device=x.device)`` the trace stored)."""
    import torch
    from torch.fx.node import map_aggregate

    flat: list[Any] = []
    map_aggregate(v, lambda x: flat.append(x) if isinstance(x, torch.Tensor) else None)
    mixed = any(t.device.type == "meta" for t in flat) and any(t.device == device for t in flat)
    meta = torch.device("meta")

    def one(x: Any) -> Any:
        if isinstance(x, torch.device) and x == device:
            return meta
        if mixed and isinstance(x, torch.Tensor) and x.device == device:
            return x.to(meta)
        return x

    return map_aggregate(v, one)


def _has_unknown(v: Any) -> bool:
    if v is UNKNOWN:
        return True
    if isinstance(v, (tuple, list)):
        return any(_has_unknown(x) for x in v)
    if isinstance(v, dict):
        return any(_has_unknown(x) for x in v.values())
    if isinstance(v, slice):
        return any(_has_unknown(x) for x in (v.start, v.stop, v.step))
    return False
