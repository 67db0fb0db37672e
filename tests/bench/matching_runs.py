"""A whole-group matching run at the size of a busy site, against greedy baselines, on this machine.

Run from the repository root (``make bench``). 2,000 waiting requests against 500 mentors with
capacities from 1 to 5 (a seeded random site shaped like the real ones: a third of mentors speak
Welsh, some safeguarding gaps, preferences that bite). Measured in the same run:

1. the domain alone (no database): scoring every pair, the optimal assignment, and the two
   greedy baselines (best pair first; and by hand, each person in queue order taking their best
   mentor left); total scores as ratios of greedy's, places filled, and the spread of load;
2. the whole use case, ``POST /matching-runs`` without HTTP: loading the site from the database,
   planning, and writing the draft run, on SQLite and (when it answers) PostgreSQL.

A report read by people: the 2 s target is printed against, never asserted (a busy machine is
slow, not wrong). One thing is checked: the optimal total is never below a greedy baseline's, in
any repeat or phase; if it ever is, the run is wrong and the script exits with status 1.
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _benchkit import throwaway_database, write_results

from matching import commands, store
from matching.app import DEFINITION
from matching.domain import assignment, fairness, runs
from matching.domain.policy import Policy
from matching.domain.samples import TODAY, random_mentors, random_requests
from matching.domain.scoring import ScoreMatrix, Situation
from peerlink.db import create_engine
from peerlink.outbox import Producer, UnitOfWork

REQUESTS, MENTORS, SEED, REPEATS = 2_000, 500, 20261123, 3
TARGET_SECONDS = 2.0
TOLERANCE = 1e-9  # floating-point sums of the same pairs in another order


def below_greedy(where: str, optimal: float, baselines: dict[str, float]) -> list[str]:
    """Every baseline the optimal total fell below, in words (none when the run is right)."""
    return [
        f"{where}: optimal {optimal:.6f} < {name} {total:.6f}"
        for name, total in baselines.items()
        if optimal < total - TOLERANCE
    ]


def timed(work: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    result = work()
    return time.perf_counter() - started, result


def domain_phase() -> dict[str, Any]:
    rng = random.Random(SEED)
    mentors = random_mentors(rng, MENTORS)
    requests = random_requests(rng, REQUESTS)
    world = Situation("ebbw-vale", TODAY, Policy())
    timings: dict[str, list[float]] = {"score": [], "optimal": [], "greedy": [], "queue": [], "plan": []}
    failures: list[str] = []
    for _ in range(REPEATS):
        seconds, matrix = timed(lambda: ScoreMatrix.build(requests, mentors, world))
        timings["score"].append(seconds)
        problem = runs.problem_of(matrix)
        seconds, best = timed(lambda: assignment.optimal(problem))  # noqa: B023 - used at once
        timings["optimal"].append(seconds)
        seconds, greedy = timed(lambda: assignment.greedy(problem))  # noqa: B023
        timings["greedy"].append(seconds)
        order = runs.queue_order(requests)
        seconds, by_hand = timed(lambda: assignment.queue_greedy(problem, order))  # noqa: B023
        timings["queue"].append(seconds)
        seconds, plan = timed(lambda: runs.plan(requests, mentors, world))
        timings["plan"].append(seconds)
        failures += below_greedy("domain, assignment", best.total, {"greedy": greedy.total, "by hand": by_hand.total})
        failures += below_greedy("domain, whole plan", plan.total_score, {"greedy": plan.greedy_score})
    median = {k: round(statistics.median(v), 4) for k, v in timings.items()}
    places = int(matrix.places.sum())
    return {
        "requests": REQUESTS,
        "mentors": MENTORS,
        "places": places,
        "eligible_pairs_share": round(float(matrix.eligible.mean()), 4),
        "requests_with_no_eligible_mentor": int((~matrix.eligible.any(axis=1)).sum()),
        "seconds_median": median,
        "optimal": {"total_score": round(best.total, 4), "matched": len(best.pairs)},
        "greedy": {"total_score": round(greedy.total, 4), "matched": len(greedy.pairs)},
        "queue_greedy": {"total_score": round(by_hand.total, 4), "matched": len(by_hand.pairs)},
        "ratio_to_greedy": round(best.total / greedy.total, 4),
        "ratio_to_queue_greedy": round(best.total / by_hand.total, 4),
        "plan_unmatched": len(plan.unmatched),
        "below_greedy": failures,
        "load_spread_gini": {
            "optimal": _gini(best, mentors),
            "greedy": _gini(greedy, mentors),
            "queue_greedy": _gini(by_hand, mentors),
        },
    }


def _gini(found: assignment.Assignment, mentors: list[Any]) -> float:
    given = [0] * len(mentors)
    for _, j, _ in found.pairs:
        given[j] += 1
    return round(fairness.gini([n / m.capacity for n, m in zip(given, mentors, strict=True)]), 4)


def use_case_phase(backend: str, url: str) -> dict[str, Any]:
    DEFINITION.migrations.upgrade(url)
    engine = create_engine(url)
    rng = random.Random(SEED)
    mentors = random_mentors(rng, MENTORS, today=datetime.now(UTC).date())
    requests = random_requests(rng, REQUESTS, today=datetime.now(UTC).date())
    with engine.begin() as conn:
        for mentor in mentors:
            store.add_mentor(conn, mentor)
        for request in requests:
            store.add_request(conn, request)
    seconds, failures = [], []
    for _ in range(REPEATS):
        with UnitOfWork(engine, Producer("ebbw-vale", "matching")) as uow:
            took, created = timed(
                lambda: commands.create_run(
                    uow, site="ebbw-vale", at=datetime.now(UTC), actor="bench", hold_back=0, request_ids=None
                )
            )
            uow.commit()
        seconds.append(took)
        run = created.item
        failures += below_greedy(f"use case on {backend}", run["total_score"], {"greedy": run["greedy_score"]})
    engine.dispose()
    return {
        "seconds_median": round(statistics.median(seconds), 4),
        "seconds_planning_only": run["seconds"],
        "requests_considered": run["requests_considered"],
        "ratio_to_greedy": round(run["total_score"] / run["greedy_score"], 4),
        "below_greedy": failures,
    }


def main() -> None:
    results: dict[str, Any] = {"target_seconds": TARGET_SECONDS, "domain": domain_phase(), "use_case": {}}
    with tempfile.TemporaryDirectory() as folder:
        for backend in ("sqlite", "postgresql"):
            with throwaway_database(backend, Path(folder), DEFINITION.migrations.upgrade) as url:
                results["use_case"][backend] = use_case_phase(backend, url)
    results["verdicts"] = verdicts(results)
    report(results)
    write_results("matching_runs", results)
    if not results["verdicts"]["never_below_greedy"]:
        sys.exit(1)


def verdicts(results: dict[str, Any]) -> dict[str, Any]:
    """The two questions the issue asks: within 2 s (reported only), and never below greedy (checked)."""
    domain, use_case = results["domain"], results["use_case"]
    timings = {"domain, whole plan": domain["seconds_median"]["plan"]}
    timings |= {f"use case on {backend}": figures["seconds_median"] for backend, figures in use_case.items()}
    below = domain["below_greedy"] + [line for figures in use_case.values() for line in figures["below_greedy"]]
    below = [f"{line} (in {count} of {REPEATS} repeats)" for line, count in Counter(below).items()]
    return {
        "within_target": all(seconds < TARGET_SECONDS for seconds in timings.values()),
        "slowest": max(timings.items(), key=lambda item: item[1]),
        "never_below_greedy": not below,
        "below_greedy": below,
        "lowest_ratio_to_greedy": min(
            [domain["ratio_to_greedy"], domain["ratio_to_queue_greedy"]]
            + [figures["ratio_to_greedy"] for figures in use_case.values()]
        ),
    }


def report(results: dict[str, Any]) -> None:
    domain = results["domain"]
    took = domain["seconds_median"]
    print(
        f"matching run: {domain['requests']} waiting requests, {domain['mentors']} mentors, {domain['places']} places"
    )
    print(
        f"  eligible pairs {domain['eligible_pairs_share']:.0%}; "
        f"{domain['requests_with_no_eligible_mentor']} requests with no eligible mentor"
    )
    print(
        f"  domain, median of {REPEATS}: scoring {took['score']:.3f} s, optimal assignment {took['optimal']:.3f} s, "
        f"greedy {took['greedy']:.3f} s, by hand {took['queue']:.3f} s"
    )
    verdict = "within" if took["plan"] < TARGET_SECONDS else "OVER"
    plan = took["plan"]
    print(
        f"  whole plan (scores, optimal, greedy, reasons): {plan:.3f} s ({verdict} the {TARGET_SECONDS:.0f} s target)"
    )
    print(
        f"  total score: optimal {domain['optimal']['total_score']:.2f} ({domain['optimal']['matched']} matched), "
        f"greedy {domain['greedy']['total_score']:.2f} ({domain['greedy']['matched']}), "
        f"by hand {domain['queue_greedy']['total_score']:.2f} ({domain['queue_greedy']['matched']})"
    )
    ratios = domain["ratio_to_greedy"], domain["ratio_to_queue_greedy"]
    print(f"  optimal / greedy = {ratios[0]:.4f}; optimal / by hand = {ratios[1]:.4f}")
    gini = domain["load_spread_gini"]
    print(
        f"  spread of load (Gini): optimal {gini['optimal']}, greedy {gini['greedy']}, by hand {gini['queue_greedy']}"
    )
    for backend, figures in results["use_case"].items():
        verdict = "within" if figures["seconds_median"] < TARGET_SECONDS else "OVER"
        print(
            f"  POST /matching-runs use case on {backend}: {figures['seconds_median']:.3f} s median "
            f"(planning {figures['seconds_planning_only']:.3f} s; {verdict} the target); "
            f"optimal / greedy = {figures['ratio_to_greedy']:.4f}"
        )
    found = results["verdicts"]
    where, slowest = found["slowest"]
    print(
        f"TARGET {TARGET_SECONDS:.0f} s: {'MET' if found['within_target'] else 'NOT MET'} "
        f"(slowest: {where}, {slowest:.3f} s; timing is reported, never failed on)"
    )
    if found["never_below_greedy"]:
        print(
            f"OPTIMAL >= GREEDY: HOLDS in every repeat and phase "
            f"(lowest ratio {found['lowest_ratio_to_greedy']:.4f}, so ratio >= 1)"
        )
    else:
        print("OPTIMAL >= GREEDY: BROKEN, the run is wrong:")
        for line in found["below_greedy"]:
            print(f"  {line}")


if __name__ == "__main__":
    main()
