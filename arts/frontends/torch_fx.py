"""Type-check a ``torch.nn.Module`` for every input size: trace with ``torch.fx``, lower, typecheck.

>>> import torch.nn as nn
>>> from arts.frontends.torch_fx import check_module
>>> net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8 * 15 * 15, 10))
>>> check_module(net).domain
'H ≥ 32 and H ≤ 33 and W ≥ 32 and W ≤ 33'

The pipeline:

1. **Trace** ``forward`` with ``torch.fx`` (stack traces recorded, so every node knows its line).
   Parameters of ``forward`` with defaults that no input shape was given for are traced as
   constants (``concrete_args``).  When fx cannot trace (data-dependent control flow, ``len()`` on
   a tensor...), :mod:`arts.frontends.aten` checks torch.export's ATen graph inside its guards;
   if that fails too, the report is ``unknown`` with the reason and the line -- never ``ok``.
2. **Lower** each fx node to a catalogue op (:mod:`arts.frontends.lowering`).
3. **Default inputs**: without input shapes, the first layer that fixes the rank and the channels
   decides (``Conv2d(3, ...)`` -> ``N,3,H,W``, ``Linear(784, ...)`` -> ``N,784``); the report says
   what was assumed, in a note.
4. **Typecheck** (:func:`arts.graph.check.typecheck`) and attach, to each diagnostic on a layer,
   the line where that layer was constructed.
5. **Confirm** an ``ok`` or ``error`` against one real run (:mod:`arts.frontends.confirm`): where
   torch disagrees, fx traced another program than the one that runs, and the answer is
   ``unknown`` naming the branch.
"""

from __future__ import annotations

import contextlib
import inspect
import sys
import warnings
from collections.abc import Sequence
from typing import Any

import networkx as nx
import sympy

from arts.errors import InputError
from arts.frontends.locations import Site, display_path, frame_site, site_of, user_frames
from arts.frontends.lowering import Lowerer, passes_through
from arts.graph.check import typecheck
from arts.graph.graph import add_input, add_node, new_graph
from arts.graph.report import Diagnostic, Report
from arts.ops.base import Op
from arts.solver.symbols import parse_shape

__all__ = ["TraceFailure", "analyse", "check_module", "trace"]


class TraceFailure(Exception):
    """torch.fx could not trace ``forward``; ``site`` is the user line where it stopped."""

    def __init__(self, reason: str, site: Site | None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.site = site


class ForwardRaised(Exception):
    """The user's ``forward`` itself raised (not a tracing limitation)."""

    def __init__(self, exc: BaseException, site: Site | None) -> None:
        super().__init__(str(exc))
        self.exc = exc
        self.site = site


def _forward_params(module: Any) -> list[inspect.Parameter]:
    try:
        sig = inspect.signature(module.forward)
    except (TypeError, ValueError):
        return []
    return list(sig.parameters.values())


def _plan(module: Any, n_given: int | None) -> tuple[int, dict[str, Any]]:
    """(number of tensor inputs, concrete_args for the remaining parameters with defaults)."""
    params = _forward_params(module)
    pos = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if any(p.kind == p.VAR_POSITIONAL for p in params):
        raise InputError("forward takes *args; arts needs named tensor inputs")
    required = [p for p in pos if p.default is p.empty]
    if n_given is None:
        n = len(required)
    else:
        n = n_given
        if n < len(required):
            names = ", ".join(p.name for p in required)
            raise InputError(f"forward needs {len(required)} input(s) ({names}); got {n} input shape(s)")
        if n > len(pos):
            names = ", ".join(p.name for p in pos) or "none"
            raise InputError(f"forward takes {len(pos)} input(s) ({names}); got {n} input shape(s)")
    concrete = {p.name: p.default for p in pos[n:]}
    concrete.update({p.name: p.default for p in params if p.kind == p.KEYWORD_ONLY and p.default is not p.empty})
    # ``**kwargs`` is traced empty: arts checks forward called with its tensor inputs only
    concrete.update({"**" + p.name: {} for p in params if p.kind == p.VAR_KEYWORD})
    missing_kw = [p.name for p in params if p.kind == p.KEYWORD_ONLY and p.default is p.empty]
    if missing_kw:
        raise InputError(f"forward has required keyword-only parameter(s) {', '.join(missing_kw)}")
    return n, concrete


def _stack_text(stop: Any) -> str:
    """The user frames of the current stack below ``stop`` (a code object), formatted like an fx
    ``node.stack_trace`` (outermost first).  A plain frame walk: fx's own recording goes through
    ``CapturedTraceback``, whose first use imports torch._dynamo (about a second)."""
    import sys

    from arts.frontends.locations import is_internal, source_line

    frames = []
    f = sys._getframe(2)
    while f is not None and f.f_code is not stop:
        file = f.f_code.co_filename
        if not is_internal(file):
            src = source_line(file, f.f_lineno) or ""
            frames.append(f'  File "{file}", line {f.f_lineno}, in {f.f_code.co_name}\n    {src.strip()}')
        f = f.f_back  # type: ignore[assignment]
    return "\n".join(reversed(frames))


def _tracer_class() -> Any:
    import torch
    from torch import fx

    class _LenProxy(fx.Proxy):
        def __len__(self) -> int:
            self.tracer.refused = "len() of a traced value"  # type: ignore[attr-defined]
            return super().__len__()

    class _Tracer(fx.Tracer):
        """fx's tracer, recording where each node was created (see :func:`_stack_text`), and
        whether it ever refused to decide on a traced value: fx refuses by raising (``TraceError``
        is a ``ValueError``), and a model's own ``except`` may catch that and trace a fallback
        branch instead -- a graph that is not the model, so the trace counts as failed."""

        refused: str | None = None
        _params: dict[int, str] = {}
        _buffers: dict[int, str] = {}

        def __init__(self) -> None:
            # library functions that cannot take a proxy, traced as calls (each has a rule):
            # ``einops.rearrange`` (MONAI's Swin), when the model has imported einops
            einops = sys.modules.get("einops")
            wrap = tuple(f for f in (getattr(einops, "rearrange", None),) if callable(f))
            super().__init__(autowrap_functions=wrap)

        def proxy(self, node: Any) -> Any:
            return _LenProxy(node, self)

        # fx finds the name of a parameter by a linear search of root.named_parameters() on every
        # access (quadratic in the parameters: seconds on a DenseNet); the same first name, by id
        def trace(self, root: Any, concrete_args: Any = None) -> Any:
            if isinstance(root, torch.nn.Module):
                self._params, self._buffers = {}, {}
                for n, p in root.named_parameters():
                    self._params.setdefault(id(p), n)
                for n, b in root.named_buffers():
                    self._buffers.setdefault(id(b), n)
            return super().trace(root, concrete_args)

        def getattr(self, attr: str, attr_val: Any, parameter_proxy_cache: dict[str, Any]) -> Any:
            if isinstance(attr_val, torch.nn.Parameter):
                n = self._params.get(id(attr_val))
            elif isinstance(attr_val, torch.Tensor) and self.proxy_buffer_attributes:
                n = self._buffers.get(id(attr_val))
            else:
                n = None
            if n is None:
                return super().getattr(attr, attr_val, parameter_proxy_cache)
            if n not in parameter_proxy_cache:
                parameter_proxy_cache[n] = self.create_proxy("get_attr", n, (), {})
            return parameter_proxy_cache[n]

        def create_arg(self, a: Any) -> Any:
            if isinstance(a, torch.Tensor) and not isinstance(a, fx.Proxy):
                n = self._params.get(id(a)) if isinstance(a, torch.nn.Parameter) else self._buffers.get(id(a))
                if n is not None:
                    return self.create_node("get_attr", n, (), {})
            return super().create_arg(a)

        def to_bool(self, obj: Any) -> bool:
            self.refused = "control flow on a traced value"
            return super().to_bool(obj)

        def iter(self, obj: Any) -> Any:
            self.refused = "iteration over a traced value"
            return super().iter(obj)

        def create_node(self, *args: Any, **kwargs: Any) -> Any:
            node = super().create_node(*args, **kwargs)
            if not node.stack_trace:
                text = _stack_text(_run_trace.__code__)
                if text:
                    node.stack_trace = text
            return node

    return _Tracer


def _run_trace(tracer: Any, module: Any, concrete: dict[str, Any]) -> Any:
    return tracer.trace(module, concrete_args=concrete or None)


def trace(module: Any, n_inputs: int | None = None, file: str | None = None) -> tuple[Any, int, dict[str, Any]]:
    """Trace ``module.forward`` with torch.fx; returns (fx graph, number of tensor inputs, concrete args)."""
    from torch import fx

    from arts.frontends.confirm import kept_attributes

    n, concrete = _plan(module, n_inputs)
    tracer = _tracer_class()()
    try:
        with warnings.catch_warnings(), kept_attributes(module):  # a forward may store proxies in self
            warnings.simplefilter("ignore")
            graph = _run_trace(tracer, module, concrete)
    except fx.proxy.TraceError as e:
        raise TraceFailure(f"torch.fx cannot trace this: {e}", frame_site(e.__traceback__, file)) from None
    except Exception as e:  # noqa: BLE001 - classify: the user's code raised, or fx could not follow it
        site = frame_site(e.__traceback__, file)
        if tracer.refused:
            raise TraceFailure(f"torch.fx cannot trace this: {tracer.refused}", site) from None
        if _raised_in_user_code(e):
            raise ForwardRaised(e, site) from None
        raise TraceFailure(f"torch.fx cannot trace this: {type(e).__name__}: {e}", site) from None
    if tracer.refused:
        raise TraceFailure(f"torch.fx cannot trace this: {tracer.refused} (the model caught fx's refusal and "
                           f"went on)", None)
    return graph, n, concrete


def trace_guarded(module: Any, shapes: Sequence[tuple], file: str | None = None,
                  at: dict[str, int] | None = None, merge: bool = True
                  ) -> tuple[Any, int, dict[str, Any], dict[str, int], int, Any]:
    """Trace ``module.forward`` with torch.fx through its branches on sizes
    (:mod:`arts.frontends.guards`): at an example size where ``forward`` runs on meta tensors,
    every decision on a size is taken as the model takes it there and recorded as a
    ``branch_guard``.  Returns (fx graph, tensor inputs, concrete args, example sizes, guards, the
    module traced: ``module``, or an entry module calling it when its forward is decorated).
    ``at`` (sizes by symbol name) is the one example to trace at, instead of the usual ones.
    ``merge``: trace the branches that only choose a value both ways, merged
    (:mod:`arts.frontends.ifconvert`); the graph's ``if_converted`` says whether any was."""
    import torch
    from torch import fx

    from arts.frontends.aten import _EXAMPLES
    from arts.frontends.confirm import _on_meta
    from arts.frontends.guards import guarded_tracer, sizes_through_int
    from arts.frontends.ifconvert import converted, originals

    root = _entry(module, len(shapes)) if _decorated(module) else module
    n, concrete = _plan(root, len(shapes))
    symbols = list(dict.fromkeys(x for sh in shapes for x in sh if isinstance(x, sympy.Symbol)))
    for sh in shapes:
        for x in sh:
            if isinstance(x, sympy.Expr) and not x.is_Integer and not isinstance(x, sympy.Symbol):
                raise TraceFailure(f"an input size {x} that is not a plain symbol", None)
    example = None
    tries = [_even_values(symbols, k) for k in range(len(_EXAMPLES))]
    tries += [_odd_values(symbols, k) for k in range(len(_ODD_EXAMPLES))]
    # all sizes equal (a fixed-size 3-d model: MONAI's UNETR at 64**3)
    tries += [{s: (2 if s.name.startswith("N") or s.name == "B" else v) for s in symbols} for v in _CUBES]
    if at is not None:
        tries = [{s: int(at[s.name]) for s in symbols}]
    for vals in tries:
        sizes = [[vals[x] if isinstance(x, sympy.Symbol) else int(x) for x in sh] for sh in shapes]
        metas = [torch.empty(sz, device="meta") for sz in sizes]
        try:
            with _on_meta(module), torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                module(*metas)
        except Exception:  # noqa: BLE001 - forward does not run at this size (or not on meta): next
            continue
        example = vals
        break
    if example is None:
        raise TraceFailure("forward does not run on meta tensors at any example size", None)
    def run(sites: dict | None) -> tuple[Any, Any]:
        metas = [torch.empty(sz, device="meta") for sz in sizes]
        tracer = guarded_tracer(_tracer_class(), root, metas, concrete, _run_trace.__code__)
        # buffers real: a constant computed from them (Swin's relative-position index) keeps its values
        with _on_meta(module, buffers=False), warnings.catch_warnings(), sizes_through_int(tracer, root), \
                converted(sites or {}, tracer) as rewritten:
            if sites is not None and not rewritten:
                return None, None
            warnings.simplefilter("ignore")
            graph = _run_trace(tracer, root, concrete)
        if tracer.refused:
            raise TraceFailure(f"torch.fx cannot trace this: {tracer.refused} (the model caught the refusal)", None)
        return graph, tracer

    try:
        graph, tracer = run(None)
    except fx.proxy.TraceError as e:
        raise TraceFailure(f"torch.fx cannot trace this: {e}", frame_site(e.__traceback__, file)) from None
    except TraceFailure:
        raise
    except Exception as e:  # noqa: BLE001
        raise TraceFailure(f"torch.fx cannot trace this: {type(e).__name__}: {e}",
                           frame_site(e.__traceback__, file)) from None
    graph.if_converted = False  # type: ignore[attr-defined]
    sites: dict = {}
    first = graph, tracer
    for _ in range(MERGE_ROUNDS if merge else 0):  # branches that only choose a value: traced both ways, merged
        found = originals(tracer.sites)
        if all(lines <= sites.get(code, set()) for code, lines in found.items()):
            break
        # a merged value may reach a branch the trace before decided on a plain value
        # (MobileViT's ``interpolate = True`` in one way, ``if interpolate:`` further down)
        sites = {code: sites.get(code, set()) | found.get(code, set()) for code in {*sites, *found}}
        try:
            again, merged = run(sites)
        except Exception:  # noqa: BLE001 - the rewritten code fails: the guarded trace stands
            break
        if again is None:
            break
        graph, tracer = again, merged
        graph.if_converted = True  # type: ignore[attr-defined]
    if tracer is not first[1] and tracer.guards >= first[1].guards:  # merging left as many branches
        graph, tracer = first
    graph.devices_read = sorted(tracer.devices_read)  # type: ignore[attr-defined]
    graph.merged = tracer.merged  # type: ignore[attr-defined]
    return graph, n, concrete, {s.name: v for s, v in example.items()}, tracer.guards, root


# tried after torch.export's example sizes (all even): models that need odd sizes
_ODD_EXAMPLES = ((225, 193), (65, 49), (33, 33), (97, 97), (257, 257))
_CUBES = (64, 96, 128, 32, 224, 256, 16)


def _example_values(symbols: Sequence[sympy.Symbol], ex: Sequence[int], spread: int) -> dict[sympy.Symbol, int]:
    """Example sizes: 2 for a batch, then ``ex``'s sizes in turn, each round ``spread`` apart."""
    out, i = {}, 0
    for s in symbols:
        if s.name.startswith("N") or s.name == "B":
            out[s] = 2
        else:
            out[s] = ex[i % len(ex)] + spread * (i // len(ex))
            i += 1
    return out


def _even_values(symbols: Sequence[sympy.Symbol], k: int) -> dict[sympy.Symbol, int]:
    """torch.export's k-th example sizes, a third size and more 32 apart (not 1, as there): a
    region guard on halving (MONAI's BasicUNet pads odd sizes) then keeps sizes divisible by 32
    inside the region, where people run models."""
    from arts.frontends.aten import _EXAMPLES

    return _example_values(symbols, _EXAMPLES[k], 32)


def _odd_values(symbols: Sequence[sympy.Symbol], k: int) -> dict[sympy.Symbol, int]:
    return _example_values(symbols, _ODD_EXAMPLES[k], 2)


def _decorated(module: Any) -> bool:
    """Whether ``forward`` is wrapped by a decorator (Hugging Face's ``can_return_tuple``...): fx
    calls such a wrapper with the unwrapped signature's arguments, which the wrapper misreads."""
    return getattr(type(module).forward, "__wrapped__", None) is not None


def _entry(module: Any, n: int) -> Any:
    """A module whose forward calls ``module`` with ``n`` tensor inputs, as a user would: the
    decorators of ``module.forward`` then run as Python runs them (its submodules are
    ``model.*``)."""
    from torch import nn

    names = ", ".join(f"x{i}" for i in range(n)) if n != 1 else "x"
    ns: dict[str, Any] = {}
    exec(f"def forward(self, {names}):\n    return self.model({names})\n", ns)  # noqa: S102 - fixed text
    cls = type("Call", (nn.Module,), {"forward": ns["forward"], "__doc__": f"calls {type(module).__name__}"})
    entry = cls()
    entry.model = module
    return entry.train(module.training)


def _raised_in_user_code(e: BaseException) -> bool:
    """Whether the innermost frame of ``e``'s traceback is user code (a ``raise`` or a bug there)."""
    from arts.frontends.locations import is_internal

    tb = e.__traceback__
    last = None
    while tb is not None:
        last = tb
        tb = tb.tb_next
    if last is None:
        return False
    return not is_internal(last.tb_frame.f_code.co_filename)


# ---- default inputs ---------------------------------------------------------------------------------

_PASS_MODULES = ("ReLU", "ReLU6", "LeakyReLU", "ELU", "SELU", "GELU", "SiLU", "Mish", "Sigmoid", "Tanh",
                 "Hardswish", "Hardsigmoid", "Hardtanh", "Softplus", "Identity", "Dropout", "Dropout1d",
                 "Dropout2d", "Dropout3d", "AlphaDropout", "Upsample", "ZeroPad1d", "ZeroPad2d", "ZeroPad3d",
                 "ConstantPad1d", "ConstantPad2d", "ConstantPad3d", "ReflectionPad1d", "ReflectionPad2d",
                 "ReplicationPad2d", "MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d",
                 "AvgPool3d")
_SPATIAL = {1: ["L"], 2: ["H", "W"], 3: ["D", "H", "W"]}


def _sequence(batch_first: bool, features: int) -> list[Any]:
    return ["N", "L", features] if batch_first else ["L", "N", features]


def module_input(m: Any) -> tuple[list[Any], str] | None:
    """If layer ``m`` fixes its input's rank and channels: (shape items, constructor text)."""
    cls = type(m).__name__
    for n in (1, 2, 3):
        if cls in (f"Conv{n}d", f"ConvTranspose{n}d", f"LazyConv{n}d") and getattr(m, "in_channels", None):
            return ["N", int(m.in_channels)] + _SPATIAL[n], f"{cls}({m.in_channels}, ...)"
        if cls in (f"BatchNorm{n}d", f"InstanceNorm{n}d"):
            if n == 1:
                return ["N", int(m.num_features)], f"{cls}({m.num_features})"
            return ["N", int(m.num_features)] + _SPATIAL[n], f"{cls}({m.num_features})"
    if cls == "Linear":
        return ["N", int(m.in_features)], f"{cls}({m.in_features}, ...)"
    if cls == "LayerNorm":
        return ["N"] + [int(v) for v in m.normalized_shape], f"{cls}({tuple(m.normalized_shape)})"
    if cls == "GroupNorm":
        return ["N", int(m.num_channels), "H", "W"], f"{cls}({m.num_groups}, {m.num_channels})"
    if cls in ("LSTM", "GRU", "RNN"):
        bf = bool(m.batch_first)
        return _sequence(bf, int(m.input_size)), f"{cls}({m.input_size}, ..., batch_first={bf})"
    if cls == "MultiheadAttention":
        bf = bool(m.batch_first)
        return _sequence(bf, int(m.embed_dim)), f"{cls}({m.embed_dim}, ..., batch_first={bf})"
    if cls in ("TransformerEncoderLayer", "TransformerEncoder"):
        attn = (m.layers[0] if hasattr(m, "layers") else m).self_attn
        bf = bool(attn.batch_first)
        return _sequence(bf, int(attn.embed_dim)), f"{cls}({attn.embed_dim}, ..., batch_first={bf})"
    if cls == "Embedding":
        return ["N", "L"], f"{cls}({m.num_embeddings}, {m.embedding_dim})"
    return None


def _fixer(root: Any, node: Any) -> tuple[list[Any], str] | None:
    """If ``node`` fixes its input's rank and channels: (shape items, description)."""
    if node.op == "call_module":
        try:
            m = root.get_submodule(str(node.target))
        except AttributeError:
            return None
        found = module_input(m)
        if found is not None:
            return found[0], f"self.{node.target} = nn.{found[1]}"
    return None


def _passes(root: Any, node: Any) -> bool:
    if node.op == "call_module":
        try:
            return type(root.get_submodule(str(node.target))).__name__ in _PASS_MODULES
        except AttributeError:
            return False
    return passes_through(node)


def default_input(root: Any, graph: Any, ph: Any, k: int) -> tuple[str, Any] | None:
    """Guess the shape of placeholder ``ph`` (the k-th tensor input) from the layer that first uses it."""
    frontier = [ph]
    seen = set()
    while frontier:
        nxt = []
        for n in frontier:
            for u in n.users:
                if u in seen:
                    continue
                seen.add(u)
                if u.args and u.args[0] is n:
                    fx_ = _fixer(root, u)
                    if fx_ is not None:
                        items, desc = fx_
                        suffix = "" if k == 0 else str(k + 1)
                        items = [f"{x}{suffix}" if isinstance(x, str) and x != "N" else x for x in items]
                        return ",".join(str(x) for x in items), (desc, u)
                    if _passes(root, u):
                        nxt.append(u)
        frontier = nxt
    return None


# ---- the check ----------------------------------------------------------------------------------------

def _shape_text(s: Any) -> str:
    return ",".join(str(x) for x in parse_shape(s))


def check_module(module: Any, *input_shapes: Any, where: Any = None, mode: str = "eval",
                 target: str | None = None, file: str | None = None, aliases: dict[str, str] | None = None) -> Report:
    """Type-check ``module`` for every input size.

    ``input_shapes``: one SHAPE (``"N,3,H,W"`` or a tuple) per tensor input of ``forward``; none
    means "guess from the first layer" (the report says what was assumed).  ``where`` adds
    constraints (``"H >= 32, H % 32 == 0"``); ``mode="train"`` checks training-only conditions.
    ``file``: the model file's absolute path (frames in it are preferred for locations).
    """
    return analyse(module, *input_shapes, where=where, mode=mode, target=target, file=file, aliases=aliases)[0]


def analyse(module: Any, *input_shapes: Any, where: Any = None, mode: str = "eval", target: str | None = None,
            file: str | None = None, aliases: dict[str, str] | None = None,
            confirm_run: bool = True) -> tuple[Report, nx.DiGraph]:
    """:func:`check_module`, also returning the lowered arts graph (its ``outputs`` name the
    nodes whose shapes ``forward`` returns).  ``confirm_run``: before answering ``ok`` or
    ``error``, run the model once for real to confirm that the traced graph is the model
    (:mod:`arts.frontends.confirm`)."""
    from torch import nn

    if not isinstance(module, nn.Module):
        raise InputError(f"expected a torch.nn.Module, got {type(module).__name__}")
    if mode not in ("eval", "train"):
        raise InputError(f"mode must be 'eval' or 'train', got {mode!r}")
    name = target or type(module).__name__
    shapes = [parse_shape(s) for s in input_shapes]
    was_training = module.training
    module.train(mode == "train")
    try:
        try:
            fx_graph, _, concrete = trace(module, len(shapes) if shapes else None, file)
        except TraceFailure as e:
            return _untraceable(module, shapes, e, name, where, mode, file, aliases)
        except ForwardRaised as e:
            loc = f"{display_path(e.site.file, aliases)}:{e.site.line}" if e.site else name
            msg = f"forward of {name} raised {type(e.exc).__name__}: {e.exc}"
            if shapes or _guess_from_modules(module) is not None:  # raised under fx only? try the ATen path
                out = _untraceable(module, shapes, TraceFailure(msg, e.site), name, where, mode, file, aliases,
                                   aten_only=True)
                if out is not None:
                    return out
            raise InputError(msg, loc) from None
        placeholders = [p for p in fx_graph.nodes if p.op == "placeholder"]
        concrete_idx = {i: concrete[p.name] for i, p in enumerate(_forward_params(module))
                        if p.name in concrete and i < len(placeholders)}
        notes: list[Diagnostic] = []
        if not shapes:
            tensor_phs = [p for i, p in enumerate(placeholders) if i not in concrete_idx]
            for k, ph in enumerate(tensor_phs):
                guess = default_input(module, fx_graph, ph, k)
                if guess is None:
                    raise InputError(f"cannot tell the shape of input {ph.target!r} of {name} from its first layer; "
                                     f"give it (--input N,C,H,W or check_module(model, 'N,3,H,W'))")
                text, (desc, layer) = guess
                shapes.append(parse_shape(text))
                frames = user_frames(layer.meta.get("stack_trace"))
                site = frames[0] if frames else None
                notes.append(Diagnostic(
                    "note", "assumed-input", str(ph.target),
                    f"no input shape given: assumed {ph.target}: {text} (from {desc})",
                    file=display_path(site.file, aliases) if site else None, line=site.line if site else None,
                    source=site.source if site else None))
    finally:
        module.train(was_training)
    n_inputs = len(shapes)
    report, G = _check_traced(module, fx_graph, concrete_idx, shapes, name, where, mode, file, aliases, notes,
                              (lambda: trace(module, n_inputs, file)) if confirm_run else None)
    from arts.frontends.confirm import not_the_model

    if confirm_run and not_the_model(report):
        # fx decided a branch silently (``torch.jit.isinstance`` on a proxy is False): the trace
        # through branches answers such checks as the example values do; its verdict is confirmed too
        plain = TraceFailure("the plain trace is not the model", None)
        guarded = _through_branches(module, shapes, plain, name, where, mode, file, aliases, notes)
        if guarded is not None and not not_the_model(guarded[0]):
            return guarded
    return report, G


#: Seconds all the solver's decisions on one traced model may take together (each decision has
#: its own bound too, :data:`arts.solver.budget.DECIDE_SECONDS`); past it, a condition not yet
#: decided is reported ``undecided`` and the verdict is ``unknown``.
CHECK_SECONDS = 20.0


def _check_traced(module: Any, fx_graph: Any, concrete_idx: dict[int, Any], shapes: list[tuple], name: str,
                  where: Any, mode: str, file: str | None, aliases: dict[str, str] | None,
                  notes: list[Diagnostic], retrace: Any, root: Any = None) -> tuple[Report, nx.DiGraph]:
    """Lower a traced graph (traced from ``root``, by default ``module``), typecheck it and (with
    ``retrace``, which traces again for the branch search) confirm the verdict against one real run."""
    was_training = module.training
    module.train(mode == "train")
    try:
        lowerer = Lowerer(module if root is None else root, fx_graph, shapes, file=file, aliases=aliases,
                          concrete=concrete_idx)
        G = lowerer.run()
    finally:
        module.train(was_training)
    if file:
        G.graph["file"] = display_path(file, aliases)
    G.graph["name"] = name
    from arts.solver.budget import decision_budget

    with decision_budget(CHECK_SECONDS):  # one deadline for every decision of this model
        checked = typecheck(G, where=where, mode=mode, target=name)
    report = finish(checked, G, notes)
    if retrace is not None:
        from arts.frontends.confirm import confirm

        module.train(mode == "train")
        try:
            report = confirm(module, report, G, retrace, aliases)
        finally:
            module.train(was_training)
    return report, G


def finish(report: Report, G: nx.DiGraph, notes: Sequence[Diagnostic] = ()) -> Report:
    """Attach to each diagnostic where its call was reached from and where its layer was
    constructed; spell out finite accepted domains; put the notes first."""
    from arts.frontends.sizes import explain

    exact = None
    if any(d.severity == "error" for d in report.diagnostics) and not report.static_failure and not report.unchecked:
        try:
            exact = explain(report.accepted, report.symbols)
        except Exception:  # noqa: BLE001 - an optional explanation must never break a report
            exact = None
    for d in report.diagnostics:
        extra = []
        if d.node and d.node in G:
            via = G.nodes[d.node].get("called_from")
            if via is not None:
                src = f": {via.source.strip()}" if via.source else ""
                extra.append(f"reached from {via.file}:{via.line}{src}")
            site = G.nodes[d.node].get("defined_at")
            if site is not None:
                text = f"{G.nodes[d.node].get('module', d.node)} is defined at {site.file}:{site.line}"
                if site.source:
                    text += f": {site.source.strip()}"
                extra.append(text)
        if exact is not None and d.severity == "error":
            extra.append(f"accepted sizes, exactly: {exact}")
        d.notes.extend(t for t in extra if t not in d.notes)
    report.diagnostics[:0] = list(notes)
    return report


def _untraceable(module: Any, shapes: list[tuple], e: TraceFailure, name: str, where: Any, mode: str,
                 file: str | None, aliases: dict[str, str] | None, aten_only: bool = False) -> Any:
    """The ATen path's report for a forward that torch.fx cannot trace, or an ``unknown`` one
    (``None`` with ``aten_only`` when the ATen path fails too)."""
    notes: list[Diagnostic] = []
    if not shapes:
        n, _ = _plan(module, None)
        guess = _guess_from_modules(module)
        if guess is None or n != 1:
            raise InputError(f"torch.fx cannot trace {name} ({e.reason}); give the input shape(s) to see what "
                             f"arts can say")
        shapes = [parse_shape(guess[0])]
        site = site_of(guess[2])
        notes.append(Diagnostic("note", "assumed-input", None,
                                f"no input shape given: assumed {guess[0]} (from {guess[1]})",
                                file=display_path(site.file, aliases) if site else None,
                                line=site.line if site else None, source=site.source if site else None))
    guarded = _through_branches(module, shapes, e, name, where, mode, file, aliases, notes)
    if guarded is not None:
        return guarded
    try:  # the third capture path: torch.export's ATen graph, decided inside its guards
        from arts.frontends.aten import analyse_aten

        return analyse_aten(module, shapes, name, where, mode, file, aliases, e.reason, notes)
    except Exception as why:  # noqa: BLE001 - the ATen path failing leaves the fx answer: unknown
        if aten_only and not getattr(why, "undecided", False):  # out of time: unknown, not an input error
            return None
        e = TraceFailure(f"{e.reason}; torch.export: {str(why).splitlines()[0] if str(why) else type(why).__name__}",
                         e.site)
    G = new_graph()
    names = []
    for k, s in enumerate(shapes):
        names.append(add_input(G, f"input{k + 1}" if len(shapes) > 1 else "x", s))
    attrs: dict[str, Any] = {}
    if e.site is not None:
        attrs = {"file": display_path(e.site.file, aliases), "line": e.site.line, "source": e.site.source}
    add_node(G, "forward", Op.make("unsupported", {"reason": e.reason, "call": "forward"}), names, **attrs)
    G.graph["outputs"] = ["forward"]
    if file:
        G.graph["file"] = display_path(file, aliases)
    report = typecheck(G, where=where, mode=mode, target=name)
    return finish(report, G, notes), G


def _through_branches(module: Any, shapes: list[tuple], e: TraceFailure, name: str, where: Any, mode: str,
                      file: str | None, aliases: dict[str, str] | None,
                      notes: list[Diagnostic]) -> tuple[Report, nx.DiGraph] | None:
    """The second capture path: fx through the branches on sizes (:func:`trace_guarded`); the
    report is decided inside the region of the branches taken (unknown outside), and branches
    whose other way certainly raises are conditions of the domain.  None if it cannot trace."""
    import time

    started = time.monotonic()
    first = _traced_at(module, shapes, name, where, mode, file, aliases, notes, None)
    cost = time.monotonic() - started
    if first is None:
        return None
    report, G, example, n_guards, fx_graph = first
    ex = ", ".join(f"{k}={v}" for k, v in example.items())
    merged = getattr(fx_graph, "merged", 0)
    both = f" ({merged} more traced both ways and merged)" if merged else ""
    head = (f"torch.fx cannot trace {name} plainly ({e.reason}); traced it through {n_guards} branch(es) on "
            f"sizes{both} at the example {ex}")
    devices = getattr(fx_graph, "devices_read", [])
    if devices:  # ``x.device`` read as the real run's device, not the trace's meta: say which
        head += f" (tensors on {', '.join(devices)}, as the model's parameters)"
    if report.region or report.region_empty:
        shown = ", ".join(_plain_condition(c) for c in report.region[:6]) + (", ..." if len(report.region) > 6
                                                                             else "")
        text = (f"{head}; it is the model only where {shown}: decided there, unknown elsewhere" if report.region
                else f"{head}; arts cannot tell where those branches go the traced way: unknown")
        sites = []
        for n in G.nodes:
            op = G.nodes[n].get("op")
            if op is not None and op.name == "branch_guard" and not op.params.get("raises"):
                f, line = G.nodes[n].get("file"), G.nodes[n].get("line")
                site = f"{f}:{line}" if f and line is not None else n
                if site not in sites:
                    sites.append(site)
        report.diagnostics.insert(len(notes), Diagnostic(
            "warning", "captured-region", None, text,
            notes=[f"branches on sizes at: {', '.join(sites[:8])}" + (" ..." if len(sites) > 8 else "")]
            if sites else []))
        if report.status == "ok":
            report.status = "unknown"
    else:
        report.diagnostics.insert(len(notes), Diagnostic(
            "note", "captured-region", None, f"{head}; every branch goes the traced way on the whole domain "
            "or raises otherwise"))
    if report.region and not report.region_empty:  # trace again at sizes outside the region
        from arts.frontends.regions import widen
        from arts.solver.domain import Domain
        from arts.solver.parse import parse_constraints

        user = parse_constraints(where) if isinstance(where, (str, list, tuple)) else list(where or [])
        symbols = list(dict.fromkeys(x for s in shapes for x in s if isinstance(x, sympy.Symbol)))

        def again(at: dict[str, int], seconds: float) -> tuple[Report, nx.DiGraph] | None:
            got = _traced_at(module, shapes, name, where, mode, file, aliases, notes, at)
            return None if got is None else (got[0], got[1])

        return widen((report, G), again, Domain(user, symbols), symbols, "traces", cost)
    return report, G


def _traced_at(module: Any, shapes: list[tuple], name: str, where: Any, mode: str, file: str | None,
               aliases: dict[str, str] | None, notes: list[Diagnostic], at: dict[str, int] | None
               ) -> tuple[Report, nx.DiGraph, dict[str, int], int, Any] | None:
    """Trace through branches (at the sizes ``at``, or the usual examples) and check the trace:
    (report, graph, example sizes, branches, fx graph), or None if it cannot be traced."""
    from arts.solver.budget import decision_budget

    for merge in (True, False):
        was_training = module.training
        module.train(mode == "train")
        try:
            fx_graph, _, concrete, example, n_guards, root = trace_guarded(module, shapes, file, at, merge)
        except Exception:  # noqa: BLE001 - any failure of this path (TraceFailure, InputError...) leaves the next one
            return None
        finally:
            module.train(was_training)
        placeholders = [p for p in fx_graph.nodes if p.op == "placeholder"]
        concrete_idx = {i: concrete[p.name] for i, p in enumerate(_forward_params(root))
                        if p.name in concrete and i < len(placeholders)}
        merged = getattr(fx_graph, "if_converted", False)
        try:
            # a merged trace has fewer guards but harder sizes (selects): if they are not decided
            # quickly, the guarded trace is checked instead (decided inside its region)
            with decision_budget(MERGED_SECONDS) if merged else contextlib.nullcontext():
                report, G = _check_traced(module, fx_graph, concrete_idx, shapes, name, where, mode, file, aliases,
                                          list(notes), lambda m=merge: trace_guarded(module, shapes, file, at, m)[:3],
                                          root=root)
        except InputError:
            return None
        if not merged or not (report.unknown_nodes or report.unchecked or any(
                d.code == "undecided" for d in report.diagnostics)):
            break
    return report, G, example, n_guards, fx_graph


#: Traces with more branches merged, at most, after the first (each may reach new branches).
MERGE_ROUNDS = 3
#: Seconds the check of a trace with merged branches may take before the guarded trace is used.
MERGED_SECONDS = 10.0


def _plain_condition(c: sympy.Basic) -> str:
    from arts.ops.tensor_ops import _Relation
    from arts.solver.domain import one_size_set

    return one_size_set(c) or str(_Relation(c))


def _guess_from_modules(module: Any) -> tuple[str, str, Any] | None:
    """(shape, description, layer) from the first layer registered in the module (no trace)."""
    for qual, m in module.named_modules():
        found = module_input(m) if m is not module else None
        if found is not None:
            return ",".join(str(x) for x in found[0]), f"self.{qual} = nn.{found[1]}, the first layer registered", m
    return None


_ = sympy
