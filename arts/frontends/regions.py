"""Several captures of one model: the union of the regions where each traced graph is the model.

A trace through branches on sizes (:mod:`arts.frontends.guards`) or a ``torch.export`` capture
(:mod:`arts.frontends.aten`) is the model only inside its **region**, the sizes where forward takes
the branches it took at the example.  One example leaves the other branches unknown: a ViT with
``dynamic_img_size=True`` resamples its position embedding only where the patch grid is not the
one it was built for, so a capture at 224x224 is the model at 224x224 only, and one at 224x192 is
the model everywhere else.

:func:`widen` asks the solver for a size outside the regions seen so far (typical sizes first),
captures the model again *at that size*, and keeps going until the regions cover the declared
domain (proven by the solver), the captures run out (:data:`MAX_CAPTURES`) or the time does
(:data:`WIDEN_SECONDS`).  The pieces are then one report:

* inside region ``R_i`` the accepted sizes are piece ``i``'s: the accepted set is
  ``(R_1 and A_1) or (R_2 and A_2) or ...``, exact wherever some region holds (where two regions
  overlap, both graphs are the model, so they agree);
* outside every region nothing is claimed: the report's region is ``R_1 or R_2 or ...`` and
  ``accepts()`` raises ``ValueError`` there, as for one capture.  When the regions are proven to
  cover the declared domain the report has no region left: it is decided everywhere.

A size where forward does not run cannot be captured; it is skipped (it says nothing about the
sizes around it).  A piece that is not fully decided (unknown nodes, the solver's budget spent,
a region arts cannot read) is dropped: its region stays uncovered, so the answer there stays
``unknown``.  Nothing here changes a verdict inside a region, so soundness is each piece's.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import Any

import networkx as nx
import sympy

from arts.graph.report import Diagnostic, Report
from arts.solver.domain import Domain

__all__ = ["MAX_CAPTURES", "WIDEN_SECONDS", "one_capture", "widen"]

#: Captures of one model at most, the first included (``ARTS_MAX_CAPTURES`` overrides).
MAX_CAPTURES = int(os.environ.get("ARTS_MAX_CAPTURES", "9"))
#: Seconds the captures after the first may take together (``ARTS_WIDEN_SECONDS`` overrides).
WIDEN_SECONDS = float(os.environ.get("ARTS_WIDEN_SECONDS", "10"))
#: Comparisons at most in an accepted set that is simplified as a formula of propositions.
LOGIC_ATOMS = 8
#: Seconds one question about the regions (do they cover the domain? which size is outside?) may take.
COVER_SECONDS = 3.0

Piece = tuple[Report, nx.DiGraph]


@contextlib.contextmanager
def one_capture() -> Iterator[None]:
    """Capture once (the region of one trace): a ``torch.export`` spec (:mod:`arts.export`) is
    for one export, whose graph is one way through the branches, so the spec must lie inside one
    region, not across several."""
    global MAX_CAPTURES
    saved, MAX_CAPTURES = MAX_CAPTURES, 1
    try:
        yield
    finally:
        MAX_CAPTURES = saved


Recapture = Callable[[dict[str, int], float], "Piece | None"]


def _clean(report: Report) -> bool:
    """Whether a piece is decided everywhere inside its region (it can join the union)."""
    return bool(report.region) and not (report.unknown_nodes or report.unchecked or report.region_empty)


def _inside(report: Report) -> sympy.Basic:
    return sympy.And(*report.region)


def _accepted_inside(report: Report) -> sympy.Basic:
    """The sizes piece ``report`` accepts, inside its region."""
    if report.static_failure or report.accepted.empty:
        return sympy.false
    return sympy.And(*report.region, *report.accepted.constraints)


def _outside(cover: sympy.Basic, declared: Domain, symbols: Sequence[sympy.Symbol],
             skipped: list[dict[str, int]], likely: sympy.Basic = sympy.true
             ) -> tuple[str, dict[str, int] | None]:
    """("covered", None) when the regions cover ``declared``; ("outside", point) with a typical
    size in no region (and not one already skipped) where ``likely`` holds (where forward
    probably runs, as a capture needs), ("unlikely", point) with one where it does not if there
    is no such size; ("unknown", None) when the solver cannot tell."""
    from arts.graph.typical import typical_counterexample
    from arts.solver.budget import decision_budget
    from arts.solver.decide import decide

    by_name = {x.name: x for x in (*declared.symbols, *symbols)}  # the sizes' own symbols (positive integers)
    avoid = [sympy.Or(*(sympy.Ne(by_name[k], v) for k, v in p.items())) for p in skipped]
    formula = sympy.Or(cover, *(sympy.Not(a) for a in avoid))
    try:
        with decision_budget(COVER_SECONDS):
            v = decide(formula, declared, symbols)
    except Exception:  # noqa: BLE001 - a region the solver cannot read: nothing more to widen
        return "unknown", None
    if v.is_proven:
        return ("covered", None) if not skipped else ("unknown", None)
    fallback = v.counterexample if v.is_refuted and v.counterexample is not None else {}
    point, state = {}, "outside"
    try:  # typical sizes first (checked by substitution), likely ones first; the solver's smallest one else
        wanted = sympy.Or(formula, sympy.Not(likely))
        with decision_budget(COVER_SECONDS):
            w = decide(wanted, declared, symbols)
        if not w.is_proven:
            point = typical_counterexample(wanted, declared, symbols,
                                           w.counterexample if w.is_refuted and w.counterexample else {})
        if not point:
            state = "unlikely"
            point = typical_counterexample(formula, declared, symbols, fallback)
    except Exception:  # noqa: BLE001 - the smallest one will do
        point, state = fallback, "unlikely"
    if not point:
        return "unknown", None
    return state, {s.name: int(point[s.name]) for s in symbols if s.name in point}


def _raised(point: dict[str, int], least: int, cover: sympy.Basic, runs: sympy.Basic,
            declared: Domain) -> dict[str, int]:
    """``point`` with its sizes below ``least`` raised to it, one at a time, where it stays in
    ``declared``, outside ``cover`` and inside ``runs`` (checked by substitution)."""
    from arts.solver.evaluate import compile_expr

    out_ = compile_expr(cover)
    in_ = compile_expr(runs)
    best = dict(point)
    for k, v in point.items():
        if v >= least:
            continue
        trial = {**best, k: least}
        try:
            if declared.contains(trial) and not bool(out_(trial)) and bool(in_(trial)):
                best = trial
        except Exception:  # noqa: BLE001 - keep the point as it was
            continue
    return best


def widen(first: Piece, recapture: Recapture, declared: Domain, symbols: Sequence[sympy.Symbol],
          what: str, cost: float = 0.0, least: int = 1) -> Piece:
    """``first`` and more captures at sizes outside its region, as one report (module docstring);
    ``first`` as it is if anything goes wrong on the way (more captures are a bonus, never a risk).
    ``cost``: the seconds the first capture took; a capture is not started unless about that much
    of :data:`WIDEN_SECONDS` is left (a slow model is not made three times slower for a region).
    ``least``: a size below it is raised to it where the point stays outside the regions
    (torch.export specialises a size of 1: a capture there covers that one size only)."""
    try:
        return _widen(first, recapture, declared, symbols, what, cost, least)
    except Exception:  # noqa: BLE001 - e.g. a region sympy cannot negate: the one capture stands
        return first


def _widen(first: Piece, recapture: Recapture, declared: Domain, symbols: Sequence[sympy.Symbol],
           what: str, cost: float, least: int) -> Piece:
    """``first`` and more captures at sizes outside its region, as one report (module docstring).

    ``recapture(point, seconds)`` captures the model at the sizes ``point`` within ``seconds`` and
    checks it (``None`` when forward does not run there); ``what`` names the captures in the
    report ("traces", "exports")."""
    from arts.solver.budget import decision_budget

    report, G = first
    if not _clean(report) or MAX_CAPTURES <= 1:
        return first
    pieces: list[tuple[Piece, dict[str, int] | None]] = [(first, None)]
    # sizes the first capture accepts, its region aside: where forward most likely runs elsewhere too
    runs = (sympy.And(*(c for c in report.accepted.constraints if c not in report.region))
            if not (report.static_failure or report.accepted.empty) else sympy.true)
    skipped: list[dict[str, int]] = []
    start = time.monotonic()
    covered = False
    unlikely_failed = False
    tries = 1
    while tries < MAX_CAPTURES and WIDEN_SECONDS - (time.monotonic() - start) >= cost:
        cover = sympy.Or(*(_inside(p[0][0]) for p in pieces))
        state, point = _outside(cover, declared, symbols, skipped, runs)
        if point is not None and least > 1:
            point = _raised(point, least, cover, runs if state == "outside" else sympy.true, declared)
        if state == "covered":
            covered = True
            break
        if state not in ("outside", "unlikely") or point is None or (state == "unlikely" and unlikely_failed):
            break
        tries += 1
        left = WIDEN_SECONDS - (time.monotonic() - start)
        try:
            with decision_budget(max(left, 0.5)):  # the piece's decisions share what is left
                got = recapture(point, max(left, 0.5))
        except Exception:  # noqa: BLE001 - a capture that fails at this size leaves it uncovered
            got = None
        if got is None or not _clean_or_whole(got[0]):
            skipped.append(point)
            # forward does not run at a size the first capture rejects: the sizes left are most
            # likely rejected too; stop there rather than spend the captures on them
            unlikely_failed = unlikely_failed or state == "unlikely"
            continue
        if not got[0].region:  # this capture is the model on the whole domain: it alone is the answer
            return got
        pieces.append((got, point))
    if not covered and len(pieces) > 1 and not skipped:
        state, _ = _outside(sympy.Or(*(_inside(p[0][0]) for p in pieces)), declared, symbols, [])
        covered = state == "covered"
    if len(pieces) == 1:
        return first
    return _union([p for p, _ in pieces], [pt for _, pt in pieces], covered, declared, symbols, what)


def _clean_or_whole(report: Report) -> bool:
    return _clean(report) or (not report.region and not (report.unknown_nodes or report.unchecked
                                                         or report.region_empty))


def _simplest(pieces: Sequence[Report], union: sympy.Basic, combined: sympy.Basic, declared: Domain,
              symbols: Sequence[sympy.Symbol]) -> list[sympy.Basic]:
    """The accepted set as one piece's own conditions, where the solver proves that it is the
    union's on the covered sizes (a ViT accepts the same sizes with or without resampling);
    else the union itself."""
    from arts.solver.budget import decision_budget
    from arts.solver.decide import decide

    for r in pieces:
        if r.static_failure or r.accepted.empty:
            continue
        own = [c for c in r.accepted.constraints if c not in r.region]
        claim = sympy.Implies(union, sympy.Equivalent(sympy.And(*own), combined))
        try:
            with decision_budget(COVER_SECONDS):
                if decide(claim, declared, symbols).is_proven:
                    return own
        except Exception:  # noqa: BLE001 - unreadable: keep the union
            continue
    return _factored(combined, union, declared, symbols)


def _factored(combined: sympy.Basic, union: sympy.Basic, declared: Domain,
              symbols: Sequence[sympy.Symbol]) -> list[sympy.Basic]:
    """``(C and X1) or (C and X2)`` as ``C and (X1 or X2)``, the disjunction dropped where it
    holds on every covered size of ``C``: the same set, easier to read."""
    from arts.solver.budget import decision_budget
    from arts.solver.decide import decide

    atoms = combined.atoms(sympy.core.relational.Relational)
    if len(atoms) <= LOGIC_ATOMS:  # (A and B) or not A  ->  B or not A, the comparisons as atoms
        try:
            combined = sympy.simplify_logic(combined, form="dnf", force=True)
        except Exception:  # noqa: BLE001 - keep it as it is
            pass
    terms = [list(sympy.And.make_args(t)) for t in sympy.Or.make_args(combined)]
    if len(terms) < 2:
        return list(sympy.And.make_args(combined))
    common = [c for c in terms[0] if all(c in t for t in terms[1:])]
    rests = [sympy.And(*(c for c in t if c not in common)) for t in terms]
    either = sympy.Or(*rests)
    if either is not sympy.true:
        try:
            with decision_budget(COVER_SECONDS):
                if decide(sympy.Implies(sympy.And(union, *common), either), declared, symbols).is_proven:
                    either = sympy.true
        except Exception:  # noqa: BLE001 - keep the disjunction
            pass
    return common + ([] if either is sympy.true else [either])


def _union(pieces: Sequence[Piece], points: Sequence[dict[str, int] | None], covered: bool, declared: Domain,
           symbols: Sequence[sympy.Symbol], what: str) -> Piece:
    reports = [p[0] for p in pieces]
    first, G = pieces[0]
    union = sympy.Or(*(_inside(r) for r in reports))
    combined = sympy.Or(*(_accepted_inside(r) for r in reports))
    accepted = Domain(_simplest(reports, union, combined, declared, symbols), symbols)
    diags: list[Diagnostic] = []
    seen: set = set()
    for r in reports:
        for d in r.diagnostics:
            if d.code == "captured-region":
                continue
            key = (d.severity, d.code, d.node, d.message)
            if key not in seen:
                seen.add(key)
                diags.append(d)
    at = "; ".join(", ".join(f"{k}={v}" for k, v in p.items()) for p in points if p)
    lead = next((d for d in first.diagnostics if d.code == "captured-region"), None)
    head = lead.message.split("; it is the model only where")[0].split("; decided there")[0] if lead else ""
    if covered:
        text = (f"{head}; captured again at {at}: the {len(reports)} {what} together are the model at every "
                f"size of the domain")
        severity = "note"
    else:
        text = (f"{head}; captured again at {at}: the {len(reports)} {what} are the model only where "
                f"{' or '.join('(' + _show(r.region) + ')' for r in reports)}: decided there, unknown elsewhere")
        severity = "warning"
    k = next((i for i, d in enumerate(first.diagnostics) if d.code == "captured-region"), 0)
    diags.insert(min(k, len(diags)), Diagnostic(severity, "captured-region", None, text,
                                                notes=list(lead.notes) if lead else []))
    if any(r.status == "error" for r in reports):
        status = "error"
    elif not covered or any(d.severity == "warning" for d in diags):
        status = "unknown"
    else:
        status = "ok"
    example = next((r.example for r in reports if r.status == "error" and r.example), first.example)
    out = replace(first, status=status, diagnostics=diags, accepted=accepted, example=example,
                  region=() if covered else (union,), region_empty=False, declared=declared,
                  static_failure=all(r.static_failure for r in reports))
    if hasattr(first, "user_declared"):
        out.user_declared = first.user_declared  # type: ignore[attr-defined]
    return out, G


def _show(region: Sequence[Any]) -> str:
    from arts.frontends.torch_fx import _plain_condition

    shown = [_plain_condition(c) for c in region[:4]]
    return " and ".join(shown) + (" and ..." if len(region) > 4 else "")
